//! Operators and roles on REST: who may do what, how they log in, and that passwords stay
//! hidden. A real supervisor in this process; every route is taken from its OpenAPI document,
//! so a new route is covered without touching this file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use common::{ADMIN, ADMIN_PASSWORD, As, Reply, Running, access_profile};
use hyper::http::{Method, StatusCode};

const OPERATOR: As<'static> = As::User("olive", "0live-pw");
const OPERATOR_LINE: &str = "username olive password 0live-pw role network-operator\n";

/// Every operation of the OpenAPI document, path parameters filled in.
async fn operations(supervisor: &Running) -> Vec<(Method, String)> {
    let document = supervisor.request(As::Nobody, Method::GET, "/openapi.json", &[], Body::empty()).await;
    assert_eq!(document.status, StatusCode::OK, "the document is public");
    let mut out = Vec::new();
    for (path, item) in document.json()["paths"].as_object().unwrap() {
        let path = path.replace("{module}", "3").replace("{index}", "1").replace(['{', '}'], "");
        for method in item.as_object().unwrap().keys() {
            out.push((method.to_uppercase().parse().unwrap(), path.clone()));
        }
    }
    assert!(out.len() >= 18, "{out:?}");
    out
}

fn assert_error(reply: &Reply, status: StatusCode, says: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert!(reply.content_type.starts_with("application/json"), "{reply:?}");
    let error = reply.json()["error"].as_str().unwrap().to_owned();
    assert!(error.contains(says), "{error:?} should say {says:?}");
}

/// A token for `who` living `ttl_seconds`.
async fn token(supervisor: &Running, who: As<'_>, ttl_seconds: u64) -> serde_json::Value {
    let body = format!("{{\"ttl_seconds\": {ttl_seconds}}}");
    let reply = supervisor
        .request(who, Method::POST, "/api/v1/tokens", &[("content-type", "application/json")], body)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()
}

#[tokio::test]
async fn unauthenticated_requests_get_401_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let mut routes = operations(&supervisor).await;
    routes.push((Method::GET, "/api/v1/nothing-here".to_owned()));
    for (method, path) in routes {
        let reply = supervisor.request(As::Nobody, method.clone(), &path, &[], "vlan 7\n").await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "authentication required");
        let challenge = reply.www_authenticate.as_deref().unwrap_or_default();
        assert!(challenge.contains("Basic") && challenge.contains("Bearer"), "{method} {path}: {challenge}");
    }
    // Wrong credentials of every kind (fewer than the rate limit allows).
    for (who, says) in [
        (As::User("admin", "wrong"), "wrong user name or password"),
        (As::User("nobody", ADMIN_PASSWORD), "wrong user name or password"),
        (As::Token("sy_forged"), "unknown or has expired"),
    ] {
        let reply = supervisor.request(who, Method::POST, "/api/v1/config", &[], "vlan 7\n").await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, says);
    }
    // Nothing happened.
    assert_eq!(supervisor.event_messages().await, [common::FIRST_ADMIN_EVENT]);
    supervisor.stop().await;
}

