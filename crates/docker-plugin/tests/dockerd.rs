//! The plugin under the real Docker engine: dockerd finds it by its socket, creates a network
//! through it, and runs a container whose interface is a veth pair the backend made.
//! Needs root and a running dockerd; fails loudly without them.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use docker_plugin::{Plugin, PluginServer, StateFile};
use tokio::sync::oneshot;

use common::{TestBackend, WEB_GATEWAY, WEB_MTU, host_end_name, ip};

/// Short, so the stuck-supervisor case is quick; the calls that answer take milliseconds.
const BACKEND_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs the docker CLI; Ok(stdout) or Err(stderr).
fn docker(args: &[&str]) -> Result<String, String> {
    let output = Command::new("docker").args(args).output().map_err(|err| format!("docker: {err}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Blocking work (the docker CLI waits on dockerd, which waits on our server) off the runtime.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.unwrap()
}

fn import_busybox_image(tag: &str) {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("bin")).unwrap();
    std::fs::copy("/bin/busybox", root.path().join("bin/busybox")).unwrap();
    let tar = root.path().join("rootfs.tar");
    let status =
        Command::new("tar").arg("-C").arg(root.path()).arg("-cf").arg(&tar).arg("bin").status().unwrap();
    assert!(status.success(), "tar failed");
    docker(&["import", tar.to_str().unwrap(), tag]).unwrap();
}

/// Removes what the test made in dockerd and on the host, whatever happened.
struct Cleanup {
    container: String,
    networks: Vec<String>,
    image: String,
    socket: PathBuf,
    backend: Arc<Plugin<TestBackend>>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.container]);
        for network in &self.networks {
            let _ = docker(&["network", "rm", network]);
        }
        let _ = docker(&["rmi", "-f", &self.image]);
        for (_, host_end) in self.backend.backend().ports.lock().unwrap().values() {
            let _ = ip(&["link", "del", host_end]);
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dockerd_runs_a_container_on_a_switchyard_network() {
    assert_eq!(
        nix_free_euid(),
        0,
        "this test needs root (it registers a plugin with dockerd and makes links)"
    );
    docker(&["info", "--format", "{{.ServerVersion}}"]).expect("this test needs a running dockerd");

    let nonce = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() % 1_000_000_000;
    let name = format!("sytest{}x{nonce}", std::process::id());
    let socket = PathBuf::from(format!("/run/docker/plugins/{name}.sock"));
    let state_dir = tempfile::tempdir().unwrap();
    let plugin = Arc::new(
        Plugin::open(
            TestBackend { real_links: true, ..TestBackend::default() },
            StateFile::in_dir(state_dir.path()),
        )
        .unwrap()
        .with_backend_timeout(BACKEND_TIMEOUT),
    );
    let serving = Serving::start(&plugin, &socket).await;
    let network = format!("{name}-web");
    let mut cleanup = Cleanup {
        container: format!("{name}-c"),
        networks: vec![network.clone(), format!("{name}-bad")],
        image: format!("{name}-img:latest"),
        socket: socket.clone(),
        backend: Arc::clone(&plugin),
    };

    // A supervisor that does not answer: dockerd gets an error within the bound, not a hang.
    plugin.backend().hang.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let (driver, bad) = (name.clone(), format!("{name}-bad"));
    let refused = blocking(move || {
        docker(&[
            "network",
            "create",
            "-d",
            &driver,
            "--ipam-driver",
            &driver,
            "--ipam-opt",
            "profile=web",
            &bad,
        ])
    })
    .await
    .unwrap_err();
    assert!(refused.contains("no answer within 2s"), "{refused}");
    assert!(started.elapsed() < BACKEND_TIMEOUT * 4, "took {:?}", started.elapsed());
    plugin.backend().hang.store(false, Ordering::SeqCst);

    // A profile the supervisor does not have: refused at `docker network create`.
    let (driver, bad) = (name.clone(), format!("{name}-bad"));
    let refused = blocking(move || {
        docker(&[
            "network",
            "create",
            "-d",
            &driver,
            "--ipam-driver",
            &driver,
            "--ipam-opt",
            "profile=web",
            "-o",
            "profile=nope",
            &bad,
        ])
    })
    .await
    .unwrap_err();
    assert!(refused.contains("port-profile 'nope' does not exist on the supervisor"), "{refused}");
    assert!(plugin.state().pools.is_empty(), "dockerd gave the pool back: {:?}", plugin.state());

    let (driver, web) = (name.clone(), network.clone());
    blocking(move || {
        // --subnet (equal to the pool's network) lets `docker network connect --ip` below work:
        // Docker allows fixed addresses only on networks with a subnet given.
        docker(&[
            "network",
            "create",
            "-d",
            &driver,
            "--ipam-driver",
            &driver,
            "--ipam-opt",
            "profile=web",
            "-o",
            "profile=web",
            "--subnet",
            common::WEB_NETWORK,
            &web,
        ])
    })
    .await
    .unwrap();
    let image = cleanup.image.clone();
    blocking(move || import_busybox_image(&image)).await;

    let (container, web, image) = (cleanup.container.clone(), network.clone(), cleanup.image.clone());
    blocking(move || {
        docker(&[
            "run",
            "-d",
            "--name",
            &container,
            "--network",
            &web,
            &image,
            "/bin/busybox",
            "sleep",
            "600",
        ])
    })
    .await
    .unwrap();
    let container = cleanup.container.clone();
    let inside =
        blocking(move || docker(&["exec", &container, "/bin/busybox", "ip", "addr", "show", "eth0"]))
            .await
            .unwrap();
    assert!(inside.contains("inet 10.213.77.5/24"), "{inside}");
    assert!(inside.contains(&format!("mtu {WEB_MTU}")), "{inside}");
    let container = cleanup.container.clone();
    let routes =
        blocking(move || docker(&["exec", &container, "/bin/busybox", "ip", "route"])).await.unwrap();
    assert!(routes.contains(&format!("default via {WEB_GATEWAY}")), "{routes}");

    let (port, host_end) = plugin.backend().ports.lock().unwrap().values().next().cloned().expect("a port");
    assert_eq!((port.profile.as_str(), port.mtu), ("web", WEB_MTU));
    assert!(inside.contains(&port.mac), "the container's MAC is the endpoint's: {inside}");
    assert_eq!(host_end, host_end_name(&port.container_end_name));
    ip(&["link", "show", &host_end]).expect("the host end stays on the host");
    assert!(ip(&["link", "show", &port.container_end_name]).is_err(), "dockerd moved the container end");
    assert_eq!(plugin.held_addresses().len(), 1);

    // The agent restarts: a new plugin on the same state (and a backend that kept its ports, as
    // the agent does) serves the same socket, and dockerd goes on using it.
    serving.stop().await;
    let backend = TestBackend {
        real_links: true,
        allocated: Mutex::new(plugin.backend().allocated.lock().unwrap().clone()),
        ports: Mutex::new(plugin.backend().ports.lock().unwrap().clone()),
        ..TestBackend::default()
    };
    let plugin = Arc::new(Plugin::open(backend, StateFile::in_dir(state_dir.path())).unwrap());
    cleanup.backend = Arc::clone(&plugin);
    let serving = Serving::start(&plugin, &socket).await;
    assert_eq!(plugin.held_addresses().len(), 1);

    // Disconnect and connect again with an address of the operator's choosing.
    let (container, web) = (cleanup.container.clone(), network.clone());
    blocking(move || docker(&["network", "disconnect", &web, &container])).await.unwrap();
    assert!(plugin.backend().ports.lock().unwrap().is_empty(), "disconnect deletes the port");
    assert!(ip(&["link", "show", &host_end]).is_err(), "and its links");
    assert!(plugin.held_addresses().is_empty(), "and gives its address back");
    let (container, web) = (cleanup.container.clone(), network.clone());
    blocking(move || docker(&["network", "connect", "--ip", "10.213.77.99", &web, &container]))
        .await
        .unwrap();
    let container = cleanup.container.clone();
    let inside = blocking(move || docker(&["exec", &container, "/bin/busybox", "ip", "addr"])).await.unwrap();
    assert!(inside.contains("inet 10.213.77.99/24"), "{inside}");

    let (container, web) = (cleanup.container.clone(), network.clone());
    blocking(move || {
        docker(&["rm", "-f", &container]).unwrap();
        docker(&["network", "rm", &web]).unwrap();
    })
    .await;
    let state = plugin.state();
    assert!(state.networks.is_empty() && state.endpoints.is_empty() && state.pools.is_empty(), "{state:?}");
    assert!(plugin.held_addresses().is_empty());

    blocking(move || drop(cleanup)).await;
    serving.stop().await;
}

/// A plugin served on a socket until stopped.
struct Serving {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Serving {
    async fn start(plugin: &Arc<Plugin<TestBackend>>, socket: &Path) -> Self {
        let server = PluginServer::bind(socket).await.unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(Arc::clone(plugin), async move {
            let _ = stopped.await;
        }));
        Self { stop, task }
    }

    async fn stop(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(20), self.task).await.unwrap().unwrap();
    }
}

/// The effective user id, read from /proc so the test needs no extra crate.
fn nix_free_euid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|line| line.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(2).unwrap().parse().unwrap()
}
