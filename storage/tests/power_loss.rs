//! Power cuts, simulated: the log runs on `SimIo`, which records every write and sync; a power
//! cut rewrites the directory to what the disk would hold (only synced data, or synced data
//! plus a torn or scattered part of what came after), and reopening the log recovers it.
//! What each flush policy promises is checked against what survives.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use proptest::prelude::*;
use wren_storage::batch::{crc_matches, headers, set_base_offset};
use wren_storage::io::{Event, Loss, SimIo};
use wren_storage::{FlushPolicy, LogConfig, PartitionLog, SystemClock};

fn open_on(dir: &Path, config: LogConfig, io: &Arc<SimIo>) -> PartitionLog {
    PartitionLog::open_with_io(dir, config, Arc::new(SystemClock), io.clone()).unwrap()
}

fn config(flush: FlushPolicy) -> LogConfig {
    LogConfig {
        segment_bytes: 2048,
        index_interval_bytes: 256,
        flush,
        ..LogConfig::default()
    }
}

fn loss_strategy() -> impl Strategy<Value = Loss> {
    prop_oneof![
        Just(Loss::Unsynced),
        any::<u64>().prop_map(|seed| Loss::TornTail { seed }),
        any::<u64>().prop_map(|seed| Loss::Scattered { seed }),
    ]
}

/// `(records, payload bytes)` per append.
fn appends_strategy() -> impl Strategy<Value = Vec<(i32, usize)>> {
    prop::collection::vec((1..5i32, 0..400usize), 1..40)
}

