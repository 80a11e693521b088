//! `tshark` (Debian `tshark`) capturing export packets on loopback and decoding them, as they
//! arrive, as NetFlow v9 / IPFIX (`cflow`).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{DEADLINE, reap, require, stop, wait_for_text};

/// A running capture of one UDP port on `lo`, decoding `cflow` fields as JSON.
#[derive(Debug)]
pub struct Tshark {
    child: Child,
    /// Holds the output files.
    _dir: TempDir,
    output: PathBuf,
}

/// One decoded export packet: each requested `cflow` field's values, in packet order.
pub type Packet = BTreeMap<String, Vec<String>>;

impl Tshark {
    /// Starts capturing UDP port `port` on `lo`, decoding `fields` (`cflow.…`) of each packet,
    /// and waits until the capture runs.
    pub fn start(port: u16, fields: &[&str]) -> Self {
        require("tshark", "-v", "tshark");
        let dir = tempfile::tempdir().expect("temporary directory");
        let log = dir.path().join("tshark.log");
        let output = dir.path().join("tshark.json");
        let mut command = Command::new("tshark");
        command.args(["-i", "lo", "-f", &format!("udp port {port}"), "-l"]).args([
            "-d",
            &format!("udp.port=={port},cflow"),
            "-T",
            "json",
        ]);
        for field in fields {
            command.args(["-e", field]);
        }
        let mut child = command
            .stdout(File::create(&output).expect("tshark output"))
            .stderr(File::create(&log).expect("tshark log"))
            .stdin(Stdio::null())
            .spawn()
            .expect("start tshark");
        wait_for_text(&mut child, &log, "Capture started.").unwrap_or_else(|said| panic!("{said}"));
        Self { child, _dir: dir, output }
    }

    /// Waits until `expected` packets have been decoded (or the deadline passes), stops the
    /// capture and returns what it decoded.
    pub fn finish(mut self, expected: usize) -> Vec<Packet> {
        let start = Instant::now();
        while decoded(&self.output) < expected && start.elapsed() < DEADLINE {
            thread::sleep(Duration::from_millis(20));
        }
        stop(&mut self.child, "INT");
        let json = fs::read_to_string(&self.output).expect("tshark output");
        let packets: Vec<serde_json::Value> =
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("tshark's JSON: {e}: {json}"));
        packets
            .iter()
            .map(|packet| {
                let layers = packet["_source"]["layers"].as_object().expect("layers");
                layers
                    .iter()
                    .map(|(name, values)| {
                        let values = values.as_array().expect("field values");
                        let values = values.iter().map(|v| v.as_str().expect("string").to_owned());
                        (name.clone(), values.collect())
                    })
                    .collect()
            })
            .collect()
    }
}

/// Packets in tshark's output so far.
fn decoded(output: &PathBuf) -> usize {
    fs::read_to_string(output).unwrap_or_default().matches("\"_index\"").count()
}

impl Drop for Tshark {
    fn drop(&mut self) {
        reap(&mut self.child);
    }
}
