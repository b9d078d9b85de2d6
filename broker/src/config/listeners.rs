//! Kafka's listener keys read together: `listeners`, `advertised.listeners`,
//! `listener.security.protocol.map` and `controller.listener.names`. Wren serves one PLAINTEXT
//! listener; controller listeners are not served (there is no controller quorum), and a TLS or
//! SASL listener is refused because clients set up for it could not connect.

use std::net::{SocketAddr, ToSocketAddrs};

use crate::error::ConfigError;

/// The listener keys as written; read together once a source (file, environment) is complete,
/// since the protocol map and controller names may come after `listeners`.
#[derive(Clone, Debug, Default)]
pub struct ListenerKeys {
    pub listeners: Option<String>,
    pub advertised: Option<String>,
    pub protocol_map: Option<String>,
    pub controller_names: Option<String>,
}

/// What the listener keys come to.
#[derive(Debug, PartialEq, Eq)]
pub struct Listeners {
    /// The address to bind; `None`: `listeners` is not set.
    pub listen: Option<SocketAddr>,
    /// `host:port` to advertise for the served listener.
    pub advertised: Option<String>,
    /// Listeners not served, each with why (for the startup warning).
    pub unserved: Vec<String>,
}

/// One `NAME://host:port` entry.
struct Endpoint<'a> {
    name: String,
    text: &'a str,
    host: &'a str,
    port: &'a str,
}

fn endpoints(value: &str) -> Vec<Endpoint<'_>> {
    value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|text| {
            // A bare host:port (Wren's own shorthand) is a PLAINTEXT listener.
            let (name, addr) = text.split_once("://").unwrap_or(("PLAINTEXT", text));
            let (host, port) = addr.rsplit_once(':').unwrap_or((addr, ""));
            let host = host.trim_start_matches('[').trim_end_matches(']');
            Endpoint {
                name: name.to_ascii_uppercase(),
                text,
                host,
                port,
            }
        })
        .collect()
}

/// Kafka's default map, used when `listener.security.protocol.map` is not set; as in Kafka,
/// controller listeners then default to PLAINTEXT.
fn protocol_of(keys: &ListenerKeys, name: &str, controllers: &[String]) -> Option<String> {
    match &keys.protocol_map {
        Some(map) => map.split(',').find_map(|pair| {
            let (n, p) = pair.split_once(':')?;
            (n.trim().eq_ignore_ascii_case(name)).then(|| p.trim().to_ascii_uppercase())
        }),
        None if controllers.iter().any(|c| c == name) => Some("PLAINTEXT".into()),
        None => ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
            .contains(&name)
            .then(|| name.to_owned()),
    }
}

fn invalid(key: &str, value: &str, reason: String) -> ConfigError {
    ConfigError::InvalidValue {
        key: key.to_owned(),
        value: value.to_owned(),
        reason,
    }
}

fn unsupported(key: &str, value: &str, reason: String) -> ConfigError {
    ConfigError::Unsupported {
        key: key.to_owned(),
        value: value.to_owned(),
        reason,
    }
}

impl ListenerKeys {
    pub fn resolve(&self) -> Result<Listeners, ConfigError> {
        let controllers: Vec<String> = self
            .controller_names
            .iter()
            .flat_map(|v| v.split(','))
            .map(|n| n.trim().to_ascii_uppercase())
            .filter(|n| !n.is_empty())
            .collect();
        let mut out = Listeners {
            listen: None,
            advertised: None,
            unserved: Vec::new(),
        };
        let mut served_name = "PLAINTEXT".to_owned();
        if let Some(value) = &self.listeners {
            let mut served = Vec::new();
            for e in endpoints(value) {
                if controllers.contains(&e.name) {
                    out.unserved.push(format!(
                        "{} (named in controller.listener.names: Wren has no controller quorum)",
                        e.text
                    ));
                    continue;
                }
                let Some(protocol) = protocol_of(self, &e.name, &controllers) else {
                    return Err(invalid(
                        "listeners",
                        value,
                        format!(
                            "listener {} has no security protocol in listener.security.protocol.map",
                            e.name
                        ),
                    ));
                };
                if protocol != "PLAINTEXT" {
                    return Err(unsupported(
                        "listeners",
                        value,
                        format!(
                            "{} uses {protocol}; Wren serves PLAINTEXT only (no TLS or SASL), so clients set up for {protocol} could not connect",
                            e.text
                        ),
                    ));
                }
                served.push(e);
            }
            let e =
                match served.as_slice() {
                    [one] => one,
                    [] => return Err(unsupported(
                        "listeners",
                        value,
                        "no PLAINTEXT client listener to serve (is this a controller-only file?)"
                            .into(),
                    )),
                    [a, b, ..] => {
                        return Err(unsupported(
                            "listeners",
                            value,
                            format!(
                            "Wren serves one client listener; {} and {} are both client listeners",
                            a.text, b.text
                        ),
                        ))
                    }
                };
            out.listen =
                Some(bind_address(e.host, e.port).map_err(|r| invalid("listeners", value, r))?);
            served_name = e.name.clone();
        }
        if let Some(value) = &self.advertised {
            // The entry for the served listener; a bare host:port counts as PLAINTEXT.
            let entry = endpoints(value).into_iter().find(|e| e.name == served_name);
            if let Some(e) = entry.filter(|e| !e.host.is_empty()) {
                e.port.parse::<u16>().map_err(|_| {
                    invalid(
                        "advertised.listeners",
                        value,
                        format!("{}: no valid port", e.text),
                    )
                })?;
                let host = if e.host.contains(':') {
                    format!("[{}]", e.host)
                } else {
                    e.host.to_owned()
                };
                out.advertised = Some(format!("{host}:{}", e.port));
            }
        }
        Ok(out)
    }
}

