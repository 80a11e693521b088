//! The port manager end to end, as root: a supervisor and an agent in this process,
//! "containers" made of network namespaces attached through the agent's local API (as
//! `switchyard attach` does), real `ping` between them, and the supervisor's REST view of it all.
//!
//! `cargo test -p switchyard-agent --test ports -- --nocapture` also prints the measured times.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod port_lab;

use std::time::{Duration, Instant};

use agent::attach::{find_port, host_ifname};
use agent::local_api::{ClientError, Request, Response};
use agent::ports::DetachSpec;
use port_lab::{
    Container, Host, Place, Supervisor, bounded, dead_supervisor, eventually, guard, host_link_exists,
    packet_sockets_on, report, require_root,
};

const PROFILES: &str = "vlan 100-101\n\
port-profile type vethernet web\n  switchport mode access\n  switchport access vlan 100\n  no shutdown\n  state enabled\n\
port-profile type vethernet db\n  switchport mode access\n  switchport access vlan 100\n  no shutdown\n  state enabled\n";

/// Long enough for one periodic report (every 5 s) and then some.
const REPORT_PATIENCE: Duration = Duration::from_secs(12);

async fn setup() -> (Supervisor, Host) {
    require_root();
    let supervisor = Supervisor::start().await;
    let revision = supervisor.configure(PROFILES).await;
    let host = Host::start(&supervisor).await;
    // The agent holds only its ports' profiles; its revision says the supervisor has these.
    let mut policies = host.agent().policies();
    tokio::time::timeout(Duration::from_secs(10), policies.wait_for(|s| s.revision >= revision))
        .await
        .expect("the profiles' revision reached the agent");
    (supervisor, host)
}

