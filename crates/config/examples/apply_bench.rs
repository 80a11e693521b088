//! Times `apply` of a large configuration: `cargo run --release -p switchyard-config --example
//! apply_bench [profiles]`. The supervisor's benchmark (docs/BENCHMARKS.md) uses the same shape.

use std::fmt::Write as _;
use std::time::Instant;

fn main() {
    let profiles: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(2000);
    let mut text = String::from("vlan 1-4094\n");
    for i in 0..profiles {
        let _ = write!(
            text,
            "port-profile type vethernet p{i}\n  description profile {i}\n  switchport mode access\n  \
             switchport access vlan {}\n  max-ports 64\n  port-binding dynamic\n  no shutdown\n  \
             state enabled\n",
            i % 4094 + 1
        );
    }
    let start = Instant::now();
    let applied = match config::apply(&config::Config::default(), &text) {
        Ok(applied) => applied,
        Err(e) => {
            eprintln!("apply failed: {e}");
            std::process::exit(1);
        }
    };
    let apply_time = start.elapsed();
    let start = Instant::now();
    let printed = config::print_running_config(&applied.config);
    let print_time = start.elapsed();
    let start = Instant::now();
    let one = config::apply(&applied.config, "port-profile p7\n  switchport access vlan 9\n");
    let one_time = start.elapsed();
    println!(
        "{profiles} profiles, {} lines: apply {apply_time:?}, print {print_time:?} ({} bytes), \
         one-line change on top {one_time:?} (ok: {}), {} changes",
        text.lines().count(),
        printed.len(),
        one.is_ok(),
        applied.changes.len()
    );
}
