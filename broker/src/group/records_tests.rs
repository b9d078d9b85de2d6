//! The group log's records: round trips, Kafka's layouts and older versions, and what a
//! damaged or absurd record decodes to.

use super::*;

fn om(offset: i64) -> OffsetAndMetadata {
    OffsetAndMetadata {
        offset,
        leader_epoch: 3,
        metadata: "meta".into(),
        commit_timestamp_ms: 1234,
    }
}

#[test]
fn every_record_kind_round_trips() {
    let records = [
        GroupLogRecord::Offset {
            group: "g".into(),
            topic: "t".into(),
            partition: 2,
            value: Some(om(7)),
        },
        GroupLogRecord::Offset {
            group: "g".into(),
            topic: "t".into(),
            partition: 2,
            value: None,
        },
        GroupLogRecord::Group {
            group: "g".into(),
            value: Some(StoredGroup {
                protocol_type: "consumer".into(),
                generation_id: 4,
                protocol_name: Some("range".into()),
                leader_id: Some("m1".into()),
                state_timestamp_ms: 99,
                members: vec![
                    StoredMember {
                        member_id: "m1".into(),
                        instance_id: Some("i1".into()),
                        client_id: "c".into(),
                        client_host: "/127.0.0.1".into(),
                        rebalance_timeout_ms: 60_000,
                        session_timeout_ms: 45_000,
                        subscription: Bytes::from_static(b"sub"),
                        assignment: Bytes::from_static(b"assign"),
                    },
                    StoredMember {
                        member_id: "m2".into(),
                        instance_id: None,
                        client_id: "c".into(),
                        client_host: "/127.0.0.1".into(),
                        rebalance_timeout_ms: 1,
                        session_timeout_ms: 2,
                        subscription: Bytes::new(),
                        assignment: Bytes::new(),
                    },
                ],
            }),
        },
        GroupLogRecord::Group {
            group: "g".into(),
            value: None,
        },
        GroupLogRecord::TxnOffset {
            producer_id: 17,
            group: "g".into(),
            topic: "t".into(),
            partition: 0,
            value: om(9),
        },
        GroupLogRecord::TxnMarker {
            producer_id: 17,
            commit: true,
        },
    ];
    for r in records {
        let (k, v) = r.encode();
        assert_eq!(GroupLogRecord::decode(k, v), Some(r));
    }
}

#[test]
fn group_values_of_kafkas_older_versions_decode_and_absurd_member_counts_do_not() {
    // GroupMetadataValue v0 (no rebalance timeout, no state time, no instance id) with one
    // member, as an older Kafka wrote it.
    let mut v = BytesMut::new();
    v.put_i16(0);
    put_str(&mut v, "consumer");
    v.put_i32(2);
    put_nullable_str(&mut v, Some("range"));
    put_nullable_str(&mut v, Some("m"));
    v.put_i32(1);
    put_str(&mut v, "m");
    put_str(&mut v, "client");
    put_str(&mut v, "/h");
    v.put_i32(10_000);
    put_bytes(&mut v, b"s");
    put_bytes(&mut v, b"a");
    let key = GroupLogRecord::Group {
        group: "g".into(),
        value: None,
    }
    .encode()
    .0;
    let Some(GroupLogRecord::Group { value: Some(g), .. }) =
        GroupLogRecord::decode(key.clone(), Some(v.freeze()))
    else {
        panic!("v0 decodes");
    };
    assert_eq!(g.members.len(), 1);
    assert_eq!(g.members[0].rebalance_timeout_ms, 10_000);
    assert_eq!(&g.members[0].assignment[..], b"a");

    let mut v = BytesMut::new();
    v.put_i16(3);
    put_str(&mut v, "consumer");
    v.put_i32(2);
    put_nullable_str(&mut v, None);
    put_nullable_str(&mut v, None);
    v.put_i64(0);
    v.put_i32(i32::MAX); // members, with no bytes behind them
    assert_eq!(GroupLogRecord::decode(key, Some(v.freeze())), None);
}

#[test]
fn offset_key_uses_kafkas_layout() {
    let (k, v) = GroupLogRecord::Offset {
        group: "g".into(),
        topic: "t".into(),
        partition: 1,
        value: Some(om(5)),
    }
    .encode();
    assert_eq!(&k[..], &[0, 1, 0, 1, b'g', 0, 1, b't', 0, 0, 0, 1]);
    let v = v.unwrap();
    assert_eq!(&v[..2], &[0, 3], "OffsetCommitValue v3");
    assert_eq!(&v[2..10], &5i64.to_be_bytes());
}

#[test]
fn unknown_and_truncated_records_are_skipped() {
    assert_eq!(
        GroupLogRecord::decode(Bytes::from_static(&[0x12, 0x34]), None),
        None
    );
    assert_eq!(
        GroupLogRecord::decode(Bytes::from_static(&[0, 1, 0, 5]), None),
        None
    );
}
