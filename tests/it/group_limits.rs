//! Group limits at their edges: `group.max.size` and `offset.metadata.max.bytes`.

use crate::groups::{commit, connect, create_topic, fetch, heartbeat, join, join_new, sync, Join};

const GROUP_MAX_SIZE_REACHED: i16 = 81;
const OFFSET_METADATA_TOO_LARGE: i16 = 12;

#[tokio::test]
async fn group_max_size_admits_members_up_to_it_and_refuses_the_next() {
    let mut b = wren::Broker::ephemeral();
    b.config_mut().groups.max_size = 1;
    let broker = b.start().await.unwrap();
    let mut a = connect(&broker).await;
    let ja = join_new(&mut a, Join::new("capped")).await;
    assert_eq!(ja.error_code, 0, "the first member fits");
    let ida = ja.member_id.to_string();
    assert_eq!(
        sync(&mut a, "capped", 1, &ida, &[(&ida, b"x")])
            .await
            .error_code,
        0
    );

    let mut other = connect(&broker).await;
    let refused = join(&mut other, &Join::new("capped")).await;
    assert_eq!(refused.error_code, GROUP_MAX_SIZE_REACHED);
    assert_eq!(
        heartbeat(&mut a, "capped", 1, &ida).await,
        0,
        "the refused join did not disturb the group"
    );
    let mut again = Join::new("capped");
    again.member_id = &ida;
    let rejoin = join(&mut a, &again).await;
    assert_eq!(
        rejoin.error_code, 0,
        "a member already in the group may rejoin"
    );
}

#[tokio::test]
async fn offset_metadata_max_bytes_accepts_the_limit_and_refuses_one_byte_more() {
    let mut b = wren::Broker::ephemeral();
    b.config_mut().groups.offset_metadata_max_bytes = 10;
    let broker = b.start().await.unwrap();
    let mut c = connect(&broker).await;
    create_topic(&mut c, "meta", 2).await;
    // commit() stores "meta-<offset>": 10 bytes for 10000, 11 for 100000.
    let codes = commit(
        &mut c,
        "meta-g",
        -1,
        "",
        &[("meta", 0, 10_000), ("meta", 1, 100_000)],
    )
    .await;
    assert_eq!(codes, vec![0, OFFSET_METADATA_TOO_LARGE]);
    let committed = fetch(&mut c, "meta-g", Some(&[("meta", 0), ("meta", 1)]), false).await;
    let offsets: Vec<(i32, i64)> = committed.iter().map(|r| (r.1, r.2)).collect();
    assert_eq!(
        offsets,
        vec![(0, 10_000), (1, -1)],
        "only the one within the limit committed"
    );
}
