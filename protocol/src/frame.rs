//! Length-prefixed frames: a big-endian `i32` size, then that many bytes.
//!
//! [`FrameReader`] keeps one buffer per connection and hands out each frame as a zero-copy
//! `Bytes` split off it. Once a request is handled and dropped, the buffer reclaims the same
//! allocation: no per-request allocation, and no page faults zero-filling fresh memory (which
//! dominated the produce path when every frame got a new zeroed buffer).
//!
//! Memory a connection holds:
//! - The buffer grows as a frame's bytes arrive, at most doubling per step; a header declaring
//!   100 MiB reserves nothing until the bytes come.
//! - Reads go at most [`READ_AHEAD_BYTES`] past the frame being read (pipelined requests).
//! - After a frame that made the buffer larger than [`BUFFER_RETAINED_BYTES_MAX`], the buffer
//!   goes back to [`INITIAL_BUFFER_BYTES`]: an idle connection holds little.
//! - With a [`RequestBytesPool`] (`queued.max.request.bytes`), a frame's declared size is taken
//!   from the broker-wide pool when its header arrives and given back when the [`Frame`] (the
//!   request) is dropped; while the pool is empty, connections stop reading.

use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::WireError;

/// Kafka's `socket.request.max.bytes` default: 100 MiB.
pub const DEFAULT_FRAME_BYTES_MAX: usize = 100 * 1024 * 1024;
/// What a connection's buffer starts with, and goes back to after a large frame.
pub const INITIAL_BUFFER_BYTES: usize = 64 * 1024;
/// The largest buffer a connection keeps between frames. Frames up to about this size (twice a
/// producer's default `max.request.size` of 1 MiB, with room for read-ahead) reuse one
/// allocation; a larger frame gets its own, freed once its request is handled.
pub const BUFFER_RETAINED_BYTES_MAX: usize = 2 * 1024 * 1024;
/// How far a read may run past the end of the frame being read.
pub const READ_AHEAD_BYTES: usize = 64 * 1024;
/// Below this much free space (and more bytes to come), the buffer grows before the next read.
const READ_BYTES_MIN: usize = 8 * 1024;

/// The broker-wide budget of request bytes being read or waiting to be handled (Kafka's
/// `queued.max.request.bytes`): a semaphore whose permits are bytes. Cloning shares the budget.
#[derive(Clone, Debug)]
pub struct RequestBytesPool {
    permits: Arc<Semaphore>,
    capacity: usize,
}

impl RequestBytesPool {
    pub fn new(capacity_bytes: usize) -> Self {
        let capacity = capacity_bytes.min(Semaphore::MAX_PERMITS);
        RequestBytesPool {
            permits: Arc::new(Semaphore::new(capacity)),
            capacity,
        }
    }

    pub fn capacity_bytes(&self) -> usize {
        self.capacity
    }

    /// Bytes not taken by a frame being read or a request being handled.
    pub fn available_bytes(&self) -> usize {
        self.permits.available_permits()
    }

    /// Takes `frame_bytes` from the pool, waiting (in arrival order) until they are free. A frame
    /// larger than the whole pool takes the whole pool, so it waits for the others but never
    /// for ever.
    async fn take(&self, frame_bytes: usize) -> OwnedSemaphorePermit {
        let bytes = frame_bytes.min(self.capacity).min(u32::MAX as usize) as u32;
        self.permits
            .clone()
            .acquire_many_owned(bytes)
            .await
            .expect("the request pool's semaphore is never closed")
    }
}

/// One frame body and its share of the [`RequestBytesPool`], given back when this is dropped.
#[derive(Debug)]
pub struct Frame {
    body: Bytes,
    pooled: Option<OwnedSemaphorePermit>,
}

/// A frame's share of the request pool; dropping it gives the bytes back.
#[derive(Debug)]
pub struct PooledBytes {
    _permit: Option<OwnedSemaphorePermit>,
}

impl std::ops::Deref for Frame {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.body
    }
}

impl Frame {
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body to decode, and the pool share to hold until the request has been handled.
    pub fn into_parts(self) -> (Bytes, PooledBytes) {
        (
            self.body,
            PooledBytes {
                _permit: self.pooled,
            },
        )
    }
}

