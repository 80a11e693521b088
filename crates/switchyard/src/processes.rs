//! Child daemons of the demo: started from this same binary, logged to files, killed on drop.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};
use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// Running children, stopped (SIGTERM, then SIGKILL) when dropped.
#[derive(Debug)]
pub struct Children {
    exe: PathBuf,
    log_dir: PathBuf,
    running: Vec<(String, Child)>,
}

impl Children {
    /// Children of the `switchyard` binary at `exe`, logging under `root/logs`.
    pub fn new(exe: PathBuf, root: &Path) -> anyhow::Result<Self> {
        let log_dir = root.join("logs");
        std::fs::create_dir_all(&log_dir).with_context(|| format!("creating {}", log_dir.display()))?;
        Ok(Self { exe, log_dir, running: Vec::new() })
    }

    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// Starts `switchyard <args>` with stdout/stderr to `<log_dir>/<name>.log`.
    pub fn spawn(&mut self, name: &str, args: &[&str]) -> anyhow::Result<()> {
        let mut command = Command::new(&self.exe);
        command.args(args);
        self.spawn_command(name, command)
    }

    /// Starts `switchyard <args>` inside the network namespace `netns` (`ip netns exec`, which
    /// execs: the child's pid is switchyard's own, so signals reach it).
    pub fn spawn_in(&mut self, name: &str, netns: &str, args: &[&str]) -> anyhow::Result<()> {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", netns]).arg(&self.exe).args(args);
        self.spawn_command(name, command)
    }

    /// Starts any program (a real peer such as ovsdb-server) as a child called `name`, in the
    /// foreground, logged and stopped like the others.
    pub fn spawn_command(&mut self, name: &str, mut command: Command) -> anyhow::Result<()> {
        let log = File::options().create(true).append(true).open(self.log_dir.join(format!("{name}.log")))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        self.running.push((name.to_owned(), child));
        Ok(())
    }

    /// Sends `sig` to the child called `name`; with SIGKILL, also reaps it and forgets it.
    pub fn signal(&mut self, name: &str, sig: Signal) -> anyhow::Result<()> {
        let index =
            self.running.iter().position(|(n, _)| n == name).with_context(|| format!("no child {name}"))?;
        signal(&self.running[index].1, sig)?;
        if sig == Signal::SIGKILL {
            let (_, mut child) = self.running.remove(index);
            child.wait()?;
        }
        Ok(())
    }

    /// Stops the child called `name` with SIGTERM and waits for it.
    pub fn stop(&mut self, name: &str) -> anyhow::Result<()> {
        let index =
            self.running.iter().position(|(n, _)| n == name).with_context(|| format!("no child {name}"))?;
        let (_, mut child) = self.running.remove(index);
        stop(&mut child);
        Ok(())
    }

    /// Fails if any child has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        for (name, child) in &mut self.running {
            if let Some(status) = child.try_wait()? {
                let log = self.log_dir.join(format!("{name}.log"));
                let tail = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = tail.lines().rev().take(10).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                bail!("{name} exited ({status}); last lines of {}:\n{}", log.display(), tail.join("\n"));
            }
        }
        Ok(())
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for (_, child) in &mut self.running {
            terminate(child);
        }
        for (_, child) in &mut self.running {
            stop(child);
        }
    }
}

/// SIGTERM, up to 5 s to exit, then SIGKILL; always reaps.
fn stop(child: &mut Child) {
    terminate(child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Asks a child to stop cleanly (SIGTERM) so it can flush state; SIGKILL follows if it does not.
fn terminate(child: &Child) {
    let _ = signal(child, Signal::SIGTERM);
}

/// Sends `sig` to a child process.
pub fn signal(child: &Child, sig: Signal) -> nix::Result<()> {
    let pid = i32::try_from(child.id()).map_err(|_| nix::Error::ESRCH)?;
    nix::sys::signal::kill(Pid::from_raw(pid), sig)
}

/// A loopback address with a port nobody listens on right now.
pub fn free_loopback_addr() -> anyhow::Result<SocketAddr> {
    let probe = TcpListener::bind("127.0.0.1:0").context("finding a free port on 127.0.0.1")?;
    Ok(probe.local_addr()?)
}