fn count(events: &[String], needle: &str) -> usize {
    events.iter().filter(|line| line.contains(needle)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_containers_on_one_vlan_ping_and_everyone_sees_it() {
    bounded(async {
        let (supervisor, host) = setup().await;
        let (c1, c2) = (Container::new("10.91.0.1"), Container::new("10.91.0.2"));
        let started = Instant::now();
        let p1 = host.attach(c1.spec("web")).await.unwrap();
        let attach_time = started.elapsed();
        let _g1 = guard(&p1);
        let p2 = host.attach(c2.spec("web")).await.unwrap();
        let _g2 = guard(&p2);
        report(&format!("attach (veth pair, BindPort, dataplane, ports.json, ReportPorts): {attach_time:?}"));
        assert!(p1.up && p2.up && p1.reason.is_empty(), "{p1:?} {p2:?}");
        assert_ne!(p1.veth, p2.veth);
        assert_eq!((p1.ltl, p2.ltl), (49, 50));
        assert!(c1.reaches(&c2, Duration::from_secs(5)).await, "same-VLAN ping failed");

        // The host view.
        let show_port = host.vemcmd("show port").await;
        for port in [&p1, &p2] {
            let row = format!("{:>5} {:>10}     UP   UP    FWD", port.ltl, format!("Veth{}", port.veth));
            assert!(show_port.contains(&row), "{row:?} missing from\n{show_port}");
            assert!(show_port.contains(&port.host_ifname), "{show_port}");
        }
        let ports = host.ports().await;
        let macs: Vec<String> = ports.ports.iter().map(|port| port.mac.clone()).collect();
        let l2 = host.vemcmd("show l2 100").await;
        for mac in &macs {
            assert!(l2.contains(&format!("Static   {mac}")), "{mac} missing from\n{l2}");
        }
        assert!(ports.ports.iter().all(|port| port.rx.packets > 0 && port.tx.packets > 0), "{ports:?}");
        let stats = host.vemcmd("show stats").await;
        assert_eq!(stats.lines().count(), 3, "{stats}");
        let trace = host
            .vemcmd(&format!(
                "trace --in Veth{} src {} dst ff:ff:ff:ff:ff:ff arp {} > {}",
                p1.veth, macs[0], c1.ip, c2.ip
            ))
            .await;
        assert!(trace.contains(&format!("ingress Veth{} (LTL 49) access vlan 100", p1.veth)), "{trace}");
        assert!(trace.contains(&format!("egress Veth{} (LTL 50) untagged", p2.veth)), "{trace}");

        // The supervisor's view, from the agent's reports.
        let events = supervisor.events().await;
        for port in [&p1, &p2] {
            let attached = format!(
                "%VIM-5-IF_ATTACHED: Interface Vethernet{} is attached to {}",
                port.veth, port.host_ifname
            );
            assert_eq!(count(&events, &attached), 1, "{events:#?}");
            let up = format!("%ETHPORT-5-IF_UP: Interface Vethernet{} is up in mode access", port.veth);
            assert_eq!(count(&events, &up), 1, "{events:#?}");
        }
        eventually("the counters of a periodic report", REPORT_PATIENCE, || async {
            let view = supervisor.interface(p1.veth).await;
            view["up"] == true && view["counters"]["rx_packets"].as_u64().unwrap_or(0) > 0
        })
        .await;
        let table = supervisor.get("/api/v1/mac-address-table").await.to_string();
        for mac in &macs {
            let nxos = mac.replace(':', "");
            let nxos = format!("{}.{}.{}", &nxos[0..4], &nxos[4..8], &nxos[8..12]);
            assert!(table.contains(mac) || table.contains(&nxos), "{mac} missing from {table}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_waits_for_its_profile_and_comes_up_when_it_is_created() {
    bounded(async {
        let (supervisor, host) = setup().await;
        let (early, peer) = (Container::new("10.91.1.1"), Container::new("10.91.1.2"));
        let waiting = host.attach(early.spec("later")).await.unwrap();
        let _g1 = guard(&waiting);
        let _g2 = guard(&host.attach(peer.spec("web")).await.unwrap());
        assert!(!waiting.up, "{waiting:?}");
        assert_eq!(waiting.reason, "port-profile not found");
        assert!(!early.pings(&peer, 500), "a port without its profile forwarded");
        let show_port = host.vemcmd("show port").await;
        assert!(show_port.contains(&format!("* Veth{} is blocked: port-profile not found", waiting.veth)), "{show_port}");
        let down = format!(
            "%ETHPORT-5-IF_DOWN_PORT_PROFILE_NOT_FOUND: Interface Vethernet{} is down (port-profile not found)",
            waiting.veth
        );
        assert_eq!(count(&supervisor.events().await, &down), 1);

        let created = Instant::now();
        supervisor
            .configure("port-profile type vethernet later\n  switchport mode access\n  switchport access vlan 100\n  no shutdown\n  state enabled\n")
            .await;
        eventually("the waiting port to forward", Duration::from_secs(5), || async {
            host.ports().await.ports.iter().all(|port| port.forwarding)
        })
        .await;
        report(&format!("a waiting port came up {:?} after its profile was created", created.elapsed()));
        early.flush_neighbours();
        assert!(early.reaches(&peer, Duration::from_secs(5)).await, "the port came up but does not forward");
        let up = format!("%ETHPORT-5-IF_UP: Interface Vethernet{} is up in mode access", waiting.veth);
        eventually("IF_UP in the event log", Duration::from_secs(5), || async {
            count(&supervisor.events().await, &up) == 1
        })
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_vlan_change_separates_two_containers_within_a_second() {
    bounded(async {
        let (supervisor, host) = setup().await;
        let (web, db) = (Container::new("10.91.2.1"), Container::new("10.91.2.2"));
        let _g1 = guard(&host.attach(web.spec("web")).await.unwrap());
        let moved = host.attach(db.spec("db")).await.unwrap();
        let _g2 = guard(&moved);
        assert!(web.reaches(&db, Duration::from_secs(5)).await, "same VLAN, no ping");

        // One REST call moves every port of `db` to VLAN 101.
        let asked = Instant::now();
        supervisor.configure("port-profile type vethernet db\n  switchport access vlan 101\n").await;
        let answered = asked.elapsed();
        eventually("the dataplane to run VLAN 101", Duration::from_secs(1), || async {
            host.ports().await.ports.iter().any(|port| port.veth == moved.veth && port.vlan == 101)
        })
        .await;
        let programmed = asked.elapsed();
        let mut separated = None;
        while asked.elapsed() < Duration::from_secs(3) {
            let sent = asked.elapsed();
            if !web.pings(&db, 100) {
                separated = Some(sent);
                break;
            }
        }
        let separated = separated.expect("web still reaches db across VLANs");
        report(&format!(
            "live VLAN change: REST call answered in {answered:?}, dataplane on VLAN 101 after {programmed:?}, \
             first unanswered ping sent by {separated:?}"
        ));
        assert!(programmed < Duration::from_secs(1), "took {programmed:?}");
        assert!(!web.pings(&db, 500), "VLAN 100 reached VLAN 101");
        let vlans = host.vemcmd("show port vlans").await;
        assert!(vlans.contains(&format!("Veth{}     A     101", moved.veth)), "{vlans}");
        eventually("the supervisor to hear of VLAN 101", REPORT_PATIENCE, || async {
            supervisor.interface(moved.veth).await["vlan"] == 101
        })
        .await;

        // And back.
        supervisor.configure("port-profile type vethernet db\n  switchport access vlan 100\n").await;
        web.flush_neighbours();
        assert!(web.reaches(&db, Duration::from_secs(5)).await, "back on VLAN 100, no ping");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_restart_restores_its_ports_without_reattach() {
    bounded(async {
        let (supervisor, mut host) = setup().await;
        let (c1, c2, gone) =
            (Container::new("10.91.3.1"), Container::new("10.91.3.2"), Container::new("10.91.3.3"));
        let p1 = host.attach(c1.spec("web")).await.unwrap();
        let _g1 = guard(&p1);
        let p2 = host.attach(c2.spec("web")).await.unwrap();
        let _g2 = guard(&p2);
        let p3 = host.attach(gone.spec("web")).await.unwrap();
        assert!(c1.reaches(&c2, Duration::from_secs(5)).await);
        let before = host.ports().await;
        assert_eq!(packet_sockets_on(&p1.host_ifname), 1);

        // Headless: the ports come back from ports.json with the persisted policies, and forward.
        let url = supervisor.url();
        host.use_supervisor(dead_supervisor());
        host.restart().await;
        c1.flush_neighbours();
        assert!(c1.reaches(&c2, Duration::from_secs(5)).await, "restored ports do not forward headless");
        let headless = host.ports().await;
        let key = |view: &agent::ports::PortsView| {
            view.ports
                .iter()
                .map(|port| (port.iface_id.clone(), port.veth, port.ltl, port.forwarding))
                .collect::<Vec<_>>()
        };
        assert_eq!(key(&headless), key(&before));

        // A container that went away while the agent was down is forgotten, its binding released.
        host.agent.take().expect("running").stop().await;
        assert_eq!(packet_sockets_on(&p1.host_ifname), 0, "a stopped agent still switches the port");
        drop(gone);
        assert!(!host_link_exists(&p3.host_ifname));
        host.use_supervisor(url);
        host.restart().await;
        host.wait_connected().await;
        let restored = host.ports().await;
        assert_eq!(restored.ports.len(), 2, "{restored:?}");
        assert_eq!(packet_sockets_on(&p1.host_ifname), 1, "one dataplane per port");
        c1.flush_neighbours();
        assert!(c1.reaches(&c2, Duration::from_secs(5)).await, "restored ports do not forward");
        eventually("the released binding of the vanished port", Duration::from_secs(10), || async {
            count(&supervisor.events().await, &format!("Interface Vethernet{} is detached", p3.veth)) == 1
        })
        .await;
        let events = supervisor.events().await;
        assert_eq!(
            count(&events, "IF_ATTACHED"),
            3,
            "re-binding after a restart is no new attach: {events:#?}"
        );
        for port in [&p1, &p2] {
            eventually("the restored port reported up", REPORT_PATIENCE, || async {
                supervisor.interface(port.veth).await["up"] == true
            })
            .await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detach_leaves_no_link_and_failed_attaches_leave_nothing() {
    bounded(async {
        let (mut supervisor, host) = setup().await;
        let revision = supervisor
            .configure(
                "port-profile type ethernet uplink\n  switchport mode trunk\n  state enabled\n\
                 port-profile type vethernet one\n  switchport access vlan 100\n  max-ports 1\n  port-binding dynamic\n  state enabled\n",
            )
            .await;
        let mut policies = host.agent().policies();
        policies.wait_for(|s| s.revision >= revision).await.expect("profile one");

        // Refused by the supervisor: an ethernet profile, then max-ports. Nothing is left.
        let c = Container::new("10.91.4.1");
        let mut spec = c.spec("uplink");
        spec.iface_id = Some("refused-port".into());
        let error = host.attach(spec).await.expect_err("an ethernet profile for a vEthernet");
        assert!(error.to_string().starts_with("BindPort failed: "), "{error}");
        assert!(!host_link_exists(&host_ifname("refused-port", 0)));
        assert!(Place::Netns(c.netns.name.clone()).link("eth0").is_none());
        let first = host.attach(c.spec("one")).await.unwrap();
        let _g = guard(&first);
        let other = Container::new("10.91.4.2");
        let mut spec = other.spec("one");
        spec.iface_id = Some("one-too-many".into());
        let error = host.attach(spec).await.expect_err("max-ports 1");
        assert!(matches!(error, ClientError::Agent(_)), "{error}");
        assert!(!host_link_exists(&host_ifname("one-too-many", 0)));
        assert_eq!(host.ports().await.ports.len(), 1);

        // Detach by namespace and interface name: no link, no eth0, no port, binding gone.
        let detached = host
            .detach(DetachSpec::Interface { target: c.target(), ifname: "eth0".into() })
            .await
            .unwrap();
        assert_eq!((detached.veth, detached.binding.as_str()), (first.veth, "released"));
        assert!(!host_link_exists(&first.host_ifname));
        assert_eq!(find_port(&first.iface_id).await.unwrap(), None);
        assert!(Place::Netns(c.netns.name.clone()).link("eth0").is_none());
        assert!(host.ports().await.ports.is_empty());
        let again = host.detach(DetachSpec::IfaceId(first.iface_id.clone())).await.expect_err("twice");
        assert!(again.to_string().starts_with("no port iface-id"), "{again}");
        eventually("IF_DETACHED", Duration::from_secs(5), || async {
            count(&supervisor.events().await, &format!("Interface Vethernet{} is detached", first.veth)) == 1
        })
        .await;

        // By vEthernet number, and the number stays with a static binding.
        let kept = host.attach(other.spec("web")).await.unwrap();
        let _g = guard(&kept);
        let detached = host.detach(DetachSpec::Vethernet(kept.veth)).await.unwrap();
        assert_eq!(detached.binding, "kept", "web is port-binding static by default");
        assert!(!host_link_exists(&kept.host_ifname));

        // The supervisor going away: the attach fails, saying so, and leaves nothing.
        supervisor.stop().await;
        let mut spec = other.spec("web");
        spec.iface_id = Some("orphan-port".into());
        let error = host.attach(spec).await.expect_err("attach without a supervisor");
        assert!(error.to_string().contains("unreachable"), "{error}");
        assert!(!host_link_exists(&host_ifname("orphan-port", 0)));
        assert!(host.ports().await.ports.is_empty());

        // Headless, no port is made: the supervisor must number it.
        let headless = Host::start_headless().await;
        let mut spec = other.spec("web");
        spec.iface_id = Some("headless-port".into());
        let error = headless.attach(spec).await.expect_err("headless attach");
        assert!(error.to_string().contains("unreachable"), "{error}");
        assert!(!host_link_exists(&host_ifname("headless-port", 0)));
        match headless.ask(Request::ShowPorts).await.unwrap() {
            Response::Ports(view) => assert!(view.ports.is_empty()),
            other => panic!("{other:?}"),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_removed_without_detach_is_forgotten() {
    bounded(async {
        let (supervisor, host) = setup().await;
        let c = Container::new("10.91.5.1");
        let port = host.attach(c.spec("web")).await.unwrap();
        let _g = guard(&port);
        drop(c); // the namespace goes, and the veth pair with it
        eventually("the agent to forget the port", REPORT_PATIENCE, || async {
            host.ports().await.ports.is_empty()
        })
        .await;
        eventually("IF_DETACHED", Duration::from_secs(5), || async {
            count(&supervisor.events().await, &format!("Interface Vethernet{} is detached", port.veth)) == 1
        })
        .await;
        let file = std::fs::read_to_string(host.data_dir().join("ports.json")).unwrap();
        assert!(!file.contains(&port.iface_id), "{file}");
    })
    .await;
}
