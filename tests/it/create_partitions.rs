//! CreatePartitions answers as Kafka's controller does on a one-broker cluster: the partition
//! count must grow, manual assignments must name exactly the added partitions, and each
//! replica list must be this broker once (Kafka's codes and messages, word for word).

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;
use rdkafka::admin::{AdminClient, AdminOptions, NewPartitions};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;

use crate::groups::{connect, create_topic, s};
use crate::raw::RawClient;

/// CreatePartitions v3 for topic "cp": (error code, error message).
async fn grow(
    c: &mut RawClient,
    count: i32,
    assignments: Option<&[&[i32]]>,
    validate_only: bool,
) -> (i16, Option<String>) {
    let topic = create_partitions_request::CreatePartitionsTopic::default()
        .with_name(TopicName(s("cp")))
        .with_count(count)
        .with_assignments(assignments.map(|a| {
            a.iter()
                .map(|ids| {
                    create_partitions_request::CreatePartitionsAssignment::default()
                        .with_broker_ids(ids.iter().map(|&b| BrokerId(b)).collect())
                })
                .collect()
        }));
    let req = CreatePartitionsRequest::default()
        .with_topics(vec![topic])
        .with_timeout_ms(5000)
        .with_validate_only(validate_only);
    let ResponseKind::CreatePartitions(r) = c
        .request(
            ApiKey::CreatePartitions,
            3,
            RequestKind::CreatePartitions(req),
        )
        .await
    else {
        panic!()
    };
    let r = &r.results[0];
    (
        r.error_code,
        r.error_message.as_ref().map(|m| m.to_string()),
    )
}

fn refused(code: E, message: &str) -> (i16, Option<String>) {
    (code.code(), Some(message.to_owned()))
}

#[tokio::test]
async fn create_partitions_checks_counts_and_assignments_like_kafka() {
    // Goal: each of Kafka's refusals with its code and message (no partition is added by any
    // of them), then a validate-only and a real growth with a valid assignment (message null).
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = connect(&broker).await;
    create_topic(&mut c, "cp", 1).await;
    let node = broker.state().identity.node_id;
    assert_eq!(
        grow(&mut c, 2, Some(&[&[node], &[node]]), false).await,
        refused(
            E::InvalidReplicaAssignment,
            "Attempted to add 1 additional partition(s), but only 2 assignment(s) were specified."
        )
    );
    assert_eq!(
        grow(&mut c, 3, Some(&[&[node]]), false).await,
        refused(
            E::InvalidReplicaAssignment,
            "Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified."
        )
    );
    assert_eq!(
        grow(&mut c, 2, Some(&[&[node + 7]]), false).await,
        refused(
            E::InvalidReplicaAssignment,
            &format!(
                "The manual partition assignment includes broker {}, but no such broker is registered.",
                node + 7
            )
        )
    );
    assert_eq!(
        grow(&mut c, 2, Some(&[&[node, node]]), false).await,
        refused(
            E::InvalidReplicaAssignment,
            &format!("The manual partition assignment includes the broker {node} more than once.")
        )
    );
    assert_eq!(
        grow(&mut c, 2, Some(&[&[]]), false).await,
        refused(
            E::InvalidReplicaAssignment,
            "The manual partition assignment includes an empty replica list."
        )
    );
    assert_eq!(
        grow(&mut c, 1, None, false).await,
        refused(E::InvalidPartitions, "Topic already has 1 partition(s).")
    );
    assert_eq!(
        grow(&mut c, 0, None, false).await,
        refused(
            E::InvalidPartitions,
            "The topic cp currently has 1 partition(s); 0 would not be an increase."
        )
    );
    assert_eq!(grow(&mut c, 2, Some(&[&[node]]), true).await, (0, None));
    assert_eq!(
        grow(&mut c, 1, None, false).await,
        refused(E::InvalidPartitions, "Topic already has 1 partition(s)."),
        "neither the refusals nor validate_only added a partition"
    );
    assert_eq!(grow(&mut c, 2, Some(&[&[node]]), false).await, (0, None));
    assert_eq!(
        grow(&mut c, 2, None, false).await,
        refused(E::InvalidPartitions, "Topic already has 2 partition(s).")
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdkafka_admin_sees_invalid_replica_assignment() {
    // Goal: librdkafka's AdminClient, asked to add 1 partition with 2 replica assignments, gets
    // INVALID_REPLICA_ASSIGNMENT; with one assignment the topic grows.
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = connect(&broker).await;
    create_topic(&mut c, "cp", 1).await;
    let node = broker.state().identity.node_id;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap_servers())
        .set("log_level", "3")
        .create()
        .unwrap();
    let two: &[&[i32]] = &[&[node], &[node]];
    let r = admin
        .create_partitions(
            &[NewPartitions::new("cp", 2).assign(two)],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        r,
        vec![Err((
            "cp".to_owned(),
            RDKafkaErrorCode::InvalidReplicaAssignment
        ))]
    );
    let one: &[&[i32]] = &[&[node]];
    let r = admin
        .create_partitions(
            &[NewPartitions::new("cp", 2).assign(one)],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(r, vec![Ok("cp".to_owned())]);
    broker.shutdown().await;
}
