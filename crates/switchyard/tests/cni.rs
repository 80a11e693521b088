//! The CNI 1.1 plugin end to end: the `switchyard` binary exec'd as `switchyard-cni` exactly as
//! a runtime does (environment variables, the network config on stdin, the result on stdout),
//! against a real supervisor and agent, with real namespaces, the reference `host-local` IPAM
//! plugin for delegation, and Podman's CNI backend as a runtime nobody here wrote.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::containers::{HOST, vemcmd};
use common::{Testbed, exe, poll_until, skip_unless_root, stderr, stdout};
use serde_json::{Value, json};
use switchyard::netns::Netns;

/// Where Debian's `containernetworking-plugins` puts `host-local`.
const REFERENCE_PLUGINS: &str = "/usr/lib/cni";

const PROFILES: &str = "\
configure terminal
vlan 77
ip pool cni-pool
  network 10.77.0.0/24
  default-router 10.77.0.1
  range 10.77.0.10 10.77.0.250
  exclude 10.77.0.11
port-profile type vethernet web
  switchport mode access
  switchport access vlan 77
  ip pool cni-pool
  no shutdown
  state enabled
port-profile type vethernet plain
  switchport mode access
  switchport access vlan 78
  no shutdown
  state enabled
end
";

/// The plugin as a runtime sees it: a `CNI_PATH` directory holding `switchyard-cni` (a symlink
/// to the binary under test, as the README installs it) and the reference plugins.
struct Plugin {
    path: tempfile::TempDir,
    agent_dir: PathBuf,
    /// The network's name: one per test, so the tests' ports tell apart (they run in parallel).
    network: String,
}

/// What one invocation gave back.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?} {}", self.stdout, self.stderr))
    }

    fn ok(self) -> Self {
        assert_eq!(self.code, Some(0), "plugin failed: {} {}", self.stdout, self.stderr);
        self
    }

    /// The spec's error code, checking the error's shape.
    fn error_code(&self) -> u64 {
        assert_ne!(self.code, Some(0), "expected a failure: {}", self.stdout);
        let error = self.json();
        assert!(error["msg"].as_str().is_some_and(|m| !m.is_empty()), "no msg: {error}");
        error["code"].as_u64().unwrap_or_else(|| panic!("no code: {error}"))
    }
}

impl Plugin {
    fn new(bed: &Testbed, network: &str) -> Self {
        let path = tempfile::tempdir().unwrap();
        symlink(exe(), path.path().join("switchyard-cni")).unwrap();
        for reference in ["host-local", "loopback"] {
            let target = Path::new(REFERENCE_PLUGINS).join(reference);
            assert!(
                target.exists(),
                "{} missing: apt-get install containernetworking-plugins",
                target.display()
            );
            symlink(&target, path.path().join(reference)).unwrap();
        }
        Self { path, agent_dir: bed.agent_dir(HOST), network: network.to_owned() }
    }

    /// The network config for `profile` with IPAM `ipam`.
    fn config(&self, name: &str, profile: &str, ipam: &Value) -> Value {
        json!({
            "cniVersion": "1.1.0",
            "name": name,
            "type": "switchyard-cni",
            "profile": profile,
            "dataDir": self.agent_dir,
            "ipam": ipam,
        })
    }

    fn web(&self) -> Value {
        self.config(&self.network, "web", &json!({"type": "switchyard"}))
    }

    /// Runs the plugin with `command` for `container` (netns path, ifname) and `config`.
    fn run(&self, command: &str, container: &str, netns: &str, ifname: &str, config: &Value) -> Outcome {
        self.run_env(
            &[
                ("CNI_COMMAND", command),
                ("CNI_CONTAINERID", container),
                ("CNI_NETNS", netns),
                ("CNI_IFNAME", ifname),
            ],
            config,
        )
    }

