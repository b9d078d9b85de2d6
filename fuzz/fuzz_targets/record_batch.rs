//! A Produce partition's `records` bytes through the broker's batch checks: the header view
//! (`record_batch`) and Kafka's LogValidator record by record (`record_validation::validate`),
//! with the codecs as bounded streams. Never a panic, and what validation accepts must hold up:
//! - the storage layer frames it the same way (it trusts validated batches);
//! - a LogAppendTime rewrite leaves its header valid, every record stamped with the broker's time;
//! - its first record is found by timestamp search (ListOffsets) at the batch's base offset;
//! - recompressing it to another codec (a topic's `compression.type`) gives a batch that
//!   validates again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wren_protocol::compression::Codec;
use wren_protocol::record_batch::{batches, set_log_append_time, BatchView};
use wren_protocol::record_validation::{
    first_record_at_or_after, recompress, validate, ValidationRules,
};
use wren_storage::batch::{crc_matches, frame_at, Frame};

/// Smaller than a real topic's bound (64 MiB) so decompression bombs cost little time here;
/// the code path is the same.
const DECOMPRESSED_MAX_BYTES: u64 = 4 << 20;
const NOW_MS: i64 = 1_700_000_000_000;

fn rules(compacted: bool, log_append_time: bool) -> ValidationRules {
    ValidationRules {
        compacted,
        log_append_time,
        timestamp_before_max_ms: if compacted { 3_600_000 } else { i64::MAX },
        timestamp_after_max_ms: if compacted { 3_600_000 } else { i64::MAX },
        now_ms: NOW_MS,
        decompressed_max_bytes: DECOMPRESSED_MAX_BYTES,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut consumed = 0;
    for view in batches(data) {
        let Ok(view) = view else { break };
        consumed += view.size();
        assert!(consumed <= data.len());
        // Not last_offset(): base offset + delta overflows in debug builds on a client's garbage
        // base offset (reported; the broker assigns base offsets before anything reads them).
        let _ = (
            view.base_offset(),
            view.last_offset_delta(),
            view.attributes(),
            view.is_transactional(),
            view.is_control(),
            view.base_timestamp(),
            view.producer_id(),
            view.producer_epoch(),
            view.base_sequence(),
        );
        let header_ok = view.validate().is_ok();
        let _ = validate(&view, &rules(true, false));
        let _ = validate(&view, &rules(false, true));
        let _ = first_record_at_or_after(&view, NOW_MS, DECOMPRESSED_MAX_BYTES);
        let Ok(validated) = validate(&view, &rules(false, false)) else {
            continue;
        };
        assert!(
            header_ok,
            "LogValidator accepts what the header check refuses"
        );
        check_accepted(&view, validated.codec);
    }
});

fn check_accepted(view: &BatchView, codec: Codec) {
    match frame_at(view.bytes(), 0) {
        Frame::Batch(h) => {
            assert_eq!(
                h.total_len(),
                view.size(),
                "storage frames a validated batch alike"
            );
            assert_eq!(h.base_offset, view.base_offset());
            assert_eq!(h.last_offset_delta, view.last_offset_delta());
        }
        other => panic!("storage rejects a validated batch: {other:?}"),
    }
    assert!(crc_matches(view.bytes()));

    let mut rewritten = view.bytes().to_vec();
    set_log_append_time(&mut rewritten, NOW_MS);
    let again = BatchView::parse(&rewritten).expect("same framing after the rewrite");
    // The rewritten batch is a stored one (a producer may not send the LogAppendTime bit): its
    // header and CRC hold, and timestamp search reads the broker's time for every record.
    again
        .validate()
        .expect("a LogAppendTime rewrite keeps the CRC and header valid");
    assert_eq!(again.max_timestamp(), NOW_MS);
    let stamped = first_record_at_or_after(&again, NOW_MS, DECOMPRESSED_MAX_BYTES)
        .expect("a rewritten batch's records read back");
    assert_eq!(stamped, Some((NOW_MS, view.base_offset())));

    let first = first_record_at_or_after(view, i64::MIN, DECOMPRESSED_MAX_BYTES)
        .expect("a validated batch's records read back");
    assert_eq!(
        first.map(|(_, offset)| offset),
        Some(view.base_offset()),
        "the first record is at the base offset"
    );

    // To the next codec round the ring, so every pair is exercised over a run.
    let target = Codec::from_id((codec as i16 + 1) % 5).expect("codec 0-4");
    let recompressed = recompress(view, target, DECOMPRESSED_MAX_BYTES)
        .unwrap_or_else(|e| panic!("recompressing a validated batch to {target:?}: {e:?}"));
    let view2 = BatchView::parse(&recompressed).expect("a recompressed batch frames");
    assert_eq!(view2.size(), recompressed.len());
    assert_eq!(view2.record_count(), view.record_count());
    validate(&view2, &rules(false, false))
        .unwrap_or_else(|e| panic!("a batch recompressed to {target:?} fails validation: {e:?}"));
}
