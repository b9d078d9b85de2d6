//! The admin APIs over several groups, transactions or partitions on a simulated cluster,
//! answered per entry as Kafka's brokers answer them (issue 13): DescribeGroups,
//! ConsumerGroupDescribe, DeleteGroups and DescribeTransactions refuse what another broker
//! coordinates, ListTransactions lists what the broker coordinates, DescribeProducers and
//! DescribeLogDirs answer for the replicas a broker hosts, and ElectLeaders knows
//! `__consumer_offsets`. Raw protocol: admin clients send
//! each key to its coordinator and hide these answers.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::*;

use crate::cluster_routing::{connect_to, create, three_brokers};
use crate::raw::RawClient;
use crate::support::{describe_producers, name, s};

/// Two keys whose coordinators differ: (key, its coordinator) twice.
fn apart(coordinator: impl Fn(&str) -> Option<i32>) -> [(String, i32); 2] {
    let keys: Vec<(String, i32)> = (0..100)
        .map(|i| format!("key-{i}"))
        .map(|k| {
            let c = coordinator(&k).unwrap();
            (k, c)
        })
        .collect();
    let first = keys[0].clone();
    let second = keys.iter().find(|k| k.1 != first.1).unwrap().clone();
    [first, second]
}

async fn commit(c: &mut RawClient, group: &str, topic: &str, offset: i64) -> i16 {
    let req = OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(name(topic))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(offset)])]);
    let ResponseKind::OffsetCommit(r) = c
        .request(ApiKey::OffsetCommit, 8, RequestKind::OffsetCommit(req))
        .await
    else {
        panic!()
    };
    r.topics[0].partitions[0].error_code
}

async fn describe_groups(c: &mut RawClient, groups: &[&str]) -> Vec<(String, i16, String)> {
    let req = DescribeGroupsRequest::default()
        .with_groups(groups.iter().map(|g| GroupId(s(g))).collect());
    let ResponseKind::DescribeGroups(r) = c
        .request(ApiKey::DescribeGroups, 5, RequestKind::DescribeGroups(req))
        .await
    else {
        panic!()
    };
    r.groups
        .iter()
        .map(|g| {
            let state = g.group_state.to_string();
            (g.group_id.to_string(), g.error_code, state)
        })
        .collect()
}

async fn delete_groups(c: &mut RawClient, groups: &[&str]) -> Vec<(String, i16)> {
    let req = DeleteGroupsRequest::default()
        .with_groups_names(groups.iter().map(|g| GroupId(s(g))).collect());
    let ResponseKind::DeleteGroups(r) = c
        .request(ApiKey::DeleteGroups, 2, RequestKind::DeleteGroups(req))
        .await
    else {
        panic!()
    };
    r.results
        .iter()
        .map(|g| (g.group_id.to_string(), g.error_code))
        .collect()
}

#[tokio::test]
async fn describe_and_delete_groups_answer_only_for_the_groups_the_broker_coordinates() {
    // Goal: a broker describes and deletes the groups it coordinates and answers
    // NOT_COORDINATOR for the others, in the request's order; a refused group is not deleted.
    let broker = three_brokers().await;
    let cluster = broker.cluster();
    let [(g1, c1), (g2, c2)] = apart(|k| cluster.group_coordinator(k));
    let mut on1 = connect_to(&broker, c1).await;
    let mut on2 = connect_to(&broker, c2).await;
    create(&mut on1, "t", 1, 1).await;
    assert_eq!(commit(&mut on1, &g1, "t", 5).await, 0);
    assert_eq!(commit(&mut on2, &g2, "t", 7).await, 0);

    let described = describe_groups(&mut on1, &[&g2, &g1]).await;
    assert_eq!(
        described,
        vec![
            (g2.clone(), E::NotCoordinator.code(), String::new()),
            (g1.clone(), 0, "Empty".to_owned()),
        ]
    );
    // The third broker coordinates neither.
    let third = (1..=3).find(|id| *id != c1 && *id != c2).unwrap();
    let mut on3 = connect_to(&broker, third).await;
    let codes: Vec<i16> = describe_groups(&mut on3, &[&g1, &g2])
        .await
        .iter()
        .map(|g| g.1)
        .collect();
    assert_eq!(codes, vec![E::NotCoordinator.code(); 2]);

    let deleted = delete_groups(&mut on1, &[&g2, &g1]).await;
    assert_eq!(
        deleted,
        vec![(g2.clone(), E::NotCoordinator.code()), (g1.clone(), 0)]
    );
    // g2 survived the refusal: its coordinator still describes it, then deletes it.
    assert_eq!(describe_groups(&mut on2, &[&g2]).await[0].2, "Empty");
    assert_eq!(describe_groups(&mut on1, &[&g1]).await[0].2, "Dead");
    assert_eq!(delete_groups(&mut on2, &[&g2]).await, vec![(g2.clone(), 0)]);
    broker.shutdown().await;
}

