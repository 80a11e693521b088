//! The Docker network and IPAM plugin end to end, with the real Docker engine: an agent in this
//! host's namespace serves the plugin (`agent --docker`), a second agent runs as another host in
//! a namespace; both reach the supervisor and each other over an underlay veth the test makes,
//! and the profile's bridge-domain spans them over VXLAN. Containers get addresses from the
//! supervisor's pool, the MTU of the tunnel, the container's name as owner; they ping and ssh
//! across hosts; `docker network disconnect` unbinds; an agent restart keeps them; 200 container
//! lifetimes leave nothing behind.
//! Needs root and the Docker engine (CI has both); fails loudly without the engine.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{exe, logs_of, poll_until, skip_unless_root, ssh_transfer_checked, stderr, stdout};
use nix::sys::signal::Signal;
use switchyard::netns::Netns;
use switchyard::processes::Children;
use switchyard::shell::client::SupervisorClient;

const UNDERLAY_HOST: &str = "10.251.7.1";
const UNDERLAY_PEER: &str = "10.251.7.2";
const SUPERVISOR_PORT: u16 = 7431;

const CONFIG: &str = "\
configure terminal
bridge-domain tenant-web
  segment id 7001
ip pool web-pool
  network 10.100.0.0/24
  default-router 10.100.0.1
  range 10.100.0.10 10.100.0.200
  exclude 10.100.0.50
port-profile type vethernet web
  switchport mode access
  switchport access bridge-domain tenant-web
  ip pool web-pool
  no shutdown
  state enabled
end
";

/// Two hosts: this one (Docker's) and `far` in a namespace, joined by an underlay veth.
struct Bed {
    children: Children,
    client: SupervisorClient,
    far: Netns,
    root: tempfile::TempDir,
    url: String,
    /// The plugin's socket, named for this test run (so a real installation's stays alone).
    socket: PathBuf,
    driver: String,
    underlay: String,
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.underlay]).output();
        // An agent killed with -9 leaves its plugin socket behind.
        let _ = std::fs::remove_file(&self.socket);
    }
}

impl Bed {
    fn start() -> Self {
        let far = Netns::new("dk-far").unwrap();
        let underlay = format!("sydk{}", std::process::id() % 100_000);
        let peer = format!("{underlay}p");
        ip(&["link", "add", &underlay, "type", "veth", "peer", "name", &peer]);
        ip(&["link", "set", &peer, "netns", &far.name]);
        ip(&["addr", "add", &format!("{UNDERLAY_HOST}/24"), "dev", &underlay]);
        ip(&["link", "set", &underlay, "up"]);
        far.ip(&["addr", "add", &format!("{UNDERLAY_PEER}/24"), "dev", &peer]).unwrap();
        far.ip(&["link", "set", &peer, "up"]).unwrap();
        far.ip(&["link", "set", "lo", "up"]).unwrap();

        let root = tempfile::tempdir().unwrap();
        let mut children = Children::new(exe(), root.path()).unwrap();
        let listen = format!("{UNDERLAY_HOST}:{SUPERVISOR_PORT}");
        let url = format!("https://{listen}");
        let dir = root.path().join("supervisor");
        children
            .spawn("supervisor", &["supervisor", "--data-dir", dir.to_str().unwrap(), "--listen", &listen])
            .unwrap();
        poll_until(
            "the admin password",
            Duration::from_secs(20),
            || switchyard::shell::login::local_admin(&dir).is_some(),
            || logs_of(&children, 30),
        );
        let client = SupervisorClient::new(&url)
            .with_ca_cert(&dir.join("tls/ca.pem"))
            .unwrap()
            .with_login(switchyard::shell::login::local_admin(&dir).unwrap());
        poll_until(
            "the supervisor",
            Duration::from_secs(20),
            || client.exec("show module").is_ok(),
            || logs_of(&children, 30),
        );
        client.configure(CONFIG).expect("config");
        let driver = format!("sytest{}", std::process::id());
        let socket = PathBuf::from(format!("/run/docker/plugins/{driver}.sock"));
        let mut bed = Self { children, client, far, root, url, socket, driver, underlay };
        bed.start_agent("docker-host");
        bed.start_agent("far-host");
        bed
    }

