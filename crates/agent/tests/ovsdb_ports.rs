//! The seed's way end to end, as root: a supervisor and an agent in this process, a private
//! ovsdb-server per test, containers plumbed by hand as the seed does (veth pair, `ovs-vsctl
//! add-port` with the five external_ids and without `--no-wait`, the peer moved into the
//! container as `eth0`), real `ping` between them, and the rows as `ovs-vsctl` shows them.
//!
//! `cargo test -p switchyard-agent --test ovsdb_ports -- --nocapture` also prints the times.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod ovsdb_support;
mod port_lab;

use std::process::Output;
use std::time::{Duration, Instant};

use agent::ports::{DetachSpec, SUPERVISOR_GRACE};
use ovsdb_support::OvsdbServer;
use port_lab::{
    Container, Host, HostLink, Place, Supervisor, bounded, eventually, host_link_exists, packet_sockets_on,
    report, require_root, run, unique,
};
use tokio::task::block_in_place;

const BRIDGE: &str = "sy-test";

/// What the issue allows `ovs-vsctl` without `--no-wait`.
const PROMPT: Duration = Duration::from_secs(2);

const PROFILES: &str = "vlan 100-101\n\
port-profile type vethernet vlan100\n  switchport mode access\n  switchport access vlan 100\n  no shutdown\n  state enabled\n";

/// A supervisor with the seed's profile and an agent on the test's private ovsdb-server.
async fn setup() -> (Supervisor, OvsdbServer, Host) {
    require_root();
    let supervisor = Supervisor::start().await;
    let revision = supervisor.configure(PROFILES).await;
    let server = block_in_place(OvsdbServer::start);
    let host = Host::start_with_ovsdb(&supervisor, server.endpoint(), BRIDGE).await;
    // The agent holds only its ports' profiles; its revision says the supervisor has these.
    let mut policies = host.agent().policies();
    tokio::time::timeout(Duration::from_secs(10), policies.wait_for(|s| s.revision >= revision))
        .await
        .expect("the profiles' revision reached the agent");
    eventually("the agent to create its bridge", Duration::from_secs(5), || async {
        vsctl(&server, &["br-exists", BRIDGE]).status.success()
    })
    .await;
    (supervisor, server, host)
}

fn vsctl(server: &OvsdbServer, args: &[&str]) -> Output {
    block_in_place(|| server.vsctl(args))
}

