//! Encoding a response without copying record data. The encoder writes into a [`ChunkedBuf`]:
//! small fields go into a growing buffer, but a slice that lies inside one of the *owners*
//! handed in (the fetched records, zero-copy slices of a segment's mapping) is not copied: the
//! buffer so far is closed as one chunk and the owner's bytes follow as the next, sharing the
//! mapping. The connection writes the chunks with one vectored write.
//!
//! The one `unsafe` outside storage/src/mmap.rs: `BufMut` is an unsafe trait, and
//! kafka-protocol encodes only into a `BufMut`. The impl forwards every method to `BytesMut`.
#![allow(unsafe_code)]

use std::ops::Range;

use bytes::buf::UninitSlice;
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::protocol::buf::ByteBufMut;

/// Slices shorter than this are copied: a chunk of its own costs an iovec entry and a
/// refcount, which a small copy beats.
pub const ZERO_COPY_MIN_BYTES: usize = 4096;

/// An encoded response: its chunks, in order, written back to back on the socket.
#[derive(Debug, Default, Clone)]
pub struct Encoded {
    chunks: Vec<Bytes>,
}

impl Encoded {
    pub fn chunks(&self) -> &[Bytes] {
        &self.chunks
    }

    pub fn into_chunks(self) -> Vec<Bytes> {
        self.chunks
    }

    /// Bytes in all chunks.
    pub fn len(&self) -> usize {
        self.chunks.iter().map(Bytes::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole response in one buffer (tests, and callers that need it contiguous).
    pub fn to_vec(&self) -> Vec<u8> {
        self.chunks.iter().flat_map(|c| c.iter().copied()).collect()
    }
}

impl From<BytesMut> for Encoded {
    fn from(buf: BytesMut) -> Self {
        Encoded {
            chunks: vec![buf.freeze()],
        }
    }
}

/// A `BufMut` that keeps owners' bytes by reference (see the module comment).
pub struct ChunkedBuf {
    done: Vec<Bytes>,
    done_len: usize,
    current: BytesMut,
    /// Sorted by start address, for the lookup in `put_slice`.
    owners: Vec<Bytes>,
}

impl ChunkedBuf {
    /// `copied_capacity`: the bytes expected outside the owners (one allocation).
    pub fn new(copied_capacity: usize, mut owners: Vec<Bytes>) -> Self {
        owners.retain(|o| o.len() >= ZERO_COPY_MIN_BYTES);
        owners.sort_by_key(|o| o.as_ptr() as usize);
        ChunkedBuf {
            done: Vec::new(),
            done_len: 0,
            current: BytesMut::with_capacity(copied_capacity),
            owners,
        }
    }

    pub fn finish(mut self) -> Encoded {
        if !self.current.is_empty() || self.done.is_empty() {
            self.done.push(self.current.freeze());
        }
        Encoded { chunks: self.done }
    }

    /// The owner whose bytes contain `src`, as a slice of it sharing its memory.
    fn shared(&self, src: &[u8]) -> Option<Bytes> {
        let start = src.as_ptr() as usize;
        let end = start + src.len();
        // The last owner starting at or before `src`.
        let i = self
            .owners
            .partition_point(|o| o.as_ptr() as usize <= start)
            .checked_sub(1)?;
        let owner = &self.owners[i];
        let owner_end = owner.as_ptr() as usize + owner.len();
        (end <= owner_end).then(|| owner.slice_ref(src))
    }
}

// SAFETY: every method forwards to the `BytesMut` being filled, which upholds the contract.
unsafe impl BufMut for ChunkedBuf {
    fn remaining_mut(&self) -> usize {
        self.current.remaining_mut()
    }

    unsafe fn advance_mut(&mut self, cnt: usize) {
        // SAFETY: the caller initialised `cnt` bytes of `chunk_mut`, which is `current`'s.
        unsafe { self.current.advance_mut(cnt) }
    }

    fn chunk_mut(&mut self) -> &mut UninitSlice {
        self.current.chunk_mut()
    }

    fn put_slice(&mut self, src: &[u8]) {
        if src.len() >= ZERO_COPY_MIN_BYTES {
            if let Some(shared) = self.shared(src) {
                if !self.current.is_empty() {
                    let head = self.current.split().freeze();
                    self.done_len += head.len();
                    self.done.push(head);
                }
                self.done_len += shared.len();
                self.done.push(shared);
                return;
            }
        }
        self.current.extend_from_slice(src);
    }
}

// Gaps (seek/range) are used only by kafka-protocol's record-batch encoder, which Wren never
// runs into a response buffer; they work within the chunk being filled.
impl ByteBufMut for ChunkedBuf {
    fn offset(&self) -> usize {
        self.done_len + self.current.len()
    }

    fn seek(&mut self, offset: usize) {
        let local = offset
            .checked_sub(self.done_len)
            .expect("seek into a closed chunk");
        self.current.resize(local, 0);
    }

    fn range(&mut self, r: Range<usize>) -> &mut [u8] {
        let start = r
            .start
            .checked_sub(self.done_len)
            .expect("range in a closed chunk");
        &mut self.current[start..r.end - self.done_len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_slices_are_shared_and_the_rest_is_copied_in_order() {
        let owner = Bytes::from(vec![7u8; 3 * ZERO_COPY_MIN_BYTES]);
        let small_owner = Bytes::from(vec![9u8; 100]);
        let mut buf = ChunkedBuf::new(64, vec![owner.clone(), small_owner.clone()]);
        buf.put_i32(1);
        let part = owner.slice(10..10 + ZERO_COPY_MIN_BYTES);
        buf.put_slice(&part); // inside the owner: shared
        buf.put_slice(&small_owner); // owner too small: copied
        buf.put_slice(&vec![5u8; ZERO_COPY_MIN_BYTES]); // not an owner's: copied
        buf.put_slice(&owner); // the whole owner, right after another chunk
        let encoded = buf.finish();
        let chunks = encoded.chunks();
        assert_eq!(chunks.len(), 4);
        assert_eq!(chunks[1].as_ptr(), part.as_ptr(), "shared, not copied");
        assert_eq!(chunks[3].as_ptr(), owner.as_ptr());
        assert_eq!(chunks[2].len(), 100 + ZERO_COPY_MIN_BYTES);
        let mut expected = 1i32.to_be_bytes().to_vec();
        expected.extend_from_slice(&part);
        expected.extend_from_slice(&small_owner);
        expected.extend_from_slice(&[5u8; ZERO_COPY_MIN_BYTES]);
        expected.extend_from_slice(&owner);
        assert_eq!(encoded.to_vec(), expected);
        assert_eq!(encoded.len(), expected.len());
    }

    #[test]
    fn a_slice_running_past_its_owner_is_copied() {
        let backing = Bytes::from(vec![1u8; 4 * ZERO_COPY_MIN_BYTES]);
        let owner = backing.slice(0..2 * ZERO_COPY_MIN_BYTES);
        let mut buf = ChunkedBuf::new(0, vec![owner]);
        buf.put_slice(&backing[ZERO_COPY_MIN_BYTES..3 * ZERO_COPY_MIN_BYTES]);
        let encoded = buf.finish();
        assert_eq!(encoded.chunks().len(), 1);
        assert_eq!(encoded.len(), 2 * ZERO_COPY_MIN_BYTES);
    }
}
