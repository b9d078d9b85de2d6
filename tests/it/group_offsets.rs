//! Committed offsets and group administration at the protocol level: commit/fetch across a
//! restart, list/describe/delete groups and offsets, require_stable, offset expiry.

use crate::groups::*;
use kafka_protocol::messages::*;

#[tokio::test]
async fn offsets_commit_fetch_and_survive_a_restart() {
    // Goal: commits without membership (generation -1) on an empty group, fetch of listed and
    // of all partitions with metadata, UNKNOWN_TOPIC_OR_PARTITION per partition, and the
    // offsets back after a broker restart on the same data dir.
    let dir = tempfile::tempdir().unwrap();
    let config = || crate::support::persistent_config(dir.path());
    let broker = wren::Broker::new(config()).start().await.unwrap();
    let mut c = connect(&broker).await;
    create_topic(&mut c, "o", 3).await;
    let codes = commit(
        &mut c,
        "og",
        -1,
        "",
        &[("o", 0, 10), ("o", 2, 30), ("o", 7, 1), ("missing", 0, 1)],
    )
    .await;
    assert_eq!(codes, vec![0, 0, 3, 3]);
    assert_eq!(commit(&mut c, "og", -1, "", &[("o", 0, 11)]).await, vec![0]);
    let listed = fetch(&mut c, "og", Some(&[("o", 0), ("o", 1)]), false).await;
    assert_eq!(
        listed,
        vec![
            ("o".into(), 0, 11, "meta-11".into(), 0),
            ("o".into(), 1, -1, "".into(), 0)
        ]
    );
    broker.shutdown().await;

    let broker = wren::Broker::new(config()).start().await.unwrap();
    let mut c = connect(&broker).await;
    let all = fetch(&mut c, "og", None, false).await;
    assert_eq!(
        all,
        vec![
            ("o".into(), 0, 11, "meta-11".into(), 0),
            ("o".into(), 2, 30, "meta-30".into(), 0)
        ]
    );
    assert_eq!(fetch(&mut c, "unknown-group", None, false).await, vec![]);
    let d = describe(&mut c, "og").await;
    assert_eq!(
        d.group_state.as_str(),
        "Empty",
        "the group is known again after the restart"
    );
    broker.shutdown().await;
}

