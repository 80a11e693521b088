//! Sessions end to end: modes and prompts, the text posted for each line (applied with the real
//! `config::apply`), carets, error mapping, `?` help and completion.
#![allow(clippy::unwrap_used)]

use cli::{Action, BridgeDomainView, ExecCommand, Session, SessionMode, caret};
use config::{Config, SwitchportMode, apply};

/// Feeds lines to a session, applying configuration text to `config` as a supervisor would.
struct Shell {
    session: Session,
    config: Config,
}

impl Shell {
    fn new() -> Self {
        Self { session: Session::new("switch"), config: Config::default() }
    }

    /// Runs a line; returns what the shell would print on error.
    fn run(&mut self, line: &str) -> Result<Action, String> {
        let prompt_len = self.session.prompt().chars().count();
        let action = self.session.interpret(line).map_err(|e| e.render(prompt_len))?;
        if let Action::Config { text } = &action {
            match apply(&self.config, text) {
                Ok(applied) => self.config = applied.config,
                Err(e) => {
                    let mapped = self.session.map_config_error(&e);
                    self.session.config_failed();
                    return Err(mapped.render(prompt_len));
                }
            }
        }
        Ok(action)
    }

    fn prompt(&self) -> String {
        self.session.prompt()
    }
}

#[test]
fn prompts_follow_modes() {
    let mut sh = Shell::new();
    assert_eq!(sh.prompt(), "switch# ");
    assert_eq!(sh.run("configure terminal"), Ok(Action::ModeChanged));
    assert_eq!(sh.prompt(), "switch(config)# ");
    sh.run("vlan 100").unwrap();
    assert_eq!(sh.prompt(), "switch(config-vlan)# ");
    sh.run("port-profile type vethernet web").unwrap();
    assert_eq!(sh.prompt(), "switch(config-port-prof)# ");
    assert_eq!(sh.run("exit"), Ok(Action::ModeChanged));
    assert_eq!(sh.prompt(), "switch(config)# ");
    assert_eq!(sh.run("exit"), Ok(Action::ModeChanged));
    assert_eq!(sh.prompt(), "switch# ");
    // exit in exec mode asks to leave the shell.
    assert_eq!(sh.run("exit"), Ok(Action::Exec(ExecCommand::Exit)));
    sh.run("conf t").unwrap();
    sh.run("port-profile web").unwrap();
    assert_eq!(sh.run("end"), Ok(Action::ModeChanged));
    assert_eq!(sh.session.mode(), &SessionMode::Exec);
    assert_eq!(sh.run("end"), Ok(Action::Nothing));
    assert_eq!(sh.run(""), Ok(Action::Nothing));
    assert_eq!(sh.run("! note"), Ok(Action::Nothing));
}

#[test]
fn sub_mode_lines_post_the_header_too() {
    let mut sh = Shell::new();
    sh.run("configure terminal").unwrap();
    assert_eq!(
        sh.run("port-profile type vethernet web"),
        Ok(Action::Config { text: "port-profile type vethernet web\n".into() })
    );
    assert_eq!(
        sh.run("  switchport mode access"),
        Ok(Action::Config { text: "port-profile type vethernet web\n  switchport mode access\n".into() })
    );
    sh.run("sw acc vlan 100").unwrap();
    sh.run("state enabled").unwrap();
    sh.run("vlan 100-102").unwrap();
    assert_eq!(sh.run("name web"), Ok(Action::Config { text: "vlan 100-102\n  name web\n".into() }));
    let web = &sh.config.port_profiles["web"];
    assert_eq!(web.mode, Some(SwitchportMode::Access));
    assert_eq!(web.access_vlan, Some(100));
    assert!(web.state_enabled);
    assert_eq!(sh.config.vlans[&101].name.as_deref(), Some("web"));
}

#[test]
fn a_global_command_in_a_sub_mode_leaves_it() {
    let mut sh = Shell::new();
    sh.run("configure terminal").unwrap();
    sh.run("port-profile web").unwrap();
    assert_eq!(sh.run("vlan 5"), Ok(Action::Config { text: "vlan 5\n".into() }));
    assert_eq!(sh.prompt(), "switch(config-vlan)# ");
    sh.run("no port-profile web").unwrap();
    assert_eq!(sh.prompt(), "switch(config)# ");
    assert!(sh.config.port_profiles.is_empty());
}

