//! `switchyard`: the one binary. Each subcommand is a thin shell around a library crate:
//! `supervisor` → `supervisor::run`, `agent` → `agent::run`, `vemcmd` → `agent::vemcmd`,
//! `shell` → a REST client of the supervisor, `demo` → all of them together on this machine.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Where every subcommand keeps its state unless told otherwise.
const DEFAULT_DATA_DIR: &str = "/var/lib/switchyard";
/// The supervisor's default REST + gRPC address.
const DEFAULT_SUPERVISOR: &str = "http://127.0.0.1:7400";

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
    /// Run the supervisor: config store, REST API and agent gRPC on one address.
    Supervisor {
        /// Directory of the embedded store (created if missing).
        #[arg(long, default_value = DEFAULT_DATA_DIR, env = "SWITCHYARD_DATA_DIR")]
        data_dir: PathBuf,
        /// Address to serve REST and gRPC on.
        #[arg(long, default_value = "127.0.0.1:7400")]
        listen: SocketAddr,
    },
    /// Run the agent of this host: joins the supervisor as a module and keeps its policies.
    Agent {
        /// The supervisor's URL.
        #[arg(long, default_value = DEFAULT_SUPERVISOR, env = "SWITCHYARD_SUPERVISOR")]
        supervisor: String,
        /// Name this host is shown under (`show module`); defaults to the system host name.
        #[arg(long)]
        host_name: Option<String>,
        /// Stable identity of the host; by default generated once and kept in the data dir.
        #[arg(long)]
        host_id: Option<String>,
        /// Directory for the agent's state and its local socket `agent.sock`.
        #[arg(long, default_value = DEFAULT_DATA_DIR, env = "SWITCHYARD_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// The NX-OS-style shell: interactive, `-c 'cmd; cmd'`, or a script on stdin.
    Shell {
        /// The supervisor's URL.
        #[arg(long, default_value = DEFAULT_SUPERVISOR, env = "SWITCHYARD_SUPERVISOR")]
        supervisor: String,
        /// Run these commands (separated by `;` or newlines) and exit; non-zero on the first error.
        #[arg(short = 'c', long = "command")]
        commands: Option<String>,
        /// Accepted for symmetry with the other subcommands; the shell keeps no state.
        #[arg(long, default_value = DEFAULT_DATA_DIR, env = "SWITCHYARD_DATA_DIR", hide = true)]
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
    /// Run a supervisor and two agents on this machine with the seed's port-profiles, show the
    /// result, and clean up.
    Demo(switchyard::demo::DemoArgs),
}

fn main() -> ExitCode {
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
        Command::Supervisor { .. } | Command::Agent { .. } => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Supervisor { data_dir, listen } => {
            runtime()?.block_on(supervisor::run(supervisor::SupervisorOptions::new(data_dir, listen)))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Agent { supervisor, host_name, host_id, data_dir } => {
            let host_name = host_name.unwrap_or_else(system_host_name);
            let opts = agent::AgentOptions::new(supervisor, host_name, data_dir).with_host_id(host_id);
            runtime()?.block_on(agent::run(opts))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Shell { supervisor, commands, data_dir: _ } => {
            switchyard::shell::main(&supervisor, commands.as_deref())
        }
        Command::Vemcmd { data_dir, args } => {
            let out = agent::vemcmd::run(&data_dir, &args)?;
            print!("{out}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => switchyard::demo::run(&args),
    }
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
