//! One connection's protocol state, as a pure machine (quinn's model): bytes from the server
//! go in, bytes for the server and events for the agent come out. It monitors the tables the
//! agent needs, answers `echo`, keeps the replica, creates the agent's bridge when it is
//! missing, and runs the agent's transactions. The driver owns the socket and the clock.

use std::collections::{BTreeMap, VecDeque};

use serde_json::{Value, json};

use super::OvsdbError;
use super::framing::StreamDecoder;
use super::jsonrpc::{self, Message};
use super::replica::{Replica, UpdateFormat};
use super::schema::{DATABASE, monitor_requests};
use super::transaction::{self, InterfaceState};
use super::view::View;

/// Our monitor's `<json-value>`, echoed in every update notification.
const MONITOR_ID: &str = "switchyard";

/// Names one transaction the agent asked for; its outcome comes back as
/// [`SessionEvent::Transacted`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(u64);

/// What the session tells the agent.
#[derive(Debug)]
pub enum SessionEvent<V> {
    /// The replica is complete (first after connecting) or its [`View`] changed.
    Changed(V),
    /// A transaction from [`Session::acknowledge`] or [`Session::set_interface_states`] ended.
    Transacted {
        /// Which one.
        ticket: Ticket,
        /// Whether it committed.
        result: Result<(), OvsdbError>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MonitorMethod {
    /// `monitor_cond` (update2 diffs), which ovsdb-server has had since 2.6.
    Cond,
    /// RFC 7047 `monitor`, for a server that does not know `monitor_cond`.
    Plain,
}

impl MonitorMethod {
    fn name(self) -> &'static str {
        match self {
            MonitorMethod::Cond => "monitor_cond",
            MonitorMethod::Plain => "monitor",
        }
    }

    fn format(self) -> UpdateFormat {
        match self {
            MonitorMethod::Cond => UpdateFormat::Update2,
            MonitorMethod::Plain => UpdateFormat::Update,
        }
    }

    fn notification(self) -> &'static str {
        match self {
            MonitorMethod::Cond => "update2",
            MonitorMethod::Plain => "update",
        }
    }
}

#[derive(Debug)]
enum Pending {
    Monitor(MonitorMethod),
    EnsureBridge,
    Agent(Ticket),
}

/// The protocol state of one connection to ovsdb-server. A new connection gets a new session.
#[derive(Debug)]
pub struct Session<V> {
    bridge: String,
    decoder: StreamDecoder,
    replica: Replica,
    next_id: u64,
    pending: BTreeMap<u64, Pending>,
    transmit: Vec<u8>,
    events: VecDeque<SessionEvent<V>>,
    /// Set once the monitor reply has filled the replica.
    monitoring: Option<MonitorMethod>,
    last_view: Option<V>,
    creating_bridge: bool,
}

impl<V: View> Session<V> {
    /// A session for an agent whose ports live on `bridge`; its first bytes (the monitor
    /// request) are ready in [`Session::take_transmit`].
    pub fn new(bridge: impl Into<String>) -> Self {
        Self::with_decoder(bridge, StreamDecoder::default())
    }

    /// As [`Session::new`], with a decoder of another message limit.
    pub fn with_decoder(bridge: impl Into<String>, decoder: StreamDecoder) -> Self {
        let mut session = Self {
            bridge: bridge.into(),
            decoder,
            replica: Replica::new(),
            next_id: 1,
            pending: BTreeMap::new(),
            transmit: Vec::new(),
            events: VecDeque::new(),
            monitoring: None,
            last_view: None,
            creating_bridge: false,
        };
        session.send_monitor(MonitorMethod::Cond);
        session
    }

