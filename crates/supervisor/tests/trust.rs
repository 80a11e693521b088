//! Trust between agents and the supervisor, through the real listener: TLS, join tokens,
//! certificates as identities, revocation, renewal, and what the listener does with clients that
//! do not play along.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Running, access_profile, host, port, tls};
use hyper::http::{Method, StatusCode};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tonic::Code;

#[tokio::test]
async fn a_join_token_enrols_once_and_not_after_it_expires() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let token = supervisor.join_token().await;
    let enrol = |name: &str, token: &str| {
        let key = pki::request::AgentKey::generate(&format!("id-{name}")).unwrap();
        proto::EnrollRequest {
            token: token.to_owned(),
            csr_pem: key.csr_pem,
            host_id: format!("id-{name}"),
            host_name: name.to_owned(),
            vtep: String::new(),
        }
    };
    let mut anonymous = supervisor.grpc().await;
    let reply = anonymous.enroll(enrol("bilbo", &token)).await.unwrap().into_inner();
    assert_eq!(reply.ca_pem, supervisor.ca_pem());
    assert_eq!(pki::PeerCertificate::parse_pem(&reply.certificate_pem).unwrap().common_name, "id-bilbo");

    // Used: refused, for anyone.
    let reused = anonymous.enroll(enrol("frodo", &token)).await.unwrap_err();
    assert_eq!(reused.code(), Code::Unauthenticated);
    assert!(reused.message().contains("unknown or already used"), "{}", reused.message());
    // A guess at the secret of a live token: refused, and the token still works.
    let live = supervisor.join_token().await;
    let (id, _) = live.split_once('.').unwrap();
    let guess = anonymous.enroll(enrol("frodo", &format!("{id}.0000000000000000"))).await.unwrap_err();
    assert_eq!(guess.code(), Code::Unauthenticated);
    anonymous.enroll(enrol("frodo", &live)).await.unwrap();
    // Garbage is not a token.
    let garbage = anonymous.enroll(enrol("sam", "let me in")).await.unwrap_err();
    assert_eq!(garbage.code(), Code::Unauthenticated);

    // An enrolled host id or name cannot be claimed with a new token.
    let twice = anonymous.enroll(enrol("bilbo", &supervisor.join_token().await)).await.unwrap_err();
    assert_eq!(twice.code(), Code::AlreadyExists, "{twice:?}");
    for name in ["bilbo", "BILBO"] {
        let mut same_name = enrol(name, &supervisor.join_token().await);
        same_name.host_id = "id-impostor".into();
        assert_eq!(anonymous.enroll(same_name).await.unwrap_err().code(), Code::AlreadyExists, "{name}");
    }

    // Expired.
    let reply = supervisor
        .http(
            Method::POST,
            "/api/v1/join-tokens",
            Some("application/json"),
            r#"{"ttl_seconds": 1}"#.to_owned(),
        )
        .await;
    let short = reply.json()["token"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let expired = anonymous.enroll(enrol("sam", &short)).await.unwrap_err();
    assert_eq!(expired.code(), Code::Unauthenticated);
    assert!(expired.message().contains("expired"), "{}", expired.message());

    // Every refusal is in the event log, with the address it came from.
    let events = supervisor.event_messages().await;
    assert!(
        events
            .iter()
            .filter(|e| e.starts_with("%VEM_MGR-2-VEM_MGR_REFUSED: Refused agent at 127.0.0.1"))
            .count()
            >= 5,
        "{events:#?}"
    );
    supervisor.stop().await;
}

