//! Configuration sessions in the shell's session: `configure session NAME`, its prompts, where
//! configuration lines go, and `verify` / `commit` / `abort`.
#![allow(clippy::unwrap_used)]

use cli::{Action, Session, SessionMode, SessionOp};

fn op(name: &str, op: SessionOp) -> Action {
    Action::ConfigSession { name: name.to_owned(), op }
}

#[test]
fn lines_of_a_session_go_to_it_with_config_s_prompts() {
    let mut s = Session::new("switch");
    assert_eq!(s.interpret("configure session s1"), Ok(op("s1", SessionOp::Open)));
    assert_eq!(s.prompt(), "switch(config-s)# ");
    assert_eq!(s.config_session(), Some("s1"));
    assert_eq!(
        s.interpret("port-profile type vethernet web"),
        Ok(Action::SessionConfig { session: "s1".into(), text: "port-profile type vethernet web\n".into() })
    );
    assert_eq!(s.prompt(), "switch(config-s-port-prof)# ");
    assert_eq!(
        s.interpret("switchport access vlan 100"),
        Ok(Action::SessionConfig {
            session: "s1".into(),
            text: "port-profile type vethernet web\n  switchport access vlan 100\n".into()
        })
    );
    assert_eq!(s.interpret("verify"), Ok(op("s1", SessionOp::Verify)));
    assert_eq!(s.prompt(), "switch(config-s-port-prof)# ");
    assert_eq!(s.interpret("commit"), Ok(op("s1", SessionOp::Commit)));
    assert_eq!((s.mode(), s.config_session()), (&SessionMode::Exec, None));
    // A refused commit goes back into the session, where it was.
    s.session_failed();
    assert_eq!(s.prompt(), "switch(config-s-port-prof)# ");
    assert_eq!(s.interpret("abort"), Ok(op("s1", SessionOp::Abort)));
    assert_eq!(s.prompt(), "switch# ");
}

#[test]
fn end_leaves_the_session_open_and_configure_terminal_is_not_in_it() {
    let mut s = Session::new("switch");
    s.interpret("configure session s1").unwrap();
    assert_eq!(s.interpret("end"), Ok(Action::ModeChanged));
    assert_eq!((s.prompt().as_str(), s.config_session()), ("switch# ", None));
    s.interpret("configure terminal").unwrap();
    assert!(matches!(s.interpret("vlan 5"), Ok(Action::Config { .. })));
    // verify/commit/abort mean nothing outside a session.
    let error = s.interpret("commit").unwrap_err();
    assert_eq!(error.column, 1);
    assert!(error.detail.unwrap().contains("configure session NAME"));
    // A refused open stays in exec mode.
    s.interpret("end").unwrap();
    s.interpret("configure session s2").unwrap();
    s.session_failed();
    assert_eq!((s.mode(), s.config_session()), (&SessionMode::Exec, None));
}
