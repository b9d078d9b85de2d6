//! Frame buffers recycled for a reader that runs ahead of its handler.

use super::*;

/// `n` frames of `size` bytes, each body filled with its index.
fn frames(n: usize, size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        out.extend_from_slice(&(size as i32).to_be_bytes());
        out.extend(std::iter::repeat_n(i as u8, size));
    }
    out
}

#[tokio::test]
async fn a_reader_ahead_of_its_handler_reuses_spare_allocations() {
    // The handler holds the two frames before the one being read, as a connection that
    // reads ahead does; frames are larger than what one read brings.
    let input = frames(40, 300 * 1024);
    let count = |spares: usize| {
        let input = input.clone();
        async move {
            let mut r = FrameReader::new(&input[..], 1 << 20).with_spare_buffers(spares);
            let mut held = std::collections::VecDeque::new();
            let mut i = 0u8;
            while let Some(frame) = r.next_frame().await.unwrap() {
                assert!(frame.iter().all(|b| *b == i), "frame {i} intact");
                i += 1;
                held.push_back(frame);
                if held.len() > 2 {
                    held.pop_front();
                }
            }
            assert_eq!(i, 40);
            r.allocations()
        }
    };
    let without = count(0).await;
    let with = count(3).await;
    assert!(without >= 40, "a fresh allocation per frame: {without}");
    assert!(with <= 12, "spares reused: {with} allocations");
}
