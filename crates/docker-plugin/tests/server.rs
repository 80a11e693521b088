//! The real server on a unix socket, spoken to over HTTP/1.1 as dockerd does.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use docker_plugin::{Plugin, PluginServer, ServerError, StateFile};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tokio::sync::oneshot;

use common::TestBackend;

/// Posts `body` to `path` over the socket; returns status, content type and JSON.
async fn post(socket: &Path, path: &str, body: Vec<u8>) -> (u16, String, serde_json::Value) {
    let stream = UnixStream::connect(socket).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::post(path)
        .header("host", "plugin")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, content_type, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn dockerd_s_calls_over_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("plugins/switchyard-test.sock");
    let plugin = Arc::new(
        Plugin::open(TestBackend::default(), StateFile::in_dir(dir.path()))
            .unwrap()
            .with_backend_timeout(std::time::Duration::from_millis(300)),
    );
    let server = PluginServer::bind(&socket).await.unwrap();
    assert!(matches!(PluginServer::bind(&socket).await, Err(ServerError::AlreadyRunning { .. })));
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(Arc::clone(&plugin), async move {
        let _ = stopped.await;
    }));

    let (status, content_type, answer) = post(&socket, "/Plugin.Activate", Vec::new()).await;
    assert_eq!((status, content_type.as_str()), (200, "application/vnd.docker.plugins.v1+json"));
    assert_eq!(answer, serde_json::json!({"Implements":["NetworkDriver","IpamDriver"]}));

    let create = serde_json::json!({"NetworkID":"n1","Options":{"com.docker.network.generic":{"profile":"nope"}},
        "IPv4Data":[{"AddressSpace":"LocalDefault","Pool":"10.1.0.0/24","Gateway":"10.1.0.1/24"}]});
    let (status, _, answer) =
        post(&socket, "/NetworkDriver.CreateNetwork", create.to_string().into_bytes()).await;
    assert_eq!(status, 500);
    assert!(answer["Err"].as_str().unwrap().starts_with("port-profile 'nope' does not exist"), "{answer}");

    let (status, _, answer) = post(&socket, "/NetworkDriver.Join", b"{not json".to_vec()).await;
    assert_eq!(status, 400);
    assert!(
        answer["Err"].as_str().unwrap().starts_with("malformed request to /NetworkDriver.Join"),
        "{answer}"
    );

    let (status, _, answer) = post(&socket, "/VolumeDriver.Mount", b"{}".to_vec()).await;
    assert_eq!(status, 404, "{answer}");

    plugin.backend().hang.store(true, std::sync::atomic::Ordering::SeqCst);
    let pool = serde_json::json!({"AddressSpace":"switchyard-local","Pool":"","SubPool":"","Options":{"profile":"web"},"V6":false});
    let (status, _, answer) = post(&socket, "/IpamDriver.RequestPool", pool.to_string().into_bytes()).await;
    assert_eq!(status, 500);
    assert!(answer["Err"].as_str().unwrap().contains("no answer within 300ms"), "{answer}");
    plugin.backend().hang.store(false, std::sync::atomic::Ordering::SeqCst);

    let huge = vec![b' '; docker_plugin::server::MAX_BODY_BYTES + 1];
    let (status, _, answer) = post(&socket, "/NetworkDriver.CreateNetwork", huge).await;
    assert_eq!(status, 413, "{answer}");

    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(20), serving).await.unwrap().unwrap();
    assert!(!socket.exists(), "a stopped server removes its socket");

    // A socket left by a server that died is replaced.
    let stale = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    drop(stale);
    let again = PluginServer::bind(&socket).await.unwrap();
    assert_eq!(again.path(), socket);
    std::fs::remove_file(&socket).unwrap();
    std::fs::write(&socket, b"not a socket").unwrap();
    assert!(matches!(PluginServer::bind(&socket).await, Err(ServerError::NotASocket { .. })));
}
