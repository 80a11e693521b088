//! Configuration sessions over REST (what the shell's `configure session NAME`, `verify`,
//! `commit` and `abort` call): lines recorded, not applied; verify names the bad line; commit
//! applies all or nothing and is in the accounting log; abort discards; sessions are their
//! owners'; a network-operator makes none. A real supervisor (TLS, admin password).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use common::{ADMIN, As, Reply, Running};
use hyper::http::{Method, StatusCode};

const OPERATOR: As<'static> = As::User("olive", "0live-pw");
const OTHER_ADMIN: As<'static> = As::User("bob", "b0b-pw-123");

async fn call(supervisor: &Running, who: As<'_>, method: Method, path: &str, text: &str) -> Reply {
    let headers = [("content-type", "text/plain")];
    supervisor
        .request(who, method, &format!("/api/v1/config/sessions{path}"), &headers, text.to_owned())
        .await
}

fn assert_status(reply: &Reply, status: StatusCode) {
    assert_eq!(reply.status, status, "{}", reply.body);
}

async fn running(supervisor: &Running) -> String {
    supervisor.get("/api/v1/config").await.body
}

#[tokio::test]
async fn lines_wait_for_commit_and_verify_names_the_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    assert_status(&call(&supervisor, ADMIN, Method::PUT, "/s1", "").await, StatusCode::OK);
    for text in [
        "vlan 100\n",
        "port-profile type vethernet web\n",
        "port-profile type vethernet web\n  switchport access vlan 100\n",
        "port-profile type vethernet web\n  inherit port-profile nowhere\n",
    ] {
        assert_status(&call(&supervisor, ADMIN, Method::POST, "/s1/lines", text).await, StatusCode::OK);
    }
    // A line that does not parse is refused at once, and not recorded.
    let reply = call(&supervisor, ADMIN, Method::POST, "/s1/lines", "vlan 5000\n").await;
    assert_status(&reply, StatusCode::BAD_REQUEST);
    let session = call(&supervisor, ADMIN, Method::GET, "/s1", "").await.json();
    assert_eq!(
        session["lines"],
        serde_json::json!([
            "vlan 100",
            "port-profile type vethernet web",
            "  switchport access vlan 100",
            "  inherit port-profile nowhere"
        ])
    );
    assert_eq!((session["owner"].as_str(), session["name"].as_str()), (Some("admin"), Some("s1")));
    // Nothing is applied yet.
    assert!(!running(&supervisor).await.contains("vlan 100"));
    let shown = supervisor.exec("show configuration session s1").await.body;
    assert!(
        shown.starts_with("config session s1\n0001 vlan 100\n0002 port-profile type vethernet web\n"),
        "{shown}"
    );

    // verify checks the whole session against the running config: line 4 is wrong.
    let reply = call(&supervisor, ADMIN, Method::POST, "/s1/verify", "").await;
    assert_status(&reply, StatusCode::BAD_REQUEST);
    let error = reply.json();
    assert_eq!(error["line"], 4, "{error}");
    assert_eq!(error["detail"], "line 4:   inherit port-profile nowhere", "{error}");
    assert!(error["error"].as_str().unwrap().contains("nowhere"), "{error}");
    // So does commit: nothing applied, the session kept.
    let reply = call(&supervisor, ADMIN, Method::POST, "/s1/commit", "").await;
    assert_status(&reply, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["line"], 4);
    assert!(!running(&supervisor).await.contains("vlan 100"));

    // Abort discards it; a fresh one with good lines verifies and commits all of them at once.
    assert_status(&call(&supervisor, ADMIN, Method::DELETE, "/s1", "").await, StatusCode::NO_CONTENT);
    assert_status(&call(&supervisor, ADMIN, Method::GET, "/s1", "").await, StatusCode::NOT_FOUND);
    call(&supervisor, ADMIN, Method::PUT, "/s1", "").await;
    let good = "vlan 100\nport-profile type vethernet web\n  switchport access vlan 100\n  state enabled\n";
    assert_status(&call(&supervisor, ADMIN, Method::POST, "/s1/lines", good).await, StatusCode::OK);
    let verified = call(&supervisor, ADMIN, Method::POST, "/s1/verify", "").await;
    assert_status(&verified, StatusCode::OK);
    assert_eq!(verified.json()["changes"].as_array().unwrap().len(), 2, "{}", verified.body);
    assert!(!running(&supervisor).await.contains("vlan 100"), "verify changes nothing");
    let committed = call(&supervisor, ADMIN, Method::POST, "/s1/commit", "").await;
    assert_status(&committed, StatusCode::OK);
    let config = running(&supervisor).await;
    assert!(config.contains("vlan 100") && config.contains("  switchport access vlan 100"), "{config}");
    // The session is over, and the commit is in the accounting log.
    assert_status(&call(&supervisor, ADMIN, Method::GET, "/s1", "").await, StatusCode::NOT_FOUND);
    let audit = supervisor.audit("").await;
    let entry = audit
        .iter()
        .rev()
        .find(|entry| entry["command"].as_str().unwrap().starts_with("configure session s1 commit"))
        .expect("the commit's accounting entry");
    assert_eq!((entry["user"].as_str(), entry["success"].as_bool()), (Some("admin"), Some(true)), "{entry}");
    assert!(entry["command"].as_str().unwrap().contains("switchport access vlan 100"), "{entry}");
    supervisor.stop().await;
}

