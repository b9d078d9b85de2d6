//! Group membership on the broker's clock: a member that does not rejoin is dropped at the
//! rebalance timeout, and one that stops heartbeating expires after its session timeout.

use std::time::Duration;

use crate::groups::{connect, describe, heartbeat, join_new, sync, Join};
use crate::support::{manual_clock, Patience, SEVERAL_TICKS};

#[tokio::test]
async fn a_member_that_does_not_rejoin_is_dropped_at_the_rebalance_timeout() {
    // Goal: the join phase completes without a member that never rejoins once the rebalance
    // timeout passes on the broker's clock, and not before (the timer task, not a request,
    // completes it).
    let clock = manual_clock();
    let broker = crate::support::on_manual_clock(&clock)
        .start()
        .await
        .unwrap();
    let mut a = connect(&broker).await;
    let mut ja = Join::new("g3");
    ja.rebalance_ms = 300;
    let ja = join_new(&mut a, ja).await;
    let ida = ja.member_id.to_string();
    sync(&mut a, "g3", 1, &ida, &[]).await;
    let mut b = connect(&broker).await;
    let mut jb = Join::new("g3");
    jb.rebalance_ms = 300; // the join phase lasts the longest rebalance timeout of the members
    let b_join = tokio::spawn(async move { join_new(&mut b, jb).await });
    let mut observer = connect(&broker).await;
    let patience = Patience::new();
    while describe(&mut observer, "g3").await.group_state.as_str() != "PreparingRebalance" {
        patience.wait("B's join starts a rebalance").await;
    }
    tokio::time::sleep(SEVERAL_TICKS).await;
    clock.advance(299);
    tokio::time::sleep(SEVERAL_TICKS).await;
    assert!(
        !b_join.is_finished(),
        "the join phase waits for A until the rebalance timeout"
    );
    clock.advance(1);
    let jb = tokio::time::timeout(Duration::from_secs(30), b_join)
        .await
        .expect("the timer completes the join phase")
        .unwrap();
    assert_eq!(jb.error_code, 0);
    assert_eq!(jb.generation_id, 2);
    assert_eq!(jb.leader, jb.member_id, "the only member left leads");
    assert_eq!(jb.members.len(), 1);
    assert_eq!(heartbeat(&mut a, "g3", 1, &ida).await, 25, "A was removed");
}

#[tokio::test]
async fn silent_members_expire_after_the_session_timeout() {
    // Goal: heartbeats extend a member's session; a member that stops heartbeating is removed
    // once session.timeout.ms (60 s, far beyond the test's real duration) passes on the
    // broker's clock, and not before. An empty group is then Empty with a new generation.
    let clock = manual_clock();
    let broker = crate::support::on_manual_clock(&clock)
        .start()
        .await
        .unwrap();
    let mut c = connect(&broker).await;
    let mut j = Join::new("g4");
    j.session_ms = 60_000;
    let j = join_new(&mut c, j).await;
    let me = j.member_id.to_string();
    sync(&mut c, "g4", 1, &me, &[]).await;
    // Each step stays inside the session the previous heartbeat opened; together they pass
    // the first session's end (t = 60 s).
    clock.advance(40_000);
    assert_eq!(
        heartbeat(&mut c, "g4", 1, &me).await,
        0,
        "alive at t = 40 s"
    );
    clock.advance(40_000);
    assert_eq!(
        heartbeat(&mut c, "g4", 1, &me).await,
        0,
        "alive at t = 80 s: the heartbeat at 40 s extended the session"
    );
    // Silence from t = 80 s; the session ends at t = 140 s.
    clock.advance(59_999);
    tokio::time::sleep(SEVERAL_TICKS).await;
    let d = describe(&mut c, "g4").await;
    assert_eq!(
        (d.group_state.as_str(), d.members.len()),
        ("Stable", 1),
        "alive 1 ms before the session ends"
    );
    clock.advance(1);
    let patience = Patience::new();
    loop {
        let d = describe(&mut c, "g4").await;
        if d.group_state.as_str() == "Empty" {
            assert!(d.members.is_empty());
            break;
        }
        patience
            .wait("the silent member expires when its session ends")
            .await;
    }
    assert_eq!(heartbeat(&mut c, "g4", 1, &me).await, 25);
}