/// Everything the reopened log holds, as batch bytes.
fn recovered(dir: &Path, config: LogConfig) -> Vec<Vec<u8>> {
    let log = PartitionLog::open(dir, config).unwrap();
    read_all(&log).into_iter().map(|(_, b)| b).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// fsync before every acknowledgement (`flush.messages=1`): every acknowledged append is
    /// there after the cut, byte for byte. With `unacked_tail`, one more append is written but
    /// its fsync fails (not acknowledged): it may survive whole or not at all, never torn, and
    /// never at the cost of an acknowledged one.
    #[test]
    fn every_acknowledged_append_survives_a_power_cut(
        appends in appends_strategy(),
        loss in loss_strategy(),
        interval in any::<bool>(),
        unacked_tail in any::<bool>(),
    ) {
        let flush = if interval {
            FlushPolicy::Interval { messages: 1, ms: 0 }
        } else {
            FlushPolicy::EveryAppend
        };
        let dir = tempfile::tempdir().unwrap();
        let io = Arc::new(SimIo::new());
        let log = open_on(dir.path(), config(flush), &io);
        let mut acked = Vec::new();
        for (i, (records, payload)) in appends.iter().enumerate() {
            let mut b = batch(*records, *payload, i as i64);
            append_assigned(&log, &mut b).unwrap();
            acked.push(b);
        }
        let mut unacked = batch(3, 300, -1);
        if unacked_tail {
            io.fail_syncs(Some("log"));
            set_base_offset(&mut unacked, log.log_end_offset());
            prop_assert!(log.append(&unacked).is_err());
        }
        drop(log);
        io.power_loss(dir.path(), loss).unwrap();
        let got = recovered(dir.path(), config(flush));
        if got.len() == acked.len() + 1 && unacked_tail {
            prop_assert_eq!(&got[acked.len()], &unacked);
            prop_assert_eq!(&got[..acked.len()], &acked[..]);
        } else {
            prop_assert_eq!(got, acked);
        }
    }

    /// OS flushing: what survives is a clean prefix of what was appended (whole batches with
    /// good CRCs, offsets contiguous from 0), and it reaches at least the last explicit flush
    /// or sealed roll (both fsync). A roll by an append leaves the old segment to
    /// `seal_rolled` (the broker runs it in the background): sealed at once, or still unsealed
    /// when the power goes.
    #[test]
    fn os_flushing_recovers_a_clean_prefix(
        appends in appends_strategy(),
        flush_every in 0..6usize,
        seal_rolls in any::<bool>(),
        loss in loss_strategy(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let io = Arc::new(SimIo::new());
        let log = open_on(dir.path(), config(FlushPolicy::Os), &io);
        let mut written = Vec::new();
        let mut durable_end = 0;
        for (i, (records, payload)) in appends.iter().enumerate() {
            let mut b = batch(*records, *payload, i as i64);
            append_assigned(&log, &mut b).unwrap();
            written.push(b);
            if flush_every > 0 && i % flush_every == 0 {
                log.flush().unwrap();
                durable_end = log.log_end_offset();
            }
            if seal_rolls && log.take_seal_request() {
                // Sealing fsyncs the segments rolled away from.
                log.seal_rolled().unwrap();
                durable_end = durable_end.max(*log.segment_base_offsets().last().unwrap());
            }
        }
        drop(log);
        io.power_loss(dir.path(), loss).unwrap();
        let got = recovered(dir.path(), config(FlushPolicy::Os));
        prop_assert!(got.len() <= written.len());
        prop_assert_eq!(&got[..], &written[..got.len()]);
        for b in &got {
            prop_assert!(crc_matches(b));
        }
        let end = got
            .last()
            .map_or(0, |b| headers(b, 0).next().unwrap().1.last_offset() + 1);
        prop_assert!(end >= durable_end, "recovered to {end}, {durable_end} was synced");
    }
}

/// Does the durable image of the log's files hold the batch ending at `last_offset`, intact?
fn durably_holds(io: &SimIo, log: &PartitionLog, last_offset: i64) -> bool {
    log.segment_base_offsets().iter().any(|&base| {
        let path = log.dir().join(format!("{base:020}.log"));
        io.durable_contents(&path).is_some_and(|image| {
            headers(&image, 0).any(|(pos, h)| {
                h.last_offset() == last_offset && crc_matches(&image[pos..pos + h.total_len()])
            })
        })
    })
}

/// Group commit: appenders share fsyncs, and each is acknowledged only once a sync has made
/// its batch durable (checked against the recorder's durable image at the moment of the ack).
#[test]
fn a_grouped_commit_acknowledges_only_after_a_sync_that_covers_it() {
    let dir = tempfile::tempdir().unwrap();
    let io = Arc::new(SimIo::new());
    let log = Arc::new(open_on(dir.path(), config(FlushPolicy::EveryAppend), &io));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (log, io) = (log.clone(), io.clone());
            std::thread::spawn(move || {
                for i in 0..50 {
                    let info = log.append(&batch(1 + (t + i) % 3, 50, 0)).unwrap();
                    assert!(
                        durably_holds(&io, &log, info.last_offset),
                        "offset {} acknowledged before a sync covered it",
                        info.last_offset
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(log.log_end_offset() >= 200);
}

/// Wait for `cond` with a generous deadline (the machine may be loaded).
fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// With one fsync in progress, appends that arrive meanwhile are all covered by exactly one
/// more fsync: 4 appends, 2 fsyncs, whatever the timing.
#[test]
fn appends_during_an_fsync_share_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let io = Arc::new(SimIo::new());
    let log = Arc::new(open_on(dir.path(), config(FlushPolicy::EveryAppend), &io));
    io.pause_syncs();
    let append = |log: &Arc<PartitionLog>| {
        let log = log.clone();
        std::thread::spawn(move || log.append(&batch(1, 10, 0)).unwrap())
    };
    let first = append(&log);
    wait_until("the first append's fsync", || io.blocked_syncs() == 1);
    let rest: Vec<_> = (0..3).map(|_| append(&log)).collect();
    wait_until("three more appends written", || log.log_end_offset() == 4);
    io.resume_syncs();
    first.join().unwrap();
    for t in rest {
        t.join().unwrap();
    }
    assert_eq!(log.fsync_count(), 2);
    // The recorded calls: four writes, then the held sync completing, then one more sync.
    let segment = dir.path().join(format!("{:020}.log", 0));
    let at = |sync: bool| -> Vec<usize> {
        let events = io.events();
        let on_segment = |e: &Event| match e {
            Event::Sync { path } => sync && *path == segment,
            Event::Write { path, .. } => !sync && *path == segment,
            _ => false,
        };
        (0..events.len())
            .filter(|&i| on_segment(&events[i]))
            .collect()
    };
    let (writes, syncs) = (at(false), at(true));
    assert_eq!((writes.len(), syncs.len()), (4, 2));
    assert!(writes[3] < syncs[0]);
    drop(log);
    io.power_loss(dir.path(), Loss::Unsynced).unwrap();
    let log = PartitionLog::open(dir.path(), config(FlushPolicy::EveryAppend)).unwrap();
    assert_eq!(log.log_end_offset(), 4);
}

/// What the log keeps beside the data survives too: the log start DeleteRecords moved (an
/// atomically replaced checkpoint: the rename only counts once the directory is synced) and
/// the producer state (snapshots written at each roll, then replayed from the headers).
#[test]
fn delete_records_and_producer_state_survive_a_power_cut() {
    let dir = tempfile::tempdir().unwrap();
    let io = Arc::new(SimIo::new());
    let cfg = config(FlushPolicy::EveryAppend);
    let log = open_on(dir.path(), cfg.clone(), &io);
    for i in 0..30 {
        let b = wren_storage::testing::BatchBuilder::new(2)
            .producer(7 + i64::from(i % 2), 0, (i / 2) * 2)
            .payload(200)
            .build();
        log.append(&b).unwrap();
    }
    assert!(log.segment_base_offsets().len() > 2, "the appends rolled");
    let start = log.segment_base_offsets()[1] + 1;
    assert_eq!(log.advance_log_start_offset(start).unwrap(), start);
    let producers = log.producer_state();
    drop(log);
    io.power_loss(dir.path(), Loss::Unsynced).unwrap();
    let log = PartitionLog::open(dir.path(), cfg).unwrap();
    assert_eq!(log.log_start_offset(), start);
    assert_eq!(log.log_end_offset(), 60);
    assert_eq!(log.producer_state(), producers);
}

/// The paths of the files that `events` synced and whose extension is `ext`, in order.
fn synced(events: &[Event], ext: &str) -> Vec<std::path::PathBuf> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Sync { path } if path.extension().is_some_and(|x| x == ext) => {
                Some(path.clone())
            }
            _ => None,
        })
        .collect()
}

/// The process dies (not the machine) after appends rolled segments that were never sealed:
/// they sit above the recovery point, unsynced. Reopening checks them, fsyncs exactly them
/// (not the active segment, whose data OS flushing does not promise), then moves the
/// recovery point past them: a power cut after that reopen keeps every batch they hold.
#[test]
fn segments_checked_at_open_are_fsynced_before_they_are_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let io = Arc::new(SimIo::new());
    let cfg = config(FlushPolicy::Os);
    let log = open_on(dir.path(), cfg.clone(), &io);
    let mut written = Vec::new();
    for i in 0..16 {
        let mut b = batch(3, 300, i);
        append_assigned(&log, &mut b).unwrap();
        written.push(b);
    }
    let bases = log.segment_base_offsets();
    assert!(bases.len() > 2, "the appends rolled: {bases:?}");
    drop(log); // the process dies before `seal_rolled`: nothing was fsynced

    let before = io.events().len();
    let log = open_on(dir.path(), cfg.clone(), &io);
    let sealed = &bases[..bases.len() - 1];
    let expected: Vec<_> = sealed
        .iter()
        .map(|b| dir.path().join(format!("{b:020}.log")))
        .collect();
    assert_eq!(synced(&io.events()[before..], "log"), expected);
    drop(log);

    io.power_loss(dir.path(), Loss::Unsynced).unwrap();
    let active = *bases.last().unwrap();
    let kept = written
        .iter()
        .take_while(|b| headers(b, 0).next().unwrap().1.last_offset() < active)
        .count();
    let got = recovered(dir.path(), cfg);
    assert!(
        got.len() >= kept,
        "{} of the {kept} checked batches",
        got.len()
    );
    assert_eq!(&got[..kept], &written[..kept]);
}

