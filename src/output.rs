//! What the binary writes to stderr: logs (coloured only on a terminal, JSON with
//! `WREN_LOG_FORMAT=json`) and, for an error, one line and a non-zero exit status.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use wren::BrokerError;

/// Installs the log subscriber: `WREN_LOG` filters (default `info`), `WREN_LOG_FORMAT` is
/// `text` (default) or `json` (one JSON object a line).
pub fn init_logging() -> Result<(), String> {
    let filter = EnvFilter::try_from_env("WREN_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match std::env::var("WREN_LOG_FORMAT").as_deref() {
        Ok("json") => builder.json().init(),
        Ok("text") | Ok("") | Err(_) => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        Ok(other) => return Err(format!("WREN_LOG_FORMAT={other}: expected text or json")),
    }
    Ok(())
}

/// The error as one line: its causes joined, and for a busy port, how to pick another.
pub fn error_line(error: &anyhow::Error) -> String {
    let busy = error
        .chain()
        .find_map(|e| match e.downcast_ref::<BrokerError>() {
            Some(BrokerError::Bind { addr, source })
                if source.kind() == std::io::ErrorKind::AddrInUse =>
            {
                Some(*addr)
            }
            _ => None,
        });
    if let Some(addr) = busy {
        let any = std::net::SocketAddr::new(addr.ip(), 0);
        return format!(
            "{addr} is in use by another process; pass --listen {any} to pick a free port, or another port"
        );
    }
    // `{:#}` prints the causes on the same line, never a backtrace.
    format!("{error:#}").replace('\n', " ")
}

/// A command-line usage error as one line: clap's first line without its `error: ` prefix.
pub fn usage_error_line(error: &clap::Error) -> String {
    let text = error.render().to_string();
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}
