//! `wren ctl` commands for the simulated cluster (`wren --brokers N`): each is one request to
//! the control listener's cluster routes.

use clap::Subcommand;
use hyper::Method;
use serde_json::{json, Value};

#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// The cluster id, the controller and every broker (up or stopped).
    Cluster,
    /// Stop or start a simulated broker.
    Brokers {
        #[command(subcommand)]
        command: BrokersCommand,
    },
    /// A topic's partitions: replicas, leader, leader epoch, ISR.
    Partitions { topic: String },
    /// Move a partition's leader to BROKER (an up member of its ISR).
    Leader {
        topic: String,
        partition: i32,
        broker: i32,
    },
    /// Set a partition's ISR, e.g. `isr orders 0 1,2`.
    Isr {
        topic: String,
        partition: i32,
        #[arg(value_delimiter = ',', num_args = 1..)]
        isr: Vec<i32>,
    },
    /// Which broker coordinates a group or a transactional id.
    Coordinator {
        #[command(subcommand)]
        command: CoordinatorCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum BrokersCommand {
    /// Close its listener and connections; what it led moves within the ISR.
    Stop { id: i32 },
    /// Listen again on the same address; it rejoins the ISRs.
    Start { id: i32 },
}

#[derive(Subcommand, Debug)]
pub enum CoordinatorCommand {
    Group { group: String },
    Transaction { transactional_id: String },
}

/// A path segment with `/`, `%`, `?` and `#` escaped (names may hold what a URL may not).
fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl ClusterCommand {
    /// The request this command makes: method, path, body.
    pub fn request(self) -> (Method, String, Option<Value>) {
        match self {
            ClusterCommand::Cluster => (Method::GET, "/v1/cluster".into(), None),
            ClusterCommand::Brokers { command } => match command {
                BrokersCommand::Stop { id } => {
                    (Method::POST, format!("/v1/brokers/{id}/stop"), None)
                }
                BrokersCommand::Start { id } => {
                    (Method::POST, format!("/v1/brokers/{id}/start"), None)
                }
            },
            ClusterCommand::Partitions { topic } => (
                Method::GET,
                format!("/v1/topics/{}/partitions", segment(&topic)),
                None,
            ),
            ClusterCommand::Leader {
                topic,
                partition,
                broker,
            } => (
                Method::POST,
                format!(
                    "/v1/topics/{}/partitions/{partition}/leader",
                    segment(&topic)
                ),
                Some(json!({ "broker": broker })),
            ),
            ClusterCommand::Isr {
                topic,
                partition,
                isr,
            } => (
                Method::POST,
                format!("/v1/topics/{}/partitions/{partition}/isr", segment(&topic)),
                Some(json!({ "isr": isr })),
            ),
            ClusterCommand::Coordinator { command } => match command {
                CoordinatorCommand::Group { group } => (
                    Method::GET,
                    format!("/v1/coordinators/group/{}", segment(&group)),
                    None,
                ),
                CoordinatorCommand::Transaction { transactional_id } => (
                    Method::GET,
                    format!(
                        "/v1/coordinators/transaction/{}",
                        segment(&transactional_id)
                    ),
                    None,
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_in_paths() {
        assert_eq!(segment("orders.v1_x-2"), "orders.v1_x-2");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }
}
