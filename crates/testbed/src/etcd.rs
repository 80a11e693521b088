//! A real etcd cluster for tests: `etcd` processes (Debian's `etcd-server`) on 127.0.0.1 with
//! free ports, data in a directory of their own, tuned for fast elections (heartbeat 50 ms,
//! election timeout 500 ms). Members can be killed (SIGKILL) and restarted on the same data and
//! ports. Dropping the cluster kills every member and removes the data.
//!
//! Each member's output goes to `<dir>/<name>.log`; a member that fails to start panics with
//! the end of its log.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a member may take to become healthy.
const START_DEADLINE: Duration = Duration::from_secs(30);
/// How many times a cluster is started on fresh ports when one was taken meanwhile.
const START_ATTEMPTS: u32 = 5;
/// How much of a log a failure message shows.
const LOG_TAIL_BYTES: usize = 4000;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// PEM files that put the members' client URLs on TLS, requiring client certificates signed
/// by `ca`.
#[derive(Debug, Clone)]
pub struct EtcdServerTls {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A running etcd cluster; see the module documentation.
#[derive(Debug)]
pub struct EtcdCluster {
    dir: PathBuf,
    members: Vec<Member>,
    /// `name=peer-url,…` for `--initial-cluster`.
    initial_cluster: String,
    token: String,
    tls: Option<EtcdServerTls>,
}

#[derive(Debug)]
struct Member {
    name: String,
    client_port: u16,
    peer_port: u16,
    /// Serves `/health` over plain HTTP, also when the client URLs use TLS.
    metrics_port: u16,
    child: Option<Child>,
}

impl EtcdCluster {
    /// Starts `members` members and waits until every one is healthy. Panics (with the
    /// members' logs) if etcd is missing or does not come up.
    pub fn start(members: usize) -> EtcdCluster {
        Self::start_with(members, None)
    }

    /// [`EtcdCluster::start`] with the client URLs on TLS.
    pub fn start_with(members: usize, tls: Option<&EtcdServerTls>) -> EtcdCluster {
        assert!(members > 0, "an etcd cluster needs at least one member");
        let mut attempt = 1;
        loop {
            let mut cluster = Self::configure(members, tls.cloned());
            for i in 0..members {
                cluster.spawn(i);
            }
            match (0..members).try_for_each(|i| cluster.wait_healthy(i)) {
                Ok(()) => return cluster,
                // Another test bound one of the chosen ports first: choose again.
                Err(error) if error.contains("address already in use") && attempt < START_ATTEMPTS => {
                    attempt += 1;
                }
                Err(error) => panic!("{error}"),
            }
        }
    }

    /// A cluster not yet started: ports, directory, names, token.
    fn configure(members: usize, tls: Option<EtcdServerTls>) -> EtcdCluster {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("sy-etcd-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let ports = free_ports(members * 3);
        let members: Vec<Member> = ports
            .chunks(3)
            .enumerate()
            .map(|(i, ports)| Member {
                name: format!("m{i}"),
                client_port: ports[0],
                peer_port: ports[1],
                metrics_port: ports[2],
                child: None,
            })
            .collect();
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer_port))
            .collect::<Vec<_>>()
            .join(",");
        let token = format!("sy-{}-{n}-{}", std::process::id(), clock_nanos());
        EtcdCluster { dir, members, initial_cluster, token, tls }
    }

    /// The client URLs (`http://127.0.0.1:PORT`, or `https://` with TLS), one per member.
    pub fn endpoints(&self) -> Vec<String> {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        self.members.iter().map(|m| format!("{scheme}://127.0.0.1:{}", m.client_port)).collect()
    }

    /// The directory holding the members' data and logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Kills member `i` with SIGKILL (no clean shutdown) and reaps it.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts member `i` again on its data and ports, and waits until it is healthy (which
    /// needs a quorum of members running).
    pub fn restart(&mut self, i: usize) {
        assert!(self.members[i].child.is_none(), "member {i} is still running; kill it first");
        self.spawn(i);
        if let Err(error) = self.wait_healthy(i) {
            panic!("{error}");
        }
    }