#[tokio::test]
async fn admin_lists_describes_and_deletes_groups_and_offsets() {
    // Goal: ListGroups (with the v4 states filter), DescribeGroups of an unknown group (Dead),
    // DeleteGroups (NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, deleted with its offsets), and
    // OffsetDelete (GROUP_SUBSCRIBED_TO_TOPIC while members subscribe to the topic).
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = connect(&broker).await;
    create_topic(&mut c, "t", 1).await;
    create_topic(&mut c, "u", 1).await;
    let j = join_new(&mut c, Join::new("active")).await;
    let me = j.member_id.to_string();
    sync(&mut c, "active", 1, &me, &[]).await;
    assert_eq!(
        commit(&mut c, "active", 1, &me, &[("t", 0, 5), ("u", 0, 6)]).await,
        vec![0, 0]
    );
    assert_eq!(
        commit(&mut c, "idle", -1, "", &[("t", 0, 1)]).await,
        vec![0]
    );

    let list = |states: Vec<&str>| {
        RequestKind::ListGroups(
            ListGroupsRequest::default().with_states_filter(states.into_iter().map(s).collect()),
        )
    };
    let ResponseKind::ListGroups(all) = c.request(ApiKey::ListGroups, 4, list(vec![])).await else {
        panic!()
    };
    let names: Vec<(String, String, String)> = all
        .groups
        .iter()
        .map(|g| {
            (
                g.group_id.to_string(),
                g.protocol_type.to_string(),
                g.group_state.to_string(),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![
            ("active".into(), "consumer".into(), "Stable".into()),
            ("idle".into(), "".into(), "Empty".into())
        ]
    );
    let ResponseKind::ListGroups(empty) =
        c.request(ApiKey::ListGroups, 4, list(vec!["empty"])).await
    else {
        panic!()
    };
    assert_eq!(empty.groups.len(), 1);
    assert_eq!(describe(&mut c, "ghost").await.group_state.as_str(), "Dead");

    let od = |group: &str, topic: &str| {
        RequestKind::OffsetDelete(
            OffsetDeleteRequest::default()
                .with_group_id(GroupId(s(group)))
                .with_topics(vec![
                    offset_delete_request::OffsetDeleteRequestTopic::default()
                        .with_name(TopicName(s(topic)))
                        .with_partitions(vec![
                            offset_delete_request::OffsetDeleteRequestPartition::default(),
                        ]),
                ]),
        )
    };
    let ResponseKind::OffsetDelete(r) = c.request(ApiKey::OffsetDelete, 0, od("active", "t")).await
    else {
        panic!()
    };
    assert_eq!(
        r.topics[0].partitions[0].error_code, 86,
        "GROUP_SUBSCRIBED_TO_TOPIC"
    );
    let ResponseKind::OffsetDelete(r) = c.request(ApiKey::OffsetDelete, 0, od("active", "u")).await
    else {
        panic!()
    };
    assert_eq!((r.error_code, r.topics[0].partitions[0].error_code), (0, 0));
    assert_eq!(
        fetch(&mut c, "active", None, false).await.len(),
        1,
        "u's offset is gone"
    );
    let ResponseKind::OffsetDelete(r) = c.request(ApiKey::OffsetDelete, 0, od("ghost", "t")).await
    else {
        panic!()
    };
    assert_eq!(r.error_code, 69, "GROUP_ID_NOT_FOUND");

    let delete = RequestKind::DeleteGroups(DeleteGroupsRequest::default().with_groups_names(vec![
        GroupId(s("active")),
        GroupId(s("ghost")),
        GroupId(s("idle")),
    ]));
    let ResponseKind::DeleteGroups(r) = c.request(ApiKey::DeleteGroups, 2, delete).await else {
        panic!()
    };
    let codes: Vec<i16> = r.results.iter().map(|x| x.error_code).collect();
    assert_eq!(codes, vec![68, 69, 0]);
    assert_eq!(fetch(&mut c, "idle", None, false).await, vec![]);
    assert_eq!(describe(&mut c, "idle").await.group_state.as_str(), "Dead");
}

#[tokio::test]
async fn require_stable_sees_staged_transactional_offsets() {
    // Goal: offsets staged by an open transaction are invisible, and OffsetFetch with
    // require_stable answers UNSTABLE_OFFSET_COMMIT (88) for exactly those partitions until
    // the transaction commits (then the staged offsets are the committed ones).
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = connect(&broker).await;
    create_topic(&mut c, "x", 2).await;
    assert_eq!(
        commit(&mut c, "tg", -1, "", &[("x", 0, 1), ("x", 1, 2)]).await,
        vec![0, 0]
    );
    let groups = &broker.state().groups;
    let staged = wren::wren_broker::group::records::OffsetAndMetadata {
        offset: 100,
        leader_epoch: -1,
        metadata: String::new(),
        commit_timestamp_ms: 0,
    };
    let committer = wren::wren_broker::group::admin::Committer {
        group_id: "tg",
        generation_id: -1,
        member_id: "",
        instance_id: None,
        api_version: 9,
    };
    groups
        .stage_txn_offsets(&committer, 5, vec![(("x".into(), 0), staged)])
        .await
        .unwrap();
    let stable = fetch(&mut c, "tg", Some(&[("x", 0), ("x", 1)]), true).await;
    assert_eq!(stable[0].4, 88);
    assert_eq!(stable[1].4, 0);
    let loose = fetch(&mut c, "tg", Some(&[("x", 0)]), false).await;
    assert_eq!(loose[0].2, 1, "staged offsets are not visible");
    groups.end_txn_offsets(5, true).await.unwrap();
    let after = fetch(&mut c, "tg", Some(&[("x", 0)]), true).await;
    assert_eq!((after[0].2, after[0].4), (100, 0));
}

#[tokio::test]
async fn offsets_of_a_memberless_group_expire_after_the_retention() {
    // Goal: offsets.retention.minutes: committed offsets of a group without members expire once
    // the retention has passed on the broker's clock since their commit; until then they are
    // fetched as committed.
    let clock = crate::support::manual_clock();
    let mut b = wren::Broker::ephemeral().with_clock(clock.clone());
    // 60 s: far beyond the test's real duration, so only the broker's clock can reach it.
    b.config_mut().groups.offsets_retention_ms = 60_000;
    b.config_mut().groups.offsets_retention_check_interval_ms = 100;
    let broker = b.start().await.unwrap();
    let mut c = connect(&broker).await;
    create_topic(&mut c, "exp", 1).await;
    assert_eq!(
        commit(&mut c, "lonely", -1, "", &[("exp", 0, 42)]).await,
        vec![0]
    );
    let before = fetch(&mut c, "lonely", Some(&[("exp", 0)]), false).await;
    assert_eq!(before[0].2, 42, "committed and visible");
    clock.advance(59_999);
    tokio::time::sleep(crate::support::SEVERAL_TICKS).await;
    let kept = fetch(&mut c, "lonely", Some(&[("exp", 0)]), false).await;
    assert_eq!(kept[0].2, 42, "kept until the retention has passed");
    clock.advance(1);
    let patience = crate::support::Patience::new();
    while fetch(&mut c, "lonely", Some(&[("exp", 0)]), false).await[0].2 != -1 {
        patience
            .wait("the offsets expire after the retention")
            .await;
    }
}
