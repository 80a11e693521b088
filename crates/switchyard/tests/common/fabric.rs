//! A multi-host testbed: the supervisor in a namespace of its own, one agent per host namespace
//! (uplinks into the physical switch, VTEP on the underlay), containers attached with
//! `switchyard attach` — all real processes from the binary under test, all stopped on drop.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use switchyard::netns::Netns;
use switchyard::processes::Children;
use switchyard::shell::client::{ClientError, SupervisorClient};
use testbed::fabric::Fabric;

use super::{attached_veth, exe, iperf3_checked, logs_of, module_status, poll_until, stderr, stdout};

/// The `type ethernet` port-profile every host's uplinks use.
pub const UPLINK_PROFILE: &str = "uplink";
const SUPERVISOR_PORT: u16 = 7400;

pub struct FabricBed {
    // Children first: the processes stop before their namespaces go.
    pub children: Children,
    pub fabric: Fabric,
    pub root: tempfile::TempDir,
    pub url: String,
    client: SupervisorClient,
}

/// A container: a namespace attached with `switchyard attach`.
pub struct Container {
    pub ns: Netns,
    pub ip: String,
    pub veth: u32,
    pub host: String,
}

impl FabricBed {
    /// The fabric of `hosts` (name, uplinks), a supervisor answering in its namespace, `config`
    /// applied. No agent yet.
    pub fn start(hosts: &[(&str, usize)], config: &str) -> Self {
        let fabric = Fabric::new(hosts).expect("building the fabric");
        let root = tempfile::tempdir().unwrap();
        let listen = format!("{}:{SUPERVISOR_PORT}", fabric.supervisor_ip);
        let url = format!("https://{listen}");
        let mut children = Children::new(exe(), root.path()).unwrap();
        let dir = root.path().join("supervisor").display().to_string();
        children
            .spawn_in(
                "supervisor",
                &fabric.supervisor.name,
                &["supervisor", "--data-dir", &dir, "--listen", &listen],
            )
            .unwrap();
        let admin_password = root.path().join("supervisor").join("admin-password");
        super::poll_until(
            "the admin password",
            Duration::from_secs(20),
            || admin_password.exists(),
            || super::logs_of(&children, 30),
        );
        let admin = switchyard::shell::login::local_admin(&root.path().join("supervisor")).unwrap();
        let ca = root.path().join("supervisor/tls/ca.pem");
        let client = SupervisorClient::new(&url)
            .in_netns(&fabric.supervisor.name)
            .with_ca_cert(&ca)
            .unwrap()
            .with_login(admin);
        let bed = Self { children, fabric, root, url, client };
        bed.wait_until("the supervisor answers", Duration::from_secs(20), |bed| {
            bed.exec("show module").is_ok()
        });
        bed.client.configure(config).expect("applying the config");
        bed
    }

    /// A show command through the REST API, from inside the supervisor's namespace.
    pub fn exec(&self, command: &str) -> Result<String, ClientError> {
        self.client.exec(command)
    }

    pub fn show(&self, command: &str) -> String {
        self.exec(command).unwrap_or_else(|e| panic!("{command}: {e}\n{}", self.logs()))
    }

    /// Configuration lines through the REST API.
    pub fn configure(&self, text: &str) {
        self.client.configure(text).expect("configure");
    }

    pub fn agent_dir(&self, host: &str) -> String {
        self.root.path().join(host).display().to_string()
    }

