//! The demo's second act (as root): the seed's walk-through with real containers. Network
//! namespaces stand in for containers. `web1` is plumbed by hand on bilbo as the seed does (veth
//! pair, one end moved in as eth0) and added with the real `ovs-vsctl add-port … external_ids:…`
//! when Open vSwitch is installed; the others use `switchyard attach`. Then: reachability inside
//! VLAN 100 (ping, TCP, ssh), isolation from VLAN 101, a live move of vlan101's ports into VLAN
//! 100, VLAN 100 across hosts over the uplink trunks, a bridge-domain across hosts over VXLAN, and
//! ports removed before their containers. Everything it makes is removed at the end, also on
//! failure or Ctrl-C.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::interrupt;
use super::ovs::{BRIDGE, Ovsdb};
use crate::netns::{Netns, lossy};
use crate::shell::client::SupervisorClient;
use crate::sshd::{self, SshServer};
use testbed::fabric::Fabric;

/// Addresses inside the demo's namespaces only (never routed anywhere).
const WEB1: &str = "10.100.0.11";
const WEB2: &str = "10.100.0.12";
const DB1: &str = "10.100.0.13";
const WEB3: &str = "10.100.0.14";
const RED1: &str = "10.200.0.1";
const RED2: &str = "10.200.0.2";

/// A bridge-domain and a profile on it, added live in chapter 8.
const TENANT_RED: &str = "\
bridge-domain tenant-red
  segment id 5000
port-profile type vethernet red
  description tenant red, a VXLAN segment across hosts
  switchport mode access
  switchport access bridge-domain tenant-red
  no shutdown
  state enabled
";

/// What the act needs from the first: the binary, the hosts, the supervisor, Open vSwitch.
pub struct Lab<'a> {
    pub exe: &'a Path,
    /// The demo's directory: agents' data dirs are `root/<host>`.
    pub root: &'a Path,
    pub fabric: &'a Fabric,
    pub client: &'a SupervisorClient,
    pub ovs: Option<&'a Ovsdb>,
    /// `--keep`: the supervisor's URL, and wait for Ctrl-C before cleaning up.
    pub keep: Option<&'a str>,
}

/// How a container's port was added, so it is removed the same way.
enum Plumbing {
    /// By hand + `ovs-vsctl add-port`: remove with `ovs-vsctl del-port`, then delete the veth.
    Ovs { veth: String },
    /// `switchyard attach`: `switchyard detach`.
    Attach,
}

struct Container {
    name: &'static str,
    /// The host whose agent switches it.
    host: &'static str,
    ns: Netns,
    plumbing: Plumbing,
}

impl Lab<'_> {
    fn agent_dir(&self, host: &str) -> std::path::PathBuf {
        self.root.join(host)
    }
}

pub fn run(lab: &Lab<'_>) -> anyhow::Result<()> {
    chapter("3. Containers: web1 and web2 on vlan100, db1 on vlan101");
    let mut containers = Vec::new();
    let mut result = act(lab, &mut containers);
    if let (Ok(()), Some(url)) = (&result, lab.keep) {
        result = keep_running(lab, url, &containers);
    }
    // The seed's last step: remove the ports before the containers (also after a failure).
    chapter("9. Remove the ports before the containers");
    for container in &containers {
        if let Err(err) = remove_port(lab, container) {
            eprintln!("demo: removing {}'s port: {err:#}", container.name);
        }
    }
    result
}

