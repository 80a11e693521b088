//! Attach against the real kernel (and the real Docker engine when there is one): veth pairs
//! into namespaces these tests make and remove, checked with `ip` from inside. Run as root.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod attach_support;

use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use agent::attach::{
    AttachError, AttachRequest, DockerEngine, NETNS_RUN_DIR, Target, create_port, delete_port, find_port,
    generated_mac, host_ifname, list_switchyard_links,
};
use attach_support::{
    Container, HostLink, Image, Netns, Place, Sleeper, TempFile, has_flag, loud_skip, require_root, run,
    succeeds, unique,
};
use serde_json::Value;
use wire::MacAddr;

/// What the container end should look like from inside its namespace.
struct Expected<'a> {
    ifname: &'a str,
    mac: MacAddr,
    mtu: u64,
    address: Option<&'a str>,
    gateway: Option<&'a str>,
    onlink: bool,
}

fn assert_container_end(place: &Place, expected: &Expected<'_>) {
    let link = place.link(expected.ifname).unwrap_or_else(|| panic!("no {} inside", expected.ifname));
    assert_eq!(link["address"], expected.mac.colon().to_string(), "{link}");
    assert_eq!(link["mtu"], expected.mtu, "{link}");
    assert!(has_flag(&link, "UP") && has_flag(&link, "LOWER_UP"), "container end not up: {link}");
    assert_eq!(link["operstate"], "UP", "{link}");
    let addresses = place.ipv4_addresses(expected.ifname);
    match expected.address {
        Some(address) => assert_eq!(addresses, [address]),
        None => assert!(addresses.is_empty(), "{addresses:?}"),
    }
    let lo = place.link("lo").expect("lo");
    assert!(has_flag(&lo, "UP"), "lo not up: {lo}");
    let route = place.default_route();
    match expected.gateway {
        Some(gateway) => {
            let route = route.expect("a default route");
            assert_eq!(route["gateway"], gateway, "{route}");
            assert_eq!(route["dev"], expected.ifname, "{route}");
            let onlink = route["flags"].as_array().is_some_and(|flags| flags.iter().any(|f| f == "onlink"));
            assert_eq!(onlink, expected.onlink, "{route}");
        }
        None => assert_eq!(route, None),
    }
}

fn assert_host_end_up(name: &str, ifindex: u32, iface_id: &str, mtu: u64) {
    let link = Place::Host.link(name).unwrap_or_else(|| panic!("no host end {name}"));
    assert_eq!(link["ifindex"], ifindex, "{link}");
    assert_eq!(link["mtu"], mtu, "{link}");
    assert!(has_flag(&link, "UP") && has_flag(&link, "LOWER_UP"), "host end not up: {link}");
    assert_eq!(link["ifalias"], format!("switchyard iface-id={iface_id}"), "{link}");
    assert_eq!(link["linkinfo"]["info_kind"], "veth", "{link}");
    // The host's own stack stays silent on a switch port.
    assert_eq!(Place::Host.addresses(name, "inet6"), Vec::<String>::new());
}

fn host_link_exists(name: &str) -> bool {
    Place::Host.link(name).is_some()
}

/// The iface-id's link after a failed attach: there must be none.
async fn assert_nothing_left(iface_id: &str) {
    assert!(!host_link_exists(&host_ifname(iface_id, 0)), "a host end was left behind");
    assert_eq!(find_port(iface_id).await.expect("list"), None);
}