    /// Starts `host`'s agent in its namespace — every uplink on the uplink profile, its VTEP on
    /// the underlay — and waits until the supervisor lists it online.
    pub fn start_agent(&mut self, host: &str) {
        let h = self.fabric.host(host);
        let vtep = h.vtep.to_string();
        let uplinks: Vec<String> = h.uplinks.iter().map(|nic| format!("{nic}={UPLINK_PROFILE}")).collect();
        let ns = h.ns.name.clone();
        let dir = self.agent_dir(host);
        let mut argv = vec!["agent", "--supervisor", &self.url, "--host-name", host, "--data-dir", &dir];
        argv.extend(["--vtep", &vtep]);
        for uplink in &uplinks {
            argv.extend(["--uplink", uplink]);
        }
        let enrolled = std::path::Path::new(&dir).join("tls/client.pem").exists();
        let join = if enrolled {
            Vec::new()
        } else {
            switchyard::join::Join::create(&self.client).unwrap().args().to_vec()
        };
        argv.extend(join.iter().map(String::as_str));
        self.children.spawn_in(host, &ns, &argv).unwrap();
        self.wait_until(&format!("{host} online"), Duration::from_secs(30), |bed| {
            bed.exec("show module").is_ok_and(|out| {
                out.lines().any(|l| l.split_whitespace().last() == Some(host))
                    && module_status(&out, host).as_deref() == Some("ok")
            })
        });
    }

    pub fn kill9(&mut self, host: &str) {
        self.children.signal(host, Signal::SIGKILL).unwrap();
    }

    /// `switchyard attach` of a new container on `host`; panics with the logs if it fails.
    pub fn attach(&self, host: &str, name: &str, profile: &str, ip: &str) -> Container {
        let ns = Netns::new(name).unwrap();
        let out = self.switchyard(
            host,
            &[
                "attach",
                "--netns",
                &ns.name,
                "--profile",
                profile,
                "--ip",
                &format!("{ip}/24"),
                "--name",
                name,
            ],
        );
        assert!(out.status.success(), "attach {name}: {}{}\n{}", stdout(&out), stderr(&out), self.logs());
        let veth = attached_veth(&out);
        Container { ns, ip: ip.to_owned(), veth, host: host.to_owned() }
    }

    /// `switchyard ARGS --data-dir <host's agent dir>`.
    pub fn switchyard(&self, host: &str, args: &[&str]) -> Output {
        Command::new(exe()).args(args).arg("--data-dir").arg(self.agent_dir(host)).output().unwrap()
    }

    pub fn vemcmd(&self, host: &str, args: &str) -> String {
        let mut argv = vec!["vemcmd"];
        argv.extend(args.split_whitespace());
        let out = self.switchyard(host, &argv);
        assert!(out.status.success(), "vemcmd {args}: {}", stderr(&out));
        stdout(&out)
    }

    /// Polls until `ready` holds; panics with every log if it never does.
    pub fn wait_until(&self, what: &str, limit: Duration, mut ready: impl FnMut(&Self) -> bool) {
        poll_until(what, limit, || ready(self), || self.logs());
    }

    /// The tail of every child's log, for failure messages.
    pub fn logs(&self) -> String {
        logs_of(&self.children, 40)
    }
}

impl Container {
    /// Output of a command run inside the container.
    pub fn exec(&self, argv: &[&str]) -> Output {
        self.ns.exec(argv).unwrap()
    }

    /// Pings `other` until answered (a fresh port may take a moment); false after `limit`.
    pub fn reaches(&self, other: &Container, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.ns.ping(&other.ip, 1) {
                return true;
            }
        }
        false
    }

    /// The MTU of its `eth0`.
    pub fn mtu(&self) -> u32 {
        let text = self.ns.exec_ok(&["cat", "/sys/class/net/eth0/mtu"]).unwrap();
        text.trim().parse().unwrap()
    }

    /// Its MAC in NX-OS dotted form (`0202.0a00.0001`).
    pub fn dotted_mac(&self) -> String {
        let text = self.ns.exec_ok(&["cat", "/sys/class/net/eth0/address"]).unwrap();
        let hex: String = text.trim().split(':').collect();
        format!("{}.{}.{}", &hex[0..4], &hex[4..8], &hex[8..12])
    }

    /// `bytes` of TCP to `server` with iperf3, every byte checked as sent; returns Gbit/s.
    pub fn iperf3_to(&self, server: &Container, bytes: u64) -> f64 {
        iperf3_checked(&self.ns, &server.ns, &server.ip, bytes)
    }
}
