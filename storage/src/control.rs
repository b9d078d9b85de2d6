//! Transaction markers: the one-record control batches a transaction coordinator writes to
//! every partition of a transaction when it commits or aborts, exactly as Kafka writes them.
//!
//! ```text
//! batch header: attributes = transactional (0x10) | control (0x20), producer id and epoch of
//!               the transaction, base sequence -1, one record
//! record key:   version int16 (0) | type int16 (0 = ABORT, 1 = COMMIT)
//! record value: version int16 (0) | coordinator epoch int32
//! ```
#![forbid(unsafe_code)]

use crate::batch::{self, HEADER_LEN, LOG_OVERHEAD, MAGIC_V2};

pub const MARKER_ABORT: i16 = 0;
pub const MARKER_COMMIT: i16 = 1;

/// How a transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnMarker {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub commit: bool,
    pub coordinator_epoch: i32,
    pub timestamp_ms: i64,
}

fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn get_varint(buf: &[u8], pos: &mut usize) -> Option<i64> {
    let mut z: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        z |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(((z >> 1) as i64) ^ -((z & 1) as i64));
        }
    }
    None
}

/// The control batch for `marker`, base offset 0 (the log assigns it), CRC set.
pub fn encode_marker(marker: &TxnMarker) -> Vec<u8> {
    let mut record = Vec::with_capacity(16);
    record.push(0); // record attributes
    put_varint(&mut record, 0); // timestamp delta
    put_varint(&mut record, 0); // offset delta
    put_varint(&mut record, 4);
    record.extend(0i16.to_be_bytes());
    record.extend(
        (if marker.commit {
            MARKER_COMMIT
        } else {
            MARKER_ABORT
        })
        .to_be_bytes(),
    );
    put_varint(&mut record, 6);
    record.extend(0i16.to_be_bytes());
    record.extend(marker.coordinator_epoch.to_be_bytes());
    put_varint(&mut record, 0); // headers
    let mut out = Vec::with_capacity(HEADER_LEN + record.len() + 2);
    out.extend(0i64.to_be_bytes()); // base offset
    out.extend(0i32.to_be_bytes()); // batch length, below
    out.extend((-1i32).to_be_bytes()); // partition leader epoch
    out.push(MAGIC_V2 as u8);
    out.extend(0u32.to_be_bytes()); // crc, below
    out.extend((batch::ATTR_TRANSACTIONAL | batch::ATTR_CONTROL).to_be_bytes());
    out.extend(0i32.to_be_bytes()); // last offset delta
    out.extend(marker.timestamp_ms.to_be_bytes());
    out.extend(marker.timestamp_ms.to_be_bytes());
    out.extend(marker.producer_id.to_be_bytes());
    out.extend(marker.producer_epoch.to_be_bytes());
    out.extend((-1i32).to_be_bytes()); // base sequence
    out.extend(1i32.to_be_bytes()); // record count
    put_varint(&mut out, record.len() as i64);
    out.extend(record);
    let batch_length = (out.len() - LOG_OVERHEAD) as i32;
    out[batch::BATCH_LENGTH..batch::BATCH_LENGTH + 4].copy_from_slice(&batch_length.to_be_bytes());
    batch::update_crc(&mut out);
    out
}

/// The marker type (ABORT/COMMIT) of a control batch, if its first record is a well-formed
/// marker. Control batches from the log are parsed without trusting their bytes.
pub fn marker_type(batch: &[u8]) -> Option<i16> {
    let mut pos = HEADER_LEN;
    let _record_len = get_varint(batch, &mut pos)?;
    pos += 1; // attributes
    get_varint(batch, &mut pos)?; // timestamp delta
    get_varint(batch, &mut pos)?; // offset delta
    if get_varint(batch, &mut pos)? < 4 {
        return None;
    }
    let key = batch.get(pos..pos + 4)?;
    Some(i16::from_be_bytes([key[2], key[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{crc_matches, frame_at, Frame};

    #[test]
    fn markers_are_valid_control_batches_that_parse_back() {
        for commit in [true, false] {
            let m = TxnMarker {
                producer_id: 9,
                producer_epoch: 3,
                commit,
                coordinator_epoch: 5,
                timestamp_ms: 77,
            };
            let b = encode_marker(&m);
            assert!(crc_matches(&b));
            let Frame::Batch(h) = frame_at(&b, 0) else {
                panic!()
            };
            assert!(h.is_control() && h.is_transactional());
            assert_eq!(
                (
                    h.producer_id,
                    h.producer_epoch,
                    h.record_count,
                    h.last_offset_delta
                ),
                (9, 3, 1, 0)
            );
            assert_eq!(
                marker_type(&b),
                Some(if commit { MARKER_COMMIT } else { MARKER_ABORT })
            );
        }
    }

    /// The record section byte for byte as Kafka writes it (`DefaultRecord` with the
    /// `ControlRecordType` key and `EndTransactionMarker` value, both version 0): what every
    /// client's parser expects, checked without this module's own varint reader.
    #[test]
    fn a_markers_record_is_kafkas_control_record_byte_for_byte() {
        for (commit, kind) in [(true, 1u8), (false, 0u8)] {
            let m = TxnMarker {
                producer_id: 9,
                producer_epoch: 3,
                commit,
                coordinator_epoch: 0x0102_0304,
                timestamp_ms: 77,
            };
            let b = encode_marker(&m);
            #[rustfmt::skip]
            let record = [
                0x20, // record length 16 (zigzag varint)
                0x00, // attributes
                0x00, // timestamp delta 0
                0x00, // offset delta 0
                0x08, 0x00, 0x00, 0x00, kind, // key: 4 bytes, version 0, type
                0x0c, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, // value: 6 bytes, version 0, epoch
                0x00, // no headers
            ];
            assert_eq!(&b[HEADER_LEN..], &record, "commit: {commit}");
            assert_eq!(b.len() - LOG_OVERHEAD, HEADER_LEN - LOG_OVERHEAD + 17);
        }
    }

    #[test]
    fn a_markers_base_sequence_is_minus_one_as_kafkas() {
        let b = encode_marker(&TxnMarker {
            producer_id: 9,
            producer_epoch: 3,
            commit: true,
            coordinator_epoch: 0,
            timestamp_ms: 77,
        });
        let Frame::Batch(h) = frame_at(&b, 0) else {
            panic!()
        };
        assert_eq!(h.base_sequence, -1);
    }

    #[test]
    fn a_control_record_with_a_key_shorter_than_four_bytes_is_no_marker() {
        let mut b = encode_marker(&TxnMarker {
            producer_id: 9,
            producer_epoch: 3,
            commit: true,
            coordinator_epoch: 0,
            timestamp_ms: 77,
        });
        // The key length varint (after record length, attributes and the two deltas).
        assert_eq!(b[HEADER_LEN + 4], 0x08);
        b[HEADER_LEN + 4] = 0x04; // 2 bytes
        assert_eq!(marker_type(&b), None);
    }

    #[test]
    fn garbage_is_not_a_marker() {
        assert_eq!(marker_type(&[0u8; 10]), None);
        assert_eq!(marker_type(&[0xffu8; 80]), None);
    }
}