#[tokio::test]
async fn one_host_cannot_speak_for_another() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    supervisor.configure(&access_profile("web", 100)).await;
    let mut bilbo = supervisor.grpc_as("bilbo").await;
    let bilbo_module = bilbo.register(host("bilbo")).await.unwrap().into_inner().module;
    bilbo.bind_port(port("bilbo", bilbo_module, "web1", "web", 1)).await.unwrap();

    let mut mallory = supervisor.grpc_as("mallory").await;
    let mallory_module = mallory.register(host("mallory")).await.unwrap().into_inner().module;
    // Registering as bilbo: refused, and bilbo's module is untouched.
    let error = mallory.register(host("bilbo")).await.unwrap_err();
    assert_eq!(error.code(), Code::PermissionDenied);
    // Acting on bilbo's module, with or without claiming bilbo's id.
    let as_bilbo = port("bilbo", bilbo_module, "evil", "web", 2);
    assert_eq!(mallory.bind_port(as_bilbo).await.unwrap_err().code(), Code::PermissionDenied);
    let on_bilbos_module =
        proto::BindPortRequest { host_id: String::new(), ..port("mallory", bilbo_module, "evil", "web", 2) };
    assert_eq!(mallory.bind_port(on_bilbos_module).await.unwrap_err().code(), Code::FailedPrecondition);
    let unbind =
        proto::UnbindPortRequest { module: bilbo_module, host_id: String::new(), iface_id: "web1".into() };
    assert_eq!(mallory.unbind_port(unbind).await.unwrap_err().code(), Code::FailedPrecondition);
    let report = proto::PortReport { module: bilbo_module, ..Default::default() };
    assert_eq!(mallory.report_ports(report).await.unwrap_err().code(), Code::FailedPrecondition);
    let heartbeat = proto::HeartbeatRequest { module: bilbo_module, host_id: String::new() };
    assert_eq!(mallory.heartbeat(heartbeat).await.unwrap_err().code(), Code::FailedPrecondition);
    assert_ne!(mallory_module, bilbo_module);

    let modules = supervisor.get("/api/v1/modules").await.json();
    assert_eq!(modules[0]["host_name"], "bilbo");
    assert_eq!(modules[0]["module"], bilbo_module);
    let interfaces = supervisor.get("/api/v1/interfaces").await.json();
    assert_eq!(interfaces.as_array().unwrap().len(), 1, "{interfaces}");
    assert_eq!(interfaces[0]["module"], bilbo_module);
    let events = supervisor.event_messages().await;
    assert!(
        events
            .iter()
            .any(|e| e.contains("VEM_MGR_REFUSED")
                && e.contains("host id-mallory claimed to be host id-bilbo")),
        "{events:#?}"
    );
    supervisor.stop().await;
}