/// The address for `host` and `port`: an empty host is every interface (as in Kafka), a host
/// name is resolved (IPv4 preferred, as clients resolving `localhost` mostly try it first).
pub fn bind_address(host: &str, port: &str) -> Result<SocketAddr, String> {
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{port:?} is not a port number (0 to 65535)"))?;
    if host.is_empty() {
        return Ok(SocketAddr::from(([0, 0, 0, 0], port)));
    }
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve host {host}: {e}"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("host {host} has no address"))
}

/// `--listen`'s `HOST:PORT` (`localhost:9092`, `[::1]:0`, `:9092`).
pub fn parse_host_port(value: &str) -> Result<SocketAddr, String> {
    let (host, port) = value
        .rsplit_once(':')
        .ok_or_else(|| format!("{value:?} is not HOST:PORT"))?;
    bind_address(host.trim_start_matches('[').trim_end_matches(']'), port)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(listeners: &str, map: Option<&str>, controllers: Option<&str>) -> ListenerKeys {
        ListenerKeys {
            listeners: Some(listeners.into()),
            advertised: None,
            protocol_map: map.map(Into::into),
            controller_names: controllers.map(Into::into),
        }
    }

    #[test]
    fn controller_listeners_are_not_served_and_the_plaintext_one_is() {
        let l = keys(
            "PLAINTEXT://:9092,CONTROLLER://:9093",
            Some("CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL"),
            Some("CONTROLLER"),
        )
        .resolve()
        .unwrap();
        assert_eq!(l.listen, Some("0.0.0.0:9092".parse().unwrap()));
        assert_eq!(l.unserved.len(), 1);
        assert!(l.unserved[0].starts_with("CONTROLLER://:9093"), "{l:?}");
        // Without a map, Kafka maps controller listeners to PLAINTEXT.
        let l = keys(
            "PLAINTEXT://localhost:0,CONTROLLER://:9093",
            None,
            Some("CONTROLLER"),
        );
        assert_eq!(
            l.resolve().unwrap().listen,
            Some("127.0.0.1:0".parse().unwrap())
        );
    }

    #[test]
    fn tls_sasl_unmapped_and_second_client_listeners_are_refused() {
        for (listeners, map, why) in [
            ("SSL://:9093", None, "uses SSL"),
            ("SASL_PLAINTEXT://:9093", None, "uses SASL_PLAINTEXT"),
            (
                "EXTERNAL://:9093",
                Some("EXTERNAL:SASL_SSL"),
                "uses SASL_SSL",
            ),
            ("INTERNAL://:9093", None, "no security protocol"),
            (
                "PLAINTEXT://:9092,HOST://:9093",
                Some("PLAINTEXT:PLAINTEXT,HOST:PLAINTEXT"),
                "one client listener",
            ),
            ("CONTROLLER://:9093", None, "no PLAINTEXT client listener"),
        ] {
            let mut k = keys(listeners, map, None);
            if listeners.starts_with("CONTROLLER") {
                k.controller_names = Some("CONTROLLER".into());
            }
            let err = k.resolve().unwrap_err().to_string();
            assert!(
                err.contains(why) && err.contains("listeners"),
                "{listeners}: {err}"
            );
        }
    }

    #[test]
    fn advertised_entry_matches_the_served_listener() {
        let mut k = keys("BROKER://127.0.0.1:0", Some("BROKER:PLAINTEXT"), None);
        k.advertised = Some("CONTROLLER://c:9093,BROKER://wren.example:19092".into());
        assert_eq!(
            k.resolve().unwrap().advertised.as_deref(),
            Some("wren.example:19092")
        );
    }

    #[test]
    fn host_names_resolve_and_bad_ports_are_reported() {
        assert_eq!(
            parse_host_port("localhost:9092").unwrap(),
            "127.0.0.1:9092".parse().unwrap()
        );
        assert_eq!(
            parse_host_port("[::1]:0").unwrap(),
            "[::1]:0".parse().unwrap()
        );
        assert_eq!(parse_host_port(":7").unwrap(), "0.0.0.0:7".parse().unwrap());
        assert!(parse_host_port("localhost:99999")
            .unwrap_err()
            .contains("not a port"));
        assert!(parse_host_port("localhost").is_err());
    }
}