    fn agent_dir(&self, host: &str) -> PathBuf {
        self.root.path().join(host)
    }

    /// Starts `host`'s agent (Docker's host serves the plugin) and waits until it is online.
    fn start_agent(&mut self, host: &str) {
        let dir = self.agent_dir(host).display().to_string();
        let vtep = if host == "docker-host" { UNDERLAY_HOST } else { UNDERLAY_PEER };
        let mut argv: Vec<String> =
            ["agent", "--supervisor", &self.url, "--host-name", host, "--data-dir", &dir, "--vtep", vtep]
                .map(String::from)
                .into();
        if host == "docker-host" {
            argv.extend(["--docker".into(), "--docker-socket".into(), self.socket.display().to_string()]);
        }
        if !self.agent_dir(host).join("tls/client.pem").exists() {
            argv.extend(switchyard::join::Join::create(&self.client).unwrap().args().to_vec());
        }
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        if host == "docker-host" {
            self.children.spawn(host, &argv).unwrap();
        } else {
            self.children.spawn_in(host, &self.far.name, &argv).unwrap();
        }
        let client = &self.client;
        poll_until(
            &format!("{host} online"),
            Duration::from_secs(30),
            || {
                client
                    .exec("show module")
                    .is_ok_and(|out| common::module_status(&out, host).as_deref() == Some("ok"))
            },
            || logs_of(&self.children, 30),
        );
    }

    fn show(&self, command: &str) -> String {
        self.client.exec(command).unwrap_or_else(|e| panic!("{command}: {e}\n{}", self.logs()))
    }

    fn logs(&self) -> String {
        logs_of(&self.children, 40)
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(out.status.success(), "ip {args:?}: {}", stderr(&out));
}

/// `docker ARGS`, bounded to two minutes.
fn docker(args: &[&str]) -> Output {
    Command::new("timeout").arg("120").arg("docker").args(args).output().unwrap()
}

fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(out.status.success(), "docker {args:?}: {}{}", stdout(&out), stderr(&out));
    stdout(&out)
}

/// Removes what the test made in the engine, whatever happened.
#[derive(Default)]
struct DockerCleanup {
    containers: Vec<String>,
    networks: Vec<String>,
    images: Vec<String>,
}

impl Drop for DockerCleanup {
    fn drop(&mut self) {
        for container in &self.containers {
            let _ = docker(&["rm", "-f", container]);
        }
        for network in &self.networks {
            let _ = docker(&["network", "rm", network]);
        }
        for image in &self.images {
            let _ = docker(&["rmi", "-f", image]);
        }
    }
}

/// A busybox image from a root filesystem made here (no registry).
fn import_busybox(tag: &str) {
    let dir = tempfile::tempdir().unwrap();
    let tar = testbed::images::busybox_rootfs(dir.path()).unwrap();
    docker_ok(&["import", tar.to_str().unwrap(), tag]);
}

/// The container's address on the switch (without the prefix) and its interface's MTU. Docker
/// names the interface ethN, N counting the container's interfaces so far (a reconnect makes
/// eth1), so it is found by its address.
fn address_and_mtu(bed: &Bed, container: &str) -> (String, u32) {
    let shown = docker(&["exec", container, "/bin/ip", "-o", "-4", "addr", "show"]);
    let text = stdout(&shown);
    // "2: eth0    inet 10.100.0.11/24 brd ... scope global eth0"
    let found = text.lines().find_map(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        let cidr = words.iter().skip_while(|w| **w != "inet").nth(1)?;
        cidr.starts_with("10.100.0.")
            .then(|| (words[1].to_owned(), cidr.split('/').next().unwrap_or("").to_owned()))
    });
    let Some((ifname, address)) = found else {
        panic!("{container} has no address on the switch: {text}{}\n{}", stderr(&shown), bed.logs());
    };
    let mtu = docker_ok(&["exec", container, "/bin/cat", &format!("/sys/class/net/{ifname}/mtu")]);
    (address, mtu.trim().parse().unwrap())
}