#[tokio::test]
async fn attaches_into_a_named_netns_and_deletes_cleanly() {
    require_root();
    let netns = Netns::new();
    let iface_id = unique("it-netns-");
    let _safety = HostLink(host_ifname(&iface_id, 0));
    let mac: MacAddr = "02:00:00:aa:bb:01".parse().unwrap();
    let request = AttachRequest {
        mac: Some(mac),
        ip: Some((Ipv4Addr::new(10, 77, 0, 2), 24)),
        gateway: Some(Ipv4Addr::new(10, 77, 0, 1)),
        mtu: Some(1400),
        ..AttachRequest::new(Target::Netns(netns.name.clone()), &iface_id)
    };

    let started = std::time::Instant::now();
    let port = create_port(&request).await.expect("attach");
    eprintln!("create_port took {:?}", started.elapsed());

    assert_eq!(port.host_ifname, host_ifname(&iface_id, 0));
    assert_eq!((port.container_ifname.as_str(), port.mac, port.mtu), ("eth0", mac, 1400));
    assert_eq!(port.owner_pid, None);
    let inode = std::fs::metadata(format!("{NETNS_RUN_DIR}/{}", netns.name)).unwrap().ino();
    assert_eq!(port.netns_inode, inode);
    let expected = Expected {
        ifname: "eth0",
        mac,
        mtu: 1400,
        address: Some("10.77.0.2/24"),
        gateway: Some("10.77.0.1"),
        onlink: false,
    };
    assert_container_end(&netns.place(), &expected);
    assert_host_end_up(&port.host_ifname, port.ifindex, &iface_id, 1400);

    let listed = list_switchyard_links().await.expect("list");
    let ours = listed.iter().find(|link| link.iface_id == iface_id).expect("listed");
    assert_eq!((ours.host_ifname.as_str(), ours.ifindex), (port.host_ifname.as_str(), port.ifindex));
    assert!(ours.admin_up && ours.carrier, "{ours:?}");
    assert_eq!(ours.mtu, Some(1400));
    assert_eq!(find_port(&iface_id).await.expect("find").as_ref(), Some(ours));

    // A second attach of the same iface-id finds the first one and changes nothing.
    match create_port(&request).await {
        Err(AttachError::AlreadyAttached { host_ifname, .. }) => assert_eq!(host_ifname, port.host_ifname),
        other => panic!("expected AlreadyAttached, got {other:?}"),
    }
    assert_container_end(&netns.place(), &expected);

    let started = std::time::Instant::now();
    delete_port(&port.host_ifname).await.expect("detach");
    eprintln!("delete_port took {:?}", started.elapsed());
    assert!(!host_link_exists(&port.host_ifname));
    assert!(netns.place().link("eth0").is_none(), "the container end outlived detach");
    assert_eq!(find_port(&iface_id).await.expect("find"), None);
    delete_port(&port.host_ifname).await.expect("a second detach is a no-op");
}

#[tokio::test]
async fn attaches_into_a_process_namespace_with_generated_mac_and_onlink_gateway() {
    require_root();
    let sleeper = Sleeper::in_new_netns();
    let iface_id = unique("it-pid-");
    let _safety = HostLink(host_ifname(&iface_id, 0));
    let request = AttachRequest {
        ifname: "net1".into(),
        ip: Some((Ipv4Addr::new(10, 78, 1, 2), 32)),
        gateway: Some(Ipv4Addr::new(169, 254, 1, 1)),
        ..AttachRequest::new(Target::Pid(sleeper.pid()), &iface_id)
    };

    let port = create_port(&request).await.expect("attach");

    assert_eq!(port.owner_pid, Some(sleeper.pid()));
    assert_eq!(port.mac, generated_mac(&iface_id));
    let place = Place::Pid(sleeper.pid());
    assert_container_end(
        &place,
        &Expected {
            ifname: "net1",
            mac: generated_mac(&iface_id),
            mtu: 1500,
            address: Some("10.78.1.2/32"),
            gateway: Some("169.254.1.1"),
            onlink: true,
        },
    );
    assert_host_end_up(&port.host_ifname, port.ifindex, &iface_id, 1500);

    delete_port(&port.host_ifname).await.expect("detach");
    assert!(!host_link_exists(&port.host_ifname));
    assert!(place.link("net1").is_none(), "the container end outlived detach");
}