pub struct FrameReader<R> {
    reader: R,
    buffer: BytesMut,
    /// Size of the allocation `buffer` lives in (frames split off earlier may share it).
    buffer_allocation_bytes: usize,
    frame_bytes_max: usize,
    pool: Option<RequestBytesPool>,
    /// The pool share of the frame being read, kept across a cancelled `next_frame`.
    pooled: Option<OwnedSemaphorePermit>,
    /// Allocations that frames were split from, reused once those frames are gone: a reader
    /// running ahead of the handler would otherwise take fresh memory (and a page fault per
    /// 4 KiB of it) for every frame. At most `spares_max`, each at most
    /// [`BUFFER_RETAINED_BYTES_MAX`].
    spares: Vec<BytesMut>,
    spares_max: usize,
    /// Fresh allocations made so far (tests).
    allocations: usize,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(reader: R, frame_bytes_max: usize) -> Self {
        let buffer = BytesMut::with_capacity(INITIAL_BUFFER_BYTES);
        FrameReader {
            reader,
            buffer_allocation_bytes: buffer.capacity(),
            buffer,
            frame_bytes_max,
            pool: None,
            pooled: None,
            spares: Vec::new(),
            spares_max: 0,
            allocations: 1,
        }
    }

    /// Keeps up to `n` earlier allocations for reuse (see `spares`): a caller that holds `n`
    /// frames while reading the next one then reads without fresh memory.
    pub fn with_spare_buffers(mut self, n: usize) -> Self {
        self.spares_max = n;
        self
    }

    /// Fresh buffer allocations made so far.
    pub fn allocations(&self) -> usize {
        self.allocations
    }

    /// Takes each frame's bytes from `pool` before reading its body.
    pub fn with_pool(mut self, pool: Option<RequestBytesPool>) -> Self {
        self.pool = pool;
        self
    }

    /// Bytes of buffer this reader holds (the allocation its unread bytes live in).
    pub fn buffer_bytes_held(&self) -> usize {
        self.buffer_allocation_bytes
    }

    /// Makes sure the next read has room: reads go into the space the buffer has while it has a
    /// useful amount, and only then does it grow, by at most its current size.
    fn make_room(&mut self, missing: usize) {
        let spare = self.buffer.capacity() - self.buffer.len();
        if spare >= missing.min(READ_BYTES_MIN) {
            return;
        }
        let step = missing.min(self.buffer_allocation_bytes.max(INITIAL_BUFFER_BYTES));
        if self.buffer.try_reclaim(step) {
            return; // the frames split off earlier are gone: the same allocation again
        }
        // Frames split off earlier still use the allocation, or it is too small: a spare one
        // whose frames are all gone, else a new one.
        let need = (self.buffer.len() + step).max(INITIAL_BUFFER_BYTES);
        let mut grown = match self.spares.iter_mut().position(|b| b.try_reclaim(need)) {
            Some(i) => self.spares.swap_remove(i),
            None => {
                self.allocations += 1;
                BytesMut::with_capacity(need)
            }
        };
        grown.extend_from_slice(&self.buffer);
        let old = std::mem::replace(&mut self.buffer, grown);
        if self.spares.len() < self.spares_max
            && self.buffer_allocation_bytes <= BUFFER_RETAINED_BYTES_MAX
        {
            let mut old = old;
            old.clear();
            self.spares.push(old);
        }
        self.buffer_allocation_bytes = self.buffer.capacity();
    }

    /// Reads until the buffer holds `n` bytes. `Ok(false)`: clean EOF with nothing buffered.
    async fn fill(&mut self, n: usize) -> Result<bool, WireError> {
        while self.buffer.len() < n {
            let missing = n - self.buffer.len();
            self.make_room(missing);
            let limit = missing.max(READ_AHEAD_BYTES) as u64;
            if (&mut self.reader)
                .take(limit)
                .read_buf(&mut self.buffer)
                .await?
                == 0
            {
                if self.buffer.is_empty() {
                    return Ok(false);
                }
                return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
            }
        }
        Ok(true)
    }

    /// After a frame that grew the buffer past what a connection keeps, a small buffer again.
    fn shrink_after_large_frame(&mut self) {
        if self.buffer_allocation_bytes <= BUFFER_RETAINED_BYTES_MAX {
            return;
        }
        let mut small = BytesMut::with_capacity(INITIAL_BUFFER_BYTES.max(self.buffer.len()));
        small.extend_from_slice(&self.buffer);
        self.buffer = small;
        self.buffer_allocation_bytes = self.buffer.capacity();
    }