/// Pings `ip` from inside `container`; on failure, panics with what the switch saw.
fn ping_from(bed: &Bed, container: &str, ip: &str) {
    let out = docker(&["exec", container, "/bin/ping", "-c", "3", "-W", "2", ip]);
    if !out.status.success() {
        let vemcmd = |args: &str| {
            let mut argv = vec!["vemcmd"];
            argv.extend(args.split_whitespace());
            let dir = bed.agent_dir("docker-host");
            stdout(&Command::new(exe()).args(&argv).arg("--data-dir").arg(dir).output().unwrap())
        };
        panic!(
            "{container} cannot ping {ip}: {}\n{}\n{}\n{}\n{}\n{}",
            stdout(&out),
            vemcmd("show port"),
            vemcmd("show stats"),
            vemcmd("show drops"),
            vemcmd("show l2 all"),
            bed.logs()
        );
    }
}

/// The network namespace of a running container, named, for tools the image lacks (ssh).
fn namespace_of(container: &str) -> Netns {
    let pid = docker_ok(&["inspect", "-f", "{{.State.Pid}}", container]).trim().parse().unwrap();
    Netns::of_process("dk-sandbox", pid).unwrap()
}

/// Host ends of Docker ports on this host.
fn docker_links() -> usize {
    let out = Command::new("ip").args(["-o", "link", "show"]).output().unwrap();
    stdout(&out).lines().filter(|l| l.contains("iface-id=docker")).count()
}

/// `used` of `show ip pool`'s row for `pool`.
fn pool_used(bed: &Bed, pool: &str) -> u64 {
    let out = bed.show("show ip pool");
    let row =
        out.lines().find(|l| l.split_whitespace().next() == Some(pool)).unwrap_or_else(|| panic!("{out}"));
    let words: Vec<&str> = row.split_whitespace().collect();
    words[words.len() - 2].parse().unwrap()
}

fn engine_available() {
    let out = docker(&["version", "--format", "{{.Server.Version}}"]);
    assert!(
        out.status.success(),
        "these tests need the Docker engine (dockerd running, docker CLI): {}",
        stderr(&out)
    );
}

