//! A Produce partition's `records` bytes through the broker's batch checks
//! (`wren_protocol::record_batch`). Never a panic; and what those checks accept, the storage
//! layer must frame the same way (it trusts validated batches), and rewriting a valid batch for
//! a LogAppendTime topic must leave it valid.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wren_protocol::record_batch::{batches, set_log_append_time, BatchView};
use wren_storage::batch::{crc_matches, frame_at, Frame};

fuzz_target!(|data: &[u8]| {
    let mut consumed = 0;
    for view in batches(data) {
        let Ok(view) = view else { break };
        consumed += view.size();
        assert!(consumed <= data.len());
        let _ = (
            view.base_offset(),
            view.last_offset(),
            view.attributes(),
            view.compression(),
            view.is_transactional(),
            view.is_control(),
            view.base_timestamp(),
            view.max_timestamp(),
            view.producer_id(),
            view.producer_epoch(),
            view.base_sequence(),
            view.record_count(),
        );
        if view.validate().is_err() {
            continue;
        }
        match frame_at(view.bytes(), 0) {
            Frame::Batch(h) => {
                assert_eq!(h.total_len(), view.size(), "storage frames a validated batch alike");
                assert_eq!(h.base_offset, view.base_offset());
                assert_eq!(h.last_offset(), view.last_offset());
            }
            other => panic!("storage rejects a validated batch: {other:?}"),
        }
        assert!(crc_matches(view.bytes()));
        let mut rewritten = view.bytes().to_vec();
        set_log_append_time(&mut rewritten, 1_700_000_000_000);
        let again = BatchView::parse(&rewritten).expect("same framing after the rewrite");
        again.validate().expect("a LogAppendTime rewrite keeps the batch valid");
        assert_eq!(again.max_timestamp(), 1_700_000_000_000);
    }
});