    fn run_env(&self, env: &[(&str, &str)], config: &Value) -> Outcome {
        let mut child = Command::new(self.path.path().join("switchyard-cni"))
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("CNI_PATH", self.path.path())
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(config.to_string().as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        Outcome { code: out.status.code(), stdout: stdout(&out), stderr: stderr(&out) }
    }
}

/// A namespace standing for a container's, and its path as runtimes pass it.
fn sandbox(name: &str) -> (Netns, String) {
    let ns = Netns::new(name).unwrap();
    let path = format!("/run/netns/{}", ns.name);
    (ns, path)
}

/// The first address of a result, as `A.B.C.D` and `A.B.C.D/LEN`.
fn first_address(result: &Value) -> (String, String) {
    let cidr = result["ips"][0]["address"].as_str().unwrap_or_else(|| panic!("no ips: {result}")).to_owned();
    (cidr.split('/').next().unwrap().to_owned(), cidr)
}

/// Host ends of CNI ports of `network` on this host (their alias carries the iface-id).
fn cni_links(network: &str) -> usize {
    let out = Command::new("ip").args(["-o", "link", "show"]).output().unwrap();
    let marker = format!("iface-id=cni:{network}:");
    stdout(&out).lines().filter(|l| l.contains(&marker)).count()
}

/// `used` of `show ip pool`'s row for `pool`.
fn pool_used(bed: &Testbed, pool: &str) -> u64 {
    let out = bed.show("show ip pool");
    let row = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some(pool))
        .unwrap_or_else(|| panic!("no row for {pool}:\n{out}"));
    // Name, network, default-router, size, used, free.
    let words: Vec<&str> = row.split_whitespace().collect();
    words[words.len() - 2].parse().unwrap_or_else(|_| panic!("used in {row:?}"))
}

fn testbed() -> Testbed {
    let mut bed = Testbed::start();
    let out = bed.shell(&[], PROFILES);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    bed.start_agent(HOST);
    bed
}

