//! The assignors, and many members reconciling at once: never a partition owned twice.

use std::collections::{BTreeSet, HashMap};

use super::assignor::{assign, Subscriber};
use super::tests::{assert_exclusive, beat, join, parts, step, t, topic};
use super::*;

fn counts(out: &HashMap<String, Assignment>) -> Vec<usize> {
    let mut c: Vec<usize> = out.values().map(|a| partitions(a).count()).collect();
    c.sort_unstable();
    c
}

#[test]
fn uniform_spreads_evenly_and_keeps_partitions_where_they_were() {
    let subs = |ids: &[&'static str]| -> Vec<Subscriber<'static>> {
        ids.iter()
            .map(|id| Subscriber {
                id,
                topics: vec![(topic(1), 4), (topic(2), 3)],
            })
            .collect()
    };
    let first = assign("uniform", &subs(&["a", "b"]), &HashMap::new());
    assert_eq!(counts(&first), [3, 4]);
    let second = assign("uniform", &subs(&["a", "b", "c"]), &first);
    assert_eq!(counts(&second), [2, 2, 3]);
    // Nothing moves between a and b: each keeps a subset of what it had.
    for id in ["a", "b"] {
        assert!(
            parts(&second[id]).is_subset(&parts(&first[id])),
            "{id} moved"
        );
    }
}

#[test]
fn uniform_gives_a_topic_only_to_its_subscribers() {
    let members = [
        Subscriber {
            id: "a",
            topics: vec![(topic(1), 4)],
        },
        Subscriber {
            id: "b",
            topics: vec![(topic(1), 4), (topic(2), 2)],
        },
    ];
    let out = assign("uniform", &members, &HashMap::new());
    assert!(!out["a"].contains_key(&topic(2)));
    assert_eq!(counts(&out), [3, 3]);
}

#[test]
fn range_gives_consecutive_ranges_first_members_one_more() {
    let members = [
        Subscriber {
            id: "b",
            topics: vec![(topic(1), 5)],
        },
        Subscriber {
            id: "a",
            topics: vec![(topic(1), 5)],
        },
    ];
    let out = assign("range", &members, &HashMap::new());
    assert_eq!(out["a"], t(&[0, 1, 2]));
    assert_eq!(out["b"], t(&[3, 4]));
}

#[test]
fn many_members_joining_and_leaving_never_share_a_partition() {
    let mut g = ConsumerGroup::new("g");
    let mut owned: HashMap<String, Assignment> = HashMap::new();
    let mut epochs: HashMap<String, i32> = HashMap::new();
    let ids = ["a", "b", "c", "d"];
    for (round, id) in ids.iter().enumerate() {
        let a = step(&mut g, join(id, &["t", "u"]), round as i64).unwrap();
        epochs.insert((*id).into(), a.member_epoch);
        owned.insert((*id).into(), a.assignment.unwrap());
        // Everyone heartbeats, reporting what it owns, until the group is stable.
        for _ in 0..6 {
            for m in &ids[..=round] {
                let a = step(&mut g, beat(m, epochs[*m], &owned[*m]), 0).unwrap();
                epochs.insert((*m).into(), a.member_epoch);
                if let Some(assigned) = a.assignment {
                    owned.insert((*m).into(), assigned);
                }
                assert_exclusive(&g);
            }
        }
        assert_eq!(g.state(), "Stable", "after {id} joined: {g:#?}");
        let all: BTreeSet<_> = owned.values().flat_map(parts).collect();
        assert_eq!(all.len(), 6, "every partition owned once stable");
    }
    step(&mut g, beat("a", LEAVE_EPOCH, &owned["a"]), 0).unwrap();
    owned.remove("a");
    for _ in 0..6 {
        for m in &ids[1..] {
            let a = step(&mut g, beat(m, epochs[*m], &owned[*m]), 0).unwrap();
            epochs.insert((*m).into(), a.member_epoch);
            if let Some(assigned) = a.assignment {
                owned.insert((*m).into(), assigned);
            }
            assert_exclusive(&g);
        }
    }
    assert_eq!(g.state(), "Stable");
    assert_eq!(owned.values().flat_map(parts).count(), 6);
}
