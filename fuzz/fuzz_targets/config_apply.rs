//! Any text given to `config::apply` either fails with an error or yields a model that is valid
//! and survives print ∘ parse unchanged. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// A small model to apply on top of, so `no …`, `inherit`, bridge-domain use and sub-mode
/// re-entry have targets.
const BASE: &str = "vlan 100-109\nbridge-domain red\n  segment id 5000\nbridge-domain blue\n\
                    port-profile type ethernet uplink\n  switchport mode trunk\n\
                    port-profile base\n  switchport access vlan 100\nport-profile web\n  \
                    inherit port-profile base\n  state enabled\nport-profile tenant\n  \
                    switchport access bridge-domain red\n";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(base) = config::apply(&config::Config::default(), BASE) else {
        panic!("the base model must apply");
    };
    let Ok(applied) = config::apply(&base.config, text) else {
        return;
    };
    assert_eq!(config::validate(&applied.config), Ok(()));
    let printed = config::print_running_config(&applied.config);
    match config::apply(&config::Config::default(), &printed) {
        Ok(again) => {
            assert_eq!(again.config, applied.config, "round trip changed the model:\n{printed}");
            assert_eq!(config::print_running_config(&again.config), printed);
        }
        Err(e) => panic!("printed config does not parse: {e}\n{printed}"),
    }
    let _ = config::evaluate_all(&applied.config);
    for name in applied.config.port_profiles.keys() {
        let _ = config::dependents(&applied.config, name);
    }
    for name in applied.config.bridge_domains.keys() {
        let _ = config::bridge_domain_dependents(&applied.config, name);
    }
});