#[tokio::test]
async fn missing_or_wrong_targets_fail_before_anything_is_made() {
    require_root();
    let iface_id = unique("it-missing-");
    let _safety = HostLink(host_ifname(&iface_id, 0));

    let missing = unique("syt-missing");
    let error = create_port(&AttachRequest::new(Target::Netns(missing.clone()), &iface_id))
        .await
        .expect_err("no such netns");
    assert_eq!(error.to_string(), format!("network namespace '{missing}' does not exist"));

    let mut exited = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = exited.id();
    exited.wait().unwrap();
    let error =
        create_port(&AttachRequest::new(Target::Pid(dead_pid), &iface_id)).await.expect_err("dead pid");
    assert!(matches!(error, AttachError::ProcessNotFound { pid } if pid == dead_pid), "{error}");

    // A stale /run/netns entry: a file, but no namespace mounted on it.
    std::fs::create_dir_all(NETNS_RUN_DIR).unwrap();
    let stale = unique("syt-stale");
    let _stale = TempFile(format!("{NETNS_RUN_DIR}/{stale}").into());
    std::fs::write(&_stale.0, b"").unwrap();
    let error = create_port(&AttachRequest::new(Target::Netns(stale.clone()), &iface_id))
        .await
        .expect_err("not a namespace");
    assert_eq!(error.to_string(), format!("network namespace '{stale}' is not a network namespace"));

    let netns = Netns::new();
    let invalid = AttachRequest {
        ip: Some((Ipv4Addr::new(10, 0, 0, 1), 33)),
        ..AttachRequest::new(Target::Netns(netns.name.clone()), &iface_id)
    };
    let error = create_port(&invalid).await.expect_err("bad prefix");
    assert_eq!(error.to_string(), "ip 10.0.0.1/33: prefix must be 0-32");

    // The name is taken inside: found before the pair exists.
    netns.ip(&["link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer"]);
    let error = create_port(&AttachRequest::new(Target::Netns(netns.name.clone()), &iface_id))
        .await
        .expect_err("eth0 taken");
    assert_eq!(error.to_string(), "interface 'eth0' already exists in the target's network namespace");
    let own = netns.place().link("eth0").expect("the container's own eth0 is untouched");
    assert_eq!(own["ifalias"], Value::Null, "{own}");

    assert_nothing_left(&iface_id).await;
}

#[tokio::test]
async fn a_failure_half_way_rolls_the_pair_back() {
    require_root();
    let netns = Netns::new();
    // The namespace already routes by default, so adding ours fails after the pair exists.
    // (This kernel has no dummy interfaces; a veth pair stands in.)
    netns.ip(&["link", "add", "uplink0", "type", "veth", "peer", "name", "uplink1"]);
    netns.ip(&["link", "set", "uplink0", "up"]);
    netns.ip(&["addr", "add", "10.79.0.1/24", "dev", "uplink0"]);
    netns.ip(&["route", "add", "default", "via", "10.79.0.254"]);
    let iface_id = unique("it-halfway-");
    let _safety = HostLink(host_ifname(&iface_id, 0));
    let request = AttachRequest {
        ip: Some((Ipv4Addr::new(10, 79, 1, 2), 24)),
        gateway: Some(Ipv4Addr::new(10, 79, 1, 1)),
        ..AttachRequest::new(Target::Netns(netns.name.clone()), &iface_id)
    };

    let error = create_port(&request).await.expect_err("route exists");

    assert!(
        error
            .to_string()
            .starts_with("adding the default route via 10.79.1.1 (the namespace already has one)"),
        "{error}"
    );
    assert!(netns.place().link("eth0").is_none(), "the container end was left behind");
    assert_nothing_left(&iface_id).await;
    // The namespace's own route is as it was.
    assert_eq!(netns.place().default_route().expect("route")["gateway"], "10.79.0.254");
}

#[tokio::test]
async fn an_abandoned_attach_is_rolled_back() {
    require_root();
    let netns = Netns::new();
    let iface_id = unique("it-abandon-");
    let _safety = HostLink(host_ifname(&iface_id, 0));
    let request = AttachRequest::new(Target::Netns(netns.name.clone()), &iface_id);

    // Polled once (the worker thread starts), then dropped.
    let outcome = tokio::time::timeout(Duration::ZERO, create_port(&request)).await;
    assert!(outcome.is_err(), "the attach finished within its first poll");

    // The worker finishes on its own; give it ample time, then nothing may remain.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(netns.place().link("eth0").is_none(), "the container end of an abandoned attach remains");
    assert_nothing_left(&iface_id).await;
}

#[tokio::test]
async fn detach_refuses_links_switchyard_did_not_make() {
    require_root();
    let name = unique("sytd");
    let _link = HostLink(name.clone());
    run("ip", &["link", "add", &name, "type", "veth", "peer", "name", &format!("{name}p")]);
    let error = delete_port(&name).await.expect_err("not ours");
    assert_eq!(error.to_string(), format!("interface '{name}' is not a Switchyard port; not deleting it"));
    assert!(host_link_exists(&name));
    delete_port("sy-never-was").await.expect("absent is deleted");
}