#[tokio::test]
async fn consumer_group_describe_refuses_the_groups_another_broker_coordinates() {
    // Goal: ConsumerGroupDescribe answers per group, like DescribeGroups: a group this broker
    // does not coordinate gets NOT_COORDINATOR, its own unknown group GROUP_ID_NOT_FOUND.
    let broker = three_brokers().await;
    let cluster = broker.cluster();
    let [(g1, c1), (g2, _)] = apart(|k| cluster.group_coordinator(k));
    let mut on1 = connect_to(&broker, c1).await;
    let req = ConsumerGroupDescribeRequest::default()
        .with_group_ids(vec![GroupId(s(&g2)), GroupId(s(&g1))]);
    let ResponseKind::ConsumerGroupDescribe(r) = on1
        .request(
            ApiKey::ConsumerGroupDescribe,
            0,
            RequestKind::ConsumerGroupDescribe(req),
        )
        .await
    else {
        panic!()
    };
    let answers: Vec<(String, i16)> = r
        .groups
        .iter()
        .map(|g| (g.group_id.to_string(), g.error_code))
        .collect();
    assert_eq!(
        answers,
        vec![
            (g2.clone(), E::NotCoordinator.code()),
            (g1.clone(), E::GroupIdNotFound.code()),
        ]
    );
    broker.shutdown().await;
}

async fn init_txn(c: &mut RawClient, id: &str) -> i16 {
    crate::txn_protocol::init(c, id, 60_000, 4, (-1, -1))
        .await
        .error_code
}

#[tokio::test]
async fn transactions_are_described_and_listed_by_their_coordinator_only() {
    // Goal: DescribeTransactions refuses ids another broker coordinates (NOT_COORDINATOR);
    // ListTransactions on each broker lists the transactions it coordinates, so each once.
    let broker = three_brokers().await;
    let cluster = broker.cluster();
    let [(t1, c1), (t2, c2)] = apart(|k| cluster.transaction_coordinator(k));
    let mut on1 = connect_to(&broker, c1).await;
    let mut on2 = connect_to(&broker, c2).await;
    assert_eq!(init_txn(&mut on1, &t1).await, 0);
    assert_eq!(init_txn(&mut on2, &t2).await, 0);

    let req = DescribeTransactionsRequest::default()
        .with_transactional_ids(vec![TransactionalId(s(&t2)), TransactionalId(s(&t1))]);
    let ResponseKind::DescribeTransactions(r) = on1
        .request(
            ApiKey::DescribeTransactions,
            0,
            RequestKind::DescribeTransactions(req),
        )
        .await
    else {
        panic!()
    };
    let states: Vec<(String, i16, String)> = r
        .transaction_states
        .iter()
        .map(|t| {
            let state = t.transaction_state.to_string();
            (t.transactional_id.to_string(), t.error_code, state)
        })
        .collect();
    assert_eq!(
        states,
        vec![
            (t2.clone(), E::NotCoordinator.code(), String::new()),
            (t1.clone(), 0, "Empty".to_owned()),
        ]
    );

    let mut listed = Vec::new();
    for id in 1..=3 {
        let mut c = connect_to(&broker, id).await;
        let req = ListTransactionsRequest::default().with_duration_filter(-1);
        let ResponseKind::ListTransactions(r) = c
            .request(
                ApiKey::ListTransactions,
                1,
                RequestKind::ListTransactions(req),
            )
            .await
        else {
            panic!()
        };
        assert_eq!(r.error_code, 0);
        for t in &r.transaction_states {
            listed.push((id, t.transactional_id.to_string()));
        }
    }
    listed.sort();
    let mut expected = vec![(c1, t1), (c2, t2)];
    expected.sort();
    assert_eq!(listed, expected);
    broker.shutdown().await;
}

