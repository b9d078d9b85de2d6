//! One background thread that faults in active-segment pages ahead of their writers
//! (`MADV_POPULATE_WRITE`), so appends copy into existing page-cache pages and the cost of
//! creating them runs beside the request path instead of inside it. Best effort: requests are
//! dropped when the queue is full, and the first failure (a kernel without the advice) turns
//! the thread off; appends then fault pages in themselves, as before.
#![forbid(unsafe_code)]

use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};

use crate::mmap::WritableMap;

/// How far ahead of the writer pages are kept faulted in.
pub(crate) const AHEAD_BYTES: usize = 8 << 20;
/// The smallest range worth a request.
pub(crate) const CHUNK_BYTES: usize = 2 << 20;
/// Requests waiting for the thread, across all logs.
const QUEUED_MAX: usize = 256;

type Request = (Arc<WritableMap>, usize, usize);

fn queue() -> Option<&'static SyncSender<Request>> {
    static QUEUE: OnceLock<Option<SyncSender<Request>>> = OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (tx, rx) = sync_channel::<Request>(QUEUED_MAX);
            std::thread::Builder::new()
                .name("wren-prefault".into())
                .spawn(move || {
                    for (map, offset, len) in rx {
                        if let Err(e) = map.populate_write(offset, len) {
                            tracing::debug!(error = %e, "prefaulting unavailable; appends fault pages in themselves");
                            return;
                        }
                    }
                })
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

/// Asks for `[offset, offset + len)` of `map` to be faulted in. Never blocks.
pub(crate) fn request(map: Arc<WritableMap>, offset: usize, len: usize) {
    if let Some(q) = queue() {
        match q.try_send((map, offset, len)) {
            Ok(()) | Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {}
        }
    }
}