#[test]
fn every_verb_against_the_real_agent() {
    if skip_unless_root() {
        return;
    }
    let bed = testbed();
    let plugin = Plugin::new(&bed, "verbs");
    let web = plugin.web();

    // VERSION and STATUS.
    let version = plugin.run("VERSION", "", "", "", &web).ok().json();
    let supported: Vec<&str> =
        version["supportedVersions"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(supported.contains(&"1.1.0") && supported.contains(&"0.4.0"), "{version}");
    plugin.run("STATUS", "", "", "", &web).ok();

    // ADD: two containers get distinct addresses from the supervisor's pool, reach each other.
    let (one, one_path) = sandbox("cni-one");
    let (two, two_path) = sandbox("cni-two");
    let first = plugin.run("ADD", "c0ffee01", &one_path, "eth0", &web).ok().json();
    let second = plugin.run("ADD", "c0ffee02", &two_path, "eth0", &web).ok().json();
    assert_eq!(first["cniVersion"], "1.1.0", "{first}");
    let (one_ip, one_cidr) = first_address(&first);
    let (two_ip, _) = first_address(&second);
    assert_ne!(one_ip, two_ip);
    assert!(one_cidr.starts_with("10.77.0.") && one_cidr.ends_with("/24"), "{first}");
    assert_eq!(first["ips"][0]["gateway"], "10.77.0.1", "{first}");
    let sandbox_iface = first["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["sandbox"] == one_path.as_str())
        .unwrap_or_else(|| panic!("no sandbox interface: {first}"));
    assert_eq!(sandbox_iface["name"], "eth0");
    let inside = one.exec_ok(&["ip", "-o", "addr", "show", "eth0"]).unwrap();
    assert!(inside.contains(&one_cidr), "{inside}");
    assert!(
        one.ping(&two_ip, 3),
        "{one_ip} cannot ping {two_ip}\n{}\n{}\n{}",
        vemcmd(&bed, "show port"),
        vemcmd(&bed, "show drops"),
        bed.logs()
    );
    assert_eq!(pool_used(&bed, "cni-pool"), 2);
    let virtual_ports = bed.show("show interface virtual");
    assert!(virtual_ports.contains("c0ffee01"), "owner missing:\n{virtual_ports}");

    // CHECK: the previous result matches; a doctored one does not.
    let mut check = web.clone();
    check["prevResult"] = first.clone();
    plugin.run("CHECK", "c0ffee01", &one_path, "eth0", &check).ok();
    check["prevResult"]["ips"][0]["address"] = json!("10.77.0.99/24");
    let failed = plugin.run("CHECK", "c0ffee01", &one_path, "eth0", &check);
    failed.error_code();
    assert!(failed.stdout.contains("10.77.0.99"), "{}", failed.stdout);

    // A second interface in one container, and the same ifname in another: no collision.
    plugin.run("ADD", "c0ffee01", &one_path, "net1", &web).ok();
    assert_eq!(cni_links("verbs"), 3);

    // DEL twice, and DEL after the namespace is gone, all succeed and free everything.
    plugin.run("DEL", "c0ffee02", &two_path, "eth0", &web).ok();
    plugin.run("DEL", "c0ffee02", &two_path, "eth0", &web).ok();
    drop(two);
    plugin.run("DEL", "c0ffee01", &one_path, "net1", &web).ok();
    drop(one);
    plugin.run("DEL", "c0ffee01", &one_path, "eth0", &web).ok();
    plugin.run("DEL", "c0ffee01", "", "eth0", &web).ok();
    assert_eq!(cni_links("verbs"), 0);
    poll_until(
        "the pool empties",
        Duration::from_secs(10),
        || pool_used(&bed, "cni-pool") == 0,
        || bed.logs(),
    );

    // GC frees what the runtime no longer lists, and only that.
    let (three, three_path) = sandbox("cni-three");
    let (four, four_path) = sandbox("cni-four");
    plugin.run("ADD", "c0ffee03", &three_path, "eth0", &web).ok();
    plugin.run("ADD", "c0ffee04", &four_path, "eth0", &web).ok();
    let mut gc = web.clone();
    gc["cni.dev/valid-attachments"] = json!([{"containerID": "c0ffee03", "ifname": "eth0"}]);
    plugin.run_env(&[("CNI_COMMAND", "GC")], &gc).ok();
    assert_eq!(cni_links("verbs"), 1);
    assert_eq!(pool_used(&bed, "cni-pool"), 1);
    plugin.run("DEL", "c0ffee03", &three_path, "eth0", &web).ok();
    drop((three, four));
}

#[test]
fn errors_carry_the_specs_codes() {
    if skip_unless_root() {
        return;
    }
    let bed = testbed();
    let plugin = Plugin::new(&bed, "errors");
    let web = plugin.web();
    let (_ns, path) = sandbox("cni-err");

    // No CNI_COMMAND: an invalid environment (4).
    assert_eq!(plugin.run_env(&[], &web).error_code(), 4);
    // A config that is not JSON (6).
    let not_json = Value::String("{ not json".into());
    let out = plugin.run("ADD", "bad00001", &path, "eth0", &not_json);
    assert_eq!(out.error_code(), 6, "{}", out.stdout);
    // A version the plugin does not speak (1).
    let mut future = web.clone();
    future["cniVersion"] = json!("9.9.9");
    assert_eq!(plugin.run("ADD", "bad00002", &path, "eth0", &future).error_code(), 1);
    // A profile the supervisor does not have: the message names it.
    let missing = plugin.config("ghost", "no-such-profile", &json!({"type": "switchyard"}));
    let out = plugin.run("ADD", "bad00003", &path, "eth0", &missing);
    out.error_code();
    assert!(out.stdout.contains("no-such-profile"), "{}", out.stdout);
    // A container id that is not one word.
    assert_ne!(plugin.run("ADD", "bad/../id", &path, "eth0", &web).error_code(), 0);
    // Nothing of the failures stayed behind.
    assert_eq!(cni_links("errors"), 0);
    assert_eq!(pool_used(&bed, "cni-pool"), 0);
}

#[test]
fn delegated_ipam_and_a_crashed_agent() {
    if skip_unless_root() {
        return;
    }
    let mut bed = testbed();
    let plugin = Plugin::new(&bed, "crash");
    let leases = tempfile::tempdir().unwrap();
    let host_local = plugin.config(
        "plain",
        "plain",
        &json!({"type": "host-local", "subnet": "10.78.0.0/24", "dataDir": leases.path()}),
    );
    let (ns, path) = sandbox("cni-hl");
    let result = plugin.run("ADD", "d00d0001", &path, "eth0", &host_local).ok().json();
    let (ip, cidr) = first_address(&result);
    assert!(cidr.starts_with("10.78.0."), "{result}");
    assert!(ns.exec_ok(&["ip", "-o", "addr", "show", "eth0"]).unwrap().contains(&cidr));
    let lease = leases.path().join("plain").join(&ip);
    assert!(lease.exists(), "host-local keeps no lease for {ip}");
    plugin.run("DEL", "d00d0001", &path, "eth0", &host_local).ok();
    assert!(!lease.exists(), "DEL left host-local's lease for {ip}");

    // The agent crashes: STATUS says 50 (not available) and ADD fails cleanly ...
    let web = plugin.web();
    let (kept, kept_path) = sandbox("cni-kept");
    let kept_result = plugin.run("ADD", "d00d0002", &kept_path, "eth0", &web).ok().json();
    bed.kill9(HOST);
    poll_until(
        "STATUS reports the agent gone",
        Duration::from_secs(10),
        || plugin.run("STATUS", "", "", "", &web).code != Some(0),
        || bed.logs(),
    );
    assert_eq!(plugin.run("STATUS", "", "", "", &web).error_code(), 50);
    let (later, later_path) = sandbox("cni-later");
    let down = plugin.run("ADD", "d00d0003", &later_path, "eth0", &web);
    assert_ne!(down.error_code(), 0);
    assert_eq!(cni_links("crash"), 1, "a failed ADD left a link");
    // ... and once it is back (STATUS says so, as runtimes ask), ADD works and the earlier
    // port is still there.
    bed.start_agent(HOST);
    poll_until(
        "STATUS reports the agent back",
        Duration::from_secs(10),
        || plugin.run("STATUS", "", "", "", &web).code == Some(0),
        || bed.logs(),
    );
    plugin.run("ADD", "d00d0003", &later_path, "eth0", &web).ok();
    let mut check = web.clone();
    check["prevResult"] = kept_result;
    plugin.run("CHECK", "d00d0002", &kept_path, "eth0", &check).ok();
    for (id, path) in [("d00d0002", &kept_path), ("d00d0003", &later_path)] {
        plugin.run("DEL", id, path, "eth0", &web).ok();
    }
    drop((kept, later));
    assert_eq!(cni_links("crash"), 0);
}

#[test]
fn two_hundred_add_del_cycles_leak_nothing_and_concurrent_adds_all_succeed() {
    if skip_unless_root() {
        return;
    }
    let bed = testbed();
    let plugin = Plugin::new(&bed, "cycles");
    let web = plugin.web();
    let (_ns, path) = sandbox("cni-cycle");
    for cycle in 0..200 {
        let id = format!("cycle{cycle:04}");
        plugin.run("ADD", &id, &path, "eth0", &web).ok();
        plugin.run("DEL", &id, &path, "eth0", &web).ok();
    }
    assert_eq!(cni_links("cycles"), 0);
    assert_eq!(pool_used(&bed, "cni-pool"), 0);
    let virtual_ports = bed.show("show interface virtual");
    assert!(!virtual_ports.contains("cycle0"), "bindings left:\n{virtual_ports}");

    // Twenty ADDs at once, each into its own namespace.
    let sandboxes: Vec<(Netns, String)> = (0..20).map(|n| sandbox(&format!("cni-par{n}"))).collect();
    let results: Vec<Outcome> = std::thread::scope(|scope| {
        let runs: Vec<_> = sandboxes
            .iter()
            .enumerate()
            .map(|(n, (_, path))| {
                let (plugin, web) = (&plugin, &web);
                scope.spawn(move || plugin.run("ADD", &format!("par{n:04}"), path, "eth0", web))
            })
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    let mut addresses: Vec<String> =
        results.into_iter().map(|out| first_address(&out.ok().json()).0).collect();
    addresses.sort();
    addresses.dedup();
    assert_eq!(addresses.len(), 20, "{addresses:?}");
    // Past the agent's sweep for vanished ports (every 5 s), which once took ports attached while
    // it listed the links for gone, and unbound them with their addresses.
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(pool_used(&bed, "cni-pool"), 20, "addresses lost while their containers run");
    assert_eq!(cni_links("cycles"), 20);
    for (n, (_, path)) in sandboxes.iter().enumerate() {
        plugin.run("DEL", &format!("par{n:04}"), path, "eth0", &web).ok();
    }
    assert_eq!(cni_links("cycles"), 0);
}

/// Runs `podman ARGS` with the CNI backend, its plugins from `plugin`'s `CNI_PATH` and its
/// network configs from `configs`; bounded to two minutes.
fn podman(containers_conf: &Path, args: &[&str]) -> std::process::Output {
    Command::new("timeout")
        .arg("120")
        .arg("podman")
        .args(["--network-backend", "cni"])
        .args(args)
        .env("CONTAINERS_CONF", containers_conf)
        .output()
        .unwrap()
}

/// Removes the test's podman containers and image, whatever happened.
struct PodmanCleanup<'a> {
    conf: &'a Path,
    containers: Vec<String>,
    image: String,
}

impl Drop for PodmanCleanup<'_> {
    fn drop(&mut self) {
        for name in &self.containers {
            let _ = podman(self.conf, &["rm", "-f", "-t", "0", name]);
        }
        let _ = podman(self.conf, &["rmi", "-f", &self.image]);
    }
}

#[test]
fn podman_runs_containers_on_switchyard() {
    if skip_unless_root() {
        return;
    }
    let bed = testbed();
    let plugin = Plugin::new(&bed, "syweb");
    let configs = tempfile::tempdir().unwrap();
    // Podman 4.3 (Debian 12) reads CNI configs up to version 1.0.0.
    let conflist = json!({
        "cniVersion": "1.0.0",
        "name": "syweb",
        "plugins": [{"type": "switchyard-cni", "profile": "web", "dataDir": plugin.agent_dir,
                      "ipam": {"type": "switchyard"}}],
    });
    std::fs::write(configs.path().join("syweb.conflist"), conflist.to_string()).unwrap();
    let conf = configs.path().join("containers.conf");
    std::fs::write(
        &conf,
        format!(
            "[network]\nnetwork_backend = \"cni\"\ncni_plugin_dirs = [\"{}\"]\nnetwork_config_dir = \"{}\"\n",
            plugin.path.path().display(),
            configs.path().display()
        ),
    )
    .unwrap();
    let image = format!("localhost/switchyard-cni-test:{}", std::process::id());
    let cleanup =
        PodmanCleanup { conf: &conf, containers: vec!["sy-podman-1".into(), "sy-podman-2".into()], image };
    let rootfs = tempfile::tempdir().unwrap();
    let tar = testbed::images::busybox_rootfs(rootfs.path()).unwrap();
    let import = podman(&conf, &["import", &tar.display().to_string(), &cleanup.image]);
    assert!(import.status.success(), "podman import: {}", stderr(&import));
    // The VM's hard limits are below podman's defaults.
    let limits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];
    let mut run = vec!["run", "-d", "--name", "sy-podman-1", "--network", "syweb"];
    run.extend(limits);
    run.extend([cleanup.image.as_str(), "/bin/sleep", "600"]);
    let started = podman(&conf, &run);
    assert!(started.status.success(), "podman run: {}{}\n{}", stdout(&started), stderr(&started), bed.logs());
    let inside = podman(&conf, &["exec", "sy-podman-1", "/bin/ip", "-o", "-4", "addr", "show", "eth0"]);
    let inside = stdout(&inside);
    let address = inside
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .and_then(|cidr| cidr.split('/').next())
        .unwrap_or_else(|| panic!("no address in the podman container: {inside}"))
        .to_owned();
    assert!(address.starts_with("10.77.0."), "{inside}");
    assert_eq!(cni_links("syweb"), 1);
    let mut ping = vec!["run", "--rm", "--name", "sy-podman-2", "--network", "syweb"];
    ping.extend(limits);
    ping.extend([cleanup.image.as_str(), "/bin/ping", "-c", "3", "-W", "2", &address]);
    let pinged = podman(&conf, &ping);
    assert!(
        pinged.status.success(),
        "ping between podman containers: {}{}",
        stdout(&pinged),
        stderr(&pinged)
    );
    let removed = podman(&conf, &["rm", "-f", "-t", "0", "sy-podman-1"]);
    assert!(removed.status.success(), "podman rm: {}", stderr(&removed));
    assert_eq!(cni_links("syweb"), 0, "podman rm left the port");
    poll_until(
        "the pool empties",
        Duration::from_secs(10),
        || pool_used(&bed, "cni-pool") == 0,
        || bed.logs(),
    );
    drop(cleanup);
}