#[tokio::test]
async fn describe_producers_answers_on_the_replicas_only() {
    // Goal: every replica of a partition (leader or follower, one shared log) answers
    // DescribeProducers; a broker that hosts no replica answers NOT_LEADER_OR_FOLLOWER.
    let broker = three_brokers().await;
    let mut c = connect_to(&broker, 1).await;
    create(&mut c, "dp", 1, 2).await;
    let replicas = broker.cluster().partition("dp", 0).unwrap().replicas;
    assert_eq!(replicas, vec![1, 2]);
    for id in 1..=3 {
        let mut c = connect_to(&broker, id).await;
        let r = describe_producers(&mut c, &[("dp", 0), ("__consumer_offsets", 0)]).await;
        let expected = match replicas.contains(&id) {
            true => 0,
            false => E::NotLeaderOrFollower.code(),
        };
        assert_eq!(
            r.topics[0].partitions[0].error_code, expected,
            "broker {id}"
        );
        // __consumer_offsets has RF 3 here: every broker hosts it.
        assert_eq!(r.topics[1].partitions[0].error_code, 0, "broker {id}");
    }
    broker.shutdown().await;
}

/// DescribeLogDirs for every partition: (topic, [(partition, size)]).
async fn log_dirs(c: &mut RawClient) -> Vec<(String, Vec<(i32, i64)>)> {
    let req = DescribeLogDirsRequest::default().with_topics(None);
    let ResponseKind::DescribeLogDirs(r) = c
        .request(
            ApiKey::DescribeLogDirs,
            4,
            RequestKind::DescribeLogDirs(req),
        )
        .await
    else {
        panic!()
    };
    r.results[0]
        .topics
        .iter()
        .map(|t| {
            let sizes = t
                .partitions
                .iter()
                .map(|p| (p.partition_index, p.partition_size))
                .collect();
            (t.name.to_string(), sizes)
        })
        .collect()
}

#[tokio::test]
async fn describe_log_dirs_lists_the_replicas_each_broker_hosts_and_the_group_log() {
    // Goal: each simulated broker lists the partitions it replicates, `__consumer_offsets`
    // among them, whose partition 0 is the group log's size (committed offsets take room).
    let broker = three_brokers().await;
    let cluster = broker.cluster();
    let mut c = connect_to(&broker, 1).await;
    create(&mut c, "ld", 3, 1).await;
    let group = "log-dirs-group";
    let mut coordinator = connect_to(&broker, cluster.group_coordinator(group).unwrap()).await;
    assert_eq!(commit(&mut coordinator, group, "ld", 3).await, 0);
    for id in 1..=3 {
        let mut c = connect_to(&broker, id).await;
        let listed = log_dirs(&mut c).await;
        let names: Vec<&str> = listed.iter().map(|t| t.0.as_str()).collect();
        assert_eq!(names, vec!["__consumer_offsets", "ld"], "broker {id}");
        let offsets = &listed[0].1;
        assert_eq!(offsets.len(), 50, "RF 3 on 3 brokers: all 50 hosted");
        assert!(offsets[0].1 > 0, "the group log: {offsets:?}");
        assert!(offsets[1..].iter().all(|p| p.1 == 0));
        // RF 1: partition p lives on broker 1 + p.
        let ld: Vec<i32> = listed[1].1.iter().map(|p| p.0).collect();
        assert_eq!(ld, vec![id - 1], "broker {id}");
    }
    broker.shutdown().await;
}

async fn elect(c: &mut RawClient, partitions: Option<Vec<i32>>) -> ElectLeadersResponse {
    let req = ElectLeadersRequest::default()
        .with_election_type(0)
        .with_topic_partitions(partitions.map(|p| {
            vec![elect_leaders_request::TopicPartitions::default()
                .with_topic(name("__consumer_offsets"))
                .with_partitions(p)]
        }));
    let ResponseKind::ElectLeaders(r) = c
        .request(ApiKey::ElectLeaders, 2, RequestKind::ElectLeaders(req))
        .await
    else {
        panic!()
    };
    r
}