/// `--keep`: the lab stays up for exploration until Ctrl-C.
fn keep_running(lab: &Lab<'_>, url: &str, containers: &[Container]) -> anyhow::Result<()> {
    let supervisor = &lab.fabric.supervisor.name;
    let data_dir = lab.root.join("supervisor");
    let data_dir = data_dir.display();
    println!(
        "\nThe lab is running. Try (as root, which may read the generated admin password):\n  \
         ip netns exec {supervisor} switchyard shell --supervisor {url} --data-dir {data_dir}"
    );
    for host in &lab.fabric.hosts {
        let dir = lab.agent_dir(&host.name);
        println!("  switchyard vemcmd --data-dir {} show port   # on {}", dir.display(), host.name);
    }
    for container in containers {
        println!("  ip netns exec {} bash        # inside {}", container.ns.name, container.name);
    }
    println!("Ctrl-C removes everything.");
    while !interrupt::requested() {
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

fn act(lab: &Lab<'_>, containers: &mut Vec<Container>) -> anyhow::Result<()> {
    containers.push(match lab.ovs {
        Some(ovs) => plumb_by_hand(lab, ovs, "web1", WEB1)?,
        None => {
            println!(
                "(Open vSwitch is not installed: web1 joins with `switchyard attach` instead of ovs-vsctl)"
            );
            attach(lab, "bilbo", "web1", "vlan100", WEB1)?
        }
    });
    containers.push(attach(lab, "bilbo", "web2", "vlan100", WEB2)?);
    containers.push(attach(lab, "bilbo", "db1", "vlan101", DB1)?);
    interrupt::check()?;

    chapter("4. What the supervisor and the host see");
    for command in ["show interface virtual", "show port-profile virtual usage", "show interface brief"] {
        show(lab.client, command)?;
    }
    println!("\n[root@bilbo ~]# vemcmd show port");
    print!("{}", vemcmd(lab, "bilbo", &["show", "port"])?);

    chapter("5. Reachability inside VLAN 100, isolation from VLAN 101");
    let web2 = &containers[1].ns;
    let db1 = &containers[2].ns;
    println!("web2# ping -c 3 {WEB1}");
    print!("{}", web2.exec_ok(&["ping", "-c", "3", "-i", "0.2", "-W", "1", WEB1])?);
    tcp(lab, &containers[0].ns, web2)?;
    ssh(lab, &containers[0].ns, web2, "web2")?;
    let isolated = !db1.ping(WEB1, 2);
    println!(
        "\ndb1# ping -c 2 {WEB1}\n{}",
        if isolated { "(no answer: VLAN 101 is isolated from VLAN 100)" } else { "answered!" }
    );
    if !isolated {
        bail!("db1 on VLAN 101 reached web1 on VLAN 100");
    }
    interrupt::check()?;

    chapter("6. One command moves every port of vlan101 into VLAN 100, live");
    println!("switch(config)# port-profile vlan101\nswitch(config-port-prof)# switchport access vlan 100");
    let changed = Instant::now();
    lab.client.configure("port-profile vlan101\n  switchport access vlan 100\n")?;
    let reached = wait_ping(db1, WEB1, true);
    println!(
        "db1 reaches web1: {} ({} ms after the command)",
        if reached { "yes" } else { "no!" },
        changed.elapsed().as_millis()
    );
    if !reached {
        bail!("the live VLAN change did not take effect");
    }
    lab.client.configure("port-profile vlan101\n  switchport access vlan 101\n")?;
    show(lab.client, "show logging logfile")?;
    interrupt::check()?;

    across_the_trunk(lab, containers)?;
    interrupt::check()?;
    over_vxlan(lab, containers)
}

/// Chapter 7: web3 on frodo joins VLAN 100; web1 on bilbo reaches it through both hosts' uplinks
/// and the physical switch between them.
fn across_the_trunk(lab: &Lab<'_>, containers: &mut Vec<Container>) -> anyhow::Result<()> {
    chapter("7. A second host: VLAN 100 across the uplink trunks");
    containers.push(attach(lab, "frodo", "web3", "vlan100", WEB3)?);
    let web3 = &containers[containers.len() - 1].ns;
    println!("\nweb3# ping -c 3 {WEB1}      (frodo -> eth1 -> physical switch -> bilbo's eth1, tagged 100)");
    print!("{}", web3.exec_ok(&["ping", "-c", "3", "-i", "0.2", "-W", "1", WEB1])?);
    ssh(lab, &containers[0].ns, web3, "web3")?;
    for command in ["show interface brief", "show port-profile virtual usage"] {
        show(lab.client, command)?;
    }
    println!("\n[root@frodo ~]# vemcmd show port vlans");
    print!("{}", vemcmd(lab, "frodo", &["show", "port", "vlans"])?);
    Ok(())
}

/// Chapter 8: a bridge-domain created live; red1 on bilbo and red2 on frodo talk over VXLAN,
/// full-size packets with DF included, and the supervisor shows who is where.
fn over_vxlan(lab: &Lab<'_>, containers: &mut Vec<Container>) -> anyhow::Result<()> {
    chapter("8. A bridge-domain across hosts over VXLAN");
    echo_config(TENANT_RED);
    lab.client.configure(TENANT_RED)?;
    containers.push(attach(lab, "bilbo", "red1", "red", RED1)?);
    containers.push(attach(lab, "frodo", "red2", "red", RED2)?);
    let red1 = &containers[containers.len() - 2].ns;
    let mtu = red1.exec_ok(&["cat", "/sys/class/net/eth0/mtu"])?;
    println!(
        "(red1's eth0 has MTU {}: room for the 50-byte VXLAN header on a 1500-byte underlay)",
        mtu.trim()
    );
    println!("\nred1# ping -c 3 -M do -s 1422 {RED2}     (1450-byte packets, don't fragment)");
    print!("{}", red1.exec_ok(&["ping", "-c", "3", "-i", "0.2", "-W", "1", "-M", "do", "-s", "1422", RED2])?);
    for command in
        ["show bridge-domain", "show bridge-domain tenant-red vteps", "show bridge-domain tenant-red mac"]
    {
        show(lab.client, command)?;
    }
    println!("\n[root@bilbo ~]# vemcmd show l2 bd-name tenant-red");
    print!("{}", vemcmd(lab, "bilbo", &["show", "l2", "bd-name", "tenant-red"])?);
    let isolated = !red1.ping(WEB1, 2);
    println!(
        "\nred1# ping -c 2 {WEB1}\n{}",
        if isolated { "(no answer: the bridge-domain is its own segment)" } else { "answered!" }
    );
    if !isolated {
        bail!("red1 in bridge-domain tenant-red reached web1 on VLAN 100");
    }
    Ok(())
}

/// The seed's manual steps: a veth pair, one end into the container as eth0 with its address,
/// then `ovs-vsctl add-port` with the five external_ids.
fn plumb_by_hand(lab: &Lab<'_>, ovs: &Ovsdb, name: &'static str, ip: &str) -> anyhow::Result<Container> {
    let ns = Netns::new(name)?;
    let veth = format!("veth{}_eth0", std::process::id() % 100_000);
    let peer = format!("{veth}p");
    let iface_id = uuid::Uuid::new_v4().to_string();
    let vm_uuid = uuid::Uuid::new_v4().to_string();
    let bilbo = &lab.fabric.host("bilbo").ns;
    println!("[root@bilbo ~]# ip link add {veth} type veth peer name {peer}");
    bilbo.ip(&["link", "add", &veth, "type", "veth", "peer", "name", &peer])?;
    let container = Container { name, host: "bilbo", ns, plumbing: Plumbing::Ovs { veth: veth.clone() } };
    let ns = &container.ns.name;
    println!("[root@bilbo ~]# ip link set {peer} netns {ns}   # then, inside: rename to eth0, address, up");
    bilbo.ip(&["link", "set", &peer, "netns", ns])?;
    container.ns.ip(&["link", "set", &peer, "name", "eth0"])?;
    container.ns.ip(&["addr", "add", &format!("{ip}/24"), "dev", "eth0"])?;
    container.ns.ip(&["link", "set", "eth0", "up"])?;
    bilbo.ip(&["link", "set", &veth, "up"])?;
    let mac = container_mac(&container.ns)?;
    let args = [
        "add-port".to_owned(),
        BRIDGE.to_owned(),
        veth.clone(),
        "--".to_owned(),
        "set".to_owned(),
        "interface".to_owned(),
        veth.clone(),
        format!("external_ids:iface-id={iface_id}"),
        format!("external_ids:attached-mac={mac}"),
        "external_ids:profile=vlan100".to_owned(),
        format!("external_ids:vm-uuid={vm_uuid}"),
        format!("external_ids:vm-name={name}"),
    ];
    println!("[root@bilbo ~]# ovs-vsctl {}", args.join(" "));
    let started = Instant::now();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ovs.vsctl(&args)?;
    println!(
        "(ovs-vsctl returned in {} ms: the agent bound the port and wrote ofport back)",
        started.elapsed().as_millis()
    );
    print!(
        "{}",
        ovs.vsctl(&["--columns=name,ofport,link_state,admin_state,error", "list", "interface", &veth])?
    );
    Ok(container)
}

fn attach(
    lab: &Lab<'_>,
    host: &'static str,
    name: &'static str,
    profile: &str,
    ip: &str,
) -> anyhow::Result<Container> {
    let ns = Netns::new(name)?;
    println!(
        "\n[root@{host} ~]# switchyard attach --netns {} --profile {profile} --ip {ip}/24 --name {name}",
        ns.name
    );
    let out = Command::new(lab.exe)
        .args(["attach", "--netns", &ns.name, "--profile", profile, "--name", name])
        .args(["--ip", &format!("{ip}/24"), "--data-dir"])
        .arg(lab.agent_dir(host))
        .output()
        .context("running switchyard attach")?;
    if !out.status.success() {
        bail!("attach {name} failed: {}", lossy(&out.stderr).trim());
    }
    print!("{}", lossy(&out.stdout));
    Ok(Container { name, host, ns, plumbing: Plumbing::Attach })
}

fn remove_port(lab: &Lab<'_>, container: &Container) -> anyhow::Result<()> {
    match (&container.plumbing, lab.ovs) {
        (Plumbing::Ovs { veth }, Some(ovs)) => {
            println!("[root@bilbo ~]# ovs-vsctl del-port {BRIDGE} {veth}; ip link del {veth}");
            ovs.vsctl(&["del-port", BRIDGE, veth])?;
            lab.fabric.host(container.host).ns.ip(&["link", "del", veth])
        }
        (Plumbing::Ovs { veth }, None) => lab.fabric.host(container.host).ns.ip(&["link", "del", veth]),
        (Plumbing::Attach, _) => {
            println!("[root@{} ~]# switchyard detach --netns {}", container.host, container.ns.name);
            let out = Command::new(lab.exe)
                .args(["detach", "--netns", &container.ns.name, "--data-dir"])
                .arg(lab.agent_dir(container.host))
                .output()?;
            if !out.status.success() {
                bail!("{}", lossy(&out.stderr).trim());
            }
            Ok(())
        }
    }
}

/// TCP through the switch with iperf3 when it is installed.
fn tcp(lab: &Lab<'_>, server: &Netns, client: &Netns) -> anyhow::Result<()> {
    if !Path::new("/usr/bin/iperf3").exists() {
        println!("\n(iperf3 is not installed: skipping the TCP measurement)");
        return Ok(());
    }
    let _ = lab;
    let mut daemon = server.spawn(&["iperf3", "-s", "-1", "-p", "5201"])?;
    std::thread::sleep(Duration::from_millis(300));
    println!("\nweb2# iperf3 -c {WEB1} -t 2");
    let out = client.exec(&["timeout", "20", "iperf3", "-c", WEB1, "-p", "5201", "-t", "2", "-J"])?;
    let _ = daemon.kill();
    let _ = daemon.wait();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).context("reading iperf3's report")?;
    let bps = report["end"]["sum_received"]["bits_per_second"].as_f64().unwrap_or(0.0);
    if !out.status.success() || bps <= 0.0 {
        bail!("TCP from web2 to web1 failed: {}", lossy(&out.stderr).trim());
    }
    println!("TCP web2 -> web1 through Switchyard: {:.2} Gbit/s", bps / 1e9);
    Ok(())
}

/// The seed's finale: ssh into web1 from another container (`client`) on the same VLAN.
fn ssh(lab: &Lab<'_>, web1: &Netns, client: &Netns, client_name: &str) -> anyhow::Result<()> {
    if !sshd::available() {
        println!("\n(openssh-server is not installed: skipping ssh into web1)");
        return Ok(());
    }
    let server = SshServer::start(web1, &lab.root.join(format!("ssh-{client_name}")))?;
    let command = format!("{} root@{WEB1} 'echo hello from $(hostname -I)'", server.client_command());
    println!("\n{client_name}# ssh root@{WEB1} 'echo hello from $(hostname -I)'");
    print!("{}", client.exec_ok(&["sh", "-c", &command])?);
    Ok(())
}

fn container_mac(ns: &Netns) -> anyhow::Result<String> {
    let out = ns.exec_ok(&["cat", "/sys/class/net/eth0/address"])?;
    Ok(out.trim().to_owned())
}

fn vemcmd(lab: &Lab<'_>, host: &str, args: &[&str]) -> anyhow::Result<String> {
    let out =
        Command::new(lab.exe).arg("vemcmd").arg("--data-dir").arg(lab.agent_dir(host)).args(args).output()?;
    if !out.status.success() {
        bail!("vemcmd {}: {}", args.join(" "), lossy(&out.stderr).trim());
    }
    Ok(lossy(&out.stdout))
}

fn show(client: &SupervisorClient, command: &str) -> anyhow::Result<()> {
    println!("\nswitch# {command}");
    print!("{}", client.exec(command)?);
    Ok(())
}

/// Prints configuration lines as typed in the shell, each after the prompt of its mode.
fn echo_config(text: &str) {
    let mut session = cli::Session::new("switch");
    for line in ["configure terminal"].into_iter().chain(text.lines()) {
        println!("{}{}", session.prompt(), line.trim_start());
        let _ = session.interpret(line);
    }
}

pub fn chapter(title: &str) {
    println!("\n==== {title} ====");
}

/// Waits up to 5 s for `ns` to reach (or stop reaching) `ip`; true when it did.
fn wait_ping(ns: &Netns, ip: &str, reachable: bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) && !interrupt::requested() {
        if ns.ping(ip, 1) == reachable {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}
