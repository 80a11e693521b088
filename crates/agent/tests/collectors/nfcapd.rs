//! `nfcapd` (Debian `nfdump`) collecting on loopback, its file read back with `nfdump`.

use std::fs::{self, File};
use std::net::{IpAddr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{DEADLINE, free_udp_port, output_of, reap, require, stop, wait_for_text};

/// A running `nfcapd` writing to a temporary directory.
#[derive(Debug)]
pub struct Nfcapd {
    child: Child,
    dir: TempDir,
    address: SocketAddr,
}

/// What `nfcapd` wrote, once stopped.
#[derive(Debug)]
pub struct Collected {
    /// `nfdump -o json`: one object per flow.
    pub flows: Vec<serde_json::Value>,
    /// nfcapd's own count of sequence errors at exit.
    pub sequence_errors: u64,
    /// nfcapd's log.
    pub log: String,
}

impl Nfcapd {
    /// Starts `nfcapd` on a free port of `bind` (127.0.0.1 or ::1) and waits until it listens.
    pub fn start(bind: IpAddr) -> Self {
        require("nfcapd", "-V", "nfdump");
        require("nfdump", "-V", "nfdump");
        let dir = tempfile::tempdir().expect("temporary directory");
        let log = dir.path().join("nfcapd.log");
        // Flows in a directory of their own: nfcapd starts a new file every 5 minutes (on the
        // clock), so a run may leave two, and nfdump reads them all with `-R`.
        let flows = dir.path().join("flows");
        fs::create_dir(&flows).expect("nfcapd's flow directory");
        // The free port is found before nfcapd binds it: a test running beside this one may take
        // it in between. Then another port.
        let mut attempts = 0;
        let (child, port) = loop {
            let port = free_udp_port(bind);
            let mut command = Command::new("nfcapd");
            command.arg("-w").arg(&flows).args(["-p", &port.to_string(), "-b", &bind.to_string()]);
            if bind.is_ipv6() {
                command.arg("-6");
            }
            // A socket buffer that holds a burst of export packets while nfcapd writes to disk.
            command.args(["-B", "8000000"]);
            let log_file = File::create(&log).expect("nfcapd log");
            let mut child = command
                .stdout(log_file.try_clone().expect("log handle"))
                .stderr(log_file)
                .stdin(Stdio::null())
                .spawn()
                .expect("start nfcapd");
            match wait_for_text(&mut child, &log, "Startup nfcapd.") {
                Ok(()) => break (child, port),
                Err(said) if said.contains("Address already in use") && attempts < 5 => attempts += 1,
                Err(said) => panic!("{said}"),
            }
        };
        Self { child, dir, address: SocketAddr::new(bind, port) }
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Waits until nfcapd has read every datagram queued on its socket: SIGTERM makes it close
    /// its file at once, dropping what it has not read. Returns the socket's drop count (datagrams
    /// the kernel discarded because the receive buffer was full).
    pub fn wait_drained(&self) -> u64 {
        let table = if self.address.is_ipv6() { "/proc/net/udp6" } else { "/proc/net/udp" };
        let port = format!(":{:04X}", self.address.port());
        let start = Instant::now();
        let mut empty_polls = 0;
        loop {
            let text = fs::read_to_string(table).expect("the kernel's UDP socket table");
            let socket: Vec<&str> = text
                .lines()
                .map(|line| line.split_whitespace().collect::<Vec<_>>())
                .find(|cols| cols.get(1).is_some_and(|local| local.ends_with(&port)))
                .unwrap_or_else(|| panic!("nfcapd's socket is not in {table}"));
            let rx_queue = socket[4].split(':').nth(1).expect("tx_queue:rx_queue");
            let drops: u64 = socket.last().and_then(|d| d.parse().ok()).expect("drops column");
            empty_polls = if u64::from_str_radix(rx_queue, 16) == Ok(0) { empty_polls + 1 } else { 0 };
            // Empty twice 100 ms apart: the last datagram read has also been processed.
            if empty_polls == 2 {
                return drops;
            }
            assert!(start.elapsed() < DEADLINE, "nfcapd did not drain its socket");
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops it (SIGTERM flushes and closes its file) once it has read everything sent, and
    /// reads every flow back.
    pub fn finish(mut self) -> Collected {
        self.wait_drained();
        stop(&mut self.child, "TERM");
        let log = fs::read_to_string(self.dir.path().join("nfcapd.log")).expect("nfcapd log");
        let flows = self.flows_dir();
        let json =
            output_of(Command::new("nfdump").env("TZ", "UTC").arg("-R").arg(&flows).args(["-o", "json"]));
        let flows = if json.contains("No matching flows") {
            Vec::new()
        } else {
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("nfdump's JSON: {e}: {json}"))
        };
        let sequence_errors = log
            .split("Sequence Errors: ")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no sequence error count in nfcapd's log: {log}"));
        Collected { flows, sequence_errors, log }
    }

    /// Stops it and reads the totals of its file (`nfdump -I`): flows, packets, bytes.
    #[allow(dead_code)] // used by examples/flow_export_rate.rs, not by the tests
    pub fn finish_totals(mut self) -> (u64, u64, u64) {
        self.wait_drained();
        stop(&mut self.child, "TERM");
        let flows = self.flows_dir();
        let info = output_of(Command::new("nfdump").arg("-R").arg(&flows).arg("-I"));
        let field = |name: &str| -> u64 {
            info.lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(':').map(str::trim))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {name} in nfdump -I: {info}"))
        };
        (field("Flows"), field("Packets"), field("Bytes"))
    }

    /// The directory of the files nfcapd closed (`nfcapd.YYYYMMDDhhmm`): at least one.
    fn flows_dir(&self) -> std::path::PathBuf {
        let flows = self.dir.path().join("flows");
        let files = fs::read_dir(&flows)
            .expect("nfcapd directory")
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("nfcapd.2")))
            .count();
        assert!(files >= 1, "nfcapd wrote no file in {}", flows.display());
        flows
    }
}

impl Drop for Nfcapd {
    fn drop(&mut self) {
        reap(&mut self.child);
    }
}