#[test]
fn show_works_in_every_mode_and_with_do() {
    let mut sh = Shell::new();
    let show = Action::Exec(ExecCommand::ShowRunningConfig);
    assert_eq!(sh.run("show running-config"), Ok(show.clone()));
    sh.run("configure terminal").unwrap();
    assert_eq!(sh.run("show running-config"), Ok(show.clone()));
    sh.run("port-profile web").unwrap();
    assert_eq!(sh.run("sh run"), Ok(show.clone()));
    assert_eq!(sh.run("do show running-config"), Ok(show));
    assert_eq!(sh.prompt(), "switch(config-port-prof)# ");
}

#[test]
fn exec_mode_rejects_config_commands_with_a_caret() {
    let mut sh = Shell::new();
    let out = sh.run("show modul x").unwrap_err();
    assert_eq!(
        format!("switch# show modul x\n{out}"),
        "switch# show modul x\n                   ^\n% Invalid command at '^' marker.\n\
         unexpected 'x' after a complete command"
    );
    let out = sh.run("vlan 5").unwrap_err();
    assert!(out.starts_with("        ^\n% Invalid command at '^' marker."));
}

#[test]
fn syntax_errors_in_sub_modes_point_into_the_typed_line() {
    let mut s = Session::new("switch");
    s.interpret("configure terminal").unwrap();
    s.interpret("port-profile web").unwrap();
    let e = s.interpret("switchport access vlan 5000").unwrap_err();
    assert_eq!(e.column, 24);
    assert_eq!(e.detail.as_deref(), Some("invalid VLAN id '5000': expected a number 1-4094"));
    // Whichever reading (exec or configuration) got further reports the error.
    let e = s.interpret("show modul x").unwrap_err();
    assert_eq!(e.column, 12);
    let e = s.interpret("description").unwrap_err();
    assert_eq!(e.column, 13);
    // …and `do` shifts the exec command's columns.
    let e = s.interpret("do show modul x").unwrap_err();
    assert_eq!(e.column, 15);
    let e = s.interpret("switchport").unwrap_err();
    assert_eq!(e.message, "Incomplete command at '^' marker.");
    // An abbreviation of both an exec and a configuration keyword is ambiguous…
    let e = s.interpret("sh").unwrap_err();
    assert_eq!((e.column, e.message.as_str()), (1, "Ambiguous command at '^' marker."));
    assert_eq!(e.detail.as_deref(), Some("ambiguous word 'sh': expected show or shutdown"));
    // …a longer one is not.
    assert!(matches!(s.interpret("shut"), Ok(Action::Config { .. })));
    assert!(matches!(s.interpret("sho run"), Ok(Action::Exec(_))));
    // Failed lines change no mode.
    assert_eq!(s.prompt(), "switch(config-port-prof)# ");
}

#[test]
fn supervisor_errors_map_back_to_the_typed_column() {
    let mut sh = Shell::new();
    sh.run("configure terminal").unwrap();
    sh.run("port-profile web").unwrap();
    // "inherit port-profile nope" is valid syntax; the supervisor rejects it at line 2,
    // column 24 of "port-profile web\n  inherit port-profile nope": column 22 as typed.
    let prompt_len = sh.prompt().len();
    let out = sh.run("inherit port-profile nope").unwrap_err();
    assert_eq!(out, format!("{}\n% port-profile 'nope' does not exist", caret(prompt_len, 22)));
    // Leading spaces the user typed count.
    let out = sh.run("   inherit port-profile nope").unwrap_err();
    assert!(out.starts_with(&caret(prompt_len, 25)));
    // The session stays in its sub-mode after a rejected sub-mode line.
    assert_eq!(sh.prompt(), "switch(config-port-prof)# ");
}

