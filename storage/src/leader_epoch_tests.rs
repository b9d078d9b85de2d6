use super::*;
use crate::io::OsIo;

fn entries(cache: &LeaderEpochCache) -> Vec<(i32, i64)> {
    cache
        .entries()
        .iter()
        .map(|e| (e.epoch, e.start_offset))
        .collect()
}

fn cache_with(dir: &Path, list: &[(i32, i64)]) -> LeaderEpochCache {
    let io = OsIo::shared();
    let mut cache = LeaderEpochCache::load(dir).unwrap();
    for (epoch, start) in list {
        cache.assign(&io, *epoch, *start).unwrap();
    }
    cache
}

#[test]
fn assign_keeps_one_entry_per_epoch_and_ignores_unknown_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache_with(
        dir.path(),
        &[(0, 0), (0, 5), (-1, 7), (2, 10), (2, 12), (5, 20)],
    );
    assert_eq!(entries(&cache), vec![(0, 0), (2, 10), (5, 20)]);
}

#[test]
fn a_lower_epoch_or_an_earlier_start_replaces_what_it_contradicts() {
    let dir = tempfile::tempdir().unwrap();
    let mut cache = cache_with(dir.path(), &[(0, 0), (2, 10), (5, 20)]);
    cache.assign(&OsIo::shared(), 3, 15).unwrap();
    assert_eq!(entries(&cache), vec![(0, 0), (2, 10), (3, 15)]);
    cache.assign(&OsIo::shared(), 4, 12).unwrap();
    assert_eq!(entries(&cache), vec![(0, 0), (2, 10), (4, 12)]);
}

#[test]
fn end_offsets_follow_kafkas_end_offset_for() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache_with(dir.path(), &[(1, 5), (3, 10), (6, 20)]);
    // The latest epoch ends at the log end.
    assert_eq!(cache.end_offset_for(6, 42), (6, 42));
    // A known older epoch ends where the next starts.
    assert_eq!(cache.end_offset_for(3, 42), (3, 20));
    // An unknown epoch between known ones: the largest below it, ending where the next starts.
    assert_eq!(cache.end_offset_for(4, 42), (3, 20));
    // Below every known epoch: the requested epoch, ending at the first start.
    assert_eq!(cache.end_offset_for(0, 42), (0, 5));
    // Above every known epoch, and -1: undefined.
    assert_eq!(cache.end_offset_for(7, 42), (-1, -1));
    assert_eq!(cache.end_offset_for(-1, 42), (-1, -1));
    let empty = LeaderEpochCache::load(tempfile::tempdir().unwrap().path()).unwrap();
    assert_eq!(empty.end_offset_for(0, 42), (-1, -1));
}

#[test]
fn epoch_for_offset_is_the_epoch_whose_range_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache_with(dir.path(), &[(1, 5), (3, 10)]);
    assert_eq!(cache.epoch_for_offset(4), None);
    assert_eq!(cache.epoch_for_offset(5), Some(1));
    assert_eq!(cache.epoch_for_offset(9), Some(1));
    assert_eq!(cache.epoch_for_offset(10), Some(3));
    assert_eq!(cache.epoch_for_offset(1000), Some(3));
}

#[test]
fn truncating_from_the_start_keeps_the_epoch_holding_the_new_start() {
    let dir = tempfile::tempdir().unwrap();
    let io = OsIo::shared();
    let mut cache = cache_with(dir.path(), &[(1, 5), (3, 10), (6, 20)]);
    cache.truncate_from_start(&io, 2).unwrap();
    assert_eq!(entries(&cache), vec![(1, 5), (3, 10), (6, 20)]);
    cache.truncate_from_start(&io, 12).unwrap();
    assert_eq!(entries(&cache), vec![(3, 12), (6, 20)]);
    cache.truncate_from_start(&io, 20).unwrap();
    assert_eq!(entries(&cache), vec![(6, 20)]);
    cache.truncate_from_start(&io, 30).unwrap();
    assert_eq!(entries(&cache), vec![(6, 30)]);
    let reloaded = LeaderEpochCache::load(dir.path()).unwrap();
    assert_eq!(entries(&reloaded), vec![(6, 30)], "persisted");
}

