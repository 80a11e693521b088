//! The target's network namespace: found from a pid, a name or a container, held open as a file
//! for the length of an attach (so a pid reused mid-way cannot redirect it), and entered only on
//! a dedicated OS thread: `setns` moves the calling thread, and an async worker thread that
//! moved would carry every later task on it into the container.

use std::fs::File;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sched::{CloneFlags, setns};
use tokio::sync::oneshot;

use super::docker::DockerEngine;
use super::netlink::Netlink;
use super::{AttachError, Target};

/// Where `ip netns add` keeps named namespaces.
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// A target's network namespace, open.
#[derive(Debug)]
pub(crate) struct TargetNamespace {
    file: File,
    /// The process whose namespace this is, for `--pid` and `--container`.
    pub owner_pid: Option<u32>,
    /// The namespace's inode: the same number `ip netns identify` and `/proc/PID/ns/net` show,
    /// which tells whether two targets are one namespace.
    pub inode: u64,
    /// The target, as messages name it.
    label: String,
}

impl TargetNamespace {
    /// Opens `target`'s namespace, asking `docker` for a container's PID.
    pub async fn open(target: &Target, docker: &DockerEngine) -> Result<Self, AttachError> {
        let label = target.to_string();
        let (path, owner_pid) = match target {
            Target::Pid(pid) => (proc_netns(*pid), Some(*pid)),
            Target::Netns(name) => {
                validate_netns_name(name)?;
                (Path::new(NETNS_RUN_DIR).join(name), None)
            }
            Target::Container(name) => {
                let pid = docker.container_pid(name).await?;
                (proc_netns(pid), Some(pid))
            }
            Target::NetnsPath(path) => (path.clone(), None),
            Target::Host => (PathBuf::from("/proc/self/ns/net"), None),
        };
        let file = File::open(&path).map_err(|error| match error.kind() {
            io::ErrorKind::NotFound => match target {
                Target::Pid(pid) => AttachError::ProcessNotFound { pid: *pid },
                Target::Netns(name) => AttachError::NetnsNotFound { name: name.clone() },
                // The container stopped between the engine's answer and now.
                Target::Container(name) => AttachError::ContainerNotRunning { name: name.clone() },
                Target::NetnsPath(path) => AttachError::NetnsPathNotFound { path: path.clone() },
                Target::Host => AttachError::io("opening the agent's own namespace", error),
            },
            _ => AttachError::io(format!("opening {}", path.display()), error),
        })?;
        let inode = file
            .metadata()
            .map_err(|error| AttachError::io(format!("reading {}", path.display()), error))?
            .ino();
        Ok(Self { file, owner_pid, inode, label })
    }

    /// Runs `job` on a new OS thread with its own current-thread runtime: the thread opens a
    /// netlink connection in the caller's (the host's) namespace, enters this namespace, opens a
    /// second one there, and hands both to `job`. If the caller stops waiting (its future was
    /// dropped), whatever `job` made is handed to `undo` on the same thread, so an abandoned
    /// attach leaves nothing behind.
    pub async fn run_inside<T, Job, JobFuture, Undo, UndoFuture>(
        self,
        job: Job,
        undo: Undo,
    ) -> Result<T, AttachError>
    where
        T: Send + 'static,
        Job: FnOnce(Entered) -> JobFuture + Send + 'static,
        JobFuture: Future<Output = Result<T, AttachError>>,
        Undo: FnOnce(Netlink, T) -> UndoFuture + Send + 'static,
        UndoFuture: Future<Output = ()>,
    {
        let (answer, answered) = oneshot::channel();
        std::thread::Builder::new()
            .name("sy-attach-netns".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = answer.send(Err(AttachError::io("starting the namespace worker", error)));
                        return;
                    }
                };
                let _context = runtime.enter();
                let entered = match self.enter() {
                    Ok(entered) => entered,
                    Err(error) => {
                        let _ = answer.send(Err(error));
                        return;
                    }
                };
                let host = entered.host.clone();
                let outcome = runtime.block_on(job(entered));
                if let Err(Ok(abandoned)) = answer.send(outcome) {
                    runtime.block_on(undo(host, abandoned));
                }
                // `self.file` closes here, after every request that named it by descriptor.
            })
            .map_err(|error| AttachError::io("starting the namespace worker thread", error))?;
        answered.await.map_err(|_| {
            AttachError::Worker("the namespace worker thread stopped without answering".into())
        })?
    }

    /// Opens the host's connection, then moves this thread into the namespace and opens the
    /// target's. Only for the worker thread.
    fn enter(&self) -> Result<Entered, AttachError> {
        let host = Netlink::open()?;
        setns(&self.file, CloneFlags::CLONE_NEWNET).map_err(|errno| match errno {
            Errno::EINVAL => AttachError::NotANetns { what: self.label.clone() },
            _ => AttachError::io(format!("entering the namespace of {}", self.label), errno.into()),
        })?;
        let inside = Netlink::open()?;
        Ok(Entered { host, inside, netns_fd: self.file.as_raw_fd() })
    }
}

/// What a job on the namespace worker gets.
#[derive(Debug)]
pub(crate) struct Entered {
    /// A connection to the host's namespace.
    pub host: Netlink,
    /// A connection to the target's namespace.
    pub inside: Netlink,
    /// The target namespace's descriptor, open until the job and any undo have finished.
    pub netns_fd: RawFd,
}

fn proc_netns(pid: u32) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/ns/net"))
}

/// Names `ip netns` accepts: one path component.
fn validate_netns_name(name: &str) -> Result<(), AttachError> {
    let problem = if name.is_empty() {
        Some("is empty")
    } else if name == "." || name == ".." || name.contains('/') {
        Some("must be a plain name (no '/')")
    } else if name.len() > 255 {
        Some("is too long")
    } else {
        None
    };
    match problem {
        Some(problem) => {
            Err(AttachError::InvalidName { kind: "network namespace name", name: name.to_owned(), problem })
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netns_names_are_single_components() {
        assert!(validate_netns_name("red").is_ok());
        for bad in ["", ".", "..", "a/b", "../etc"] {
            assert!(validate_netns_name(bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn missing_targets_say_so() {
        let docker = DockerEngine::new("/nonexistent/docker.sock");
        let missing = TargetNamespace::open(&Target::Netns("sy-no-such-netns".into()), &docker)
            .await
            .expect_err("no such namespace");
        assert_eq!(missing.to_string(), "network namespace 'sy-no-such-netns' does not exist");
        // Pids are at most 2^22 on Linux, so this one never exists.
        let missing = TargetNamespace::open(&Target::Pid(u32::MAX), &docker).await.expect_err("no such pid");
        assert_eq!(missing.to_string(), format!("process {} does not exist", u32::MAX));
    }

    #[tokio::test]
    async fn our_own_namespace_opens_with_its_inode() {
        let docker = DockerEngine::new("/nonexistent/docker.sock");
        let pid = std::process::id();
        let namespace = TargetNamespace::open(&Target::Pid(pid), &docker).await.expect("own namespace");
        let expected = std::fs::metadata("/proc/self/ns/net").expect("stat").ino();
        assert_eq!(namespace.inode, expected);
        assert_eq!(namespace.owner_pid, Some(pid));
    }
}
