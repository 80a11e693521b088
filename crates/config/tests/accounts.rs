//! `username` accounts: parse, print, the last network-admin, and passwords kept out of what
//! an apply reports.
#![allow(clippy::unwrap_used)]

use config::{ChangeKind, Config, Object, Password, Role, apply, print_running_config};

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";

fn admin() -> Config {
    apply(&Config::default(), &format!("username admin password 5 {HASH} role network-admin\n"))
        .unwrap()
        .config
}

#[test]
fn username_round_trip() {
    let c = apply(&admin(), "username alice password 0 s3cret role network-operator\n").unwrap().config;
    let alice = &c.users["alice"];
    assert_eq!((&alice.password, alice.role), (&Password::Clear("s3cret".into()), Role::NetworkOperator));
    let text = print_running_config(&c);
    assert_eq!(
        text,
        format!(
            "username admin password 5 {HASH} role network-admin\n\
             username alice password 0 s3cret role network-operator\n"
        )
    );
    assert_eq!(apply(&Config::default(), &text).unwrap().config, c);
    assert!(apply(&c, &text).unwrap().changes.is_empty());
}

#[test]
fn changes_name_the_account_without_its_password() {
    let applied = apply(&admin(), "username alice password s3cret role network-operator\n").unwrap();
    assert_eq!(applied.changes.len(), 1);
    let change = &applied.changes[0];
    assert_eq!((&change.object, change.kind), (&Object::User("alice".into()), ChangeKind::Created));
    assert_eq!(
        change.to_string(),
        "username alice created (username alice password ***** role network-operator)"
    );
    assert!(applied.affected_profiles().is_empty());
    let removed = apply(&applied.config, "no username alice\n").unwrap();
    assert_eq!(removed.changes[0].kind, ChangeKind::Removed);
    assert!(!format!("{:?}", applied.config).contains("s3cret"), "Debug shows no password");
}

#[test]
fn the_last_network_admin_stays() {
    let c = apply(&admin(), "username alice password s3cret role network-operator\n").unwrap().config;
    let e = apply(&c, "vlan 5\nno username admin\n").unwrap_err();
    assert_eq!((e.line, e.column), (2, 13), "{e}");
    assert!(e.message.contains("last network-admin"), "{e}");
    let e = apply(&c, &format!("username admin password 5 {HASH} role network-operator\n")).unwrap_err();
    assert_eq!((e.line, e.column), (1, 10), "{e}");
    // Removing every account is refused too.
    let e = apply(&admin(), "no username admin\n").unwrap_err();
    assert_eq!((e.line, e.column), (1, 13), "{e}");
    // With another admin first, both go through.
    let ok = apply(&c, "username bob password pw role network-admin\nno username admin\n").unwrap();
    assert_eq!(ok.config.users.keys().collect::<Vec<_>>(), ["alice", "bob"]);
    let e = apply(&c, "no username carol\n").unwrap_err();
    assert_eq!(e.message, "user 'carol' does not exist");
}

#[test]
fn bad_accounts_are_refused_at_their_column() {
    let e = apply(&admin(), "username bad:name password pw role network-admin\n").unwrap_err();
    assert_eq!((e.line, e.column), (1, 10), "{e}");
    let e = apply(&admin(), "username alice password 5 md5hash role network-admin\n").unwrap_err();
    assert_eq!((e.line, e.column), (1, 27), "{e}");
    let e = apply(&admin(), "username alice password s3cr?t role network-admin\n").unwrap_err();
    assert!(!e.to_string().contains("s3cr"), "{e}");
}