#[tokio::test]
async fn a_revoked_module_cannot_come_back_and_its_ports_are_released() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    supervisor.configure(&access_profile("web", 100)).await;
    let mut bilbo = supervisor.grpc_as("bilbo").await;
    let module = bilbo.register(host("bilbo")).await.unwrap().into_inner().module;
    let veth = bilbo.bind_port(port("bilbo", module, "web1", "web", 1)).await.unwrap().into_inner().veth;
    assert_eq!(veth, 1);

    // A Watch stream opened before the revocation.
    let watch = proto::WatchRequest { module, host_id: String::new(), known: Default::default() };
    let mut stream = bilbo.watch(watch).await.unwrap().into_inner();
    assert!(stream.message().await.unwrap().unwrap().sync);

    let reply = supervisor.exec(&format!("revoke module {module}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.body.contains("revoked"), "{}", reply.body);
    // The open stream ends at once: no more policies for a host nobody trusts.
    let ended =
        tokio::time::timeout(Duration::from_secs(5), stream.message()).await.expect("the stream ended");
    assert_eq!(ended.unwrap_err().code(), Code::Unauthenticated);

    // The open connection's next call, and a new connection with the same certificate.
    let heartbeat = proto::HeartbeatRequest { module, host_id: String::new() };
    let error = bilbo.heartbeat(heartbeat).await.unwrap_err();
    assert_eq!(error.code(), Code::Unauthenticated);
    assert!(error.message().contains("revoked"), "{}", error.message());
    let mut again = supervisor.grpc_as("bilbo").await;
    assert_eq!(again.register(host("bilbo")).await.unwrap_err().code(), Code::Unauthenticated);

    // Offline, its port detached (a static binding, the default, keeps its number).
    let modules = supervisor.get("/api/v1/modules").await.json();
    assert_eq!(modules[0]["status"], "offline", "{modules}");
    let interfaces = supervisor.get("/api/v1/interfaces").await.json();
    assert_eq!(interfaces[0]["attached"], false, "{interfaces}");
    assert_eq!(interfaces[0]["reason"], "detached", "{interfaces}");
    let events = supervisor.event_messages().await;
    assert!(
        events.contains(&format!(
            "%VEM_MGR-2-VEM_MGR_REVOKED: Host bilbo (module {module}) revoked: its certificates are refused"
        )),
        "{events:#?}"
    );

    // With a new token from an operator it may return, as the same module.
    std::fs::remove_file(dir.path().join("test-agent-bilbo.pem")).unwrap();
    let mut returned = supervisor.grpc_as("bilbo").await;
    assert_eq!(returned.register(host("bilbo")).await.unwrap().into_inner().module, module);
    assert_eq!(supervisor.exec("revoke module 99").await.status, StatusCode::NOT_FOUND);
    supervisor.stop().await;
}

#[tokio::test]
async fn certificates_are_renewed_and_the_replaced_one_retires() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor =
        Running::start(dir.path(), |options| options.agent_cert_lifetime = Duration::from_secs(8)).await;
    let (cert, key) = supervisor.enrol("bilbo", "").await.unwrap();
    let first = pki::PeerCertificate::parse_pem(&cert).unwrap();
    let life = first.not_after.duration_since(std::time::SystemTime::now()).unwrap();
    assert!(life <= Duration::from_secs(8) && life > Duration::from_secs(6), "{life:?}");
    // Renewal is refused until half the certificate's life has passed (an enrolled host cannot
    // make the supervisor sign and write in a loop); then it is due.
    let half_life = |certificate: &pki::PeerCertificate| {
        let life = certificate.not_after.duration_since(certificate.not_before).unwrap();
        let due = certificate.not_before + life / 2 + Duration::from_millis(100);
        async move {
            if let Ok(wait) = due.duration_since(std::time::SystemTime::now()) {
                tokio::time::sleep(wait).await;
            }
        }
    };
    let connect = |cert: String, key: String| {
        let config = supervisor.client_config(Some(pki::tls::Identity::from_pem(&cert, &key).unwrap()));
        async move { proto::supervisor_client::SupervisorClient::new(tls::channel(supervisor.addr, config).await) }
    };
    let mut old = connect(cert.clone(), key.clone()).await;
    let module = old.register(host("bilbo")).await.unwrap().into_inner().module;

    let renew = |client: &mut proto::supervisor_client::SupervisorClient<_>| {
        let key = pki::request::AgentKey::generate("id-bilbo").unwrap();
        let request = proto::RenewRequest { csr_pem: key.csr_pem.clone() };
        let mut client = client.clone();
        async move { (client.renew_certificate(request).await.unwrap().into_inner().certificate_pem, key.key_pem) }
    };
    let early =
        proto::RenewRequest { csr_pem: pki::request::AgentKey::generate("id-bilbo").unwrap().csr_pem };
    assert_eq!(old.renew_certificate(early).await.unwrap_err().code(), Code::FailedPrecondition);
    half_life(&first).await;
    let (second_cert, second_key) = renew(&mut old).await;
    let second = pki::PeerCertificate::parse_pem(&second_cert).unwrap();
    assert_eq!(second.common_name, "id-bilbo");
    assert_ne!(second.serial, first.serial);
    // The stream opened with the first certificate keeps working, and so does the new one.
    let heartbeat = proto::HeartbeatRequest { module, host_id: String::new() };
    old.heartbeat(heartbeat.clone()).await.unwrap();
    let mut new = connect(second_cert, second_key).await;
    new.heartbeat(heartbeat.clone()).await.unwrap();
    // A second renewal retires the first certificate.
    half_life(&second).await;
    renew(&mut new).await;
    let error = old.heartbeat(heartbeat.clone()).await.unwrap_err();
    assert_eq!(error.code(), Code::Unauthenticated);
    assert!(error.message().contains("has been replaced"), "{}", error.message());
    new.heartbeat(heartbeat).await.unwrap();
    supervisor.stop().await;
}

#[tokio::test]
async fn clients_that_do_not_speak_tls_or_at_all_are_shown_the_door() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |options| {
        options.limits.handshake_timeout = Duration::from_millis(300);
        options.limits.max_connections = 20;
    })
    .await;

    // Plain HTTP on the TLS port: one clear answer, then the door.
    let mut plain = tokio::net::TcpStream::connect(supervisor.addr).await.unwrap();
    plain.write_all(b"GET /api/v1/modules HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), plain.read_to_string(&mut answer)).await.unwrap().unwrap();
    assert!(answer.starts_with("HTTP/1.1 400 Bad Request"), "{answer}");
    assert!(answer.contains("this supervisor speaks TLS: use https://"), "{answer}");

    // Silent connections are closed after the handshake deadline and do not hold the cap.
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(tokio::net::TcpStream::connect(supervisor.addr).await.unwrap());
    }
    let started = Instant::now();
    for stream in &mut silent {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte)).await.unwrap();
        assert!(matches!(read, Ok(0) | Err(_)), "closed, not answered: {read:?}");
    }
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(supervisor.get("/api/v1/modules").await.status, StatusCode::OK);

    // A certificate from another CA is refused at the handshake.
    let stranger = pki::Authority::generate("someone else", std::time::SystemTime::now()).unwrap();
    let key = pki::request::AgentKey::generate("id-bilbo").unwrap();
    let issued = stranger
        .issue_agent(&key.csr_pem, "id-bilbo", std::time::SystemTime::now(), Duration::from_secs(600))
        .unwrap();
    let identity = pki::tls::Identity::from_pem(&issued.cert_pem, &key.key_pem).unwrap();
    let failed = tls::connect(supervisor.addr, supervisor.client_config(Some(identity))).await;
    if let Ok(mut stream) = failed {
        // TLS 1.3 reports a refused client certificate on the first read: an alert, at once. An
        // accepted one would leave the read waiting for a response that never comes.
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte)).await;
        assert!(matches!(read, Ok(Err(_))), "a foreign certificate was accepted: {read:?}");
    }
    supervisor.stop().await;
}

