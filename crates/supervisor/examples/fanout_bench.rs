//! Fan-out benchmark: one supervisor in this process on a temporary store, 1,000 agents each
//! with one port bound to the changed profile and holding a Watch stream (one connection per
//! agent, as real agents have), and profile changes made through REST. (A stream carries only the profiles of
//! its module's ports, so every agent has one on the profile that changes.) Prints the time from the start of the REST call until each stream has the change
//! (p50/p99/max over every stream and change), the process RSS with the streams open, and the
//! time to apply a 2,000-profile config in one `POST /api/v1/config`.
//!
//! Secure by default, as a deployment runs: every agent enrols (a bootstrap token, a certificate
//! request) and holds its own mutual-TLS connection; REST calls go over TLS (a connection each)
//! as `admin` with HTTP Basic (the supervisor remembers the verification, so only the first pays
//! for argon2). `SY_INSECURE=1` runs the same with plain HTTP/2 and no authentication, to compare.
//!
//! Run: `cargo run --release -p switchyard-supervisor --example fanout_bench [AGENTS] [CHANGES]`

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use axum::body::Body;
use hyper::http::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use proto::supervisor_client::SupervisorClient;
use supervisor::SupervisorOptions;
use testbed::supervisor_access::{SupervisorAccess, grpc_channel};
use tokio::sync::mpsc;
use tonic::transport::Channel;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let agents: usize = args.next().map_or(Ok(1000), |arg| arg.parse()).context("AGENTS")?;
    let changes: u16 = args.next().map_or(Ok(20), |arg| arg.parse()).context("CHANGES")?;

    let insecure = std::env::var_os("SY_INSECURE").is_some();
    println!(
        "security: {}",
        if insecure {
            "none (--insecure)"
        } else {
            "TLS, agents enrolled (mutual TLS), REST as admin (HTTP Basic)"
        }
    );
    // `SY_SUPERVISOR=ADDR SY_SUPERVISOR_DIR=DIR`: a supervisor process of its own (started with
    // `--bootstrap-token-file DIR/bootstrap-token`, or `--insecure`), so that its CPU and the
    // agents' can be told apart (e.g. each pinned to a core with taskset).
    let external = std::env::var("SY_SUPERVISOR").ok().zip(std::env::var_os("SY_SUPERVISOR_DIR"));
    let dir = tempfile::tempdir()?;
    let (addr, data_dir, server) = match external {
        Some((addr, data_dir)) => (addr.parse()?, std::path::PathBuf::from(data_dir), None),
        None => {
            let store = store::RedbStore::open(dir.path())?;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let mut options = SupervisorOptions::new(dir.path(), addr);
            options.insecure = insecure;
            // Every agent of the bench comes from 127.0.0.1.
            options.limits.max_per_source = options.limits.max_connections;
            options.bootstrap_token_file = Some(dir.path().join("bootstrap-token"));
            let server = tokio::spawn(supervisor::serve(store, listener, options, async {
                let _ = stopped.await;
            }));
            (addr, dir.path().to_owned(), Some((stop, server)))
        }
    };
    let bootstrap = data_dir.join("bootstrap-token");
    let access = SupervisorAccess::new(addr, &data_dir);
    if !insecure {
        access.wait_until_ready().await?;
    }
    let http = Rest {
        tls: tokio::sync::Mutex::new(None),
        access: access.clone(),
        plain: insecure.then(|| Http {
            base: format!("http://{addr}"),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }),
    };
    // Room for every agent's port on the one profile.
    http.configure(&format!("{}  max-ports 1024\n", profile("bench", 100))).await?;
    println!("baseline RSS: {}", rss());

    // Agents: enrol, register, bind one port on the bench profile, then open one Watch stream each.
    let started = Instant::now();
    let mut channels = Vec::with_capacity(agents);
    let (received_tx, mut received) = mpsc::unbounded_channel::<(i64, Instant)>();
    for agent in 0..agents {
        let host_id = format!("bench-host-{agent}");
        let mut client = if insecure {
            SupervisorClient::new(Channel::from_shared(format!("http://{addr}"))?.connect().await?)
        } else {
            enrolled_client(&access, &bootstrap, &host_id, &format!("host{agent}")).await?
        };
        let module = client
            .register(proto::RegisterRequest {
                host_name: format!("host{agent}"),
                host_id: host_id.clone(),
                version: "bench".into(),
                addresses: vec!["127.0.0.1".into()],
                hardware: "bench".into(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .module;
        client.bind_port(bench_port(module, &host_id, agent)).await?;
        let mut stream =
            client.watch(proto::WatchRequest { module, host_id, known: HashMap::new() }).await?.into_inner();
        let first = stream.message().await?.context("no sync")?;
        if !first.sync || first.upserts.len() != 1 {
            bail!("unexpected sync {first:?}");
        }
        channels.push(client);
        let received_tx = received_tx.clone();
        tokio::spawn(async move {
            while let Ok(Some(update)) = stream.message().await {
                if update.upserts.iter().any(|policy| policy.name == "bench") {
                    let _ = received_tx.send((update.revision, Instant::now()));
                }
            }
        });
    }
    drop(received_tx);
    println!("{agents} agents registered, each with a port bound, and watching in {:.2?}", started.elapsed());
    println!("RSS with {agents} streams open: {}", rss());

    // Profile changes: time from the start of the REST call to each stream's delta.
    let mut latencies = Vec::new();
    let mut last_stream = Vec::new();
    let mut commits = Vec::new();
    for change in 0..changes {
        let sent = Instant::now();
        let revision = http.configure(&profile("bench", 101 + change)).await?;
        commits.push(sent.elapsed());
        let mut slowest = Duration::ZERO;
        for _ in 0..agents {
            let (at, when) = tokio::time::timeout(Duration::from_secs(30), received.recv())
                .await
                .context("a stream did not get the change within 30 s")?
                .context("streams ended")?;
            if at != revision {
                bail!("stream got revision {at}, expected {revision}");
            }
            let latency = when - sent;
            slowest = slowest.max(latency);
            latencies.push(latency);
        }
        last_stream.push(slowest);
    }
    latencies.sort();
    last_stream.sort();
    commits.sort();
    println!(
        "profile change -> {agents} streams over {changes} changes: p50 {:.2?}  p99 {:.2?}  max {:.2?}  \
         (last stream per change: median {:.2?}; the POST itself: median {:.2?})",
        percentile(&latencies, 50),
        percentile(&latencies, 99),
        latencies.last().copied().unwrap_or_default(),
        percentile(&last_stream, 50),
        percentile(&commits, 50),
    );
    println!("RSS after the changes: {}", rss());
    drop(channels);

    // One config with 2,000 port-profiles.
    let big: String = (0..2000u16).map(|index| profile(&format!("p{index}"), 1 + index % 4094)).collect();
    let started = Instant::now();
    http.configure(&big).await?;
    println!(
        "apply 2,000 port-profiles ({} KiB of text) via POST /api/v1/config: {:.2?}",
        big.len() / 1024,
        started.elapsed()
    );

    if let Some((stop, server)) = server {
        let _ = stop.send(());
        server.await??;
    }
    Ok(())
}

fn profile(name: &str, vlan: u16) -> String {
    format!(
        "port-profile type vethernet {name}\n  switchport mode access\n  switchport access vlan {vlan}\n  state enabled\n"
    )
}

/// Agent `agent`'s one port, on the bench profile.
fn bench_port(module: u32, host_id: &str, agent: usize) -> proto::BindPortRequest {
    proto::BindPortRequest {
        module,
        host_id: host_id.to_owned(),
        iface_id: format!("bench-port-{agent}"),
        profile: "bench".into(),
        adapter: format!("veth{agent}_eth0"),
        container_ifname: "eth0".into(),
        mac: format!("02:00:00:00:{:02x}:{:02x}", (agent >> 8) & 0xff, agent & 0xff),
        owner_uuid: String::new(),
        owner_name: format!("bench{agent}"),
        ltl: 49,
    }
}

fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(sorted.len() * percent / 100).min(sorted.len() - 1)]
}