/// An aborted transaction's index entry is fsynced before it is acknowledged when the log
/// fsyncs every append, and left to the OS otherwise.
#[test]
fn the_aborted_txn_index_follows_the_flush_policy() {
    for (flush, syncs) in [(FlushPolicy::EveryAppend, 1), (FlushPolicy::Os, 0)] {
        let dir = tempfile::tempdir().unwrap();
        let io = Arc::new(SimIo::new());
        let log = open_on(dir.path(), config(flush), &io);
        log.append(&batch(2, 10, 0)).unwrap();
        let before = io.events().len();
        log.append_aborted_txn(wren_storage::AbortedTxn {
            producer_id: 1,
            first_offset: 0,
            last_offset: 1,
            last_stable_offset: 0,
        })
        .unwrap();
        let txn_index = synced(&io.events()[before..], "txnindex");
        assert_eq!(txn_index.len(), syncs, "{flush:?}");
    }
}

/// A log on `io` holding offsets 0-1 of producer 1's aborted transaction and, at 2, where its
/// abort marker sits, with the abort in the active segment's `.txnindex`.
fn log_with_an_abort(dir: &Path, io: &Arc<SimIo>) -> (PartitionLog, wren_storage::AbortedTxn) {
    let log = open_on(dir, config(FlushPolicy::Os), io);
    log.append(&batch(2, 10, 0)).unwrap();
    log.append(&batch(1, 10, 0)).unwrap();
    let aborted = wren_storage::AbortedTxn {
        producer_id: 1,
        first_offset: 0,
        last_offset: 2,
        last_stable_offset: 0,
    };
    log.append_aborted_txn(aborted).unwrap();
    (log, aborted)
}

/// Sealing fsyncs a segment's aborted-transaction index with its data: a sealed segment is
/// trusted after a power cut without a scan, and an abort lost from its index would hand the
/// aborted records to read_committed consumers.
#[test]
fn a_sealed_segments_aborted_txn_index_survives_a_power_cut() {
    let dir = tempfile::tempdir().unwrap();
    let io = Arc::new(SimIo::new());
    let (log, aborted) = log_with_an_abort(dir.path(), &io);
    log.roll().unwrap(); // seals the segment
    drop(log);
    io.power_loss(dir.path(), Loss::Unsynced).unwrap();
    let log = PartitionLog::open(dir.path(), config(FlushPolicy::Os)).unwrap();
    assert_eq!(log.aborted_txns(0, 3), vec![aborted]);
}

#[test]
fn a_seal_that_cannot_open_the_aborted_txn_index_takes_the_log_offline() {
    let dir = tempfile::tempdir().unwrap();
    let io = Arc::new(SimIo::new());
    let (log, _) = log_with_an_abort(dir.path(), &io);
    // Only a missing index needs no fsync; one that exists but cannot be opened is an I/O
    // error, which takes the log offline as a failed fsync does.
    io.fail_opens(Some("txnindex"));
    let e = log.roll().unwrap_err();
    assert!(e.to_string().contains(".txnindex"), "{e}");
    io.fail_opens(None);
    assert!(
        log.append(&batch(1, 10, 0)).is_err(),
        "offline: nothing more is acknowledged"
    );
}
