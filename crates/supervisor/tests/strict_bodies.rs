//! Every JSON request body is strict: an unknown field or a wrong type is a 4xx naming the
//! field, with the API's JSON error body, and changes nothing. A real supervisor (TLS, an admin
//! password) in this process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ADMIN, Reply, Running};
use hyper::http::{Method, StatusCode};

/// The reply is a 422 whose error names `field` and says `says`, with `field` set.
fn assert_refused(reply: &Reply, field: &str, says: &str) {
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.body);
    assert!(reply.content_type.starts_with("application/json"), "{reply:?}");
    let json = reply.json();
    let error = json["error"].as_str().unwrap();
    assert!(
        error.contains(field) && error.contains(says),
        "{error:?} should name {field:?} and say {says:?}"
    );
    assert_eq!(json["field"], field, "{json}");
    assert!(json["line"].as_u64().is_some() && json["column"].as_u64().is_some(), "{json}");
}

async fn post_json(supervisor: &Running, path: &str, body: &str) -> Reply {
    supervisor.http(Method::POST, path, Some("application/json"), body.to_owned()).await
}

#[tokio::test]
async fn port_profile_bodies_refuse_unknown_fields_and_wrong_types() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let put = |body: &'static str| {
        supervisor.http(Method::PUT, "/api/v1/port-profiles/x", Some("application/json"), body)
    };
    let reply = put(r#"{"typo_field": 1}"#).await;
    assert_refused(&reply, "typo_field", "unknown field `typo_field`, expected one of");
    // The profile has no `name` field (the name is in the path): unknown too.
    assert_refused(&put(r#"{"name": 7}"#).await, "name", "unknown field `name`");
    assert_refused(&put(r#"{"access_vlan": "x"}"#).await, "access_vlan", "invalid type");
    // serde_json words a number where an enum goes as `expected value`.
    assert_refused(&put(r#"{"type": "vethernet", "mode": 3}"#).await, "mode", "expected value");
    assert_refused(&put(r#"{"type": "veth"}"#).await, "type", "unknown variant `veth`");
    // Bad JSON is a 400, still JSON.
    let reply = put(r#"{"access_vlan": 1"#).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(reply.json()["error"].as_str().unwrap().starts_with("invalid JSON body"));
    let reply = put(r#"{"access_vlan": 1} trailing"#).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    // Nothing was created by any of it; a correct body still works.
    assert_eq!(supervisor.get("/api/v1/port-profiles").await.json(), serde_json::json!({}));
    let reply = put(r#"{"type": "vethernet", "access_vlan": 100}"#).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(supervisor.get("/api/v1/port-profiles/x").await.json()["access_vlan"], 100);
    supervisor.stop().await;
}

#[tokio::test]
async fn join_token_bodies_refuse_unknown_fields_and_wrong_types() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let reply = post_json(&supervisor, "/api/v1/join-tokens", r#"{"ttl": 60}"#).await;
    assert_refused(&reply, "ttl", "unknown field `ttl`, expected `ttl_seconds`");
    let reply = post_json(&supervisor, "/api/v1/join-tokens", r#"{"ttl_seconds": "an hour"}"#).await;
    assert_refused(&reply, "ttl_seconds", "invalid type");
    assert_eq!(supervisor.get("/api/v1/join-tokens").await.json(), serde_json::json!([]));
    supervisor.stop().await;
}

#[tokio::test]
async fn token_bodies_refuse_unknown_fields_and_wrong_types() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let json = [("content-type", "application/json")];
    let post = |body: &'static str| supervisor.request(ADMIN, Method::POST, "/api/v1/tokens", &json, body);
    assert_refused(&post(r#"{"ttl_secs": 60}"#).await, "ttl_secs", "unknown field `ttl_secs`");
    assert_refused(&post(r#"{"ttl_seconds": -1}"#).await, "ttl_seconds", "invalid value");
    let reply = post(r#"{"ttl_seconds": 60}"#).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    supervisor.stop().await;
}
