//! Kafka's validation rules, one test per rule, on batches built byte by byte.

use super::*;
use crate::record_batch::set_max_timestamp;

const NOW: i64 = 1_700_000_000_000;

fn rules() -> ValidationRules {
    ValidationRules {
        compacted: false,
        log_append_time: false,
        timestamp_before_max_ms: i64::MAX,
        timestamp_after_max_ms: 3_600_000,
        now_ms: NOW,
        decompressed_max_bytes: decompressed_max_bytes(1 << 20),
    }
}

fn varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    loop {
        if z < 0x80 {
            out.push(z as u8);
            return;
        }
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
}

/// One v2 record's bytes.
fn record(
    offset_delta: i64,
    ts_delta: i64,
    key: Option<&[u8]>,
    value: &[u8],
    headers: &[(&[u8], &[u8])],
) -> Vec<u8> {
    let mut body = vec![0u8];
    varint(&mut body, ts_delta);
    varint(&mut body, offset_delta);
    match key {
        Some(k) => {
            varint(&mut body, k.len() as i64);
            body.extend_from_slice(k);
        }
        None => varint(&mut body, -1),
    }
    varint(&mut body, value.len() as i64);
    body.extend_from_slice(value);
    varint(&mut body, headers.len() as i64);
    for (k, v) in headers {
        varint(&mut body, k.len() as i64);
        body.extend_from_slice(k);
        varint(&mut body, v.len() as i64);
        body.extend_from_slice(v);
    }
    let mut out = Vec::new();
    varint(&mut out, body.len() as i64);
    out.extend(body);
    out
}

fn records(n: i64) -> Vec<u8> {
    (0..n)
        .flat_map(|i| record(i, i, Some(b"key"), &[b'v'; 100], &[(b"h", b"x")]))
        .collect()
}

/// A batch (producer 7, sequence 0) with the given records section, declared count and codec.
fn batch(section: &[u8], count: i32, codec: i16) -> Vec<u8> {
    let mut b = vec![0u8; HEADER_BYTES];
    b[16] = 2; // magic
    b[23..27].copy_from_slice(&(count - 1).to_be_bytes());
    b[27..35].copy_from_slice(&NOW.to_be_bytes());
    b[35..43].copy_from_slice(&(NOW + count as i64 - 1).to_be_bytes());
    b[43..51].copy_from_slice(&7i64.to_be_bytes());
    b[57..61].copy_from_slice(&count.to_be_bytes());
    let payload = compress(Codec::from_id(codec).unwrap_or(Codec::None), section).unwrap();
    with_records(&b, codec, &payload)
}

fn check(bytes: &[u8], rules: &ValidationRules) -> Result<Validated, Rejection> {
    validate(&BatchView::parse(bytes).unwrap(), rules)
}

fn rejected(bytes: &[u8]) -> Rejection {
    check(bytes, &rules()).unwrap_err()
}

#[test]
fn valid_batches_pass_with_every_codec() {
    for codec in 0..=4 {
        let v = check(&batch(&records(5), 5, codec), &rules()).unwrap();
        assert_eq!(v.max_timestamp, NOW + 4, "codec {codec}");
        assert_eq!(v.codec as i16, codec);
    }
}

#[test]
fn a_huge_declared_count_is_invalid_not_an_allocation() {
    let mut b = batch(&records(2), 2, 0);
    b[23..27].copy_from_slice(&(i32::MAX - 1).to_be_bytes());
    b[57..61].copy_from_slice(&i32::MAX.to_be_bytes());
    set_max_timestamp(&mut b, NOW + 1);
    let r = rejected(&b);
    assert_eq!(r.error, ResponseError::InvalidRecord);
    assert!(r.message.contains("premature EOF"), "{}", r.message);
}

#[test]
fn count_and_records_present_must_agree() {
    assert_eq!(
        rejected(&batch(&records(2), 3, 0)).error,
        ResponseError::InvalidRecord
    );
    let r = rejected(&batch(&records(3), 2, 0));
    assert_eq!(r.error, ResponseError::InvalidRecord);
    assert!(r.message.contains("still remaining"), "{}", r.message);
    assert_eq!(
        rejected(&batch(&records(2), 3, 4)).error,
        ResponseError::InvalidRecord
    );
}