fn vsctl_ok(server: &OvsdbServer, args: &[&str]) -> String {
    block_in_place(|| server.vsctl_ok(args))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// One column of an Interface row, as `ovs-vsctl get` prints it.
fn column(server: &OvsdbServer, ifname: &str, column: &str) -> String {
    vsctl_ok(server, &["get", "interface", ifname, column])
}

/// A container plumbed the seed's way: a veth pair made by hand, the host end given to the
/// switch with `ovs-vsctl add-port`, then the peer moved into the container as `eth0`.
struct SeedContainer {
    container: Container,
    /// Deletes the host end (the seed's `veth18924_eth0`) on drop.
    _host_end: HostLink,
    name: String,
    iface_id: String,
    mac: String,
}

impl SeedContainer {
    /// The pair, with the peer still on the host (as in the seed, before the add-port).
    fn new(ip: &str) -> Self {
        let container = Container::new(ip);
        let name = unique("sh");
        let peer = format!("{name}c");
        run("ip", &["link", "add", &name, "type", "veth", "peer", "name", &peer]);
        let host_end = HostLink(name.clone());
        let link = Place::Host.link(&peer).expect("the peer");
        let mac = link["address"].as_str().expect("a MAC").to_owned();
        Self { container, _host_end: host_end, iface_id: uuid(), name, mac }
    }

    /// A container whose host end does not exist (yet): a row naming it has no interface.
    fn without_interface(ip: &str) -> Self {
        let name = unique("sn");
        let host_end = HostLink(name.clone());
        let mac = "02:42:ac:16:40:c9".to_owned();
        Self { container: Container::new(ip), _host_end: host_end, iface_id: uuid(), name, mac }
    }

    /// The seed's `ovs-vsctl add-port` with `profile`, verbatim, without `--no-wait`.
    fn add_port_args(&self, profile: &str) -> Vec<String> {
        let mut args: Vec<String> =
            ["add-port", BRIDGE, &self.name, "--", "set", "interface", &self.name].map(str::to_owned).into();
        args.extend([
            format!("external_ids:iface-id={}", self.iface_id),
            format!("external_ids:attached-mac={}", self.mac),
            format!("external_ids:profile={profile}"),
            format!("external_ids:vm-uuid={}", uuid()),
            format!("external_ids:vm-name={}", self.container.netns.name),
        ]);
        args
    }

    /// Runs the add-port; its output and how long it took.
    fn add_port(&self, server: &OvsdbServer, profile: &str) -> (Output, Duration) {
        let args = self.add_port_args(profile);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let started = Instant::now();
        let output = vsctl(server, &args);
        (output, started.elapsed())
    }

    /// The add-port, which must succeed promptly and say nothing.
    fn add_port_ok(&self, server: &OvsdbServer, profile: &str) -> Duration {
        let (output, took) = self.add_port(server, profile);
        assert!(output.status.success(), "add-port failed: {}", stderr(&output));
        assert_eq!(stderr(&output), "", "ovs-vsctl complained");
        assert!(took < PROMPT, "add-port took {took:?}");
        took
    }

    /// Moves the peer into the container as `eth0`, addressed and up: the seed's last step.
    fn plug_in(&self) {
        let ns = &self.container.netns.name;
        run("ip", &["link", "set", &format!("{}c", self.name), "netns", ns, "name", "eth0"]);
        run("ip", &["-n", ns, "addr", "add", &format!("{}/24", self.container.ip), "dev", "eth0"]);
        run("ip", &["-n", ns, "link", "set", "eth0", "up"]);
        run("ip", &["-n", ns, "link", "set", "lo", "up"]);
    }

    /// Seed-plumbed and added with `profile`, in the seed's order.
    fn attach(server: &OvsdbServer, ip: &str, profile: &str) -> Self {
        let container = Self::new(ip);
        container.add_port_ok(server, profile);
        container.plug_in();
        container
    }
}

fn uuid() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/uuid").unwrap().trim().to_owned()
}

