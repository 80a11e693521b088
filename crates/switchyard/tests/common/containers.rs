//! Containers on the testbed's host `bilbo`: namespaces the test makes, attached with
//! `switchyard attach`, and the host-side commands (`vemcmd`) the tests read.

use std::process::{Command, Output};

use switchyard::netns::Netns;

use super::{Testbed, attached_veth, exe, stderr, stdout};

/// The host the container tests run their agent as.
pub const HOST: &str = "bilbo";

/// A container: a namespace attached with `switchyard attach`, its address and Vethernet number.
pub struct Container {
    pub ns: Netns,
    /// Its address without the prefix; empty when attached without one.
    pub ip: String,
    pub veth: u32,
}

impl Container {
    /// The MAC of its `eth0`.
    pub fn mac(&self) -> String {
        self.ns.exec_ok(&["cat", "/sys/class/net/eth0/address"]).unwrap().trim().to_owned()
    }

    /// Runs a Python program inside it (raw sockets: `socket.AF_PACKET`), bounded to a minute.
    pub fn python(&self, program: &str) -> String {
        self.ns.exec_ok(&["timeout", "60", "python3", "-c", program]).unwrap()
    }
}

/// A new namespace `name` attached to `profile` on [`HOST`], with `ip`/24 if given.
pub fn attach(bed: &Testbed, name: &str, profile: &str, ip: Option<&str>) -> Container {
    let ns = Netns::new(name).unwrap();
    let mut args = vec!["attach", "--netns", &ns.name, "--profile", profile, "--name", name];
    let prefix = ip.map(|ip| format!("{ip}/24"));
    if let Some(prefix) = &prefix {
        args.extend(["--ip", prefix.as_str()]);
    }
    let out = on_host(bed, &args);
    assert!(out.status.success(), "attach {name}: {}{}\n{}", stdout(&out), stderr(&out), bed.logs());
    let veth = attached_veth(&out);
    Container { ns, ip: ip.unwrap_or_default().to_owned(), veth }
}

/// [`attach`] with `ip`/24.
pub fn attach_with(bed: &Testbed, name: &str, profile: &str, ip: &str) -> Container {
    attach(bed, name, profile, Some(ip))
}

/// `switchyard ARGS --data-dir <HOST's agent dir>`.
pub fn on_host(bed: &Testbed, args: &[&str]) -> Output {
    Command::new(exe()).args(args).arg("--data-dir").arg(bed.agent_dir(HOST)).output().unwrap()
}

/// `switchyard vemcmd ARGS` on [`HOST`]; panics if it fails.
pub fn vemcmd(bed: &Testbed, args: &str) -> String {
    let mut argv = vec!["vemcmd"];
    argv.extend(args.split_whitespace());
    let out = on_host(bed, &argv);
    assert!(out.status.success(), "vemcmd {args}: {}", stderr(&out));
    stdout(&out)
}