/// A container started by the Docker engine with no network gets `eth0` by `--container`, and a
/// second namespace pings it through a plain Linux bridge over the two host ends.
#[tokio::test]
async fn docker_container_is_attached_and_reachable() {
    require_root();
    let engine = DockerEngine::from_env();
    if !engine.ping().await {
        let reason = format!("no Docker engine at {}", engine.socket().display());
        loud_skip("docker_container_is_attached_and_reachable", &reason);
        return;
    }
    if !is_static_busybox("/bin/busybox") {
        let reason = "/bin/busybox is not a static busybox (apt-get install busybox-static)";
        loud_skip("docker_container_is_attached_and_reachable", reason);
        return;
    }
    let missing = unique("syt-no-such-container");
    let error =
        create_port(&AttachRequest::new(Target::Container(missing.clone()), "x")).await.expect_err("missing");
    assert_eq!(error.to_string(), format!("container '{missing}' not found (docker)"));

    let image = Image(format!("switchyard-attach-test:{}", unique("t")));
    import_busybox_image(&image.0);
    let container = Container(unique("syt-web"));
    run(
        "docker",
        &["run", "-d", "--name", &container.0, "--network", "none", &image.0, "/bin/busybox", "sleep", "600"],
    );
    let docker_pid: u32 =
        run("docker", &["inspect", "-f", "{{.State.Pid}}", &container.0]).trim().parse().unwrap();

    let web_id = unique("it-docker-");
    let _web_safety = HostLink(host_ifname(&web_id, 0));
    let web = AttachRequest {
        ip: Some((Ipv4Addr::new(10, 80, 0, 2), 24)),
        ..AttachRequest::new(Target::Container(container.0.clone()), &web_id)
    };
    let web_port = create_port(&web).await.expect("attach the container");
    assert_eq!(web_port.owner_pid, Some(docker_pid));
    let inside = run("docker", &["exec", &container.0, "/bin/busybox", "ip", "addr", "show", "eth0"]);
    assert!(inside.contains("inet 10.80.0.2/24"), "{inside}");
    assert!(inside.contains(&web_port.mac.colon().to_string()), "{inside}");

    let client = Netns::new();
    let client_id = unique("it-client-");
    let _client_safety = HostLink(host_ifname(&client_id, 0));
    let client_request = AttachRequest {
        ip: Some((Ipv4Addr::new(10, 80, 0, 3), 24)),
        ..AttachRequest::new(Target::Netns(client.name.clone()), &client_id)
    };
    let client_port = create_port(&client_request).await.expect("attach the client");

    // The bridge lives in a namespace of its own: on the host, Docker's br_netfilter and
    // FORWARD DROP policy would filter bridged IPv4.
    let switch = Netns::new();
    for host_end in [&web_port.host_ifname, &client_port.host_ifname] {
        run("ip", &["link", "set", host_end, "netns", &switch.name]);
    }
    switch.ip(&["link", "add", "br0", "type", "bridge"]);
    switch.ip(&["link", "set", "br0", "up"]);
    for host_end in [&web_port.host_ifname, &client_port.host_ifname] {
        switch.ip(&["link", "set", host_end, "master", "br0"]);
        switch.ip(&["link", "set", host_end, "up"]);
    }

    let ping =
        run("ip", &["netns", "exec", &client.name, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.80.0.2"]);
    assert!(ping.contains("3 received"), "{ping}");
    let back =
        run("docker", &["exec", &container.0, "/bin/busybox", "ping", "-c", "1", "-W", "2", "10.80.0.3"]);
    assert!(back.contains("1 packets received"), "{back}");

    // The pairs live as long as the namespace holding their host ends.
    drop(switch);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while client.place().link("eth0").is_some() {
        assert!(std::time::Instant::now() < deadline, "the client's eth0 outlived the switch namespace");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether `path` is a busybox that runs with no libraries (a `FROM scratch` image has none).
fn is_static_busybox(path: &str) -> bool {
    std::path::Path::new(path).exists() && !succeeds("ldd", &[path]) && run(path, &["true"]).is_empty()
}

/// `docker import` of the shared busybox root filesystem (`testbed::images`).
fn import_busybox_image(tag: &str) {
    let dir = tempfile::tempdir().unwrap();
    let tar = testbed::images::busybox_rootfs(dir.path()).unwrap();
    run("docker", &["import", tar.to_str().unwrap(), tag]);
}