#[tokio::test]
async fn join_tokens_through_rest_and_the_shell_commands() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let created = supervisor.exec("join-token create ttl 600").await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let ca_hash = pki::CaHash::of(&pki::certificates_from_pem(&supervisor.ca_pem()).unwrap()[0]).unwrap();
    assert!(created.body.contains(&format!("CA hash:    {ca_hash}")), "{}", created.body);
    assert!(created.body.contains("--join-token "), "{}", created.body);
    let token = created.body.lines().next().unwrap().trim_start_matches("Join token: ").to_owned();
    let (id, secret) = token.split_once('.').unwrap();

    let shown = supervisor.exec("show join-tokens").await.body;
    assert!(shown.contains(id), "{shown}");
    assert!(!shown.contains(secret), "the secret is shown once only: {shown}");
    let listed = supervisor.get("/api/v1/join-tokens").await;
    assert!(!listed.body.contains(secret) && !listed.body.contains("sha256"), "{}", listed.body);

    assert_eq!(supervisor.exec(&format!("no join-token {id}")).await.status, StatusCode::OK);
    assert_eq!(supervisor.exec(&format!("no join-token {id}")).await.status, StatusCode::NOT_FOUND);
    assert!(!supervisor.exec("show join-tokens").await.body.contains(id));
    let bad_ttl = supervisor
        .http(
            Method::POST,
            "/api/v1/join-tokens",
            Some("application/json"),
            r#"{"ttl_seconds": 0}"#.to_owned(),
        )
        .await;
    assert_eq!(bad_ttl.status, StatusCode::BAD_REQUEST, "{}", bad_ttl.body);

    // The shell's and REST's token commands are both in the accounting log, by admin.
    let via_rest = supervisor.join_token().await;
    let (rest_id, _) = via_rest.split_once('.').unwrap();
    let path = format!("/api/v1/join-tokens/{rest_id}");
    assert_eq!(supervisor.http(Method::DELETE, &path, None, "").await.status, StatusCode::NO_CONTENT);
    let commands: Vec<String> = supervisor
        .audit("")
        .await
        .into_iter()
        .filter(|entry| entry["kind"] == "join-token" && entry["user"] == "admin")
        .map(|entry| entry["command"].as_str().unwrap().to_owned())
        .collect();
    for expected in
        ["join-token create ttl 600", &format!("no join-token {id}"), &format!("no join-token {rest_id}")]
    {
        assert!(commands.iter().any(|command| command == expected), "{expected:?} not in {commands:?}");
    }
    assert_eq!(
        commands.iter().filter(|command| command.starts_with("join-token create")).count(),
        3,
        "{commands:?}"
    );
    supervisor.stop().await;
}

#[tokio::test]
async fn a_bootstrap_token_enrols_several_hosts_until_it_expires() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bootstrap-token");
    let supervisor = Running::start(dir.path(), |options| {
        options.bootstrap_token_file = Some(file.clone());
        options.bootstrap_token_ttl = Duration::from_secs(4);
    })
    .await;
    // The harness returns once the TLS material exists; the token is installed just after it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !file.exists() {
        assert!(std::time::Instant::now() < deadline, "the supervisor wrote no bootstrap token");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "the token file is the owner's only");
    let token = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    let mut anonymous = supervisor.grpc().await;
    for name in ["bilbo", "frodo"] {
        let key = pki::request::AgentKey::generate(&format!("id-{name}")).unwrap();
        let request = proto::EnrollRequest {
            token: token.clone(),
            csr_pem: key.csr_pem,
            host_id: format!("id-{name}"),
            host_name: name.to_owned(),
            vtep: String::new(),
        };
        anonymous.enroll(request).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(4100)).await;
    let key = pki::request::AgentKey::generate("id-sam").unwrap();
    let late = proto::EnrollRequest {
        token,
        csr_pem: key.csr_pem,
        host_id: "id-sam".into(),
        host_name: "sam".into(),
        vtep: String::new(),
    };
    assert_eq!(anonymous.enroll(late).await.unwrap_err().code(), Code::Unauthenticated);
    supervisor.stop().await;
}

