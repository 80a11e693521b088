//! A real OpenSSH server inside a network namespace, with throwaway host and client keys: the
//! seed's "ssh into the container" step, for the demo and the tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::netns::Netns;

/// Debian's sshd (package openssh-server).
pub const SSHD: &str = "/usr/sbin/sshd";
/// The port sshd listens on inside the namespace.
pub const PORT: u16 = 2222;

/// True when sshd is installed.
pub fn available() -> bool {
    Path::new(SSHD).exists()
}

/// sshd running in a namespace; stopped on drop.
#[derive(Debug)]
pub struct SshServer {
    dir: PathBuf,
    child: Child,
}

impl SshServer {
    /// Starts sshd in `ns`, keeping its keys and config in `dir` (created).
    pub fn start(ns: &Netns, dir: &Path) -> anyhow::Result<Self> {
        if !available() {
            bail!("{SSHD} missing: apt-get install openssh-server");
        }
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let p = |name: &str| dir.join(name).display().to_string();
        for key in ["host_key", "client_key"] {
            let _ = std::fs::remove_file(p(key));
            let made =
                Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f", &p(key)]).status()?;
            if !made.success() {
                bail!("ssh-keygen failed");
            }
        }
        std::fs::copy(p("client_key.pub"), p("authorized_keys"))?;
        // sshd's privilege separation wants this directory to exist.
        std::fs::create_dir_all("/run/sshd")?;
        let config = format!(
            "Port {PORT}\nHostKey {}\nAuthorizedKeysFile {}\nPasswordAuthentication no\n\
             PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\nPidFile none\n",
            p("host_key"),
            p("authorized_keys")
        );
        std::fs::write(p("sshd_config"), config)?;
        let child = ns.spawn(&[SSHD, "-D", "-e", "-f", &p("sshd_config")])?;
        std::thread::sleep(Duration::from_millis(500));
        Ok(Self { dir: dir.to_owned(), child })
    }

    /// The `ssh` command line (without the destination) that logs in with the client key.
    pub fn client_command(&self) -> String {
        format!(
            "ssh -p {PORT} -i {} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
             -o BatchMode=yes -o ConnectTimeout=5 -o LogLevel=ERROR",
            self.dir.join("client_key").display()
        )
    }
}

impl Drop for SshServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