/// `key: value` lines of `ovs-vsctl list interface NAME`, trimmed.
fn listing(server: &OvsdbServer, ifname: &str) -> Vec<(String, String)> {
    vsctl_ok(server, &["list", "interface", ifname])
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

fn field<'l>(listing: &'l [(String, String)], key: &str) -> &'l str {
    listing.iter().find(|(k, _)| k == key).map_or("", |(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_add_port_makes_a_port_that_pings_and_the_row_shows_it() {
    bounded(async {
        let (supervisor, server, host) = setup().await;
        let web1 = SeedContainer::new("10.92.0.1");
        let took = web1.add_port_ok(&server, "vlan100");
        report(&format!("ovs-vsctl add-port (adopt, BindPort, dataplane, cur_cfg): {took:?}"));
        web1.plug_in();
        let web2 = SeedContainer::attach(&server, "10.92.0.2", "vlan100");
        assert!(web1.container.reaches(&web2.container, Duration::from_secs(5)).await, "same-VLAN ping failed");

        // The row, as `ovs-vsctl list interface` shows it.
        let (veth, module) = {
            let ports = host.ports().await;
            let port = ports.ports.iter().find(|port| port.host_ifname == web1.name).expect("web1's port");
            assert_eq!((port.ltl, port.iface_id.as_str(), port.profile.as_str()), (49, web1.iface_id.as_str(), "vlan100"));
            (port.veth, host.agent().status().borrow().module.expect("a module"))
        };
        eventually("link_state up once the container end is up", Duration::from_secs(5), || async {
            column(&server, &web1.name, "link_state") == "up"
        })
        .await;
        let row = listing(&server, &web1.name);
        assert_eq!(field(&row, "ofport"), "1", "{row:?}");
        assert_eq!(field(&row, "admin_state"), "up", "{row:?}");
        assert_eq!(field(&row, "link_state"), "up", "{row:?}");
        assert_eq!(field(&row, "error"), "[]", "{row:?}");
        let status = field(&row, "status");
        for entry in [format!("vethernet=Vethernet{veth}"), "port-profile=vlan100".into(), "state=up".into(), "access-vlan=\"100\"".into()] {
            assert!(status.contains(&entry), "{entry} missing from status {status}");
        }
        assert_eq!(column(&server, &web2.name, "ofport"), "2");
        assert_eq!(
            vsctl_ok(&server, &["get", "open_vswitch", ".", "cur_cfg"]),
            vsctl_ok(&server, &["get", "open_vswitch", ".", "next_cfg"])
        );

        // The supervisor's and the host's views: the seed's IF_ATTACHED names the host end.
        let events = supervisor.events().await;
        let attached = format!(
            "%VIM-5-IF_ATTACHED: Interface Vethernet{veth} is attached to {} of {} on port 1 of module {module}",
            web1.name, web1.container.netns.name
        );
        assert!(events.contains(&attached), "{attached:?} missing from {events:#?}");
        let show_port = host.vemcmd("show port").await;
        assert!(show_port.contains(&web1.name) && show_port.contains(&web2.name), "{show_port}");
        assert_eq!(packet_sockets_on(&web1.name), 1);

        // `switchyard detach` leaves an OVSDB port to its row.
        let refused = host.detach(DetachSpec::IfaceId(web1.iface_id.clone())).await.expect_err("detach refused");
        assert!(refused.to_string().contains(&format!("ovs-vsctl del-port {BRIDGE} {}", web1.name)), "{refused}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn del_port_detaches_and_leaves_the_interface() {
    bounded(async {
        let (supervisor, server, host) = setup().await;
        let web1 = SeedContainer::attach(&server, "10.92.1.1", "vlan100");
        let web2 = SeedContainer::attach(&server, "10.92.1.2", "vlan100");
        assert!(web1.container.reaches(&web2.container, Duration::from_secs(5)).await);
        let veth = host.ports().await.ports.iter().find(|p| p.host_ifname == web1.name).expect("web1").veth;

        let started = Instant::now();
        let output = vsctl(&server, &["del-port", BRIDGE, &web1.name]);
        let took = started.elapsed();
        assert!(output.status.success() && output.stderr.is_empty(), "{}", stderr(&output));
        assert!(took < PROMPT, "del-port took {took:?}");
        report(&format!("ovs-vsctl del-port: {took:?}"));

        // Out of the switch, the interface (and the container's eth0) still there.
        let ports = host.ports().await;
        assert_eq!(
            ports.ports.iter().map(|p| p.host_ifname.as_str()).collect::<Vec<_>>(),
            [web2.name.as_str()]
        );
        assert!(host_link_exists(&web1.name), "the agent deleted an interface it did not make");
        assert!(web1.container.netns.place().link("eth0").is_some());
        assert_eq!(packet_sockets_on(&web1.name), 0);
        assert!(!web1.container.pings(&web2.container, 500), "a detached port still forwards");
        let saved = std::fs::read_to_string(host.data_dir().join("ports.json")).unwrap();
        assert!(!saved.contains(&web1.iface_id) && saved.contains(&web2.iface_id), "{saved}");
        let detached = format!("%VIM-5-IF_DETACHED: Interface Vethernet{veth} is detached");
        eventually("IF_DETACHED", Duration::from_secs(5), || async {
            supervisor.events().await.iter().any(|line| line.starts_with(&detached))
        })
        .await;

        // Added again, it is the same port.
        web1.add_port_ok(&server, "vlan100");
        assert!(web1.container.reaches(&web2.container, Duration::from_secs(5)).await);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_profile_shows_an_error_then_comes_up_when_it_is_created() {
    bounded(async {
        let (supervisor, server, _host) = setup().await;
        let early = SeedContainer::new("10.92.2.1");
        // Bound and waiting: ovs-vsctl has nothing to complain about.
        early.add_port_ok(&server, "later");
        early.plug_in();
        let peer = SeedContainer::attach(&server, "10.92.2.2", "vlan100");
        let error = column(&server, &early.name, "error");
        assert!(error.starts_with("\"port-profile not found: later"), "{error}");
        assert_eq!(column(&server, &early.name, "ofport"), "1");
        assert_eq!(column(&server, &early.name, "admin_state"), "down");
        assert_eq!(column(&server, &early.name, "link_state"), "down");
        assert!(column(&server, &early.name, "status").contains("state=\"down (port-profile not found)\""));
        assert!(!early.container.pings(&peer.container, 500), "a port without a profile forwards");

        let created = Instant::now();
        supervisor
            .configure("port-profile type vethernet later\n  switchport mode access\n  switchport access vlan 100\n  no shutdown\n  state enabled\n")
            .await;
        eventually("the row to come up", Duration::from_secs(5), || async {
            column(&server, &early.name, "error") == "[]" && column(&server, &early.name, "link_state") == "up"
        })
        .await;
        report(&format!("profile created -> row up: {:?}", created.elapsed()));
        assert_eq!(column(&server, &early.name, "ofport"), "1", "the port kept its number");
        assert!(early.container.reaches(&peer.container, Duration::from_secs(5)).await);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_the_agent_cannot_honour_get_an_error_and_the_agent_carries_on() {
    bounded(async {
        let (_supervisor, server, host) = setup().await;
        let web1 = SeedContainer::attach(&server, "10.92.3.1", "vlan100");

        // No such interface: an error now, a port once the interface appears.
        let pending_row = SeedContainer::without_interface("10.92.3.2");
        let pending = pending_row.name.clone();
        let (output, took) = pending_row.add_port(&server, "vlan100");
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(took < PROMPT, "add-port took {took:?}");
        assert!(
            stderr(&output).contains(&format!("Error detected while setting up '{pending}'")),
            "{}",
            stderr(&output)
        );
        assert_eq!(column(&server, &pending, "ofport"), "-1");
        assert_eq!(
            column(&server, &pending, "error"),
            format!("\"could not open network device {pending} (No such device)\"")
        );

        // The same iface-id on a second row: refused, the first keeps it.
        let twin = SeedContainer { iface_id: web1.iface_id.clone(), ..SeedContainer::new("10.92.3.3") };
        let (output, _) = twin.add_port(&server, "vlan100");
        assert!(
            stderr(&output).contains(&format!("Error detected while setting up '{}'", twin.name)),
            "{}",
            stderr(&output)
        );
        let error = column(&server, &twin.name, "error");
        assert!(
            error.contains(&format!("iface-id {} is also used by {}", web1.iface_id, web1.name)),
            "{error}"
        );
        assert_eq!(column(&server, &web1.name, "error"), "[]");

        // The agent is alive and well; web1 still forwards.
        assert!(host.vemcmd("show card").await.contains("connected"), "the agent stopped answering");
        assert_eq!(packet_sockets_on(&web1.name), 1);

        // The missing interface appears (with its peer): the row becomes a port by itself.
        run("ip", &["link", "add", &pending, "type", "veth", "peer", "name", &format!("{pending}c")]);
        eventually("the late interface to become a port", Duration::from_secs(5), || async {
            column(&server, &pending, "ofport") == "2" && column(&server, &pending, "error") == "[]"
        })
        .await;
        assert_eq!(packet_sockets_on(&pending), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ovsdb_server_restart_with_ports_added_and_removed_meanwhile_is_reconciled() {
    bounded(async {
        let (_supervisor, mut server, host) = setup().await;
        let kept = SeedContainer::attach(&server, "10.92.4.1", "vlan100");
        let removed = SeedContainer::attach(&server, "10.92.4.2", "vlan100");
        assert!(kept.container.reaches(&removed.container, Duration::from_secs(5)).await);

        block_in_place(|| server.stop());
        let added = SeedContainer::new("10.92.4.3");
        let args = added.add_port_args("vlan100");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        block_in_place(|| {
            server.vsctl_while_stopped(&args);
            server.vsctl_while_stopped(&["del-port", BRIDGE, &removed.name]);
        });
        added.plug_in();
        // Meanwhile the agent forwards on.
        assert!(kept.container.reaches(&removed.container, Duration::from_secs(5)).await);

        block_in_place(|| server.restart());
        // The removed port goes first, so the added one takes its number.
        eventually("the added port", Duration::from_secs(10), || async {
            column(&server, &added.name, "ofport") == "2"
        })
        .await;
        eventually("the removed port to go", Duration::from_secs(5), || async {
            packet_sockets_on(&removed.name) == 0
        })
        .await;
        let names: Vec<String> = host.ports().await.ports.into_iter().map(|port| port.host_ifname).collect();
        assert_eq!(names, [kept.name.clone(), added.name.clone()]);
        assert!(host_link_exists(&removed.name));
        assert!(kept.container.reaches(&added.container, Duration::from_secs(5)).await);
        assert!(!kept.container.pings(&removed.container, 500));
        // The restarted server forgot the agent's columns; they are written again.
        assert_eq!(column(&server, &kept.name, "ofport"), "1");
        eventually("link_state written again", Duration::from_secs(5), || async {
            column(&server, &kept.name, "link_state") == "up"
        })
        .await;
        // And it still releases ovs-vsctl promptly.
        let late = SeedContainer::attach(&server, "10.92.4.4", "vlan100");
        assert!(late.container.reaches(&kept.container, Duration::from_secs(5)).await);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_restart_keeps_the_adopted_ports() {
    bounded(async {
        let (_supervisor, server, mut host) = setup().await;
        let web1 = SeedContainer::attach(&server, "10.92.5.1", "vlan100");
        let web2 = SeedContainer::attach(&server, "10.92.5.2", "vlan100");
        let before = host.ports().await;
        let saved = std::fs::read_to_string(host.data_dir().join("ports.json")).unwrap();
        assert!(saved.contains(&format!("\"bridge\": \"{BRIDGE}\"")), "{saved}");

        host.restart().await;
        // Restored from ports.json before the supervisor or ovsdb-server is asked.
        assert!(web1.container.reaches(&web2.container, Duration::from_secs(5)).await);
        host.wait_connected().await;
        let after = host.ports().await;
        let numbers = |view: &agent::ports::PortsView| -> Vec<(u32, u32, String)> {
            view.ports.iter().map(|p| (p.ltl, p.veth, p.host_ifname.clone())).collect()
        };
        assert_eq!(numbers(&after), numbers(&before));
        assert_eq!(packet_sockets_on(&web1.name), 1);
        assert_eq!(column(&server, &web2.name, "ofport"), "2");
        // The restarted agent follows the rows: a del-port still detaches.
        let output = vsctl(&server, &["del-port", BRIDGE, &web2.name]);
        assert!(output.status.success() && output.stderr.is_empty(), "{}", stderr(&output));
        assert_eq!(host.ports().await.ports.len(), 1);
        assert!(host_link_exists(&web2.name));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_waits_a_moment_for_the_supervisor_then_says_why_and_comes_up_when_it_answers() {
    bounded(async {
        require_root();
        let server = block_in_place(OvsdbServer::start);
        // Where the supervisor will be: nothing listens there yet. It served once before, when the
        // operator made the agent's join token.
        let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let earlier = Supervisor::start().await;
        let trust = earlier.join().await;
        let supervisor_dir = earlier.stop_and_keep().await;
        let host =
            Host::start_unconnected_with_ovsdb(format!("https://{addr}"), trust, server.endpoint(), BRIDGE)
                .await;
        eventually("the bridge", Duration::from_secs(5), || async {
            vsctl(&server, &["br-exists", BRIDGE]).status.success()
        })
        .await;

        // An agent that cannot number the port answers once its grace is over, and says why.
        let web1 = SeedContainer::new("10.92.6.1");
        let (output, took) = web1.add_port(&server, "vlan100");
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(took >= SUPERVISOR_GRACE.saturating_sub(Duration::from_millis(100)), "no grace: {took:?}");
        assert!(took < SUPERVISOR_GRACE + Duration::from_secs(1), "add-port took {took:?}");
        assert!(stderr(&output).contains(&format!("Error detected while setting up '{}'", web1.name)));
        let error = column(&server, &web1.name, "error");
        assert!(error.contains(&format!("waiting for the supervisor at https://{addr}")), "{error}");
        web1.plug_in();

        // The supervisor comes up: the running agent joins it and the row becomes a port.
        let supervisor = Supervisor::start_in(supervisor_dir, addr).await;
        supervisor.configure(PROFILES).await;
        host.wait_connected().await;
        eventually("the row to become a port", Duration::from_secs(10), || async {
            column(&server, &web1.name, "ofport") == "1" && column(&server, &web1.name, "error") == "[]"
        })
        .await;
        assert_eq!(packet_sockets_on(&web1.name), 1);
    })
    .await;
}
