//! The demo's second act (as root): the seed's walk-through with real containers. Two network
//! namespaces stand in for containers; `switchyard attach` gives each an `eth0` on port-profile
//! vlan100; they ping each other; one command shuts the profile (every port goes down) and one
//! brings it back. The namespaces and links are removed at the end, also on failure.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::netns::{Netns, lossy};
use crate::shell::client::SupervisorClient;

use super::step;

/// The demo's containers: name and address on VLAN 100 (a documentation-only subnet of the
/// namespaces, never routed anywhere).
const CONTAINERS: [(&str, &str); 2] = [("web1", "10.100.0.11"), ("web2", "10.100.0.12")];

pub fn run(exe: &Path, agent_dir: &Path, client: &SupervisorClient) -> anyhow::Result<()> {
    let mut attached = Vec::new();
    for (name, ip) in CONTAINERS {
        let ns = Netns::new(name)?;
        step(&format!("attaching container {name} ({}) to port-profile vlan100 as {ip}/24", ns.name));
        let out = Command::new(exe)
            .args(["attach", "--netns", &ns.name, "--profile", "vlan100", "--name", name])
            .args(["--ip", &format!("{ip}/24"), "--data-dir"])
            .arg(agent_dir)
            .output()
            .context("running switchyard attach")?;
        if !out.status.success() {
            bail!("attach {name} failed: {}", lossy(&out.stderr).trim());
        }
        println!(
            "\n[root@bilbo ~]# switchyard attach --netns {} --profile vlan100 --ip {ip}/24 --name {name}",
            ns.name
        );
        print!("{}", lossy(&out.stdout));
        attached.push((ns, ip));
        super::interrupt::check()?;
    }
    let (web1, _) = &attached[0];
    let (_, web2_ip) = &attached[1];

    for command in ["show interface virtual", "show interface brief", "show port-profile virtual usage"] {
        println!("\nswitch# {command}");
        print!("{}", client.exec(command)?);
    }
    println!("\n[root@bilbo ~]# switchyard vemcmd show port");
    print!("{}", vemcmd(exe, agent_dir, &["show", "port"])?);

    println!("\nweb1# ping -c 3 {web2_ip}");
    print!("{}", web1.exec_ok(&["ping", "-c", "3", "-i", "0.2", "-W", "1", web2_ip])?);

    super::interrupt::check()?;
    println!("\nswitch(config-port-prof)# shutdown          <- one command, every port of vlan100");
    client.configure("port-profile vlan100\n  shutdown\n")?;
    let down = wait_ping(web1, web2_ip, false);
    println!("web1 reaches web2: {}", if down { "no (ports are down)" } else { "still yes!" });
    println!("switch(config-port-prof)# no shutdown");
    client.configure("port-profile vlan100\n  no shutdown\n")?;
    let up = wait_ping(web1, web2_ip, true);
    println!("web1 reaches web2: {}", if up { "yes again" } else { "no!" });
    println!("\nswitch# show logging logfile      (the last 6 lines)");
    let log = client.exec("show logging logfile")?;
    let lines: Vec<&str> = log.lines().collect();
    for line in &lines[lines.len().saturating_sub(6)..] {
        println!("{line}");
    }
    if !(down && up) {
        bail!("the profile change did not take effect as expected");
    }

    for (ns, _) in &attached {
        let out =
            Command::new(exe).args(["detach", "--netns", &ns.name, "--data-dir"]).arg(agent_dir).output()?;
        if !out.status.success() {
            bail!("detach {} failed: {}", ns.name, lossy(&out.stderr).trim());
        }
    }
    step("detached both containers; removing their namespaces");
    Ok(())
}

fn vemcmd(exe: &Path, agent_dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(exe).arg("vemcmd").arg("--data-dir").arg(agent_dir).args(args).output()?;
    if !out.status.success() {
        bail!("vemcmd {}: {}", args.join(" "), lossy(&out.stderr).trim());
    }
    Ok(lossy(&out.stdout))
}

/// Waits up to 5 s for `ns` to reach (or stop reaching) `ip`; true when it did.
fn wait_ping(ns: &Netns, ip: &str, reachable: bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if ns.ping(ip, 1) == reachable {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}