#[tokio::test]
async fn a_network_operator_reads_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    assert_eq!(
        supervisor.configure(&format!("{OPERATOR_LINE}{}", access_profile("web", 100))).await.status,
        StatusCode::OK
    );
    let before = supervisor.get("/api/v1/config").await.body;
    let admins_token = token(&supervisor, ADMIN, 60).await;

    for (method, path) in operations(&supervisor).await {
        let reply = supervisor
            .request(OPERATOR, method.clone(), &path, &[("content-type", "text/plain")], "vlan 7\n")
            .await;
        match (method.as_str(), path.as_str()) {
            ("GET", _) => assert!(
                !matches!(reply.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
                "{method} {path}: {}",
                reply.body
            ),
            // Exec and tokens check for themselves (below).
            ("POST", "/api/v1/exec" | "/api/v1/tokens") | ("DELETE", "/api/v1/tokens/id") => {}
            _ => assert_error(&reply, StatusCode::FORBIDDEN, "network-operator"),
        }
    }
    let show = supervisor.request(OPERATOR, Method::POST, "/api/v1/exec", &[], "show running-config").await;
    assert_eq!(show.status, StatusCode::OK, "{}", show.body);
    // …but not the accounts' password hashes (an offline guessing target), there or over REST;
    // an admin sees them (the text must parse back).
    assert!(show.body.contains("username olive password 5 ***** role network-operator"), "{}", show.body);
    assert!(!show.body.contains("$argon2"), "{}", show.body);
    let config = supervisor.request(OPERATOR, Method::GET, "/api/v1/config", &[], Body::empty()).await;
    assert!(!config.body.contains("$argon2") && config.body.contains("password 5 *****"), "{}", config.body);
    assert!(supervisor.get("/api/v1/config").await.body.contains("password 5 $argon2id$"));
    assert!(show.body.contains("port-profile type vethernet web"));
    let configure =
        supervisor.request(OPERATOR, Method::POST, "/api/v1/exec", &[], "configure terminal").await;
    assert_error(&configure, StatusCode::FORBIDDEN, "permission denied");
    // Its own tokens, yes; the admin's, no.
    let own = token(&supervisor, OPERATOR, 60).await;
    assert_eq!(own["role"], "network-operator");
    let path = format!("/api/v1/tokens/{}", admins_token["id"].as_str().unwrap());
    let reply = supervisor.request(OPERATOR, Method::DELETE, &path, &[], Body::empty()).await;
    assert_error(&reply, StatusCode::FORBIDDEN, "another account");
    let path = format!("/api/v1/tokens/{}", own["id"].as_str().unwrap());
    assert_eq!(
        supervisor.request(OPERATOR, Method::DELETE, &path, &[], Body::empty()).await.status,
        StatusCode::OK
    );
    assert_eq!(supervisor.get("/api/v1/config").await.body, before, "nothing changed");

    // A token takes the account's role at each request, and dies with the account.
    let issued = token(&supervisor, OPERATOR, 60).await;
    let bearer = As::Token(issued["token"].as_str().unwrap());
    let promote = OPERATOR_LINE.replace("network-operator", "network-admin");
    assert_eq!(supervisor.configure(&promote).await.status, StatusCode::OK);
    let reply = supervisor.request(bearer, Method::POST, "/api/v1/config", &[], "vlan 8\n").await;
    assert_eq!(reply.status, StatusCode::OK, "promoted: {}", reply.body);
    assert_eq!(supervisor.configure("no username olive\n").await.status, StatusCode::OK);
    let reply = supervisor.request(bearer, Method::GET, "/api/v1/config", &[], Body::empty()).await;
    assert_error(&reply, StatusCode::UNAUTHORIZED, "unknown or has expired");
    supervisor.stop().await;
}