#[test]
fn bad_record_lengths_are_invalid() {
    let mut negative = Vec::new();
    varint(&mut negative, -5);
    negative.extend_from_slice(&[0; 10]);
    assert_eq!(
        rejected(&batch(&negative, 1, 0)).error,
        ResponseError::InvalidRecord
    );
    let mut oversized = record(0, 0, Some(b"k"), b"v", &[]);
    oversized[0] = 0x7e; // declares 63 bytes, has 7
    assert_eq!(
        rejected(&batch(&oversized, 1, 0)).error,
        ResponseError::InvalidRecord
    );
    let mut short = record(0, 0, Some(b"k"), b"value", &[]);
    short[0] -= 2; // declares 2 bytes fewer than its fields take
    assert_eq!(
        rejected(&batch(&short, 1, 0)).error,
        ResponseError::InvalidRecord
    );
    // A key longer than the record.
    let mut body = vec![0u8, 0, 0];
    varint(&mut body, 1 << 30);
    let mut huge_key = Vec::new();
    varint(&mut huge_key, body.len() as i64);
    huge_key.extend(body);
    assert_eq!(
        rejected(&batch(&huge_key, 1, 4)).error,
        ResponseError::InvalidRecord
    );
}

#[test]
fn header_counts_are_checked_against_the_bytes() {
    let mut body = vec![0u8, 0, 0, 1, 1]; // attributes, ts, offset, null key, null value
    varint(&mut body, i32::MAX as i64);
    let mut r = Vec::new();
    varint(&mut r, body.len() as i64);
    r.extend(body);
    for codec in [0, 4] {
        assert_eq!(
            rejected(&batch(&r, 1, codec)).error,
            ResponseError::InvalidRecord
        );
    }
    let mut negative = vec![0u8, 0, 0, 1, 1, 1]; // header count -1
    negative.insert(0, 6);
    assert_eq!(
        rejected(&batch(&negative, 1, 0)).error,
        ResponseError::InvalidRecord
    );
}

#[test]
fn garbage_records_under_a_valid_crc_are_invalid() {
    let garbage: Vec<u8> = (0..300u32).map(|i| (i * 7919 % 256) as u8).collect();
    let r = rejected(&batch(&garbage, 3, 0));
    assert_eq!(r.error, ResponseError::InvalidRecord, "{}", r.message);
}

#[test]
fn unknown_codecs_and_garbage_payloads_are_corrupt() {
    for codec in 5..=7 {
        let mut b = batch(&records(1), 1, 0);
        b[22] |= codec as u8;
        set_max_timestamp(&mut b, NOW);
        assert_eq!(
            rejected(&b).error,
            ResponseError::CorruptMessage,
            "codec {codec}"
        );
    }
    let garbage = b"definitely not a compressed stream of records".repeat(4);
    for codec in 1..=4 {
        let mut b = batch(&records(1), 1, 0);
        b.truncate(HEADER_BYTES);
        let b = with_records(&b, codec, &garbage);
        assert_eq!(
            rejected(&b).error,
            ResponseError::CorruptMessage,
            "codec {codec}"
        );
    }
}

#[test]
fn decompression_bombs_stop_at_the_limit() {
    // One record whose value is 256 MiB of zeros: a few hundred KiB of zstd.
    let value_len: i64 = 256 << 20;
    let mut body = vec![0u8, 0, 0, 1];
    varint(&mut body, value_len);
    let mut section = Vec::new();
    varint(&mut section, body.len() as i64 + value_len + 1);
    section.extend(body);
    let mut payload = Vec::new();
    let mut encoder = zstd::stream::write::Encoder::new(&mut payload, 19).unwrap();
    std::io::Write::write_all(&mut encoder, &section).unwrap();
    for _ in 0..256 {
        std::io::Write::write_all(&mut encoder, &[0u8; 1 << 20]).unwrap();
    }
    std::io::Write::write_all(&mut encoder, &[0u8]).unwrap();
    encoder.finish().unwrap();
    let mut header = batch(&records(1), 1, 0);
    header.truncate(HEADER_BYTES);
    let b = with_records(&header, 4, &payload);
    let r = rejected(&b);
    assert_eq!(r.error, ResponseError::CorruptMessage, "{}", r.message);
    assert!(r.message.contains("exceed"), "{}", r.message);
}