#[tokio::test]
async fn sessions_are_their_owners_and_operators_make_none() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let accounts = "username olive password 0live-pw role network-operator\n\
                    username bob password b0b-pw-123 role network-admin\n";
    assert_status(&supervisor.configure(accounts).await, StatusCode::OK);

    // Two sessions at once, by two admins; each sees only its own lines.
    call(&supervisor, ADMIN, Method::PUT, "/mine", "").await;
    assert_status(&call(&supervisor, OTHER_ADMIN, Method::PUT, "/theirs", "").await, StatusCode::OK);
    call(&supervisor, ADMIN, Method::POST, "/mine/lines", "vlan 10\n").await;
    call(&supervisor, OTHER_ADMIN, Method::POST, "/theirs/lines", "vlan 20\n").await;
    for (path, method) in
        [("/theirs", Method::GET), ("/theirs/lines", Method::POST), ("/theirs/commit", Method::POST)]
    {
        let reply = call(&supervisor, ADMIN, method, path, "vlan 11\n").await;
        assert_status(&reply, StatusCode::FORBIDDEN);
        assert!(reply.json()["error"].as_str().unwrap().contains("belongs to bob"), "{}", reply.body);
    }
    let summary = supervisor.exec("show configuration session summary").await.body;
    assert!(summary.lines().any(|l| l.starts_with("mine ") && l.contains("admin")), "{summary}");
    assert!(summary.lines().any(|l| l.starts_with("theirs ") && l.contains("bob")), "{summary}");
    assert!(summary.ends_with("Number of active configuration sessions = 2\n"), "{summary}");
    let own = supervisor.exec("show configuration session").await.body;
    assert_eq!(own, "config session mine\n0001 vlan 10\n\n");
    // Committing one leaves the other alone.
    assert_status(&call(&supervisor, OTHER_ADMIN, Method::POST, "/theirs/commit", "").await, StatusCode::OK);
    let config = running(&supervisor).await;
    assert!(config.contains("vlan 20") && !config.contains("vlan 10\n"), "{config}");
    assert_status(&call(&supervisor, ADMIN, Method::GET, "/mine", "").await, StatusCode::OK);

    // A network-operator makes no session and changes none.
    for (method, path) in [(Method::PUT, "/op"), (Method::POST, "/mine/lines"), (Method::DELETE, "/mine")] {
        let reply = call(&supervisor, OPERATOR, method, path, "vlan 30\n").await;
        assert_status(&reply, StatusCode::FORBIDDEN);
        assert!(reply.json()["error"].as_str().unwrap().contains("needs network-admin"), "{}", reply.body);
    }
    let list = supervisor.request(OPERATOR, Method::GET, "/api/v1/config/sessions", &[], Body::empty()).await;
    assert_eq!(list.json().as_array().unwrap().len(), 1, "{}", list.body);

    // A bad name is refused.
    assert_status(&call(&supervisor, ADMIN, Method::PUT, "/a%20b", "").await, StatusCode::BAD_REQUEST);
    supervisor.stop().await;
}
