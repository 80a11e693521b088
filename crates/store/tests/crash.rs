//! Durability under `kill -9`: every write whose `put` returned is in the store after a crash.
//!
//! The test runs its own binary again as the writer (selected by an environment variable), so it
//! needs no separately built helper: the child writes numbered keys and prints an `ack` line after
//! each `put` returns; the parent kills it with SIGKILL mid-stream, reopens the file and checks.
#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use store::{RedbStore, Revision, Store};

/// Set in the child: the data directory to write into.
const CHILD_DATA_DIR: &str = "SWITCHYARD_STORE_CRASH_WRITER_DIR";
/// Acknowledged writes the parent waits for before it kills the child.
const ACKS_BEFORE_KILL: usize = 150;
/// A bound on the child, should the parent die without killing it.
const CHILD_WRITE_LIMIT: u64 = 20_000;
const TEST_NAME: &str = "acknowledged_writes_survive_kill_9";

fn key(i: u64) -> String {
    format!("crash/{i:08}")
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    if let Some(dir) = std::env::var_os(CHILD_DATA_DIR) {
        write_until_killed(Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_DATA_DIR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked: Vec<(u64, Revision)> = Vec::new();
    while acked.len() < ACKS_BEFORE_KILL {
        let line = lines.next().expect("the writer exited before it was killed").unwrap();
        acked.extend(parse_ack(&line));
    }
    child.kill().unwrap(); // SIGKILL: no destructors, no flush, no clean close
    let status = child.wait().unwrap();
    assert!(!status.success(), "the writer should have died by the signal");
    // Acks printed before the kill are acknowledged writes too.
    acked.extend(lines.map_while(Result::ok).filter_map(|line| parse_ack(&line)));

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let store = RedbStore::open(dir.path()).expect("the store reopens after a crash");
        for &(i, revision) in &acked {
            let kv =
                store.get(&key(i)).await.unwrap().unwrap_or_else(|| panic!("acknowledged write {i} lost"));
            assert_eq!(kv.value, i.to_string().into_bytes());
            assert_eq!(kv.mod_revision, revision);
        }
        // Commits are atomic: the store holds exactly writes 0..revision, whatever was in flight.
        let revision = store.revision().await.unwrap();
        let last_acked = acked.last().unwrap().1;
        assert!(revision >= last_acked, "revision {revision} went back before {last_acked}");
        let keys = store.range("crash/").await.unwrap().kvs;
        assert_eq!(keys.len(), usize::try_from(revision).unwrap());
        for (i, kv) in (0..).zip(&keys) {
            assert_eq!(kv.key, key(i));
            assert_eq!(kv.mod_revision, Revision::try_from(i).unwrap() + 1);
        }
    });
}

fn parse_ack(line: &str) -> Option<(u64, Revision)> {
    let (i, revision) = line.strip_prefix("ack ")?.split_once(' ')?;
    Some((i.parse().ok()?, revision.parse().ok()?))
}

/// The child: write numbered keys, acknowledging each on stdout once `put` has returned.
fn write_until_killed(dir: &Path) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let store = RedbStore::open(dir).unwrap();
        let mut stdout = std::io::stdout();
        for i in 0..CHILD_WRITE_LIMIT {
            let revision = store.put(&key(i), i.to_string().into_bytes()).await.unwrap();
            writeln!(stdout, "ack {i} {revision}").unwrap();
            stdout.flush().unwrap();
        }
    });
}