#[tokio::test]
async fn bearer_tokens_work_everywhere_until_they_expire_or_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_store(dir.path()).await;
    let first = Running::start_on(store.clone(), dir.path(), |_| {}).await;
    let second = Running::start_on(store.clone(), dir.path(), |_| {}).await;

    let issued = token(&first, ADMIN, 3600).await;
    assert_eq!((issued["user"].as_str(), issued["role"].as_str()), (Some("admin"), Some("network-admin")));
    let bearer = issued["token"].as_str().unwrap();
    for supervisor in [&first, &second] {
        let reply =
            supervisor.request(As::Token(bearer), Method::POST, "/api/v1/config", &[], "vlan 9\n").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    // The store keeps only its hash.
    let kvs = store::Store::range(&*store, "/").await.unwrap().kvs;
    assert!(
        kvs.iter().all(|kv| !String::from_utf8_lossy(&kv.value).contains(bearer) && !kv.key.contains(bearer))
    );
    // A token cannot renew itself.
    let reply = first.request(As::Token(bearer), Method::POST, "/api/v1/tokens", &[], Body::empty()).await;
    assert_error(&reply, StatusCode::FORBIDDEN, "cannot issue tokens");
    // Deleted: refused on both.
    let path = format!("/api/v1/tokens/{}", issued["id"].as_str().unwrap());
    assert_eq!(
        first.request(As::Token(bearer), Method::DELETE, &path, &[], Body::empty()).await.status,
        StatusCode::OK
    );
    for supervisor in [&first, &second] {
        let reply =
            supervisor.request(As::Token(bearer), Method::GET, "/api/v1/config", &[], Body::empty()).await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "unknown or has expired");
    }

    // One that expires.
    let short = token(&second, ADMIN, 3).await;
    let bearer = short["token"].as_str().unwrap();
    let reply = first.request(As::Token(bearer), Method::GET, "/api/v1/config", &[], Body::empty()).await;
    assert_eq!(reply.status, StatusCode::OK, "valid at first");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = first.request(As::Token(bearer), Method::GET, "/api/v1/config", &[], Body::empty()).await;
        if reply.status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(Instant::now() < deadline, "the token never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Lifetimes out of range are refused.
    let reply = first.request(ADMIN, Method::POST, "/api/v1/tokens", &[], "{\"ttl_seconds\": 0}").await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "ttl_seconds");
    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn failed_logins_are_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let wrong = As::User("admin", "guess");
    for _ in 0..5 {
        let reply = supervisor.request(wrong, Method::GET, "/api/v1/config", &[], Body::empty()).await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "wrong user name or password");
    }
    for who in [wrong, ADMIN] {
        let reply = supervisor.request(who, Method::GET, "/api/v1/config", &[], Body::empty()).await;
        assert_error(&reply, StatusCode::TOO_MANY_REQUESTS, "too many failed logins");
        let retry_after: u64 = reply.retry_after.as_deref().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry_after), "{retry_after}");
    }
    supervisor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_cannot_overtake_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let guesses = (0..20).map(|i| {
        let password = format!("guess-{i}");
        let supervisor = &supervisor;
        async move {
            supervisor
                .request(As::User("admin", &password), Method::GET, "/api/v1/config", &[], Body::empty())
                .await
        }
    });
    let replies = futures::future::join_all(guesses).await;
    let checked = replies.iter().filter(|reply| reply.status == StatusCode::UNAUTHORIZED).count();
    let limited = replies.iter().filter(|reply| reply.status == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((checked, limited), (5, 15), "five guesses checked at most");
    supervisor.stop().await;
}

#[tokio::test]
async fn host_and_origin_stop_cross_site_requests() {
    for insecure in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let supervisor = Running::start(dir.path(), |options| {
            options.insecure = insecure;
            options.allowed_hosts = vec!["switch.example.com".to_owned()];
        })
        .await;
        let before = supervisor.get("/api/v1/config").await.body;
        let scheme = if insecure { "http" } else { "https" };
        let origin = format!("{scheme}://{}", supervisor.addr);
        let host = supervisor.addr.to_string();
        let probes: [(&[(&str, &str)], &str); 3] = [
            (
                &[("origin", "http://evil.example"), ("host", "attacker.example")],
                "not a name of this supervisor",
            ),
            (&[("origin", "http://evil.example")], "cross-origin"),
            (&[("host", "attacker.example")], "not a name of this supervisor"),
        ];
        for (headers, says) in probes {
            let mut headers = headers.to_vec();
            headers.push(("content-type", "text/plain"));
            let reply =
                supervisor.request(ADMIN, Method::POST, "/api/v1/config", &headers, "vlan 666\n").await;
            assert_error(&reply, StatusCode::FORBIDDEN, says);
        }
        assert_eq!(supervisor.get("/api/v1/config").await.body, before, "the probes changed nothing");
        // The supervisor's own origin, and allowed names, pass.
        for headers in [
            vec![("origin", origin.as_str()), ("host", host.as_str())],
            vec![("host", "switch.example.com:7400")],
            vec![("host", "localhost")],
        ] {
            let reply = supervisor
                .request(ADMIN, Method::GET, "/api/v1/port-profiles", &headers, Body::empty())
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{headers:?}: {}", reply.body);
        }
        if insecure {
            let reply = supervisor.request(As::Nobody, Method::POST, "/api/v1/config", &[], "vlan 5\n").await;
            assert_eq!(reply.status, StatusCode::OK, "no authentication in --insecure mode");
        }
        supervisor.stop().await;
    }
}

