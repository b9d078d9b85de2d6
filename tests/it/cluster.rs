//! The simulated cluster (`--brokers N`, issue 13): what clients see of several brokers in one
//! process. Placement and RF here; routing in cluster_routing, control in cluster_control.

use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::{ApiKey, CreateTopicsRequest, RequestKind, ResponseKind};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;

pub(crate) fn config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap).set("log_level", "3");
    c
}

/// Creates `topic` through librdkafka's admin client; the result as librdkafka reports it.
pub(crate) async fn create(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    rf: i32,
    configs: &[(&str, &str)],
) -> Result<(), (RDKafkaErrorCode, String)> {
    let admin: AdminClient<DefaultClientContext> = config(bootstrap).create().unwrap();
    let mut new = NewTopic::new(topic, partitions, TopicReplication::Fixed(rf));
    for (k, v) in configs {
        new = new.set(k, v);
    }
    let res = admin
        .create_topics(&[new], &AdminOptions::new())
        .await
        .unwrap();
    match &res[0] {
        Ok(_) => Ok(()),
        Err((_, code)) => Err((*code, format!("{res:?}"))),
    }
}

/// A partition as librdkafka's metadata shows it: (leader, replicas, isr).
type Placed = (i32, Vec<i32>, Vec<i32>);

/// (broker ids, each partition) as librdkafka's metadata shows them.
pub(crate) fn metadata(bootstrap: &str, topic: &str) -> (Vec<i32>, Vec<Placed>) {
    let consumer: BaseConsumer = config(bootstrap).create().unwrap();
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(5))
        .unwrap();
    let mut brokers: Vec<i32> = md.brokers().iter().map(|b| b.id()).collect();
    brokers.sort();
    let t = &md.topics()[0];
    let partitions = t
        .partitions()
        .iter()
        .map(|p| (p.leader(), p.replicas().to_vec(), p.isr().to_vec()))
        .collect();
    (brokers, partitions)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rf3_topic_on_three_brokers_spreads_leaders_and_replicas() {
    // Goal: Metadata shows every broker, and RF=3 partitions led by each broker in turn with
    // all three replicas in sync, as Kafka's placement spreads them.
    let broker = wren::Broker::ephemeral()
        .with_brokers(3)
        .start()
        .await
        .unwrap();
    let bootstrap = broker.bootstrap_servers();
    create(&bootstrap, "spread", 6, 3, &[]).await.unwrap();
    let (brokers, partitions) = tokio::task::spawn_blocking(move || metadata(&bootstrap, "spread"))
        .await
        .unwrap();
    assert_eq!(brokers, vec![1, 2, 3]);
    let leaders: Vec<i32> = partitions.iter().map(|p| p.0).collect();
    assert_eq!(leaders, vec![1, 2, 3, 1, 2, 3]);
    for (leader, mut replicas, mut isr) in partitions {
        assert_eq!(replicas[0], leader, "the preferred replica leads");
        replicas.sort();
        isr.sort();
        assert_eq!((replicas, isr), (vec![1, 2, 3], vec![1, 2, 3]));
    }
    // Each broker answers Metadata alike: ask the third one.
    let third = broker.cluster().broker_addr(3).unwrap().to_string();
    let (brokers, _) = tokio::task::spawn_blocking(move || metadata(&third, "spread"))
        .await
        .unwrap();
    assert_eq!(brokers, vec![1, 2, 3]);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replication_factor_above_the_brokers_is_refused_naming_brokers() {
    // Goal: RF 3 on 2 brokers is INVALID_REPLICATION_FACTOR, the message says how to get more.
    let broker = wren::Broker::ephemeral()
        .with_brokers(2)
        .start()
        .await
        .unwrap();
    let bootstrap = broker.bootstrap_servers();
    let (code, _) = create(&bootstrap, "too-many", 1, 3, &[]).await.unwrap_err();
    assert_eq!(code, RDKafkaErrorCode::InvalidReplicationFactor);
    // librdkafka keeps the message to itself: ask in Kafka's words.
    let mut c = crate::raw::RawClient::connect(&bootstrap).await;
    let req = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(crate::support::name("too-many"))
        .with_num_partitions(1)
        .with_replication_factor(3)]);
    let ResponseKind::CreateTopics(r) = c
        .request(ApiKey::CreateTopics, 7, RequestKind::CreateTopics(req))
        .await
    else {
        panic!()
    };
    let message = r.topics[0].error_message.as_ref().unwrap().to_string();
    assert_eq!(
        r.topics[0].error_code,
        ResponseError::InvalidReplicationFactor.code()
    );
    assert!(message.contains("--brokers 3"), "{message}");
    create(&bootstrap, "two", 1, 2, &[]).await.unwrap();
    assert_eq!(
        broker.cluster().partition("two", 0).unwrap().replicas,
        vec![1, 2]
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_broker_is_unchanged_and_refuses_rf2() {
    // Goal: the default (one broker) still answers as a one-node Kafka.
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    let (code, _) = create(&bootstrap, "rf2", 1, 2, &[]).await.unwrap_err();
    assert_eq!(code, RDKafkaErrorCode::InvalidReplicationFactor);
    create(&bootstrap, "rf1", 2, 1, &[]).await.unwrap();
    let (brokers, partitions) = tokio::task::spawn_blocking(move || metadata(&bootstrap, "rf1"))
        .await
        .unwrap();
    assert_eq!(brokers, vec![1]);
    assert_eq!(
        partitions,
        vec![(1, vec![1], vec![1]), (1, vec![1], vec![1])]
    );
    broker.shutdown().await;
}
