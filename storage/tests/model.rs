//! Property test: random appends, reads, rolls and reopens against an in-memory model.

mod common;

use common::*;
use proptest::prelude::*;
use wren_storage::testing::BatchBuilder;
use wren_storage::{LogConfig, PartitionLog};

#[derive(Debug, Clone)]
enum Op {
    /// Append these batches (record count, payload length) in one call.
    Append(Vec<(i32, usize)>),
    /// Read from the model batch at this index (mod len), offset within it, with max bytes.
    Read {
        batch: usize,
        within: i32,
        max_bytes: usize,
        min_one: bool,
        upper_gap: i64,
    },
    Roll,
    /// Close (or just drop) and reopen.
    Reopen {
        clean: bool,
    },
    Lookup {
        ts: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => prop::collection::vec((1..6i32, 0..400usize), 1..4).prop_map(Op::Append),
        4 => (any::<usize>(), 0..6i32, 0..2000usize, any::<bool>(), 0..20i64)
            .prop_map(|(batch, within, max_bytes, min_one, upper_gap)| Op::Read { batch, within, max_bytes, min_one, upper_gap }),
        1 => Just(Op::Roll),
        1 => any::<bool>().prop_map(|clean| Op::Reopen { clean }),
        1 => (0..200i64).prop_map(|ts| Op::Lookup { ts }),
    ]
}

struct Model {
    /// (base offset, bytes with the base offset written, max timestamp)
    batches: Vec<(i64, Vec<u8>, i64)>,
    end: i64,
}

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 1500,
        index_interval_bytes: 300,
        ..LogConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn log_matches_model(ops in prop::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Some(PartitionLog::open(dir.path(), config()).unwrap());
        let mut model = Model { batches: Vec::new(), end: 0 };
        let mut ts = 0i64;
        for op in ops {
            let l = log.as_ref().unwrap();
            match op {
                Op::Append(specs) => {
                    let mut buf = Vec::new();
                    let mut parts = Vec::new();
                    for (records, payload) in specs {
                        ts += 3;
                        let b = BatchBuilder::new(records).timestamps(ts, ts + i64::from(records) % 4).payload(payload).seed(ts as u8).build();
                        parts.push((records, b.len(), ts + i64::from(records) % 4));
                        buf.extend(b);
                    }
                    let info = append_assigned(l, &mut buf).unwrap();
                    prop_assert_eq!(info.base_offset, model.end);
                    let mut pos = 0;
                    for (records, len, max_ts) in parts {
                        model.batches.push((model.end, buf[pos..pos + len].to_vec(), max_ts));
                        model.end += i64::from(records);
                        pos += len;
                    }
                    prop_assert_eq!(info.last_offset, model.end - 1);
                }
                Op::Read { batch, within, max_bytes, min_one, upper_gap } => {
                    if model.batches.is_empty() { continue; }
                    let i = batch % model.batches.len();
                    let first = model.batches[i].0;
                    let last = model.batches.get(i + 1).map_or(model.end, |b| b.0) - 1;
                    let from = (first + i64::from(within)).min(last);
                    let upper = from + upper_gap;
                    let r = l.read(from, max_bytes, upper, min_one).unwrap();
                    prop_assert_eq!(r.high_watermark, model.end);
                    let got = split(&r.data);
                    // Exactly the model's batches from i that a read may answer: below `upper`,
                    // within max_bytes (the first one regardless when min_one), and in the
                    // segment that holds `from` (a read never crosses a segment).
                    let bases = l.segment_base_offsets();
                    let segment_end = bases.iter().copied().find(|&b| b > first).unwrap_or(i64::MAX);
                    let mut want = Vec::new();
                    let mut size = 0;
                    for (k, (base, bytes, _)) in model.batches[i..].iter().enumerate() {
                        let fits = size + bytes.len() <= max_bytes || (k == 0 && min_one);
                        if *base >= upper || *base >= segment_end || !fits {
                            break;
                        }
                        size += bytes.len();
                        want.push((*base, bytes.clone()));
                    }
                    let got: Vec<(i64, Vec<u8>)> = got.into_iter().map(|(h, b)| (h.base_offset, b)).collect();
                    prop_assert_eq!(got, want);
                }
                Op::Roll => l.roll().unwrap(),
                Op::Reopen { clean } => {
                    let l = log.take().unwrap();
                    if clean { l.close().unwrap() } else { drop(l) }
                    log = Some(PartitionLog::open(dir.path(), config()).unwrap());
                    let l = log.as_ref().unwrap();
                    prop_assert_eq!(l.recovery_report().damage.clone(), None);
                }
                Op::Lookup { ts } => {
                    let want = model.batches.iter().find(|b| b.2 >= ts).map(|b| b.0);
                    let got = l.find_batch_by_timestamp(ts).unwrap().map(|b| split(&b)[0].0.base_offset);
                    prop_assert_eq!(got, want);
                }
            }
            let l = log.as_ref().unwrap();
            prop_assert_eq!(l.log_end_offset(), model.end);
        }
        let l = log.as_ref().unwrap();
        let all: Vec<Vec<u8>> = read_all(l).into_iter().map(|(_, b)| b).collect();
        let want: Vec<Vec<u8>> = model.batches.iter().map(|b| b.1.clone()).collect();
        prop_assert_eq!(all, want);
    }
}