/// A `tracing` subscriber for this thread writing into a buffer (the supervisor's log lines).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The log of every supervisor in this test binary. Global: a per-thread subscriber misses
/// events whose callsites other threads registered first.
fn captured_log() -> &'static Captured {
    static LOG: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let log = Captured::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        log
    })
}

#[tokio::test]
async fn passwords_are_hashed_and_never_shown() {
    let log = captured_log();

    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let secret = "Sup3r-Secret-pw";
    let reply =
        supervisor.configure(&format!("username alice password {secret} role network-operator\n")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let mut shown = vec![reply.body];
    // A line that fails to parse, and one refused after parsing.
    let reply = supervisor.configure(&format!("username bob password {secret}? role network-admin\n")).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid password");
    shown.push(reply.body);
    let reply = supervisor.configure(&format!("username b:b password {secret} role network-admin\n")).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid user name");
    shown.push(reply.body);
    let running = supervisor.get("/api/v1/config").await.body;
    assert!(running.contains("username alice password 5 $argon2id$"), "{running}");
    shown.push(running);
    shown.push(supervisor.get("/api/v1/events").await.body);
    shown.push(supervisor.exec("show logging logfile").await.body);

    // alice logs in with the password; a wrong one fails (audited); so does the old one once
    // it is changed, at once, though it was just verified.
    let alice = As::User("alice", secret);
    assert_eq!(
        supervisor.request(alice, Method::GET, "/api/v1/config", &[], Body::empty()).await.status,
        StatusCode::OK
    );
    let reply = supervisor
        .request(As::User("alice", "not-it"), Method::GET, "/api/v1/config", &[], Body::empty())
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    supervisor.configure("username alice password n3w-pw role network-operator\n").await;
    let reply = supervisor.request(alice, Method::GET, "/api/v1/config", &[], Body::empty()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "the old password is dead");
    let reply = supervisor
        .request(As::User("alice", "n3w-pw"), Method::GET, "/api/v1/config", &[], Body::empty())
        .await;
    assert_eq!(reply.status, StatusCode::OK);

    // The last network-admin stays, with the line and column that would have removed it.
    let reply = supervisor.configure("no username admin\n").await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "last network-admin");
    assert_eq!((reply.json()["line"].as_u64(), reply.json()["column"].as_u64()), (Some(1), Some(13)));
    let entries = supervisor.audit("").await;
    let audited = entries.iter().any(|entry| {
        entry["kind"] == "login"
            && entry["user"] == "alice"
            && entry["success"] == false
            && entry["detail"].as_str().is_some_and(|detail| detail.contains("wrong user name or password"))
    });
    assert!(audited, "failed logins are audited: {entries:#?}");
    shown.push(serde_json::to_string(&entries).unwrap());
    supervisor.stop().await;

    let logged = log.text();
    shown.push(logged);
    for text in shown {
        assert!(!text.contains(secret) && !text.contains(ADMIN_PASSWORD), "a password shown:\n{text}");
    }
}

#[tokio::test]
async fn the_first_admin_gets_a_generated_password_in_the_data_dir() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |options| options.admin_password = None).await;
    let file = dir.path().join("admin-password");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !file.exists() {
        assert!(Instant::now() < deadline, "no {}", file.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let password = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert!(password.len() >= 20, "{password:?}");
    let reply = supervisor
        .request(As::User("admin", &password), Method::GET, "/api/v1/config", &[], Body::empty())
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    supervisor.stop().await;
    // A restart keeps the account and its password.
    let supervisor = Running::start(dir.path(), |options| options.admin_password = None).await;
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), password);
    let reply = supervisor
        .request(As::User("admin", &password), Method::GET, "/api/v1/config", &[], Body::empty())
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    supervisor.stop().await;
}

#[tokio::test]
async fn the_openapi_document_declares_basic_and_bearer() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let document =
        supervisor.request(As::Nobody, Method::GET, "/openapi.json", &[], Body::empty()).await.json();
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["basic"]["scheme"], "basic", "{schemes}");
    assert_eq!(schemes["bearer"]["scheme"], "bearer", "{schemes}");
    assert_eq!(document["security"], serde_json::json!([{"basic": []}, {"bearer": []}]));
    assert!(document["paths"]["/api/v1/tokens"]["post"].is_object());
    supervisor.stop().await;
}