/// `VmRSS` from /proc/self/status.
fn rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find(|line| line.starts_with("VmRSS:")).map(|line| line[6..].trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// An agent's client: enrolled with the bootstrap token, on a mutual-TLS connection of its own.
async fn enrolled_client(
    access: &SupervisorAccess,
    bootstrap: &std::path::Path,
    host_id: &str,
    host_name: &str,
) -> anyhow::Result<SupervisorClient<Channel>> {
    let token = std::fs::read_to_string(bootstrap)?.trim().to_owned();
    let key = pki::request::AgentKey::generate(host_id)?;
    let anonymous = grpc_channel(access.addr, access.client_config(None, &[b"h2"])?).await?;
    let request = proto::EnrollRequest {
        token,
        csr_pem: key.csr_pem.clone(),
        host_id: host_id.to_owned(),
        host_name: host_name.to_owned(),
        vtep: String::new(),
    };
    let reply = SupervisorClient::new(anonymous).enroll(request).await?.into_inner();
    let identity = pki::tls::Identity::from_pem(&reply.certificate_pem, &key.key_pem)?;
    Ok(SupervisorClient::new(
        grpc_channel(access.addr, access.client_config(Some(identity), &[b"h2"])?).await?,
    ))
}

/// REST: over TLS as admin (one kept-alive connection, as the shell keeps one), or in clear
/// with `--insecure`.
struct Rest {
    access: SupervisorAccess,
    plain: Option<Http>,
    tls: tokio::sync::Mutex<Option<hyper::client::conn::http1::SendRequest<Body>>>,
}

impl Rest {
    /// Posts config text; returns the revision it committed.
    async fn configure(&self, text: &str) -> anyhow::Result<i64> {
        let (status, body) = match &self.plain {
            Some(http) => http.post_config(text).await?,
            None => self.post_over_tls(text).await?,
        };
        if status != 200 {
            bail!("config rejected ({status}): {body}");
        }
        let json: serde_json::Value = serde_json::from_str(&body)?;
        json["revision"].as_i64().context("no revision")
    }
}

impl Rest {
    async fn post_over_tls(&self, text: &str) -> anyhow::Result<(u16, String)> {
        let mut kept = self.tls.lock().await;
        if kept.as_ref().is_none_or(|sender| sender.is_closed()) {
            let config = self.access.client_config(None, &[b"http/1.1"])?;
            let stream = testbed::supervisor_access::tls_connect(self.access.addr, config).await?;
            let (sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
            tokio::spawn(connection);
            *kept = Some(sender);
        }
        let sender = kept.as_mut().context("a connection")?;
        sender.ready().await?;
        let authorization = testbed::supervisor_access::admin_authorization(&self.access.data_dir)
            .context("no admin password in the data dir")?;
        let request = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/config")
            .header("host", self.access.addr.to_string())
            .header("content-type", "text/plain")
            .header("authorization", authorization)
            .body(Body::from(text.to_owned()))?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(Body::new(response.into_body()), usize::MAX).await?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

struct Http {
    base: String,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Body>,
}

impl Http {
    async fn post_config(&self, text: &str) -> anyhow::Result<(u16, String)> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}/api/v1/config", self.base))
            .header("content-type", "text/plain")
            .body(Body::from(text.to_owned()))?;
        let response = self.client.request(request).await?;
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(Body::new(response.into_body()), usize::MAX).await?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}