#[tokio::test]
async fn elect_leaders_knows_the_offsets_topic() {
    // Goal: `kafka-leader-election` over `__consumer_offsets` gets ELECTION_NOT_NEEDED where
    // the preferred replica leads, and moves a coordinator back where it does not (the null
    // request, --all-topic-partitions, lists what it elected or could not).
    let broker = three_brokers().await;
    let cluster = broker.cluster();
    let mut c = connect_to(&broker, 1).await;
    let r = elect(&mut c, Some(vec![0, 1, 50])).await;
    let codes: Vec<i16> = r.replica_election_results[0]
        .partition_result
        .iter()
        .map(|p| p.error_code)
        .collect();
    assert_eq!(
        codes,
        vec![
            E::ElectionNotNeeded.code(),
            E::ElectionNotNeeded.code(),
            E::UnknownTopicOrPartition.code()
        ]
    );

    let moved = cluster.move_leader("__consumer_offsets", 0, 2).unwrap();
    assert_eq!(moved.leader, 2);
    let r = elect(&mut c, None).await;
    let offsets = r
        .replica_election_results
        .iter()
        .find(|t| t.topic.as_str() == "__consumer_offsets")
        .unwrap();
    let elected: Vec<(i32, i16)> = offsets
        .partition_result
        .iter()
        .map(|p| (p.partition_id, p.error_code))
        .collect();
    assert_eq!(elected, vec![(0, 0)]);
    assert_eq!(
        cluster.partition("__consumer_offsets", 0).unwrap().leader,
        1
    );
    broker.shutdown().await;
}

#[test]
fn the_blocking_handle_controls_the_cluster() {
    // Goal: a test that is not async stops and starts brokers, moves leaders, sets ISRs and
    // finds coordinators as an async one does.
    let broker = wren::Broker::ephemeral()
        .with_brokers(3)
        .start_blocking()
        .unwrap();
    let cluster = broker.cluster();
    assert_eq!(cluster.brokers().len(), 3);
    assert_eq!(cluster.controller(), 1);
    broker.create_topic("b", 1, &[]).unwrap();
    assert_eq!(cluster.partition("b", 0).unwrap().leader, 1);

    let addr1 = cluster.broker_addr(1).unwrap();
    let stopped = cluster.stop_broker(1).unwrap();
    assert!(!stopped.up);
    assert_eq!(cluster.controller(), 2);
    assert!(
        std::net::TcpStream::connect(addr1).is_err(),
        "listener closed"
    );
    assert_eq!(cluster.bootstrap_servers().split(',').count(), 2);
    assert!(cluster.start_broker(1).unwrap().up);
    assert!(
        std::net::TcpStream::connect(addr1).is_ok(),
        "listening again"
    );

    // A group's coordinator moves when its broker stops.
    let group = "blocking-group";
    let coordinator = cluster.group_coordinator(group).unwrap();
    cluster.stop_broker(coordinator).unwrap();
    assert_ne!(cluster.group_coordinator(group), Some(coordinator));
    cluster.start_broker(coordinator).unwrap();
    assert!(cluster.transaction_coordinator("blocking-txn").is_some());
    // ISR and leader changes: `__consumer_offsets-0` has replicas 1, 2, 3.
    let moved = cluster.set_isr("__consumer_offsets", 0, &[2]).unwrap();
    assert_eq!((moved.leader, moved.isr), (2, vec![2]));
    assert!(cluster.move_leader("__consumer_offsets", 0, 1).is_err());
    cluster.set_isr("__consumer_offsets", 0, &[1, 2]).unwrap();
    let moved = cluster.move_leader("__consumer_offsets", 0, 1).unwrap();
    assert_eq!((moved.leader, moved.leader_epoch), (1, 2));
    assert_eq!(
        cluster.partitions("nope").unwrap_err(),
        wren::ChangeError::UnknownTopic("nope".into())
    );
    broker.shutdown();
}