#[test]
fn a_rejected_header_does_not_enter_the_sub_mode() {
    let mut sh = Shell::new();
    sh.run("configure terminal").unwrap();
    sh.run("port-profile type ethernet up").unwrap();
    sh.run("exit").unwrap();
    let out = sh.run("port-profile type vethernet up").unwrap_err();
    assert!(out.ends_with("% port-profile 'up' exists with type ethernet"), "{out}");
    assert_eq!(sh.prompt(), "switch(config)# ");
    let mut s = Session::new("switch");
    s.interpret("configure terminal").unwrap();
    s.interpret("port-profile web").unwrap();
    let e = config::ConfigError::at(1, 14, "header problem");
    assert_eq!(s.map_config_error(&e).column, 14);
    s.interpret("state enabled").unwrap();
    // An error about the header line of a sub-mode text has no column in the typed line.
    assert_eq!(s.map_config_error(&e).column, 0);
}

#[test]
fn help_lists_parameters_keywords_then_cr() {
    let mut s = Session::new("switch");
    let words = |s: &Session, line: &str| s.help(line).into_iter().map(|c| c.word).collect::<Vec<_>>();
    assert_eq!(words(&s, ""), vec!["configure", "end", "exit", "join-token", "no", "revoke", "show"]);
    assert_eq!(
        words(&s, "show "),
        vec![
            "accounting",
            "bridge-domain",
            "configuration",
            "flow",
            "interface",
            "ip",
            "ipv6",
            "join-tokens",
            "logging",
            "mac",
            "module",
            "port-profile",
            "port-security",
            "running-config",
            "system"
        ]
    );
    assert_eq!(words(&s, "show bridge-domain "), vec!["WORD", "<cr>"]);
    assert_eq!(words(&s, "show configuration session "), vec!["WORD", "summary", "<cr>"]);
    assert_eq!(words(&s, "configure "), vec!["session", "terminal"]);
    assert_eq!(words(&s, "show bridge-domain red "), vec!["mac", "vteps", "<cr>"]);
    assert_eq!(words(&s, "show interface ethernet "), vec!["<1-65535>/<1-32>"]);
    assert_eq!(words(&s, "show port-profile "), vec!["brief", "name", "virtual", "<cr>"]);
    assert_eq!(words(&s, "show interface "), vec!["brief", "ethernet", "vethernet", "virtual"]);
    assert_eq!(words(&s, "show interface vethernet "), vec!["<1-1048575>"]);
    assert_eq!(words(&s, "show mac address-table "), vec!["vlan", "<cr>"]);
    assert_eq!(words(&s, "show port-profile name "), vec!["WORD"]);
    assert_eq!(words(&s, "show mo"), vec!["module"]);
    assert!(words(&s, "bogus ").is_empty());
    s.interpret("configure terminal").unwrap();
    let config_words = words(&s, "");
    for w in ["bridge-domain", "do", "end", "exit", "no", "port-profile", "show", "vlan"] {
        assert!(config_words.contains(&w.to_string()), "{w} in {config_words:?}");
    }
    let vlan = s.help("vlan ");
    assert_eq!(vlan[0].word, "<1-4094>");
    assert!(vlan[0].help.starts_with("VLAN id"));
    s.interpret("port-profile web").unwrap();
    let h = s.help("switchport access vlan ");
    assert_eq!(h.len(), 1);
    assert_eq!((h[0].word.as_str(), h[0].help.as_str()), ("<1-4094>", "VLAN id"));
    assert_eq!(
        words(&s, "switchport trunk allowed vlan "),
        vec!["<1-4094>", "add", "all", "except", "none", "remove"]
    );
    assert_eq!(words(&s, "shutdown "), vec!["<cr>"]);
    assert_eq!(words(&s, "do show r"), vec!["running-config"]);
    assert_eq!(words(&s, "switchport access "), vec!["bridge-domain", "vlan"]);
    assert_eq!(words(&s, "switchport access bridge-domain "), vec!["WORD"]);
    s.interpret("bridge-domain red").unwrap();
    let h = s.help("segment id ");
    assert_eq!((h[0].word.as_str(), h[0].help.as_str()), ("<1-16777215>", "Segment id"));
    assert!(words(&s, "").contains(&"segment".to_string()));
}

