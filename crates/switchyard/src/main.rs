//! `switchyard`: the one binary. Each subcommand is a thin shell around a library crate:
//! `supervisor` → `supervisor::run`, `agent` → `agent::run`, `vemcmd` → `agent::vemcmd`,
//! `shell` → a REST client of the supervisor, `demo` → all of them together on this machine.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use agent_api::ports::{AttachSpec, DetachSpec, TargetSpec};
use clap::{ArgGroup, Parser, Subcommand};
use switchyard::stdout::emit;
use switchyard::store_args::{Purpose, StoreArgs};

/// Where every subcommand keeps its state unless told otherwise.
const DEFAULT_DATA_DIR: &str = "/var/lib/switchyard";
/// The supervisor's default REST + gRPC address.
const DEFAULT_SUPERVISOR: &str = "https://127.0.0.1:7400";

#[derive(Debug, Parser)]
#[command(
    name = "switchyard",
    version,
    about = "Switchyard: a distributed virtual switch for containers",
    long_about = "Switchyard: a distributed virtual switch for containers.\n\n\
        One supervisor holds the port-profiles; an agent on every host joins it as a module and \
        switches that host's container ports. Operators use the NX-OS-style shell or the REST API \
        (OpenAPI document at <supervisor>/openapi.json)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the supervisor: config store, REST API and agent gRPC on one address. With `export` or
    /// `import`: move its state from one store to another instead.
    Supervisor(Box<SupervisorArgs>),
    /// Run the agent of this host: joins the supervisor as a module and keeps its policies.
    ///
    /// With `--ovsdb unix:PATH --ovs-bridge NAME` the agent also takes ports the seed's way, in
    /// ovs-vswitchd's place: it connects to that ovsdb-server, creates the bridge if missing, and
    /// makes a port of every interface `ovs-vsctl add-port` puts on it.
    #[command(after_help = "Ports through Open vSwitch's database (the seed's way):\n  \
        switchyard agent --ovsdb unix:/run/openvswitch/db.sock --ovs-bridge sy-br\n  \
        ip link add veth18924_eth0 type veth peer name veth18924_c\n  \
        ovs-vsctl add-port sy-br veth18924_eth0 -- set interface veth18924_eth0 \\\n      \
        external_ids:iface-id=$(uuidgen) external_ids:attached-mac=$MAC external_ids:profile=vlan100 \\\n      \
        external_ids:vm-uuid=$(uuidgen) external_ids:vm-name=web1\n  \
        ip link set veth18924_c netns $PID name eth0   # then address it and bring it up\n\n\
        The agent switches the interface as it is (it never deletes it), binds it as VethernetN under\n\
        the profile, and writes ofport (the port number, LTL-48), link_state, admin_state, status\n\
        and error on the row before acknowledging cur_cfg, so ovs-vsctl without --no-wait returns once\n\
        the port forwards. A row it cannot honour (no such interface, duplicate iface-id, missing\n\
        keys) gets ofport -1 and an error; a port whose profile does not exist is bound and waits\n\
        (error: port-profile not found) until the profile is created. `ovs-vsctl del-port` detaches\n\
        the port and leaves the interface. Ports survive agent and ovsdb-server restarts.")]
    Agent {
        /// The supervisor's URL, or several, comma-separated (supervisors sharing one store): the
        /// agent registers with the first that answers and moves to another within seconds when
        /// its own dies, forwarding throughout. A host name with several addresses stands for
        /// each of them (the certificate must carry the name).
        #[arg(long, value_name = "URL[,URL...]", default_value = DEFAULT_SUPERVISOR, env = "SWITCHYARD_SUPERVISOR")]
        supervisor: agent_api::SupervisorEndpoints,
        /// Name this host is shown under (`show module`); defaults to the system host name.
        #[arg(long)]
        host_name: Option<String>,
        /// Stable identity of the host; by default generated once and kept in the data dir.
        #[arg(long)]
        host_id: Option<String>,
        /// Directory for the agent's state and its local socket `agent.sock`.
        #[arg(long, default_value = DEFAULT_DATA_DIR, env = "SWITCHYARD_DATA_DIR")]
        data_dir: PathBuf,
        /// This host's VXLAN tunnel endpoint: an IPv4 address of the host, on the underlay
        /// (IPv4 only). Without it, bridge-domain traffic stays on the host. With it, containers get
        /// the MTU of the interface holding the address minus 50 (VXLAN headers; 1450 on 1500).
        #[arg(long, value_name = "IPV4")]
        vtep: Option<std::net::Ipv4Addr>,
        /// The UDP port VXLAN uses, the same on every host.
        #[arg(long, value_name = "PORT", default_value_t = 4789, requires = "vtep")]
        vxlan_port: u16,
        /// Most flows the host's flow table holds: tracked connections of stateful permits,
        /// cached access-list verdicts and the flows flow export counts. A full table denies new
        /// connections that need tracking (counted as `conntrack_full`); stateless forwarding
        /// goes on. About 256 bytes an entry, allocated once a profile uses a list or a monitor.
        #[arg(long, value_name = "ENTRIES", default_value_t = agent::DEFAULT_FLOW_TABLE_SIZE,
              value_parser = clap::value_parser!(u32).range(1024..=16_777_216))]
        conntrack_size: u32,
        /// The ovsdb-server to take ports from, `unix:PATH` (its `--remote=punix:PATH`).
        #[arg(long, value_name = "unix:PATH", requires = "ovs_bridge")]
        ovsdb: Option<agent::ovsdb::Endpoint>,
        /// The bridge whose interfaces are this agent's ports (created if missing).
        #[arg(long, value_name = "NAME", requires = "ovsdb")]
        ovs_bridge: Option<String>,
        /// Host NIC IFACE is an uplink (EthernetM/K, K = the flag's position) under the
        /// `port-profile type ethernet` PROFILE; repeatable.
        #[arg(long = "uplink", value_name = "IFACE=PROFILE")]
        uplinks: Vec<agent::uplinks::UplinkSpec>,
        /// Serve Docker's remote network and IPAM driver `switchyard` on --docker-socket:
        /// `docker network create -d switchyard --ipam-driver switchyard --ipam-opt profile=P
        /// -o profile=P NAME` (see docs/DOCKER.md). Its state is kept in <data-dir>/docker.
        #[arg(long)]
        docker: bool,
        /// Where dockerd finds the plugin; the driver's name is the file's stem.
        #[arg(long, value_name = "PATH", default_value = docker_plugin::DEFAULT_SOCKET_PATH, requires = "docker")]
        docker_socket: PathBuf,
        #[command(flatten)]
        trust: AgentTrustArgs,
    },
    /// The NX-OS-style shell: interactive, `-c 'cmd; cmd'`, or a script on stdin.
    #[command(after_help = "Logging in (the first that applies):\n  \
        --password-file FILE or SWITCHYARD_PASSWORD: that password, for --user / SWITCHYARD_USER (default admin)\n  \
        no user given and <data-dir>/admin-password readable (root on the supervisor's host):\n      \
        admin, with the password the supervisor generated on first start\n  \
        a terminal: a prompt for the user (default admin) and the password\n\n\
        The shell gets a bearer token for the session (POST /api/v1/tokens) and deletes it on exit.\n\n\
        Scripts (-c, or stdin not a terminal) run all-or-nothing:\n  \
        1. every line is read first; one that does not parse stops the script before anything runs\n  \
        2. all configuration lines (from every configure terminal block) are applied as one\n     \
        transaction (POST /api/v1/config): one bad line and none is applied; the error names\n     \
        the script line (line N: and its text)\n  \
        3. exec commands run in script order; the commit happens at the last configuration line,\n     \
        so a show before it sees the old configuration and one after it the new\n  \
        The first failure stops the script with a non-zero exit. Interactive lines apply one by one.\n\n\
        Configuration sessions, as NX-OS: configure session NAME records lines without applying\n\
        them (they outlive the shell, not a supervisor restart); in it, verify checks the whole\n\
        session, commit applies it as one transaction, abort discards it, end leaves it for later.\n\
        show configuration session [NAME|summary] lists them.\n\n\
        A network-operator account may run every show command and change nothing:\n  \
        switch# configure terminal\n  \
        % Permission denied for the role (network-operator is read-only)")]
    Shell {
        /// The supervisor's URL, or several, comma-separated (supervisors sharing one store):
        /// each command goes to the one that answered last, and to the next when that one cannot
        /// be reached (connection refused or timed out, 502/503).
        #[arg(long, value_name = "URL[,URL...]", default_value = DEFAULT_SUPERVISOR, env = "SWITCHYARD_SUPERVISOR")]
        supervisor: agent_api::SupervisorEndpoints,
        /// Run these commands (separated by `;` or newlines) as a script and exit: configuration
        /// all-or-nothing, non-zero on the first error.
        #[arg(short = 'c', long = "command")]
        commands: Option<String>,
        /// Log in as USER (an account of `username USER … role …`).
        #[arg(long, value_name = "USER", env = "SWITCHYARD_USER")]
        user: Option<String>,
        /// Read the password from the first line of FILE (or set SWITCHYARD_PASSWORD).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Trust exactly this CA (PEM) for an https:// supervisor. Default: <data-dir>/tls/ca.pem,
        /// else ~/.config/switchyard/ca.pem.
        #[arg(long, value_name = "FILE")]
        ca_cert: Option<PathBuf>,
        /// The local supervisor's data dir: where the shell finds its CA certificate
        /// (tls/ca.pem) and, when readable (root), the generated admin password.
        #[arg(long, default_value = DEFAULT_DATA_DIR, env = "SWITCHYARD_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Ask this host's agent about its state (`vemcmd show card`).
    Vemcmd {
        /// The agent's data dir (where `agent.sock` lives).
        #[arg(long, default_value = DEFAULT_DATA_DIR, env = "SWITCHYARD_DATA_DIR")]
        data_dir: PathBuf,
        /// The command, e.g. `show card`.
        #[arg(required = true, trailing_var_arg = true)]
        args: Vec<String>,
    },
    /// Attach a container to the switch: the seed's manual steps in one go. A veth pair is made,
    /// one end goes into the container's network namespace as `eth0` (with the MAC, address,
    /// gateway and MTU given), the other end is switched by this host's agent under port-profile
    /// P. Prints `VethernetN` once the port's policy is in force: no packet passes unpoliced.
    #[command(after_help = "Examples:\n  \
        switchyard attach --netns web1 --profile vlan100 --ip 10.100.0.11/24\n  \
        switchyard attach --container web2 --profile vlan100 --ip 10.100.0.12/24 --gateway 10.100.0.1\n\n\
        A profile that does not exist yet is accepted: the port stays down (port-profile not found)\n\
        and comes up by itself once the profile is created. The agent must be connected to its\n\
        supervisor, which numbers the port; the attach fails (and leaves nothing behind) otherwise.")]
    Attach(AttachArgs),
    /// Detach a container's port: out of the switch, the veth pair deleted (no link left), the
    /// VethN binding released — or kept, for `port-binding static` profiles. Name the port by
    /// iface-id, by vEthernet number, or by the container's namespace and interface name.
    Detach(DetachArgs),
    /// Run a supervisor and two agents on this machine with the seed's port-profiles, show the
    /// result, and clean up.
    Demo(switchyard::demo::DemoArgs),
}

/// `switchyard supervisor`: its flags for running, or `export` / `import`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, after_help = SUPERVISOR_STORE_HELP)]
struct SupervisorArgs {
    #[command(flatten)]
    location: StoreLocation,
    /// Address to serve REST and gRPC on.
    #[arg(long, default_value = "127.0.0.1:7400")]
    listen: SocketAddr,
    #[command(flatten)]
    tls: SupervisorTlsArgs,
    #[command(flatten)]
    logs: LogArgs,
    /// On first start (no `username` in the config yet), create `admin` (network-admin) with
    /// the password in FILE (its first line). Without it, a random password is generated and
    /// written to <data-dir>/admin-password, readable by root only.
    #[arg(long, value_name = "FILE")]
    admin_password_file: Option<PathBuf>,
    /// A host name REST clients may use for this supervisor (the `Host` header), besides IP
    /// addresses and localhost; repeatable. Other names are refused, against DNS rebinding.
    #[arg(long = "allowed-host", value_name = "NAME")]
    allowed_hosts: Vec<String>,
    #[command(subcommand)]
    transfer: Option<Transfer>,
}

/// Where the supervisor's state lives: the data dir, and the store (in it, or etcd).
#[derive(Debug, clap::Args)]
struct StoreLocation {
    /// The supervisor's directory: its TLS material, its generated admin password and, with
    /// --store redb, its embedded store (created if missing).
    #[arg(long, default_value = DEFAULT_DATA_DIR, env = "SWITCHYARD_DATA_DIR")]
    data_dir: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
}

/// `switchyard supervisor export|import`.
#[derive(Debug, Subcommand)]
enum Transfer {
    /// Write the supervisor's state to a file: config, accounts, modules and their numbers,
    /// vEthernet bindings, counters, enrolments, join tokens, address allocations, the event and
    /// accounting logs. One revision, whole or not at all. Live state (leases) stays behind.
    ///
    /// An embedded store (redb) is read while no supervisor runs on it; an etcd store may be
    /// exported while supervisors run.
    Export {
        #[command(flatten)]
        location: StoreLocation,
        /// Where to write it (`-`: stdout). It holds password hashes: keep it private.
        #[arg(long, short, value_name = "FILE|-", default_value = "-")]
        output: PathBuf,
    },
    /// Write an export into a store, before any supervisor runs on it. Every line is checked
    /// first (a truncated or edited file is refused and nothing is written); a store that already
    /// holds switchyard keys is refused unless --force.
    Import {
        #[command(flatten)]
        location: StoreLocation,
        /// The export to read (`-`: stdin).
        #[arg(long, short, value_name = "FILE|-")]
        input: PathBuf,
        /// Replace what the store holds: its switchyard keys that the file does not hold are
        /// deleted (live state excepted).
        #[arg(long)]
        force: bool,
    },
}

impl Transfer {
    async fn run(self) -> anyhow::Result<()> {
        match self {
            Transfer::Export { location, output } => {
                let store = location.store.open(&location.data_dir, Purpose::Export).await?;
                switchyard::transfer_command::export(store.as_ref(), &output).await
            }
            Transfer::Import { location, input, force } => {
                let export = switchyard::transfer_command::read_export(&input)?;
                let store = location.store.open(&location.data_dir, Purpose::Import).await?;
                switchyard::transfer_command::import(store.as_ref(), export, force).await
            }
        }
    }
}

const SUPERVISOR_STORE_HELP: &str = "Stores:\n  \
    --store redb (default)                 <data-dir>/store.redb, one supervisor\n  \
    --store etcd://h1:2379,h2:2379,h3:2379  an etcd cluster several supervisors share\n\n\
    Moving from one to the other (see docs/STORE.md):\n  \
    switchyard supervisor export --data-dir /var/lib/switchyard --output state.jsonl   # supervisor stopped\n  \
    switchyard supervisor import --store etcd://h1:2379 --input state.jsonl\n  \
    switchyard supervisor --store etcd://h1:2379 --data-dir /var/lib/switchyard";

/// How much history the supervisor keeps: the event log (`show logging logfile`) and, apart
/// from it, the accounting log (`show accounting log`), which events never push out.
#[derive(Debug, clap::Args)]
struct LogArgs {
    /// Events kept in the event log; the oldest are dropped past it.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    event_log_capacity: u64,
    /// Accounting entries older than this are dropped: a number with ms, s, m, h or d.
    #[arg(long, value_name = "AGE", default_value = "90d", value_parser = supervisor::audit::parse_age)]
    audit_max_age: std::time::Duration,
    /// Accounting entries kept at most; the oldest are dropped past it.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    audit_max_entries: u64,
}

impl LogArgs {
    fn apply(self, options: &mut supervisor::SupervisorOptions) {
        options.event_log_capacity = self.event_log_capacity;
        options.audit_max_age = self.audit_max_age;
        options.audit_max_entries = self.audit_max_entries;
    }
}

/// The name runtimes exec the CNI plugin by (a symlink to this binary in `/opt/cni/bin`).
const CNI_PLUGIN_NAME: &str = "switchyard-cni";

fn main() -> ExitCode {
    // A CNI plugin takes no arguments: everything comes in CNI_* variables and on stdin.
    let invoked_as = std::env::args_os().next().map(std::path::PathBuf::from);
    if invoked_as.as_deref().and_then(std::path::Path::file_name).is_some_and(|name| name == CNI_PLUGIN_NAME)
    {
        return cni::main();
    }
    let cli = Cli::parse();
    init_logging(&cli.command);
    match run(cli.command) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("switchyard: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(command: &Command) {
    // Daemons log at info; interactive commands only say something when it matters.
    let default = match command {
        Command::Supervisor(args) if args.transfer.is_none() => "info",
        Command::Agent { .. } => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Supervisor(args) => {
            let SupervisorArgs { location, listen, tls, logs, admin_password_file, allowed_hosts, transfer } =
                *args;
            if let Some(transfer) = transfer {
                runtime()?.block_on(transfer.run())?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut options = supervisor::SupervisorOptions::new(&location.data_dir, listen);
            tls.apply(&mut options);
            logs.apply(&mut options);
            if let Some(file) = admin_password_file {
                options.admin_password = Some(read_admin_password(&file)?);
            }
            options.allowed_hosts = allowed_hosts;
            runtime()?.block_on(async {
                let store = location.store.open(&location.data_dir, Purpose::Serve).await?;
                supervisor::run(store, options).await
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Agent {
            supervisor,
            host_name,
            host_id,
            data_dir,
            vtep,
            vxlan_port,
            conntrack_size,
            ovsdb,
            ovs_bridge,
            uplinks,
            docker,
            docker_socket,
            trust,
        } => {
            let host_name = host_name.unwrap_or_else(system_host_name);
            let docker = docker.then(|| agent::docker_driver::DockerOptions {
                socket: docker_socket,
                state_dir: data_dir.join("docker"),
            });
            let mut opts = agent::AgentOptions::new(supervisor.to_string(), host_name, data_dir)
                .with_host_id(host_id)
                .with_uplinks(uplinks);
            if let (Some(endpoint), Some(bridge)) = (ovsdb, ovs_bridge) {
                opts = opts.with_ovsdb(endpoint, bridge);
            }
            if let Some(vtep) = vtep {
                opts = opts.with_vtep(vtep, vxlan_port);
            }
            opts.trust = trust.options()?;
            opts.flow_table_size = conntrack_size as usize;
            opts.docker = docker;
            runtime()?.block_on(agent::run(opts))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Shell { supervisor, commands, user, password_file, ca_cert, data_dir } => {
            switchyard::shell::main(&switchyard::shell::ShellOptions {
                supervisors: supervisor,
                commands,
                login: switchyard::shell::login::LoginArgs { user, password_file, data_dir },
                ca_cert,
            })
        }
        Command::Vemcmd { data_dir, args } => {
            let out = agent_api::vemcmd::run(&data_dir, &args)?;
            // A closed pipe (`| head`) is the reader's choice, not a failure.
            let _ = emit(&out);
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => switchyard::demo::run(&args),
        Command::Attach(args) => attach(args),
        Command::Detach(args) => detach(args),
    }
}

/// The supervisor's TLS: made in the data dir by default, or brought by the user.
#[derive(Debug, clap::Args)]
struct SupervisorTlsArgs {
    /// Where the CA and server certificate made here live (default: <data-dir>/tls).
    #[arg(long, value_name = "DIR")]
    tls_dir: Option<PathBuf>,
    /// Another name (DNS name or address) agents and operators reach the supervisor by; the
    /// server certificate carries it. Repeatable. The listen address, localhost and the host name
    /// are always in.
    #[arg(long = "tls-name", value_name = "NAME")]
    tls_names: Vec<String>,
    /// The server certificate chain (PEM) from your own PKI, ending with its CA (what agents pin).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The CA that issues and verifies agents' certificates (with --client-ca-key).
    #[arg(long, value_name = "FILE", requires = "client_ca_key")]
    client_ca: Option<PathBuf>,
    /// The key of --client-ca.
    #[arg(long, value_name = "FILE", requires = "client_ca")]
    client_ca_key: Option<PathBuf>,
    /// A reusable join token in FILE (written there when the file does not exist), valid for
    /// --bootstrap-token-ttl from start: for scripts that start a supervisor and its agents in
    /// one go. Prefer one-time tokens (`join-token create`) where an operator is at hand.
    #[arg(long, value_name = "FILE")]
    bootstrap_token_file: Option<PathBuf>,
    /// How long the bootstrap token stays valid, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600, requires = "bootstrap_token_file")]
    bootstrap_token_ttl: u64,
    /// How long an agent's certificate lives, in seconds; agents renew at two thirds of it.
    #[arg(long, value_name = "SECONDS", default_value_t = 30 * 24 * 3600)]
    agent_cert_lifetime: u64,
    /// Connections open at once; more are closed on accept.
    #[arg(long, value_name = "N", default_value_t = 4096)]
    max_connections: usize,
    /// Connections open at once from one source (an IPv4 address, an IPv6 /64).
    #[arg(long, value_name = "N", default_value_t = 256)]
    max_connections_per_source: usize,
    /// INSECURE, for benchmarks only: plain HTTP, no TLS, no authentication. Anyone who reaches
    /// the address can change every policy and pose as any host.
    #[arg(long)]
    insecure: bool,
}

impl SupervisorTlsArgs {
    fn apply(self, options: &mut supervisor::SupervisorOptions) {
        options.tls = supervisor::tls_setup::TlsOptions {
            dir: self.tls_dir,
            names: self.tls_names,
            cert: self.tls_cert,
            key: self.tls_key,
            client_ca: self.client_ca,
            client_ca_key: self.client_ca_key,
        };
        options.agent_cert_lifetime = std::time::Duration::from_secs(self.agent_cert_lifetime.max(60));
        options.bootstrap_token_file = self.bootstrap_token_file;
        options.bootstrap_token_ttl =
            std::time::Duration::from_secs(self.bootstrap_token_ttl.clamp(1, 7 * 24 * 3600));
        options.limits.max_connections = self.max_connections.max(1);
        options.limits.max_per_source = self.max_connections_per_source.max(1);
        options.insecure = self.insecure;
    }
}

/// How the agent joins: once with a token and the CA's hash, then with its certificate.
#[derive(Debug, clap::Args)]
struct AgentTrustArgs {
    /// A one-time join token from `join-token create` on the supervisor (first start only).
    #[arg(long, value_name = "TOKEN", conflicts_with = "join_token_file")]
    join_token: Option<String>,
    /// The join token, read from a file (keeps it out of `ps`).
    #[arg(long, value_name = "FILE")]
    join_token_file: Option<PathBuf>,
    /// The supervisor CA's hash, `sha256:…` (printed by `join-token create`): the agent trusts
    /// only a supervisor whose certificate chain holds that CA.
    #[arg(long, value_name = "sha256:HEX", conflicts_with = "ca_cert")]
    ca_hash: Option<pki::CaHash>,
    /// The supervisor's CA certificate (PEM), instead of --ca-hash.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// INSECURE, for benchmarks only: plain HTTP to an --insecure supervisor, no identity proof.
    #[arg(long, conflicts_with_all = ["join_token", "join_token_file", "ca_hash", "ca_cert"])]
    insecure: bool,
}

impl AgentTrustArgs {
    fn options(self) -> anyhow::Result<agent::trust::TrustOptions> {
        use agent::trust::{CaTrust, TrustOptions};
        if self.insecure {
            return Ok(TrustOptions::Insecure);
        }
        let token = match (self.join_token, self.join_token_file) {
            (Some(token), _) => Some(token),
            (None, Some(file)) => Some(
                std::fs::read_to_string(&file)
                    .map_err(|e| anyhow::anyhow!("reading the join token from {}: {e}", file.display()))?
                    .trim()
                    .to_owned(),
            ),
            (None, None) => None,
        };
        let ca = match (self.ca_hash, self.ca_cert) {
            (Some(hash), _) => Some(CaTrust::Hash(hash)),
            (None, Some(file)) => Some(CaTrust::File(file)),
            (None, None) => None,
        };
        match (token, ca) {
            (Some(token), Some(ca)) => Ok(TrustOptions::Join { token, ca }),
            (Some(_), None) => anyhow::bail!(
                "--join-token needs --ca-hash sha256:… (or --ca-cert FILE) to know whom to trust"
            ),
            (None, _) => Ok(TrustOptions::Enrolled),
        }
    }
}

/// Whose network namespace: exactly one of `--pid`, `--netns`, `--container`.
#[derive(Debug, clap::Args)]
struct TargetArgs {
    /// The process whose network namespace it is (e.g. a container's init).
    #[arg(long, value_name = "PID")]
    pid: Option<u32>,
    /// A named network namespace (`ip netns add NAME`).
    #[arg(long, value_name = "NAME")]
    netns: Option<String>,
    /// A Docker container, by name or id (its PID comes from the Docker engine).
    #[arg(long, value_name = "NAME")]
    container: Option<String>,
}

impl TargetArgs {
    fn spec(self) -> Option<TargetSpec> {
        match (self.pid, self.netns, self.container) {
            (Some(pid), _, _) => Some(TargetSpec::Pid(pid)),
            (_, Some(name), _) => Some(TargetSpec::Netns(name)),
            (_, _, Some(name)) => Some(TargetSpec::Container(name)),
            _ => None,
        }
    }
}

#[derive(Debug, clap::Args)]
#[command(group(ArgGroup::new("target").required(true).args(["pid", "netns", "container"])))]
struct AttachArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The port-profile the port inherits (`port-profile type vethernet P`).
    #[arg(long, value_name = "P")]
    profile: String,
    /// The container interface's address and prefix length, or `auto`: the next free address
    /// of the profile's `ip pool` on the supervisor, with the pool's default-router as the
    /// gateway (given back when the port is detached).
    #[arg(long, value_name = "CIDR|auto")]
    ip: Option<String>,
    /// The default route's next hop (needs --ip; outside its subnet it is added on-link).
    #[arg(long, value_name = "IP")]
    gateway: Option<Ipv4Addr>,
    /// The container interface's MAC; by default derived from the iface-id (locally administered).
    #[arg(long, value_name = "MAC")]
    mac: Option<String>,
    /// The MTU of both ends (default: the kernel's, 1500).
    #[arg(long, value_name = "N")]
    mtu: Option<u32>,
    /// The interface's name inside the container.
    #[arg(long, value_name = "NAME", default_value = agent::attach::DEFAULT_IFNAME)]
    ifname: String,
    /// The owner's name in `show interface virtual` (default: the container or namespace name).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// The port's stable identity (OVSDB's external_ids:iface-id); a uuid is generated if absent.
    #[arg(long, value_name = "ID")]
    iface_id: Option<String>,
    /// The agent's data dir (where `agent.sock` lives).
    #[arg(long, default_value = DEFAULT_DATA_DIR, env = "SWITCHYARD_DATA_DIR")]
    data_dir: PathBuf,
}

#[derive(Debug, clap::Args)]
#[command(group(ArgGroup::new("port").required(true).args(["iface_id", "vethernet", "pid", "netns", "container"])))]
struct DetachArgs {
    /// The port's iface-id.
    #[arg(long, value_name = "ID")]
    iface_id: Option<String>,
    /// The vEthernet number (`3`, `Veth3` or `Vethernet3`).
    #[arg(long, value_name = "N", value_parser = agent_api::ports::parse_vethernet)]
    vethernet: Option<u32>,
    #[command(flatten)]
    target: TargetArgs,
    /// With --pid/--netns/--container: the interface's name inside the container.
    #[arg(long, value_name = "NAME", default_value = agent::attach::DEFAULT_IFNAME)]
    ifname: String,
    /// The agent's data dir (where `agent.sock` lives).
    #[arg(long, default_value = DEFAULT_DATA_DIR, env = "SWITCHYARD_DATA_DIR")]
    data_dir: PathBuf,
}

fn attach(args: AttachArgs) -> anyhow::Result<ExitCode> {
    let target = args.target.spec().ok_or_else(|| anyhow::anyhow!("give --pid, --netns or --container"))?;
    let spec = AttachSpec {
        target,
        profile: args.profile,
        ip: args.ip,
        gateway: args.gateway,
        mac: args.mac,
        mtu: args.mtu,
        ifname: Some(args.ifname),
        name: args.name,
        iface_id: args.iface_id,
    };
    // Refuse typos here, before the agent does anything.
    agent::ports::attach_request(&spec, spec.iface_id.as_deref().unwrap_or("check"))?;
    let attached = agent_api::client::attach(&args.data_dir, &spec)?;
    let _ = emit(&format!("Vethernet{}\n", attached.veth));
    if !attached.up {
        eprintln!(
            "note: Vethernet{} is down ({}); it comes up by itself when that changes",
            attached.veth, attached.reason
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn detach(args: DetachArgs) -> anyhow::Result<ExitCode> {
    let port = match (args.iface_id, args.vethernet, args.target.spec()) {
        (Some(iface_id), _, _) => DetachSpec::IfaceId(iface_id),
        (_, Some(veth), _) => DetachSpec::Vethernet(veth),
        (_, _, Some(target)) => DetachSpec::Interface { target, ifname: args.ifname },
        _ => anyhow::bail!("give --iface-id, --vethernet, or --pid/--netns/--container"),
    };
    let detached = agent_api::client::detach(&args.data_dir, &port)?;
    let _ = emit(&format!("Vethernet{}\n", detached.veth));
    if detached.binding == "pending" {
        eprintln!("note: the supervisor is unreachable; the agent releases the binding when it answers");
    }
    Ok(ExitCode::SUCCESS)
}

/// The first line of `--admin-password-file`, checked as the language checks a password.
fn read_admin_password(file: &std::path::Path) -> anyhow::Result<supervisor::trust::Secret> {
    use anyhow::Context as _;
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let password = text.lines().next().unwrap_or_default();
    anyhow::ensure!(
        config::grammar::is_name(password, config::language::PASSWORD_MAX),
        "{}: the password must be 1-{} printable characters without spaces or '?'",
        file.display(),
        config::language::PASSWORD_MAX
    );
    Ok(supervisor::trust::Secret::new(password))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// The kernel's host name (what `hostname` prints).
fn system_host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}