    /// Feeds bytes read from the socket. An error means the stream can no longer be trusted:
    /// the caller drops the connection and starts a new session.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<(), OvsdbError> {
        let mut replica_changed = false;
        for value in self.decoder.decode(bytes)? {
            replica_changed |= self.handle(Message::from_value(value)?)?;
        }
        if replica_changed {
            self.after_replica_change();
        }
        Ok(())
    }

    /// The bytes to write to the socket now (empty when there are none).
    pub fn take_transmit(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.transmit)
    }

    /// The next event for the agent.
    pub fn poll_event(&mut self) -> Option<SessionEvent<V>> {
        self.events.pop_front()
    }

    /// Whether the monitor reply has arrived: the replica is the database's state.
    pub fn is_synced(&self) -> bool {
        self.monitoring.is_some()
    }

    /// The replicated tables.
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// Writes `states` and `cur_cfg = next_cfg` in one transaction.
    pub fn acknowledge(&mut self, next_cfg: i64, states: &[InterfaceState]) -> Ticket {
        self.agent_transaction(&transaction::acknowledge(next_cfg, states))
    }

    /// Writes `states`, leaving `cur_cfg` alone (a port that changed on its own: a profile
    /// appeared, a link went down).
    pub fn set_interface_states(&mut self, states: &[InterfaceState]) -> Ticket {
        self.agent_transaction(&transaction::set_interface_states(states))
    }

    fn agent_transaction(&mut self, params: &Value) -> Ticket {
        let ticket = Ticket(self.next_id);
        self.send("transact", params, Pending::Agent(ticket));
        ticket
    }

    fn send_monitor(&mut self, method: MonitorMethod) {
        self.send(
            method.name(),
            &json!([DATABASE, MONITOR_ID, monitor_requests()]),
            Pending::Monitor(method),
        );
    }

    fn send(&mut self, method: &str, params: &Value, pending: Pending) {
        let id = self.next_id;
        self.next_id += 1;
        self.transmit.extend(jsonrpc::request(id, method, params));
        self.pending.insert(id, pending);
    }

    /// Handles one message; true when it changed the replica.
    fn handle(&mut self, message: Message) -> Result<bool, OvsdbError> {
        match message {
            Message::Request { id, method, params } => {
                let reply = match method.as_str() {
                    "echo" => jsonrpc::response(&id, &params),
                    _ => {
                        tracing::debug!(%method, "ovsdb: refusing a request from the server");
                        jsonrpc::error_response(&id, "unknown method")
                    }
                };
                self.transmit.extend(reply);
                Ok(false)
            }
            Message::Notification { method, params } => self.notification(&method, &params),
            Message::Response { id, outcome } => self.response(&id, outcome),
        }
    }

    fn notification(&mut self, method: &str, params: &Value) -> Result<bool, OvsdbError> {
        let Some(monitor) = self.monitoring.filter(|m| m.notification() == method) else {
            if method.starts_with("update") {
                return Err(OvsdbError::malformed(format!("'{method}' notification for no monitor of ours")));
            }
            tracing::debug!(%method, "ovsdb: ignoring a notification");
            return Ok(false);
        };
        let [id, updates] = params.as_array().map(Vec::as_slice).unwrap_or_default() else {
            return Err(OvsdbError::malformed(format!(
                "'{method}' params are not [monitor-id, table-updates]"
            )));
        };
        if *id != json!(MONITOR_ID) {
            return Err(OvsdbError::malformed(format!("'{method}' for monitor {id}, not ours")));
        }
        self.replica.apply(monitor.format(), updates)?;
        Ok(true)
    }

    fn response(&mut self, id: &Value, outcome: Result<Value, Value>) -> Result<bool, OvsdbError> {
        let pending = id.as_u64().and_then(|n| self.pending.remove(&n));
        let Some(pending) = pending else {
            return Err(OvsdbError::UnexpectedResponse(id.to_string()));
        };
        match (pending, outcome) {
            (Pending::Monitor(method), Ok(initial)) => {
                self.replica = Replica::new();
                self.replica.apply(method.format(), &initial)?;
                self.monitoring = Some(method);
                Ok(true)
            }
            (Pending::Monitor(MonitorMethod::Cond), Err(error)) if is_unknown_method(&error) => {
                self.send_monitor(MonitorMethod::Plain);
                Ok(false)
            }
            (Pending::Monitor(_), Err(error)) => Err(OvsdbError::MonitorRefused(error.to_string())),
            (Pending::EnsureBridge, outcome) => {
                self.creating_bridge = false;
                match outcome
                    .map_err(|e| OvsdbError::TransactionFailed(e.to_string()))
                    .and_then(|r| transaction::check_result(&r))
                {
                    Ok(()) => tracing::info!(bridge = %self.bridge, "ovsdb: created bridge {}", self.bridge),
                    Err(error) => {
                        tracing::warn!(bridge = %self.bridge, "ovsdb: could not create bridge: {error}")
                    }
                }
                Ok(false)
            }
            (Pending::Agent(ticket), outcome) => {
                let result = match outcome {
                    Ok(result) => transaction::check_result(&result),
                    Err(error) => Err(OvsdbError::TransactionFailed(error.to_string())),
                };
                self.events.push_back(SessionEvent::Transacted { ticket, result });
                Ok(false)
            }
        }
    }

    fn after_replica_change(&mut self) {
        if !self.is_synced() {
            return;
        }
        if !self.creating_bridge
            && let Some(params) = transaction::ensure_bridge(&self.replica, &self.bridge)
        {
            self.creating_bridge = true;
            self.send("transact", &params, Pending::EnsureBridge);
        }
        let view = V::of(&self.replica, &self.bridge);
        if self.last_view.as_ref() == Some(&view) {
            return;
        }
        view.announce(&self.bridge, self.last_view.as_ref());
        self.last_view = Some(view.clone());
        self.events.push_back(SessionEvent::Changed(view));
    }
}