#[test]
fn bridge_domain_mode_and_show_commands() {
    let mut sh = Shell::new();
    sh.run("conf t").unwrap();
    assert_eq!(sh.run("bridge-domain red"), Ok(Action::Config { text: "bridge-domain red\n".into() }));
    assert_eq!(sh.prompt(), "switch(config-bd)# ");
    assert_eq!(sh.session.mode(), &SessionMode::BridgeDomain { header: "bridge-domain red".into() });
    assert_eq!(
        sh.run("segment id 5000"),
        Ok(Action::Config { text: "bridge-domain red\n  segment id 5000\n".into() })
    );
    assert_eq!(sh.config.bridge_domains["red"].segment_id, Some(5000));
    // switch(config-bd)# segment id 16777216
    //                               ^
    let out = sh.run("segment id 16777216").unwrap_err();
    assert!(out.starts_with(&caret(sh.prompt().len(), 12)), "{out}");
    assert!(out.contains("invalid number '16777216'"), "{out}");
    // A show runs from the sub-mode, with or without do.
    assert_eq!(
        sh.run("do show bridge-domain red vteps"),
        Ok(Action::Exec(ExecCommand::ShowBridgeDomain {
            name: Some("red".into()),
            view: BridgeDomainView::Vteps
        }))
    );
    assert_eq!(
        sh.run("sh int eth 3/1"),
        Ok(Action::Exec(ExecCommand::ShowInterfaceEthernet { module: 3, port: 1 }))
    );
    sh.run("port-profile type vethernet tenant").unwrap();
    sh.run("switchport access bridge-domain red").unwrap();
    assert_eq!(sh.config.port_profiles["tenant"].access_bridge_domain.as_deref(), Some("red"));
    // The supervisor's error comes back under the typed line.
    let out = sh.run("switchport access bridge-domain ghost").unwrap_err();
    assert!(out.ends_with("% bridge-domain 'ghost' does not exist"), "{out}");
    assert!(out.starts_with(&caret(sh.prompt().len(), 33)), "{out}");
    assert_eq!(sh.prompt(), "switch(config-port-prof)# ");
    sh.run("exit").unwrap();
    let out = sh.run("no bridge-domain red").unwrap_err();
    assert!(out.ends_with("% bridge-domain 'red' is used by port-profile 'tenant'"), "{out}");
    assert_eq!(sh.prompt(), "switch(config)# ");
}

#[test]
fn completion_returns_the_word_start_and_keywords() {
    let mut s = Session::new("switch");
    let (start, c) = s.complete("show port", 9);
    assert_eq!(start, 5);
    assert_eq!(c.iter().map(|c| c.word.as_str()).collect::<Vec<_>>(), vec!["port-profile", "port-security"]);
    let (start, c) = s.complete("conf", 4);
    assert_eq!((start, c[0].word.as_str()), (0, "configure"));
    s.interpret("conf t").unwrap();
    s.interpret("port-profile web").unwrap();
    let (start, c) = s.complete("switchport mode t", 17);
    assert_eq!((start, c.len(), c[0].word.as_str()), (16, 1, "trunk"));
    // Parameters are not offered: there is nothing to insert.
    let (_, c) = s.complete("max-ports ", 10);
    assert!(c.is_empty());
    // The cursor may sit before the end of the line.
    let (start, c) = s.complete("sh run", 2);
    assert_eq!(start, 0);
    assert_eq!(c.iter().map(|c| c.word.as_str()).collect::<Vec<_>>(), vec!["show", "shutdown"]);
}

