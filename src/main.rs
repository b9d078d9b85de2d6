//! The `wren` binary: `wren` alone listens on 127.0.0.1:9092 with data in ./wren-data;
//! `wren ctl ...` is a client of a running broker's control listener (`--control`).

mod ctl;
mod ctl_cluster;

mod output;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use wren::wren_broker::config::listeners::parse_host_port;
use wren::{Broker, BrokerConfig, Fault};

#[derive(Parser, Debug)]
#[command(
    name = "wren",
    version,
    about = "A small, fast, Kafka-compatible broker"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to listen on (a host name or an IP); port 0 picks a free port.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_host_port)]
    listen: Option<SocketAddr>,
    /// host:port clients are told to connect to (default: the listen address).
    #[arg(long, value_name = "HOST:PORT")]
    advertised_listener: Option<String>,
    /// Data directory (default ./wren-data).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Keep data in a temporary directory removed at exit.
    #[arg(long)]
    ephemeral: bool,
    /// Simulate N brokers in this process (1-16), each with its own listener: the first on
    /// --listen, the others on the next ports (or free ports with port 0).
    #[arg(long, value_name = "N")]
    brokers: Option<i32>,
    /// A Kafka-style server.properties file (Kafka's key names).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Serve the control listener (HTTP + JSON, for tests) on HOST:PORT, PORT or :PORT
    /// (host 127.0.0.1 when left out; port 0 picks a free one).
    #[arg(long, value_name = "HOST:PORT", value_parser = control_addr)]
    control: Option<SocketAddr>,
    /// A fault rule in force from the start, as JSON (the form `wren::FaultSpec` reads);
    /// repeatable. E.g. '{"api":"Produce","action":"drop_response","after":3,"count":1}'.
    #[arg(long = "fault", value_name = "JSON")]
    faults: Vec<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Talk to a running broker's control listener.
    Ctl(ctl::CtlArgs),
}

/// `HOST:PORT`, `:PORT` or `PORT`; the host defaults to loopback.
fn control_addr(s: &str) -> Result<SocketAddr, String> {
    let port_only = s.strip_prefix(':').unwrap_or(s);
    if let Ok(port) = port_only.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    s.parse()
        .map_err(|_| format!("expected HOST:PORT, :PORT or PORT, got {s:?}"))
}

fn main() -> ExitCode {
    if let Err(e) = output::init_logging() {
        eprintln!("wren: {e}");
        return ExitCode::FAILURE;
    }
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) if e.use_stderr() => {
            eprintln!("wren: {} (see wren --help)", output::usage_error_line(&e));
            return ExitCode::from(2);
        }
        Err(e) => {
            // --help and --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    if let Some(Command::Ctl(ctl_args)) = args.command {
        return run_ctl(ctl_args);
    }
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wren: {}", output::error_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// `wren ctl ...`: one request to a running broker's control listener.
fn run_ctl(ctl_args: ctl::CtlArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("wren ctl: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(ctl::run(ctl_args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wren ctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("wren")
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        // Before anything is created: a SIGTERM from now on (during startup, or the instant the
        // ready line is out) is caught and ends in a clean stop with exit status 0.
        let mut stop = StopSignals::install().context("installing signal handlers")?;
        let faults = args
            .faults
            .iter()
            .map(|json| {
                serde_json::from_str::<Fault>(json).with_context(|| format!("--fault {json}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let config = config_from(args)?;
        if let Some(warning) = config.ignored_warning() {
            tracing::warn!("{warning}");
        }
        let handle = Broker::new(config)
            .start()
            .await
            .context("starting the broker")?;
        // Before the ready line: a client that waits for it meets the rules.
        for fault in faults {
            handle.faults().add(fault);
        }
        {
            use std::io::Write;
            // A closed stdout is no reason to stop serving.
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "wren listening on {}", handle.local_addr());
            // With several brokers, each one's line follows the ready line (the first's too), so
            // readers of the first line see what one broker prints.
            let cluster = handle.cluster();
            let brokers = cluster.brokers();
            if brokers.len() > 1 {
                for broker in brokers {
                    if let Some(addr) = cluster.broker_addr(broker.id) {
                        let _ = writeln!(out, "wren broker {} listening on {addr}", broker.id);
                    }
                }
            }
            if let Some(control) = handle.control_addr() {
                let _ = writeln!(out, "wren control on {control}");
            }
            let _ = out.flush();
        }
        stop.wait().await;
        tracing::info!("shutting down");
        // Flushes, closes every log, then removes an ephemeral data directory.
        handle.shutdown().await;
        anyhow::Ok(())
    })
}

fn config_from(args: Args) -> anyhow::Result<BrokerConfig> {
    let mut config = match &args.config {
        Some(path) => BrokerConfig::from_properties_file(path)
            .with_context(|| format!("config file {}", path.display()))?,
        None => BrokerConfig::default(),
    };
    config
        .apply_env(std::env::vars())
        .context("WREN_* environment")?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(adv) = args.advertised_listener {
        config.advertised_listener = Some(adv);
    }
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    config.ephemeral |= args.ephemeral;
    if let Some(n) = args.brokers {
        config.brokers = n;
    }
    if args.control.is_some() {
        config.control = args.control;
    }
    Ok(config)
}

/// SIGTERM and SIGINT, caught from `install` on (a signal that arrives before `wait` is kept).
struct StopSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(StopSignals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn wait(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}
