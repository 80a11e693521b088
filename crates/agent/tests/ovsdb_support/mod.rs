//! A private ovsdb-server per test (a child process in a temporary directory, killed on drop),
//! the real `ovs-vsctl` against it, and a small stand-in for the agent's port manager that
//! acknowledges every configuration the way the agent does.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use agent::ovsdb::{
    DesiredPort, DesiredState, Endpoint, InterfaceState, OvsdbConfig, OvsdbEvent, OvsdbHandle, spawn,
};
use tokio::sync::mpsc;

/// Where Debian's openvswitch-common puts the schema.
const SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

/// One ovsdb-server on a database and socket of its own.
pub struct OvsdbServer {
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl OvsdbServer {
    /// Creates the database, starts the server and runs `ovs-vsctl --no-wait init`, as the
    /// bench script does.
    pub fn start() -> Self {
        for tool in ["ovsdb-tool", "ovsdb-server", "ovs-vsctl"] {
            assert!(
                Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success()),
                "{tool} not found: these tests drive the real Open vSwitch tools (apt-get install openvswitch-switch)"
            );
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("conf.db");
        let created =
            Command::new("ovsdb-tool").arg("create").arg(&db).arg(SCHEMA).output().expect("ovsdb-tool");
        assert!(created.status.success(), "ovsdb-tool create: {}", String::from_utf8_lossy(&created.stderr));
        let mut server = Self { dir, child: None };
        server.run();
        let init = server.vsctl(&["--no-wait", "init"]);
        assert!(init.status.success(), "ovs-vsctl init: {}", String::from_utf8_lossy(&init.stderr));
        server
    }

    /// `unix:SOCKET`.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::Unix(self.socket())
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("db.sock")
    }

    fn run(&mut self) {
        self.child = Some(self.serve_on(&self.socket()));
    }

    /// An ovsdb-server on the database, listening on `socket`.
    fn serve_on(&self, socket: &std::path::Path) -> Child {
        let _ = std::fs::remove_file(socket);
        let name = socket.file_stem().and_then(|stem| stem.to_str()).unwrap_or("db");
        let child = Command::new("ovsdb-server")
            .arg(self.dir.path().join("conf.db"))
            .arg(format!("--remote=punix:{}", socket.display()))
            .arg(format!("--unixctl={}", self.dir.path().join(format!("{name}.ctl")).display()))
            .arg("-vconsole:off")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ovsdb-server");
        wait_until(Duration::from_secs(5), "ovsdb-server's socket", || socket.exists());
        child
    }