#[test]
fn offset_deltas_must_count_from_zero() {
    let section: Vec<u8> = [record(0, 0, None, b"a", &[]), record(5, 0, None, b"b", &[])].concat();
    assert_eq!(
        rejected(&batch(&section, 2, 0)).error,
        ResponseError::InvalidRecord
    );
}

#[test]
fn header_rules_match_kafka() {
    let control = {
        let mut b = batch(&records(1), 1, 0);
        b[22] |= 0x20;
        set_max_timestamp(&mut b, NOW);
        b
    };
    assert_eq!(rejected(&control).error, ResponseError::InvalidRecord);
    let mut no_sequence = batch(&records(1), 1, 0);
    no_sequence[53..57].copy_from_slice(&(-1i32).to_be_bytes());
    set_max_timestamp(&mut no_sequence, NOW);
    assert_eq!(rejected(&no_sequence).error, ResponseError::InvalidRecord);
    assert_eq!(
        rejected(&batch(&[], 0, 0)).error,
        ResponseError::InvalidRecord
    );
    let mut flipped = batch(&records(1), 1, 0);
    *flipped.last_mut().unwrap() ^= 1;
    assert_eq!(rejected(&flipped).error, ResponseError::CorruptMessage);
}

#[test]
fn compacted_topics_list_each_keyless_record() {
    let section: Vec<u8> = [
        record(0, 0, Some(b"k"), b"a", &[]),
        record(1, 0, None, b"b", &[]),
        record(2, 0, None, b"c", &[]),
    ]
    .concat();
    let r = check(
        &batch(&section, 3, 2),
        &ValidationRules {
            compacted: true,
            ..rules()
        },
    )
    .unwrap_err();
    assert_eq!(r.error, ResponseError::InvalidRecord);
    let indexes: Vec<_> = r.record_errors.iter().map(|e| e.batch_index).collect();
    assert_eq!(indexes, [1, 2]);
}

#[test]
fn timestamps_outside_the_bounds_are_invalid_timestamps() {
    let future = 3_600_001;
    let section: Vec<u8> = [
        record(0, 0, None, b"a", &[]),
        record(1, future, None, b"b", &[]),
    ]
    .concat();
    let r = rejected(&batch(&section, 2, 0));
    assert_eq!(r.error, ResponseError::InvalidTimestamp);
    assert_eq!(r.record_errors.len(), 1);
    assert_eq!(r.record_errors[0].batch_index, 1);
    // At the edge: exactly after.max.ms ahead is accepted.
    let section: Vec<u8> = [record(0, 3_600_000, None, b"a", &[])].concat();
    check(&batch(&section, 1, 0), &rules()).unwrap();
    let strict = ValidationRules {
        timestamp_before_max_ms: 1000,
        ..rules()
    };
    let section: Vec<u8> = [record(0, -1001, None, b"a", &[])].concat();
    assert_eq!(
        check(&batch(&section, 1, 0), &strict).unwrap_err().error,
        ResponseError::InvalidTimestamp
    );
}

#[test]
fn recompression_keeps_the_records() {
    let original = batch(&records(4), 4, 2);
    let view = BatchView::parse(&original).unwrap();
    let zstd = recompress(&view, Codec::Zstd, 1 << 20).unwrap();
    let view = BatchView::parse(&zstd).unwrap();
    assert_eq!(view.compression(), 4);
    assert_eq!(check(&zstd, &rules()).unwrap().max_timestamp, NOW + 3);
}

#[test]
fn the_first_record_at_a_timestamp_is_found_in_every_codec() {
    for codec in 0..=4 {
        let b = batch(&records(5), 5, codec);
        let view = BatchView::parse(&b).unwrap();
        assert_eq!(
            first_record_at_or_after(&view, NOW + 2, 1 << 20).unwrap(),
            Some((NOW + 2, 2))
        );
        assert_eq!(
            first_record_at_or_after(&view, NOW + 9, 1 << 20).unwrap(),
            None
        );
    }
}

proptest::proptest! {
    #[test]
    fn mutated_batches_never_panic(codec in 0i16..=4, flips in proptest::collection::vec((0usize..2000, proptest::num::u8::ANY), 1..8)) {
        let mut section = records(3);
        for (at, byte) in &flips {
            let len = section.len();
            section[at % len] = *byte;
        }
        let _ = check(&batch(&section, 3, codec), &rules());
    }
}