#[tokio::test]
async fn a_pki_of_ones_own_serves_and_enrols() {
    let dir = tempfile::tempdir().unwrap();
    let pki_dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now();
    let ca = pki::Authority::generate("Example Corp CA", now).unwrap();
    let server = ca.issue_server(&["127.0.0.1".to_owned()], now, Duration::from_secs(3600)).unwrap();
    let write = |name: &str, text: &str| {
        let path = pki_dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let chain = format!("{}{}", server.issued.cert_pem, ca.cert_pem());
    let (cert, key) = (write("server.pem", &chain), write("server.key", &server.key_pem));
    let (client_ca, client_ca_key) = (write("ca.pem", ca.cert_pem()), write("ca.key", &ca.key_pem()));
    // Where the harness's clients find the CA to trust.
    std::fs::create_dir_all(dir.path().join("tls")).unwrap();
    std::fs::write(dir.path().join("tls/ca.pem"), ca.cert_pem()).unwrap();
    let supervisor = Running::start(dir.path(), |options| {
        options.tls.cert = Some(cert);
        options.tls.key = Some(key);
        options.tls.client_ca = Some(client_ca);
        options.tls.client_ca_key = Some(client_ca_key);
    })
    .await;
    // Nothing of our own was made: the given certificate is served, its CA is what agents pin.
    assert!(!dir.path().join("tls/ca.key").exists());
    let created = supervisor.exec("join-token create").await.body;
    assert!(created.contains(&format!("CA hash:    {}", ca.hash().unwrap())), "{created}");
    // Agents enrol with certificates of that CA and work as usual.
    let (certificate, _) = supervisor.enrol("bilbo", "").await.unwrap();
    let issued = pki::certificates_from_pem(&certificate).unwrap();
    let (_, parsed) = x509_parser::parse_x509_certificate(&issued[0]).unwrap();
    assert_eq!(parsed.issuer().to_string(), "CN=Example Corp CA");
    let mut frodo = supervisor.grpc_as("frodo").await;
    assert_eq!(frodo.register(host("frodo")).await.unwrap().into_inner().module, 3);
    supervisor.stop().await;
}

#[tokio::test]
async fn garbage_from_one_address_cannot_flush_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let mut anonymous = supervisor.grpc().await;
    let mut codes = Vec::new();
    for attempt in 0..40 {
        let key = pki::request::AgentKey::generate("id-x").unwrap();
        let request = proto::EnrollRequest {
            token: format!("aaaaaa.{attempt:016}"),
            csr_pem: key.csr_pem,
            host_id: "id-x".into(),
            host_name: "x".into(),
            vtep: String::new(),
        };
        codes.push(anonymous.enroll(request).await.unwrap_err().code());
    }
    let limit = supervisor::agent_auth::REFUSALS_PER_SOURCE;
    assert!(codes[..limit].iter().all(|code| *code == Code::Unauthenticated), "{codes:?}");
    assert!(codes[limit..].iter().all(|code| *code == Code::ResourceExhausted), "{codes:?}");
    // Each counted refusal is written once; the rest write nothing.
    let events = supervisor.event_messages().await;
    assert_eq!(events.iter().filter(|e| e.contains("VEM_MGR_REFUSED")).count(), limit, "{events:#?}");
    let refused = supervisor.audit("").await.into_iter().filter(|e| e["kind"] == "enrol").count();
    assert_eq!(refused, limit);
    supervisor.stop().await;
}

#[tokio::test]
async fn one_source_cannot_take_every_connection() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |options| {
        options.limits.max_per_source = 3;
        options.limits.handshake_timeout = Duration::from_secs(30);
    })
    .await;
    // Three silent connections from 127.0.0.1 hold their places (the handshake deadline is far)…
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(tokio::net::TcpStream::connect(supervisor.addr).await.unwrap());
    }
    // …so a fourth from the same address is closed at once, unanswered.
    let mut fourth = tokio::net::TcpStream::connect(supervisor.addr).await.unwrap();
    let mut byte = [0u8; 1];
    let read =
        tokio::time::timeout(Duration::from_secs(5), fourth.read(&mut byte)).await.expect("closed at once");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    // Closing them gives the places back.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    while tls::connect(supervisor.addr, supervisor.client_config(None)).await.is_err() {
        assert!(Instant::now() < deadline, "the places never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(supervisor.get("/api/v1/modules").await.status, StatusCode::OK);
    supervisor.stop().await;
}