    /// The next frame. `Ok(None)` means the peer closed the connection between frames.
    /// The size is checked against the limit before any room is made for the body; the body's
    /// room then grows as its bytes arrive. Cancel-safe: a dropped call resumes where it was.
    pub async fn next_frame(&mut self) -> Result<Option<Frame>, WireError> {
        if !self.fill(4).await? {
            return Ok(None);
        }
        let size = i32::from_be_bytes(self.buffer[..4].try_into().expect("4 bytes"));
        if size < 0 {
            return Err(WireError::NegativeFrameLength { size });
        }
        let size = size as usize;
        if size > self.frame_bytes_max {
            return Err(WireError::FrameTooLarge {
                size,
                limit: self.frame_bytes_max,
            });
        }
        if self.pooled.is_none() {
            if let Some(pool) = &self.pool {
                let taken = pool.take(size).await;
                self.pooled = Some(taken);
            }
        }
        self.fill(4 + size).await?;
        self.buffer.advance(4);
        let body = self.buffer.split_to(size).freeze();
        self.shrink_after_large_frame();
        Ok(Some(Frame {
            body,
            pooled: self.pooled.take(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_frames_and_then_clean_eof() {
        let input: &[u8] = &[0, 0, 0, 3, b'a', b'b', b'c', 0, 0, 0, 1, b'd'];
        let mut r = FrameReader::new(input, 10);
        assert_eq!(&r.next_frame().await.unwrap().unwrap()[..], b"abc");
        assert_eq!(&r.next_frame().await.unwrap().unwrap()[..], b"d");
        assert!(r.next_frame().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn oversized_frame_is_rejected_before_allocation() {
        let input: &[u8] = &[0x7f, 0xff, 0xff, 0xff];
        let err = FrameReader::new(input, DEFAULT_FRAME_BYTES_MAX)
            .next_frame()
            .await
            .unwrap_err();
        assert!(matches!(err, WireError::FrameTooLarge { .. }), "{err}");
    }

    #[tokio::test]
    async fn negative_length_is_rejected() {
        let input: &[u8] = &[0xff, 0xff, 0xff, 0xfe];
        let err = FrameReader::new(input, 10).next_frame().await.unwrap_err();
        assert!(matches!(err, WireError::NegativeFrameLength { size: -2 }));
    }

    #[tokio::test]
    async fn truncated_body_or_prefix_is_an_io_error() {
        let input: &[u8] = &[0, 0, 0, 5, 1, 2];
        assert!(matches!(
            FrameReader::new(input, 10).next_frame().await,
            Err(WireError::Io(_))
        ));
        let input: &[u8] = &[0, 0];
        assert!(matches!(
            FrameReader::new(input, 10).next_frame().await,
            Err(WireError::Io(_))
        ));
    }

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut f = (body.len() as i32).to_be_bytes().to_vec();
        f.extend_from_slice(body);
        f
    }

    #[tokio::test]
    async fn a_frame_at_the_limit_is_read_and_one_byte_over_is_refused() {
        let at_limit = frame(&[1u8; 1000]);
        let mut r = FrameReader::new(&at_limit[..], 1000);
        assert_eq!(r.next_frame().await.unwrap().unwrap().len(), 1000);
        let over = frame(&[1u8; 1001]);
        let err = FrameReader::new(&over[..], 1000)
            .next_frame()
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                WireError::FrameTooLarge {
                    size: 1001,
                    limit: 1000
                }
            ),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_huge_declared_frame_reserves_nothing_before_its_bytes_arrive() {
        // 100 MiB declared, 1000 bytes sent, then the peer stops.
        let mut input = (DEFAULT_FRAME_BYTES_MAX as i32).to_be_bytes().to_vec();
        input.extend_from_slice(&[7u8; 1000]);
        let mut r = FrameReader::new(&input[..], DEFAULT_FRAME_BYTES_MAX);
        assert!(matches!(r.next_frame().await, Err(WireError::Io(_))));
        assert_eq!(r.buffer_bytes_held(), INITIAL_BUFFER_BYTES);
    }

    #[tokio::test]
    async fn the_buffer_grows_with_the_bytes_that_arrive() {
        // 100 MiB declared, 3 MiB sent: the buffer holds the 3 MiB and at most as much again.
        let sent = 3 * 1024 * 1024;
        let mut input = (DEFAULT_FRAME_BYTES_MAX as i32).to_be_bytes().to_vec();
        input.extend(std::iter::repeat_n(7u8, sent));
        let mut r = FrameReader::new(&input[..], DEFAULT_FRAME_BYTES_MAX);
        assert!(matches!(r.next_frame().await, Err(WireError::Io(_))));
        let held = r.buffer_bytes_held();
        assert!(
            held >= sent && held <= 2 * sent,
            "holds {held} for {sent} bytes"
        );
    }

    #[tokio::test]
    async fn the_buffer_shrinks_back_after_a_large_frame() {
        let large = 8 * 1024 * 1024;
        let mut input = frame(&vec![3u8; large]);
        input.extend(frame(b"next"));
        let mut r = FrameReader::new(&input[..], DEFAULT_FRAME_BYTES_MAX);
        let first = r.next_frame().await.unwrap().unwrap();
        assert_eq!(first.len(), large);
        assert!(first.iter().all(|&b| b == 3));
        assert_eq!(
            r.buffer_bytes_held(),
            INITIAL_BUFFER_BYTES,
            "the connection keeps a small buffer once the large frame is handed out"
        );
        assert_eq!(&r.next_frame().await.unwrap().unwrap()[..], b"next");
        assert!(r.next_frame().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn frames_up_to_the_retained_size_keep_their_buffer() {
        let medium = BUFFER_RETAINED_BYTES_MAX / 2;
        let mut input = Vec::new();
        for _ in 0..3 {
            input.extend(frame(&vec![5u8; medium]));
        }
        let mut r = FrameReader::new(&input[..], DEFAULT_FRAME_BYTES_MAX);
        drop(r.next_frame().await.unwrap().unwrap());
        let held = r.buffer_bytes_held();
        assert!(held > medium && held <= BUFFER_RETAINED_BYTES_MAX, "{held}");
        drop(r.next_frame().await.unwrap().unwrap());
        assert_eq!(
            r.buffer_bytes_held(),
            held,
            "the same allocation serves the next frame"
        );
    }

    #[tokio::test]
    async fn a_frame_holds_its_size_of_the_pool_until_dropped() {
        let pool = RequestBytesPool::new(1000);
        let first = frame(&[1u8; 600]);
        let mut a = FrameReader::new(&first[..], 1000).with_pool(Some(pool.clone()));
        let held = a.next_frame().await.unwrap().unwrap();
        assert_eq!(pool.available_bytes(), 400);

        // A second 600-byte frame waits for the pool, its bytes already on the socket.
        let second = frame(&[2u8; 600]);
        let mut b =
            FrameReader::new(std::io::Cursor::new(second), 1000).with_pool(Some(pool.clone()));
        let waiting = tokio::spawn(async move { b.next_frame().await.unwrap().unwrap() });
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(
            !waiting.is_finished(),
            "the second frame waits for the pool"
        );

        drop(held);
        let got = waiting.await.unwrap();
        assert_eq!(&got[..], &[2u8; 600][..]);
        assert_eq!(pool.available_bytes(), 400);
        drop(got);
        assert_eq!(pool.available_bytes(), 1000);
    }

    #[tokio::test]
    async fn a_frame_larger_than_the_pool_takes_all_of_it_and_does_not_wait_for_ever() {
        let pool = RequestBytesPool::new(100);
        let input = frame(&[9u8; 500]);
        let mut r = FrameReader::new(&input[..], 1000).with_pool(Some(pool.clone()));
        let f = r.next_frame().await.unwrap().unwrap();
        assert_eq!(f.len(), 500);
        assert_eq!(pool.available_bytes(), 0);
        let (_body, pooled) = f.into_parts();
        drop(pooled);
        assert_eq!(pool.available_bytes(), 100);
    }

    #[tokio::test]
    async fn the_buffer_is_reused_once_frames_are_dropped() {
        let mut input = Vec::new();
        for _ in 0..100 {
            input.extend_from_slice(&1000i32.to_be_bytes());
            input.extend(std::iter::repeat_n(7u8, 1000));
        }
        let mut r = FrameReader::new(&input[..], 2000);
        let first = r.next_frame().await.unwrap().unwrap();
        let base = first.as_ptr() as usize;
        drop(first);
        let mut within = 0;
        while let Some(f) = r.next_frame().await.unwrap() {
            let p = f.as_ptr() as usize;
            if p >= base && p < base + INITIAL_BUFFER_BYTES * 2 {
                within += 1;
            }
        }
        assert!(
            within > 90,
            "frames come out of the same allocation ({within} of 99)"
        );
    }
}

#[cfg(test)]
#[path = "frame_spares_tests.rs"]
mod spares_tests;