fn is_unknown_method(error: &Value) -> bool {
    error == "unknown method" || error.get("error").is_some_and(|e| e == "unknown method")
}

#[cfg(test)]
mod tests {
    #![cfg_attr(test, allow(clippy::unwrap_used))]

    use proptest::prelude::*;

    use super::*;
    use crate::find_bridge;
    use crate::schema::{INTERFACE, OPEN_VSWITCH, PORT};

    const BRIDGE: &str = "sy-br";

    /// What a linker might act on: the configuration, the bridge, the names of its interfaces.
    #[derive(Debug, Clone, PartialEq)]
    struct TestView {
        next_cfg: i64,
        bridge_exists: bool,
        interfaces: Vec<String>,
    }

    impl View for TestView {
        fn of(replica: &Replica, bridge: &str) -> Self {
            let next_cfg = replica.rows(OPEN_VSWITCH).map(|(_, row)| row.integer("next_cfg")).sum();
            let bridge_row = find_bridge(replica, bridge);
            let interfaces = bridge_row
                .into_iter()
                .flat_map(|row| row.uuids("ports"))
                .filter_map(|uuid| replica.row(PORT, uuid))
                .flat_map(|port| port.uuids("interfaces"))
                .filter_map(|uuid| replica.row(INTERFACE, uuid))
                .map(|row| row.text("name").to_owned())
                .collect();
            TestView { next_cfg, bridge_exists: bridge_row.is_some(), interfaces }
        }
    }

    /// The messages a session wrote, parsed.
    fn sent(session: &mut Session<TestView>) -> Vec<Value> {
        StreamDecoder::default().decode(&session.take_transmit()).unwrap()
    }

    fn events(session: &mut Session<TestView>) -> Vec<SessionEvent<TestView>> {
        std::iter::from_fn(|| session.poll_event()).collect()
    }

    fn receive(session: &mut Session<TestView>, message: &Value) {
        session.receive(message.to_string().as_bytes()).unwrap();
    }

    fn seed_ids() -> Value {
        json!([
            "map",
            [
                ["iface-id", "id-1"],
                ["attached-mac", "02:00:00:00:00:01"],
                ["profile", "vlan100"],
                ["vm-uuid", "vm-1"],
                ["vm-name", "web1"]
            ]
        ])
    }

    /// A session past its monitor reply, with bridge `sy-br` holding nothing.
    fn synced() -> Session<TestView> {
        let mut session = Session::new(BRIDGE);
        let monitor = sent(&mut session).remove(0);
        receive(
            &mut session,
            &json!({"id": monitor["id"], "error": null, "result": {
                "Open_vSwitch": {"root": {"initial": {"next_cfg": 1, "cur_cfg": 1, "bridges": ["uuid", "b"]}}},
                "Bridge": {"b": {"initial": {"name": BRIDGE}}},
            }}),
        );
        session
    }

    fn add_port_update(next_cfg: i64) -> Value {
        json!({"id": null, "method": "update2", "params": [MONITOR_ID, {
            "Open_vSwitch": {"root": {"modify": {"next_cfg": next_cfg}}},
            "Bridge": {"b": {"modify": {"ports": ["uuid", "p"]}}},
            "Port": {"p": {"insert": {"name": "veth1", "interfaces": ["uuid", "i"]}}},
            "Interface": {"i": {"insert": {"name": "veth1", "external_ids": seed_ids()}}},
        }]})
    }

    #[test]
    fn starts_with_a_monitor_cond_of_the_four_tables() {
        let mut session = Session::new(BRIDGE);
        let monitor = sent(&mut session);
        assert_eq!(monitor.len(), 1);
        assert_eq!(monitor[0]["method"], "monitor_cond");
        assert_eq!(monitor[0]["params"][0], "Open_vSwitch");
        assert_eq!(monitor[0]["params"][1], MONITOR_ID);
        assert_eq!(monitor[0]["params"][2]["Interface"][0]["columns"][2], "external_ids");
        assert!(!session.is_synced());
    }

    #[test]
    fn the_monitor_reply_gives_the_full_view_once() {
        let mut session = synced();
        assert!(session.is_synced());
        let [SessionEvent::Changed(view)] = &events(&mut session)[..] else { panic!("one Changed") };
        assert!(view.bridge_exists);
        assert_eq!(view.next_cfg, 1);
        assert!(sent(&mut session).is_empty(), "the bridge exists: nothing to create");
    }

