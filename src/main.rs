//! The `wren` binary: `wren` alone listens on 127.0.0.1:9092 with data in ./wren-data.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;
use wren::{Broker, BrokerConfig};

#[derive(Parser, Debug)]
#[command(
    name = "wren",
    version,
    about = "A small, fast, Kafka-compatible broker"
)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "HOST:PORT")]
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
    /// A Kafka-style server.properties file (Kafka's key names).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Test-only fault injection: append every Nth produce request, then drop the connection.
    #[arg(long, hide = true, value_name = "N")]
    fault_drop_produce_response_every: Option<u64>,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("WREN_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut config = match &args.config {
        Some(path) => BrokerConfig::from_properties_file(path)?,
        None => BrokerConfig::default(),
    };
    config.apply_env(std::env::vars())?;
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
    config.faults.drop_produce_response_every = args.fault_drop_produce_response_every;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("wren")
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        let handle = Broker::new(config)
            .start()
            .await
            .context("starting the broker")?;
        println!("wren listening on {}", handle.local_addr());
        use std::io::Write;
        std::io::stdout().flush().ok();
        wait_for_signal().await;
        tracing::info!("shutting down");
        handle.shutdown().await;
        anyhow::Ok(())
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
