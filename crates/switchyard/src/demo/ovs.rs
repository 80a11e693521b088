//! Open vSwitch's database, the seed's way in: a private `ovsdb-server` (a foreground child of
//! the demo) and the real `ovs-vsctl` talking to it. Only used when Open vSwitch is installed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::netns::lossy;
use crate::processes::Children;

const SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";
/// The bridge the agent serves (the seed's commands name it).
pub const BRIDGE: &str = "sy-br0";

/// A running private ovsdb-server.
#[derive(Debug)]
pub struct Ovsdb {
    socket: PathBuf,
}

impl Ovsdb {
    /// True when Open vSwitch's userspace tools are installed.
    pub fn available() -> bool {
        ["/usr/bin/ovs-vsctl", "/usr/sbin/ovsdb-server", "/usr/bin/ovsdb-tool"]
            .iter()
            .all(|p| Path::new(p).exists())
            && Path::new(SCHEMA).exists()
    }

    /// Creates a database in `dir` and starts ovsdb-server on `dir/db.sock`.
    pub fn start(dir: &Path, children: &mut Children) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let db = dir.join("conf.db");
        let socket = dir.join("db.sock");
        let created = Command::new("ovsdb-tool").arg("create").arg(&db).arg(SCHEMA).output()?;
        if !created.status.success() {
            bail!("ovsdb-tool create: {}", lossy(&created.stderr).trim());
        }
        let mut server = Command::new("ovsdb-server");
        server
            .arg(&db)
            .arg(format!("--remote=punix:{}", socket.display()))
            .arg(format!("--unixctl={}", dir.join("ovsdb.ctl").display()))
            .arg("-vconsole:off");
        children.spawn_command("ovsdb-server", server)?;
        let start = Instant::now();
        while !socket.exists() {
            if start.elapsed() > Duration::from_secs(10) {
                bail!("ovsdb-server did not open {}", socket.display());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let ovsdb = Self { socket };
        ovsdb.vsctl(&["--no-wait", "init"])?;
        Ok(ovsdb)
    }

    /// `unix:PATH`, for `switchyard agent --ovsdb` and `ovs-vsctl --db`.
    pub fn endpoint(&self) -> String {
        format!("unix:{}", self.socket.display())
    }

    /// Runs the real `ovs-vsctl` against this database and returns its output.
    pub fn vsctl(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new("ovs-vsctl")
            .arg(format!("--db={}", self.endpoint()))
            .arg("--timeout=10")
            .args(args)
            .output()
            .context("running ovs-vsctl")?;
        if !out.status.success() {
            bail!("ovs-vsctl {}: {}", args.join(" "), lossy(&out.stderr).trim());
        }
        Ok(lossy(&out.stdout))
    }

    /// Waits until the agent has created the bridge row.
    pub fn wait_for_bridge(&self) -> anyhow::Result<()> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if self.vsctl(&["br-exists", BRIDGE]).is_ok() {
                return Ok(());
            }
            super::interrupt::check()?;
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("the agent did not create bridge {BRIDGE}")
    }
}