    /// While the server is stopped, changes the database behind every client's back: `ovs-vsctl
    /// --no-wait ARGS` through a server of its own on a socket nobody else knows.
    pub fn vsctl_while_stopped(&self, args: &[&str]) -> String {
        assert!(self.child.is_none(), "stop the server first");
        let socket = self.dir.path().join("offline.sock");
        let mut child = self.serve_on(&socket);
        let output = Command::new("ovs-vsctl")
            .arg(format!("--db=unix:{}", socket.display()))
            .arg("--timeout=10")
            .arg("--no-wait")
            .args(args)
            .output()
            .expect("ovs-vsctl");
        let _ = child.kill();
        let _ = child.wait();
        assert!(output.status.success(), "ovs-vsctl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// Kills the server (the database file stays).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same database.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// `ovs-vsctl --db=unix:SOCKET --timeout=10 ARGS`.
    pub fn vsctl(&self, args: &[&str]) -> Output {
        Command::new("ovs-vsctl")
            .arg(format!("--db=unix:{}", self.socket().display()))
            .arg("--timeout=10")
            .args(args)
            .output()
            .expect("ovs-vsctl")
    }

    /// `ovs-vsctl ARGS`, which must succeed; its stdout, trimmed.
    pub fn vsctl_ok(&self, args: &[&str]) -> String {
        let output = self.vsctl(args);
        assert!(output.status.success(), "ovs-vsctl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

impl Drop for OvsdbServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `ready` every 20 ms until it holds, or fails the test after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `ovs-vsctl add-port BRIDGE IFNAME -- set interface IFNAME external_ids:…`: the seed's command
/// with the five keys (`skip` leaves one out).
pub fn seed_add_port(bridge: &str, ifname: &str, iface_id: &str, skip: Option<&str>) -> Vec<String> {
    let keys = [
        ("iface-id", iface_id.to_owned()),
        ("attached-mac", "02:42:ac:16:40:c9".to_owned()),
        ("profile", "vlan100".to_owned()),
        ("vm-uuid", format!("vm-{iface_id}")),
        ("vm-name", format!("container-{ifname}")),
    ];
    let mut args =
        vec!["add-port".into(), bridge.into(), ifname.into(), "--".into(), "set".into(), "interface".into()];
    args.push(ifname.into());
    args.extend(
        keys.into_iter()
            .filter(|(key, _)| Some(*key) != skip)
            .map(|(key, v)| format!("external_ids:{key}={v}")),
    );
    args
}

/// What the stand-in agent saw.
pub struct Agent {
    /// The client's handle.
    pub handle: OvsdbHandle,
    events: mpsc::UnboundedReceiver<OvsdbEvent>,
}

impl Agent {
    /// Starts the OVSDB client for `bridge` and a task that acknowledges every
    /// [`OvsdbEvent::Changed`]: each desired port up with a stable ofport (numbered in order of
    /// first sight) and `status:port-profile`, each rejected row with its error.
    pub fn start(server: &OvsdbServer, bridge: &str) -> Self {
        let (handle, mut client_events) = spawn(OvsdbConfig::new(server.endpoint(), bridge));
        let (seen, events) = mpsc::unbounded_channel();
        let acks = handle.clone();
        tokio::spawn(async move {
            let mut ofports: BTreeMap<String, i64> = BTreeMap::new();
            while let Some(event) = client_events.recv().await {
                if let OvsdbEvent::Changed(view) = &event {
                    let states = states_for(view, &mut ofports);
                    // A lost connection fails the ack; the next Changed repeats it.
                    let _ = acks.acknowledge(view.next_cfg, states).await;
                }
                if seen.send(event).is_err() {
                    return;
                }
            }
        });
        Self { handle, events }
    }

    /// Waits for a Changed view satisfying `wanted`, skipping others.
    pub async fn view_where(&mut self, what: &str, wanted: impl Fn(&DesiredState) -> bool) -> DesiredState {
        self.event_where(what, |event| matches!(event, OvsdbEvent::Changed(view) if wanted(view)))
            .await
            .into_view()
    }

    /// Waits for an event satisfying `wanted`, skipping others.
    pub async fn event_where(&mut self, what: &str, wanted: impl Fn(&OvsdbEvent) -> bool) -> OvsdbEvent {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
                .expect("client stopped");
            if wanted(&event) {
                return event;
            }
        }
    }
}

fn states_for(view: &DesiredState, ofports: &mut BTreeMap<String, i64>) -> Vec<InterfaceState> {
    let mut states: Vec<InterfaceState> = view
        .desired
        .iter()
        .map(|port: &DesiredPort| {
            let next = i64::try_from(ofports.len()).unwrap_or(i64::MAX) + 1;
            let ofport = *ofports.entry(port.ifname.clone()).or_insert(next);
            InterfaceState::up(&port.ifname, ofport).with_status("port-profile", &port.profile)
        })
        .collect();
    states.extend(view.rejected.iter().map(|rejected| rejected.state()));
    states
}

/// A view's port names.
pub fn ifnames(view: &DesiredState) -> Vec<&str> {
    view.desired.iter().map(|port| port.ifname.as_str()).collect()
}

trait IntoView {
    fn into_view(self) -> DesiredState;
}

impl IntoView for OvsdbEvent {
    fn into_view(self) -> DesiredState {
        match self {
            OvsdbEvent::Changed(view) => view,
            other => panic!("expected Changed, got {other:?}"),
        }
    }
}