#[test]
fn every_config_line_typed_means_what_apply_means() {
    // The same lines, typed into the shell and applied as one script, give the same model.
    let lines = [
        "vlan 100-109",
        "name web",
        "port-profile type ethernet uplink",
        "switchport mode trunk",
        "switchport trunk allowed vlan 100-109",
        "switchport trunk allowed vlan remove 105",
        "channel-group auto mode on mac-pinning",
        "no shutdown",
        "system vlan 100",
        "state enabled",
        "port-profile type vethernet base",
        "switchport mode access",
        "max-ports 64",
        "port-profile type vethernet vlan100",
        "inherit port-profile base",
        "switchport access vlan 100",
        "description web servers",
        "port-binding dynamic",
        "state enabled",
        "vlan 200",
        "no vlan 200",
        "bridge-domain red",
        "segment id 5000",
        "port-profile type vethernet tenant",
        "switchport access bridge-domain red",
        "state enabled",
        "bridge-domain red",
        "segment id 6000",
    ];
    let mut sh = Shell::new();
    sh.run("configure terminal").unwrap();
    for line in lines {
        sh.run(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
    let script = apply(&Config::default(), &lines.join("\n")).unwrap().config;
    assert_eq!(sh.config, script);
}

#[test]
fn access_list_and_flow_sub_modes() {
    let mut sh = Shell::new();
    sh.run("conf t").unwrap();
    sh.run("ip access-list WEB-IN").unwrap();
    assert_eq!(sh.prompt(), "switch(config-acl)# ");
    // Unnumbered entries: each line is applied on its own and still gets the last number + 10.
    assert_eq!(
        sh.run("permit tcp any 10.100.0.0/24 eq 80"),
        Ok(Action::Config { text: "ip access-list WEB-IN\n  permit tcp any 10.100.0.0/24 eq 80\n".into() })
    );
    sh.run("deny ip any any").unwrap();
    assert_eq!(sh.config.ip_access_lists["WEB-IN"].entries.keys().copied().collect::<Vec<_>>(), [10, 20]);
    // switch(config-acl)# permit tcp any ::1/128
    //                                    ^
    let out = sh.run("permit tcp any ::1/128").unwrap_err();
    assert!(out.starts_with(&caret(sh.prompt().len(), 16)), "{out}");
    assert!(out.contains("an ip access-list holds IPv4 addresses only"), "{out}");
    sh.run("ipv6 access-list V6").unwrap();
    assert_eq!(sh.prompt(), "switch(config-ipv6-acl)# ");
    sh.run("flow exporter C").unwrap();
    assert_eq!(sh.prompt(), "switch(config-flow-exporter)# ");
    sh.run("destination 10.0.0.9").unwrap();
    sh.run("flow monitor M").unwrap();
    assert_eq!(sh.prompt(), "switch(config-flow-monitor)# ");
    sh.run("exporter C").unwrap();
    sh.run("port-profile web").unwrap();
    sh.run("ip port access-group WEB-IN in").unwrap();
    sh.run("ip flow monitor M input").unwrap();
    assert_eq!(sh.config.port_profiles["web"].flow_monitors.input.as_deref(), Some("M"));
    assert_eq!(sh.session.mode(), &SessionMode::PortProfile { header: "port-profile web".into() });
}

#[test]
fn interface_vethernet_sub_mode_sends_shutdown_and_no_shutdown_as_exec_commands() {
    let mut sh = Shell::new();
    sh.run("configure terminal").unwrap();
    assert_eq!(sh.run("interface vethernet 3"), Ok(Action::ModeChanged));
    assert_eq!(sh.prompt(), "switch(config-if)# ");
    assert_eq!(sh.session.mode(), &SessionMode::Interface { number: 3 });
    let no_shutdown = ExecCommand::InterfaceVethernetShutdown { number: 3, shutdown: false };
    assert_eq!(sh.run("no shutdown"), Ok(Action::Exec(no_shutdown.clone())));
    assert_eq!(no_shutdown.to_string(), "interface vethernet 3 no shutdown");
    assert_eq!(cli::parse_exec(&no_shutdown.to_string()), Ok(no_shutdown));
    let shutdown = ExecCommand::InterfaceVethernetShutdown { number: 3, shutdown: true };
    assert_eq!(sh.run("shut"), Ok(Action::Exec(shutdown.clone())));
    assert_eq!(cli::parse_exec("interface vethernet 3 shutdown"), Ok(shutdown));
    // show and do show work here too; `sh` is ambiguous between show and shutdown.
    assert_eq!(sh.run("do show port-security"), Ok(Action::Exec(ExecCommand::ShowPortSecurity)));
    assert_eq!(sh.run("show port-security"), Ok(Action::Exec(ExecCommand::ShowPortSecurity)));
    let sh_alone = sh.run("sh");
    assert!(sh_alone.clone().unwrap_err().contains("% Ambiguous command at '^' marker."), "{sh_alone:?}");
    // Another interface, then exit back to configuration mode.
    assert_eq!(sh.run("int veth 4"), Ok(Action::ModeChanged));
    assert_eq!(
        sh.run("no sh"),
        Ok(Action::Exec(ExecCommand::InterfaceVethernetShutdown { number: 4, shutdown: false }))
    );
    assert_eq!(sh.run("exit"), Ok(Action::ModeChanged));
    assert_eq!(sh.prompt(), "switch(config)# ");
    sh.run("interface vethernet 4").unwrap();
    assert_eq!(sh.run("end"), Ok(Action::ModeChanged));
    assert_eq!(sh.prompt(), "switch# ");
    // Entering the sub-mode is a configuration-mode command, not an exec one.
    assert!(sh.run("interface vethernet 4").is_err());
    assert!(cli::parse_exec("interface vethernet 4").is_err());
}

#[test]
fn interface_sub_mode_errors_and_global_lines() {
    let mut sh = Shell::new();
    sh.run("configure terminal").unwrap();
    let out = sh.run("interface vethernet 0").unwrap_err();
    assert!(out.contains("% Invalid command at '^' marker."), "{out}");
    assert_eq!(sh.prompt(), "switch(config)# ");
    sh.run("interface vethernet 9").unwrap();
    // Not an interface command: the caret points into the line; the mode stays.
    let e = sh.session.interpret("switchport access vlan 5").unwrap_err();
    assert_eq!(e.message, "Invalid command at '^' marker.");
    assert_eq!(e.column, 1);
    let e = sh.session.interpret("no shutdown now").unwrap_err();
    assert_eq!(e.column, 13);
    assert_eq!(sh.prompt(), "switch(config-if)# ");
    // A global configuration line leaves the sub-mode, as in NX-OS.
    assert_eq!(sh.run("vlan 7"), Ok(Action::Config { text: "vlan 7\n".into() }));
    assert_eq!(sh.prompt(), "switch(config-vlan)# ");
    assert!(sh.config.vlans.contains_key(&7));
    // `?` lists the sub-mode's commands.
    sh.run("interface vethernet 9").unwrap();
    let words: Vec<String> = sh.session.help("").into_iter().map(|c| c.word).collect();
    for word in ["shutdown", "no", "show", "do", "exit", "end", "interface"] {
        assert!(words.contains(&word.to_owned()), "{word} missing from {words:?}");
    }
    assert!(!words.contains(&"port-profile".to_owned()), "{words:?}");
}

#[test]
fn interface_sub_mode_is_refused_in_configuration_sessions() {
    let mut s = Session::new("switch");
    s.interpret("configure session s1").unwrap();
    let e = s.interpret("interface vethernet 3").unwrap_err();
    assert_eq!(e.column, 1);
    assert!(e.detail.unwrap_or_default().contains("configuration session"));
    assert_eq!(s.prompt(), "switch(config-s)# ");
}

#[test]
fn the_ip_pool_sub_mode_sends_its_lines_under_the_header() {
    let mut sh = Shell::new();
    sh.run("conf t").unwrap();
    sh.run("ip pool web-pool").unwrap();
    assert_eq!(sh.prompt(), "switch(config-ip-pool)# ");
    assert_eq!(
        sh.run("network 10.100.0.0/24"),
        Ok(Action::Config { text: "ip pool web-pool\n  network 10.100.0.0/24\n".into() })
    );
    sh.run("exclude 10.100.0.50").unwrap();
    assert_eq!(sh.config.ip_pools["web-pool"].allocatable().size(), 253);
    // switch(config-ip-pool)# default-router 10.100.1.1: outside the network.
    let out = sh.run("default-router 10.100.1.1").unwrap_err();
    assert!(out.contains("is outside the pool's network 10.100.0.0/24"), "{out}");
    sh.run("port-profile web").unwrap();
    sh.run("ip pool web-pool").unwrap();
    assert_eq!(sh.config.port_profiles["web"].ip_pool.as_deref(), Some("web-pool"));
}