#[test]
fn docker_containers_on_two_hosts_share_a_profile() {
    if skip_unless_root() {
        return;
    }
    engine_available();
    let mut bed = Bed::start();
    let mut cleanup = DockerCleanup::default();
    let tag = format!("switchyard-docker-test:{}", std::process::id());
    import_busybox(&tag);
    cleanup.images.push(tag.clone());
    let network = format!("syweb{}", std::process::id());

    // A profile that does not exist fails at `docker network create`, saying so.
    let ghost =
        docker(&["network", "create", "-d", &bed.driver, "-o", "profile=no-such", &format!("{network}x")]);
    assert!(!ghost.status.success(), "created a network on a missing profile");
    assert!(stderr(&ghost).contains("no-such"), "{}", stderr(&ghost));

    let created = Instant::now();
    docker_ok(&[
        "network",
        "create",
        "-d",
        &bed.driver,
        "--ipam-driver",
        &bed.driver,
        "--ipam-opt",
        "profile=web",
        "-o",
        "profile=web",
        &network,
    ]);
    cleanup.networks.push(network.clone());
    eprintln!("docker network create: {:?}", created.elapsed());
    let inspect = docker_ok(&[
        "network",
        "inspect",
        "-f",
        "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}",
        &network,
    ]);
    assert_eq!(inspect.trim(), "10.100.0.0/24 10.100.0.1", "subnet and gateway from the profile's pool");

    let mut run = |name: &str| {
        cleanup.containers.push(name.to_owned());
        docker_ok(&["run", "-d", "--name", name, "--network", &network, &tag, "/bin/sleep", "600"]);
    };
    let (alpha, beta) = (format!("alpha{}", std::process::id()), format!("beta{}", std::process::id()));
    run(&alpha);
    run(&beta);
    let (alpha_ip, alpha_mtu) = address_and_mtu(&bed, &alpha);
    let (beta_ip, _) = address_and_mtu(&bed, &beta);
    assert_ne!(alpha_ip, beta_ip);
    assert!(alpha_ip.starts_with("10.100.0.") && alpha_ip != "10.100.0.50", "{alpha_ip}");
    assert_eq!(alpha_mtu, 1450, "the MTU must fit the VXLAN bridge-domain");
    poll_until(
        "the supervisor names the containers",
        Duration::from_secs(15),
        || {
            let ports = bed.client.exec("show interface virtual").unwrap_or_default();
            ports.contains(&alpha) && ports.contains(&beta)
        },
        || format!("{}\n{}", bed.show("show interface virtual"), bed.logs()),
    );

    // A container on the far host: a namespace attached there with an address from the pool.
    let far_container = Netns::new("dk-farc").unwrap();
    let attach = Command::new(exe())
        .args([
            "attach",
            "--netns",
            &far_container.name,
            "--profile",
            "web",
            "--ip",
            "auto",
            "--name",
            "far-one",
        ])
        .arg("--data-dir")
        .arg(bed.agent_dir("far-host"))
        .output()
        .unwrap();
    assert!(
        attach.status.success(),
        "attach --ip auto: {}{}\n{}",
        stdout(&attach),
        stderr(&attach),
        bed.logs()
    );
    let far_text = far_container.exec_ok(&["ip", "-o", "-4", "addr", "show", "eth0"]).unwrap();
    let far_ip = far_text
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .and_then(|cidr| cidr.split('/').next())
        .unwrap()
        .to_owned();
    assert!(far_ip.starts_with("10.100.0.") && far_ip != alpha_ip && far_ip != beta_ip, "{far_ip}");

    // Same host and across hosts.
    ping_from(&bed, &alpha, &beta_ip);
    ping_from(&bed, &alpha, &far_ip);
    assert!(far_container.ping(&beta_ip, 3), "far host cannot ping {beta}\n{}", bed.logs());
    // ssh from the Docker container's stack to the far one, through the tunnel.
    let alpha_ns = namespace_of(&alpha);
    ssh_transfer_checked(&alpha_ns, &far_container, &far_ip, 1 << 20);
    assert_eq!(pool_used(&bed, "web-pool"), 3);

    // disconnect unbinds; connect binds again.
    docker_ok(&["network", "disconnect", &network, &beta]);
    poll_until(
        "beta's vEthernet goes",
        Duration::from_secs(10),
        || !bed.client.exec("show interface virtual").unwrap_or_default().contains(&beta),
        || bed.logs(),
    );
    docker_ok(&["network", "connect", &network, &beta]);
    let (beta_again, _) = address_and_mtu(&bed, &beta);
    ping_from(&bed, &alpha, &beta_again);

    // The agent restarts (kill -9): the containers keep their ports and reach each other;
    // new containers attach once it is back.
    bed.children.signal("docker-host", Signal::SIGKILL).unwrap();
    bed.start_agent("docker-host");
    ping_from(&bed, &alpha, &beta_again);
    ping_from(&bed, &alpha, &far_ip);

    // 200 container lifetimes: no link, address or binding left.
    let before = docker_links();
    for cycle in 0..200 {
        let out = docker(&["run", "--rm", "--network", &network, &tag, "/bin/true"]);
        assert!(out.status.success(), "cycle {cycle}: {}\n{}", stderr(&out), bed.logs());
    }
    assert_eq!(docker_links(), before);
    poll_until(
        "the pool is back to 3",
        Duration::from_secs(15),
        || pool_used(&bed, "web-pool") == 3,
        || bed.logs(),
    );

    drop(cleanup);
    poll_until("every Docker port gone", Duration::from_secs(15), || docker_links() == 0, || bed.logs());
    assert_eq!(pool_used(&bed, "web-pool"), 1, "only the far host's address stays");
}
