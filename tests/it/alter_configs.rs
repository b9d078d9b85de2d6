//! AlterConfigs (33), the legacy API: a topic's dynamic configs become exactly the request's
//! set, validated as IncrementalAlterConfigs validates (Kafka's `ConfigAdminManager.preprocess`
//! and `legacyAlterConfigResource`).

use kafka_protocol::messages::alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use crate::protocol::name;
use crate::raw::RawClient;

const INVALID_CONFIG: i16 = 40;
const INVALID_REQUEST: i16 = 42;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const DYNAMIC_TOPIC_CONFIG: i8 = 1;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.into())
}

fn resource(kind: i8, name: &str, configs: &[(&str, Option<&str>)]) -> AlterConfigsResource {
    AlterConfigsResource::default()
        .with_resource_type(kind)
        .with_resource_name(s(name))
        .with_configs(
            configs
                .iter()
                .map(|(k, v)| {
                    AlterableConfig::default()
                        .with_name(s(k))
                        .with_value(v.map(s))
                })
                .collect(),
        )
}

/// (error code, message) per resource, in request order.
async fn alter(
    c: &mut RawClient,
    version: i16,
    validate_only: bool,
    resources: Vec<AlterConfigsResource>,
) -> Vec<(i16, Option<String>)> {
    let req = AlterConfigsRequest::default()
        .with_resources(resources)
        .with_validate_only(validate_only);
    let ResponseKind::AlterConfigs(r) = c
        .request(
            ApiKey::AlterConfigs,
            version,
            RequestKind::AlterConfigs(req),
        )
        .await
    else {
        panic!("not an AlterConfigs response")
    };
    r.responses
        .iter()
        .map(|x| {
            (
                x.error_code,
                x.error_message.as_ref().map(|m| m.to_string()),
            )
        })
        .collect()
}

/// The topic's dynamic (per-topic) overrides, sorted.
async fn overrides(c: &mut RawClient, topic: &str) -> Vec<(String, String)> {
    let req =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(s(topic))
            .with_configuration_keys(None)]);
    let ResponseKind::DescribeConfigs(r) = c
        .request(
            ApiKey::DescribeConfigs,
            4,
            RequestKind::DescribeConfigs(req),
        )
        .await
    else {
        panic!("not a DescribeConfigs response")
    };
    let mut set: Vec<(String, String)> = r.results[0]
        .configs
        .iter()
        .filter(|e| e.config_source == DYNAMIC_TOPIC_CONFIG)
        .map(|e| (e.name.to_string(), e.value.as_ref().unwrap().to_string()))
        .collect();
    set.sort();
    set
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn alter_configs_replaces_a_topics_whole_override_set() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let create = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(name("t"))
        .with_num_partitions(1)
        .with_replication_factor(1)
        .with_configs(vec![
            CreatableTopicConfig::default()
                .with_name(s("retention.ms"))
                .with_value(Some(s("60000"))),
            CreatableTopicConfig::default()
                .with_name(s("max.message.bytes"))
                .with_value(Some(s("2000"))),
        ])]);
    c.request(ApiKey::CreateTopics, 7, RequestKind::CreateTopics(create))
        .await;
    let before = pairs(&[("max.message.bytes", "2000"), ("retention.ms", "60000")]);
    assert_eq!(overrides(&mut c, "t").await, before);

    // validate_only checks and answers, but keeps the old set.
    let only_bytes = || vec![resource(2, "t", &[("retention.bytes", Some("5000"))])];
    assert_eq!(alter(&mut c, 0, true, only_bytes()).await, vec![(0, None)]);
    assert_eq!(overrides(&mut c, "t").await, before);

    // Every version replaces the set: keys not named go back to their defaults.
    for v in 0..=2 {
        assert_eq!(alter(&mut c, v, false, only_bytes()).await, vec![(0, None)]);
        assert_eq!(
            overrides(&mut c, "t").await,
            pairs(&[("retention.bytes", "5000")]),
            "v{v}"
        );
    }
    // An empty set removes every override.
    assert_eq!(
        alter(&mut c, 2, false, vec![resource(2, "t", &[])]).await,
        vec![(0, None)]
    );
    assert_eq!(overrides(&mut c, "t").await, vec![]);
}