#[test]
fn truncating_from_the_end_drops_epochs_starting_at_or_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let io = OsIo::shared();
    let mut cache = cache_with(dir.path(), &[(1, 5), (3, 10), (6, 20)]);
    cache.truncate_from_end(&io, 25).unwrap();
    assert_eq!(entries(&cache), vec![(1, 5), (3, 10), (6, 20)]);
    cache.truncate_from_end(&io, 10).unwrap();
    assert_eq!(entries(&cache), vec![(1, 5)]);
    let reloaded = LeaderEpochCache::load(dir.path()).unwrap();
    assert_eq!(entries(&reloaded), vec![(1, 5)], "persisted");
}

#[test]
fn the_checkpoint_is_kafkas_text_format() {
    let dir = tempfile::tempdir().unwrap();
    cache_with(dir.path(), &[(0, 0), (4, 150)]);
    let text = std::fs::read_to_string(dir.path().join(CHECKPOINT_FILE)).unwrap();
    assert_eq!(text, "0\n2\n0 0\n4 150\n");
    let reloaded = LeaderEpochCache::load(dir.path()).unwrap();
    assert_eq!(entries(&reloaded), vec![(0, 0), (4, 150)]);
}

#[test]
fn damaged_checkpoints_are_refused_whole() {
    for bad in [
        &b"1\n1\n0 0\n"[..],
        b"0\n2\n0 0\n",
        b"0\n1\n0\n",
        b"0\n1\n0 0 0\n",
        b"0\n1\nx 0\n",
        b"0\n99999999999\n",
        b"0\n1\n0 0\n5 5\n",
        b"\xff",
    ] {
        assert_eq!(decode(bad), None, "{bad:?}");
    }
    assert_eq!(decode(b"0\n0\n"), Some(vec![]));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(CHECKPOINT_FILE), b"garbage").unwrap();
    assert!(LeaderEpochCache::load(dir.path())
        .unwrap()
        .entries()
        .is_empty());
}

/// Kafka's `isUpdateNeeded`: the latest epoch again with an earlier start offset replaces the
/// entry (the log was truncated below it); the same entry again changes nothing, on disk
/// either.
#[test]
fn the_latest_epoch_again_moves_only_to_an_earlier_start() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Arc::new(crate::io::SimIo::new());
    let io: Arc<dyn FileIo> = sim.clone();
    let mut cache = LeaderEpochCache::load(dir.path()).unwrap();
    cache.assign(&io, 5, 100).unwrap();
    let writes = sim.events().len();
    cache.assign(&io, 5, 100).unwrap();
    cache.assign(&io, 5, 120).unwrap();
    assert_eq!(entries(&cache), vec![(5, 100)]);
    assert_eq!(
        sim.events().len(),
        writes,
        "nothing changed, nothing written"
    );
    cache.assign(&io, 5, 50).unwrap();
    assert_eq!(entries(&cache), vec![(5, 50)]);
    assert!(sim.events().len() > writes, "the move is persisted");
}

/// The entry-count limit at its edge: a checkpoint of exactly `ENTRIES_MAX` entries decodes,
/// one more (every line present) is refused.
#[test]
fn a_checkpoint_of_entries_max_decodes_and_one_more_is_refused() {
    let text = |n: usize| {
        let mut s = format!("0\n{n}\n");
        for i in 0..n {
            s.push_str(&format!("{i} {i}\n"));
        }
        s.into_bytes()
    };
    assert_eq!(
        decode(&text(ENTRIES_MAX)).map(|e| e.len()),
        Some(ENTRIES_MAX)
    );
    assert_eq!(decode(&text(ENTRIES_MAX + 1)), None);
}