    #[test]
    fn answers_echo_with_its_params() {
        let mut session = Session::new(BRIDGE);
        sent(&mut session);
        receive(&mut session, &json!({"id": "echo", "method": "echo", "params": ["x", 1]}));
        assert_eq!(sent(&mut session), [json!({"id": "echo", "result": ["x", 1], "error": null})]);
    }

    #[test]
    fn unknown_requests_get_an_error_reply_and_unknown_notifications_are_ignored() {
        let mut session = synced();
        events(&mut session);
        receive(&mut session, &json!({"id": 77, "method": "lock", "params": []}));
        receive(&mut session, &json!({"id": null, "method": "locked", "params": []}));
        assert_eq!(sent(&mut session), [json!({"id": 77, "result": null, "error": "unknown method"})]);
        assert!(events(&mut session).is_empty());
    }

    #[test]
    fn an_added_port_changes_the_view_and_the_ack_is_one_transaction() {
        let mut session = synced();
        events(&mut session);
        receive(&mut session, &add_port_update(2));
        let [SessionEvent::Changed(view)] = &events(&mut session)[..] else { panic!("one Changed") };
        assert_eq!(view.next_cfg, 2);
        assert_eq!(view.interfaces, ["veth1"]);

        let ticket = session.acknowledge(2, &[InterfaceState::up("veth1", 1)]);
        let [ack] = &sent(&mut session)[..] else { panic!("one request") };
        assert_eq!(ack["method"], "transact");
        assert_eq!(ack["params"][1]["row"]["ofport"], 1);
        assert_eq!(ack["params"][2]["row"]["cur_cfg"], 2);

        receive(
            &mut session,
            &json!({"id": ack["id"], "error": null, "result": [{"count": 1}, {"count": 1}, {}]}),
        );
        let [SessionEvent::Transacted { ticket: done, result: Ok(()) }] = &events(&mut session)[..] else {
            panic!("one successful Transacted")
        };
        assert_eq!(*done, ticket);
    }

    #[test]
    fn an_unchanged_view_is_not_repeated_but_a_new_next_cfg_is() {
        let mut session = synced();
        receive(&mut session, &add_port_update(2));
        events(&mut session);
        // Our own write-back: the view stays the same.
        receive(
            &mut session,
            &json!({"id": null, "method": "update2", "params": [MONITOR_ID, {
                "Interface": {"i": {"modify": {"ofport": 1}}},
                "Open_vSwitch": {"root": {"modify": {"cur_cfg": 2}}}}]}),
        );
        assert!(events(&mut session).is_empty());
        // `ovs-vsctl set interface … external_ids:other=x` bumps next_cfg only: it must still be
        // acknowledged, or that ovs-vsctl waits for ever.
        receive(
            &mut session,
            &json!({"id": null, "method": "update2", "params": [MONITOR_ID, {
                "Open_vSwitch": {"root": {"modify": {"next_cfg": 3}}}}]}),
        );
        let [SessionEvent::Changed(view)] = &events(&mut session)[..] else { panic!("one Changed") };
        assert_eq!(view.next_cfg, 3);
    }

    #[test]
    fn a_missing_bridge_is_created_once() {
        let mut session = Session::new(BRIDGE);
        let monitor = sent(&mut session).remove(0);
        receive(
            &mut session,
            &json!({"id": monitor["id"], "error": null, "result": {"Open_vSwitch": {"root": {"initial": {}}}}}),
        );
        let [create] = &sent(&mut session)[..] else { panic!("one request") };
        assert_eq!(create["method"], "transact");
        assert_eq!(create["params"][2]["row"]["name"], BRIDGE);
        // Another update before the reply: no second creation.
        receive(
            &mut session,
            &json!({"id": null, "method": "update2", "params": [MONITOR_ID, {
                "Open_vSwitch": {"root": {"modify": {"next_cfg": 1}}}}]}),
        );
        assert!(sent(&mut session).is_empty());
        receive(
            &mut session,
            &json!({"id": create["id"], "error": null, "result": [{}, {"uuid": ["uuid", "b"]}, {"count": 1}, {}]}),
        );
        assert!(sent(&mut session).is_empty());
        let views: Vec<bool> = events(&mut session)
            .into_iter()
            .filter_map(|e| match e {
                SessionEvent::Changed(view) => Some(view.bridge_exists),
                SessionEvent::Transacted { .. } => None,
            })
            .collect();
        assert_eq!(views, [false, false]);
    }