#[tokio::test]
async fn alter_configs_refuses_what_kafka_refuses_and_changes_nothing() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    crate::protocol::create_topic(&mut c, "t", 1).await;
    let keep = || resource(2, "t", &[("retention.ms", Some("1000"))]);
    assert_eq!(alter(&mut c, 2, false, vec![keep()]).await, vec![(0, None)]);
    let msg = |code: i16, m: &str| (code, Some(m.to_owned()));
    let answers = alter(
        &mut c,
        2,
        false,
        vec![
            resource(2, "t", &[("no.such.key", Some("1"))]),
            resource(2, "nope", &[("retention.ms", Some("1"))]),
            resource(4, "1", &[]),
            resource(4, "2", &[]),
            resource(4, "one", &[]),
            resource(4, "", &[("num.partitions", Some("3"))]),
            resource(8, "x", &[]),
            resource(2, "dup", &[]),
            resource(2, "dup", &[]),
        ],
    )
    .await;
    assert_eq!(
        answers,
        vec![
            msg(INVALID_CONFIG, "Unknown topic config name: no.such.key"),
            msg(UNKNOWN_TOPIC_OR_PARTITION, "Topic nope does not exist"),
            // This broker, changing nothing: Kafka has nothing to validate either.
            (0, None),
            msg(
                INVALID_REQUEST,
                "Unexpected broker id, expected 1, but received 2"
            ),
            msg(
                INVALID_REQUEST,
                "Node id must be an integer, but it is: one"
            ),
            msg(
                INVALID_REQUEST,
                "Wren's broker configs are static; set them in server.properties"
            ),
            msg(INVALID_REQUEST, "Unknown resource type 8"),
            msg(INVALID_REQUEST, "Each resource must appear at most once."),
            msg(INVALID_REQUEST, "Each resource must appear at most once."),
        ]
    );
    let per_topic = alter(
        &mut c,
        2,
        false,
        vec![
            resource(2, "t", &[("retention.ms", None)]),
            resource(2, "t2", &[("a", Some("1")), ("a", Some("2"))]),
            resource(2, "t3", &[("retention.ms", Some("soon"))]),
        ],
    )
    .await;
    assert_eq!(
        per_topic[..2],
        [
            msg(
                INVALID_REQUEST,
                "Null value not supported for : retention.ms"
            ),
            msg(INVALID_REQUEST, "Error due to duplicate config keys"),
        ]
    );
    // t3 does not exist: the topic check comes before the value's.
    assert_eq!(per_topic[2].0, UNKNOWN_TOPIC_OR_PARTITION);
    let bad_value = alter(
        &mut c,
        2,
        false,
        vec![resource(2, "t", &[("retention.ms", Some("soon"))])],
    )
    .await;
    assert_eq!(bad_value[0].0, INVALID_CONFIG, "{bad_value:?}");
    // None of the refused requests touched the topic.
    assert_eq!(
        overrides(&mut c, "t").await,
        pairs(&[("retention.ms", "1000")])
    );
}

/// IncrementalAlterConfigs shares the preprocessing: the same broker-id and duplicate checks.
#[tokio::test]
async fn incremental_alter_configs_shares_the_preprocessing() {
    use kafka_protocol::messages::incremental_alter_configs_request as iac;
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    crate::protocol::create_topic(&mut c, "t", 1).await;
    let res = |kind: i8, n: &str| {
        iac::AlterConfigsResource::default()
            .with_resource_type(kind)
            .with_resource_name(s(n))
    };
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        res(4, "1"),
        res(4, "7"),
        res(2, "t"),
        res(2, "t"),
    ]);
    let ResponseKind::IncrementalAlterConfigs(r) = c
        .request(
            ApiKey::IncrementalAlterConfigs,
            1,
            RequestKind::IncrementalAlterConfigs(req),
        )
        .await
    else {
        panic!()
    };
    let codes: Vec<i16> = r.responses.iter().map(|x| x.error_code).collect();
    assert_eq!(
        codes,
        vec![0, INVALID_REQUEST, INVALID_REQUEST, INVALID_REQUEST]
    );
}
