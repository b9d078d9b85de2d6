//! Server-side assignors (`group.consumer.assignors`): `uniform`, Kafka's default, spreads
//! every subscribed partition evenly and keeps each where it was when it can (sticky);
//! `range` gives each topic's subscribers consecutive ranges of its partitions.

use std::collections::{BTreeMap, HashMap};

use super::Assignment;

/// A member as an assignor sees it: its id and its subscribed topics (id, partition count).
pub struct Subscriber<'a> {
    pub id: &'a str,
    pub topics: Vec<(uuid::Uuid, i32)>,
}

/// Runs the assignor named `name` (`uniform` unless `range`).
pub fn assign(
    name: &str,
    members: &[Subscriber],
    previous: &HashMap<String, Assignment>,
) -> HashMap<String, Assignment> {
    match name {
        "range" => range(members),
        _ => uniform(members, previous),
    }
}

/// Each topic's partitions in ranges over its subscribers sorted by member id; the first
/// `partitions % subscribers` get one more.
fn range(members: &[Subscriber]) -> HashMap<String, Assignment> {
    let mut out: HashMap<String, Assignment> = members
        .iter()
        .map(|m| (m.id.to_owned(), Assignment::new()))
        .collect();
    let mut topics: BTreeMap<uuid::Uuid, (i32, Vec<&str>)> = BTreeMap::new();
    for m in members {
        for (t, n) in &m.topics {
            topics.entry(*t).or_insert((*n, Vec::new())).1.push(m.id);
        }
    }
    for (topic, (n, mut subs)) in topics {
        subs.sort_unstable();
        let k = subs.len() as i32;
        let (base, extra) = (n / k, n % k);
        let mut next = 0;
        for (i, id) in subs.iter().enumerate() {
            let count = base + i32::from((i as i32) < extra);
            let ps = out.entry((*id).to_owned()).or_default();
            if count > 0 {
                ps.entry(topic).or_default().extend(next..next + count);
            }
            next += count;
        }
    }
    out
}

/// Balanced and sticky: partitions stay with their previous owner while it subscribes and
/// is not above its share, the rest go to the least-loaded subscriber, then partitions move
/// from the most- to the least-loaded members until no move would even them out further.
fn uniform(
    members: &[Subscriber],
    previous: &HashMap<String, Assignment>,
) -> HashMap<String, Assignment> {
    let subs: HashMap<&str, HashMap<uuid::Uuid, i32>> = members
        .iter()
        .map(|m| (m.id, m.topics.iter().copied().collect()))
        .collect();
    let mut all: BTreeMap<uuid::Uuid, i32> = BTreeMap::new();
    for m in members {
        all.extend(m.topics.iter().copied());
    }
    let total: usize = all.values().map(|n| usize::try_from(*n).unwrap_or(0)).sum();
    let quota = total.div_ceil(members.len().max(1));
    let mut owner: HashMap<(uuid::Uuid, i32), &str> = HashMap::new();
    let mut load: BTreeMap<&str, usize> = members.iter().map(|m| (m.id, 0)).collect();
    // Sticky pass, in member-id order so the outcome does not depend on hashing.
    for (id, count) in load.iter_mut() {
        let Some(prev) = previous.get(*id) else {
            continue;
        };
        for (t, p) in super::partitions(prev) {
            let subscribed = subs[id].get(&t).is_some_and(|n| p < *n);
            if subscribed && *count < quota && !owner.contains_key(&(t, p)) {
                owner.insert((t, p), id);
                *count += 1;
            }
        }
    }
    for (t, n) in &all {
        for p in 0..*n {
            if owner.contains_key(&(*t, p)) {
                continue;
            }
            let least = load
                .iter()
                .filter(|(id, _)| subs[**id].contains_key(t))
                .min_by_key(|(id, c)| (**c, **id))
                .map(|(id, _)| *id);
            if let Some(id) = least {
                owner.insert((*t, p), id);
                *load.get_mut(id).expect("a member") += 1;
            }
        }
    }
    balance(&mut owner, &mut load, &subs);
    let mut out: HashMap<String, Assignment> = members
        .iter()
        .map(|m| (m.id.to_owned(), Assignment::new()))
        .collect();
    for ((t, p), id) in owner {
        out.entry(id.to_owned())
            .or_default()
            .entry(t)
            .or_default()
            .insert(p);
    }
    out
}

/// Moves one partition at a time from a member to one with at least two fewer that also
/// subscribes to its topic. Each move lowers the sum of squared loads, so this ends.
fn balance<'a>(
    owner: &mut HashMap<(uuid::Uuid, i32), &'a str>,
    load: &mut BTreeMap<&'a str, usize>,
    subs: &HashMap<&str, HashMap<uuid::Uuid, i32>>,
) {
    loop {
        let mut order: Vec<(&str, usize)> = load.iter().map(|(i, c)| (*i, *c)).collect();
        order.sort_by_key(|(i, c)| (*c, *i));
        let mut moved = None;
        'search: for (to, low) in &order {
            for (from, high) in order.iter().rev() {
                if *high <= low + 1 {
                    break;
                }
                let mut candidates: Vec<&(uuid::Uuid, i32)> = owner
                    .iter()
                    .filter(|(tp, o)| *o == from && subs[to].contains_key(&tp.0))
                    .map(|(tp, _)| tp)
                    .collect();
                candidates.sort_unstable();
                if let Some(tp) = candidates.last() {
                    moved = Some((**tp, *from, *to));
                    break 'search;
                }
            }
        }
        let Some((tp, from, to)) = moved else { return };
        owner.insert(tp, to);
        *load.get_mut(from).expect("a member") -= 1;
        *load.get_mut(to).expect("a member") += 1;
    }
}