    #[test]
    fn falls_back_to_plain_monitor_when_monitor_cond_is_unknown() {
        let mut session = Session::new(BRIDGE);
        let first = sent(&mut session).remove(0);
        receive(
            &mut session,
            &json!({"id": first["id"], "result": null, "error": {"error": "unknown method"}}),
        );
        let [second] = &sent(&mut session)[..] else { panic!("one request") };
        assert_eq!(second["method"], "monitor");
        receive(
            &mut session,
            &json!({"id": second["id"], "error": null, "result": {
                "Open_vSwitch": {"root": {"new": {"next_cfg": 4, "bridges": ["uuid", "b"]}}},
                "Bridge": {"b": {"new": {"name": BRIDGE, "ports": ["set", []]}}}}}),
        );
        receive(
            &mut session,
            &json!({"id": null, "method": "update", "params": [MONITOR_ID, {
                "Open_vSwitch": {"root": {"old": {"next_cfg": 4}, "new": {"next_cfg": 5, "bridges": ["uuid", "b"]}}}}]}),
        );
        let next_cfgs: Vec<i64> = events(&mut session)
            .into_iter()
            .filter_map(|e| if let SessionEvent::Changed(view) = e { Some(view.next_cfg) } else { None })
            .collect();
        assert_eq!(next_cfgs, [4, 5]);
    }

    #[test]
    fn a_refused_monitor_is_an_error() {
        let mut session = Session::new(BRIDGE);
        let first = sent(&mut session).remove(0);
        let error = session
            .receive(
                json!({"id": first["id"], "result": null, "error": "unknown database"})
                    .to_string()
                    .as_bytes(),
            )
            .unwrap_err();
        assert!(matches!(error, OvsdbError::MonitorRefused(_)), "{error}");
    }

    #[test]
    fn a_failed_transaction_reaches_the_agent() {
        let mut session = synced();
        events(&mut session);
        let ticket = session.set_interface_states(&[InterfaceState::up("veth1", 1)]);
        let request = sent(&mut session).remove(0);
        receive(
            &mut session,
            &json!({"id": request["id"], "error": null, "result": [{"error": "constraint violation", "details": "bad"}]}),
        );
        let [SessionEvent::Transacted { ticket: done, result: Err(error) }] = &events(&mut session)[..]
        else {
            panic!("one failed Transacted")
        };
        assert_eq!(*done, ticket);
        assert!(error.to_string().contains("constraint violation (bad)"), "{error}");
    }

    /// Any JSON value, nested a few levels.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            prop::sample::select(vec![
                "uuid",
                "set",
                "map",
                "named-uuid",
                "insert",
                "modify",
                "delete",
                "initial",
                "name",
                "ports",
                "external_ids",
                MONITOR_ID,
                "update2",
                "echo",
                "Interface"
            ])
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop::sample::select(vec![
                        "id",
                        "method",
                        "params",
                        "result",
                        "error",
                        "Port",
                        "Interface",
                        "Bridge",
                        "Open_vSwitch",
                        "p",
                        "i",
                        "b",
                        "root",
                        "insert",
                        "modify",
                        "delete",
                        "initial",
                        "name",
                        "interfaces",
                        "ports"
                    ]),
                    inner,
                    0..4,
                )
                .prop_map(|map| Value::Object(map.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic_a_session(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..8)) {
            let mut session = synced();
            for chunk in &chunks {
                if session.receive(chunk).is_err() {
                    break;
                }
            }
        }

        #[test]
        fn random_messages_never_panic_a_session(
            values in prop::collection::vec(any_json(), 1..6),
            as_updates in any::<bool>(),
        ) {
            let mut session = synced();
            for value in values {
                let message = if as_updates {
                    json!({"id": null, "method": "update2", "params": [MONITOR_ID, value]})
                } else {
                    value
                };
                let _ = session.receive(message.to_string().as_bytes());
                let _ = session.take_transmit();
                while session.poll_event().is_some() {}
            }
        }
    }

    #[test]
    fn protocol_violations_are_errors_not_panics() {
        for bad in [
            json!({"id": 999, "result": [], "error": null}),
            json!({"id": null, "method": "update2", "params": ["someone-else", {}]}),
            json!({"id": null, "method": "update2", "params": [MONITOR_ID]}),
            json!({"id": null, "method": "update", "params": [MONITOR_ID, {}]}),
            json!({"id": null, "method": "update2", "params": [MONITOR_ID, {"Port": {"p": {"modify": {"name": "x"}}}}]}),
            json!(42),
        ] {
            let mut session = synced();
            let result = session.receive(bad.to_string().as_bytes());
            assert!(result.is_err(), "{bad}");
        }
    }
}