    /// Kills every member; the data stays until the cluster is dropped.
    pub fn stop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.dir.join(format!("{}.log", self.members[i].name))
    }

    fn spawn(&mut self, i: usize) {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path(i))
            .unwrap_or_else(|e| panic!("creating {}: {e}", self.log_path(i).display()));
        let stderr = log.try_clone().unwrap_or_else(|e| panic!("duplicating the log file: {e}"));
        let member = &self.members[i];
        let client_url = format!(
            "{}://127.0.0.1:{}",
            if self.tls.is_some() { "https" } else { "http" },
            member.client_port
        );
        let peer_url = format!("http://127.0.0.1:{}", member.peer_port);
        let mut command = Command::new("etcd");
        command
            .arg(format!("--name={}", member.name))
            .arg(format!("--data-dir={}", self.dir.join(&member.name).display()))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--listen-metrics-urls=http://127.0.0.1:{}", member.metrics_port))
            .arg(format!("--initial-cluster={}", self.initial_cluster))
            .arg(format!("--initial-cluster-token={}", self.token))
            .arg("--initial-cluster-state=new")
            .arg("--heartbeat-interval=50")
            .arg("--election-timeout=500")
            .arg("--logger=zap")
            .arg("--log-outputs=stderr")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr);
        if let Some(tls) = &self.tls {
            command
                .arg(format!("--cert-file={}", tls.cert.display()))
                .arg(format!("--key-file={}", tls.key.display()))
                .arg(format!("--trusted-ca-file={}", tls.ca.display()))
                .arg("--client-cert-auth");
        }
        let child = command.spawn().unwrap_or_else(|error| {
            panic!("cannot start etcd (install etcd-server: the etcd tests run real etcd): {error}")
        });
        self.members[i].child = Some(child);
    }

    /// Polls member `i`'s `/health` until it says true; fails with its log at the deadline or
    /// if it exits.
    fn wait_healthy(&mut self, i: usize) -> Result<(), String> {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let Some(child) = self.members[i].child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.members[i].child = None;
                return Err(format!(
                    "etcd member {i} exited ({status}) while starting; its log:\n{}",
                    self.log_tail(i)
                ));
            }
            if healthy(self.members[i].metrics_port) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "etcd member {i} not healthy within {START_DEADLINE:?}; its log:\n{}",
                    self.log_tail(i)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The member that is the raft leader now, if a running one says so (from its metrics).
    pub fn leader(&self) -> Option<usize> {
        self.members.iter().position(|member| {
            member.child.is_some()
                && http_get(member.metrics_port, "/metrics")
                    .is_some_and(|text| text.lines().any(|line| line == "etcd_server_is_leader 1"))
        })
    }

    /// Waits until a running member is the leader and returns it; panics at the deadline.
    pub fn wait_for_leader(&self) -> usize {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let Some(leader) = self.leader() {
                return leader;
            }
            assert!(Instant::now() < deadline, "no etcd leader within {START_DEADLINE:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The end of every member's log, for failure messages.
    pub fn logs(&self) -> String {
        (0..self.members.len())
            .map(|i| format!("--- etcd member {i} (end of log)\n{}\n", self.log_tail(i)))
            .collect()
    }

    /// The end of member `i`'s log.
    pub fn log_tail(&self, i: usize) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(self.log_path(i)) {
            let _ = file.read_to_string(&mut text);
        }
        let start = text.len().saturating_sub(LOG_TAIL_BYTES);
        let start = (start..text.len()).find(|&at| text.is_char_boundary(at)).unwrap_or(text.len());
        text[start..].to_string()
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether the member with this metrics port says it is healthy (it has a leader).
fn healthy(metrics_port: u16) -> bool {
    http_get(metrics_port, "/health").is_some_and(|response| response.contains("\"health\":\"true\""))
}

/// A plain HTTP/1.0 GET on 127.0.0.1 (the members' metrics listeners); the whole response.
fn http_get(port: u16, path: &str) -> Option<String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_millis(200)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

/// `count` distinct free TCP ports on 127.0.0.1, below the kernel's ephemeral range so that no
/// outgoing connection takes one before etcd binds it; starting from a random point so that
/// parallel tests rarely try the same ones (a collision makes the start try again).
fn free_ports(count: usize) -> Vec<u16> {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let low: u16 = 10_000;
    let span = u32::from(ephemeral_low.saturating_sub(low).max(1000));
    let seed = clock_nanos() ^ std::process::id().wrapping_mul(2_654_435_761);
    let mut listeners = Vec::with_capacity(count);
    for step in 0..span {
        if listeners.len() == count {
            break;
        }
        let port = low + u16::try_from((seed.wrapping_add(step)) % span).unwrap_or(0);
        if let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
            listeners.push(listener);
        }
    }
    assert_eq!(listeners.len(), count, "not enough free ports below {ephemeral_low}");
    // Held together until all are chosen, so none repeats; released for etcd here.
    listeners.iter().map(|l| l.local_addr().map_or(0, |a| a.port())).collect()
}

fn clock_nanos() -> u32 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos())
}
