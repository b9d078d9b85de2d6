//! The coordinator's durable state: one JSON line per transition in
//! `<data dir>/__wren_meta/transactions.log`, fsynced before the coordinator answers. On open the
//! last line per transactional id wins; a torn last line (crash mid-write) is ignored. When the
//! file holds many more lines than live ids it is compacted: rewritten with one line per id to
//! a temporary file, fsynced, and renamed over the old one.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use crate::error::BrokerError;
use crate::topics::write_atomically;
use crate::txn::state::TxnMetadata;

/// Compact once the file holds this many lines beyond twice the live ids.
const LINES_BEFORE_COMPACTION: usize = 10_000;

pub struct TxnStore {
    path: PathBuf,
    file: File,
    lines: usize,
}

impl TxnStore {
    /// Opens (creating) the store and returns the latest state of every transactional id.
    pub fn open(meta_dir: &Path) -> Result<(TxnStore, HashMap<String, TxnMetadata>), BrokerError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| BrokerError::DataDir { path, source }
        };
        std::fs::create_dir_all(meta_dir).map_err(io(meta_dir))?;
        let path = meta_dir.join("transactions.log");
        let mut states = HashMap::new();
        let mut lines = 0;
        if let Ok(file) = File::open(&path) {
            for line in BufReader::new(file).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<TxnMetadata>(&line) {
                    Ok(m) => {
                        lines += 1;
                        states.insert(m.transactional_id.clone(), m);
                    }
                    // Only a torn final write can be unreadable: stop there.
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "ignoring a torn transaction state record");
                        break;
                    }
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        let mut store = TxnStore { path, file, lines };
        // Rewrite on open too: drops a torn tail so later appends start on a clean line.
        store.compact(&states)?;
        Ok((store, states))
    }

    /// Durably records one transactional id's new state.
    pub fn persist(
        &mut self,
        m: &TxnMetadata,
        all: &HashMap<String, TxnMetadata>,
    ) -> Result<(), BrokerError> {
        let mut line = serde_json::to_vec(m).expect("transaction metadata serialises");
        line.push(b'\n');
        let path = self.path.clone();
        let io = move |source| BrokerError::DataDir { path, source };
        self.file.write_all(&line).map_err(io.clone())?;
        self.file.sync_data().map_err(io)?;
        self.lines += 1;
        if self.lines > LINES_BEFORE_COMPACTION + 2 * all.len() {
            self.compact(all)?;
        }
        Ok(())
    }

    fn compact(&mut self, all: &HashMap<String, TxnMetadata>) -> Result<(), BrokerError> {
        let mut text = Vec::new();
        for m in all.values() {
            text.extend(serde_json::to_vec(m).expect("transaction metadata serialises"));
            text.push(b'\n');
        }
        let path = self.path.clone();
        write_atomically(&self.path, &text).map_err(|source| BrokerError::DataDir {
            path: path.clone(),
            source,
        })?;
        self.file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|source| BrokerError::DataDir { path, source })?;
        self.lines = all.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::state::TxnState;

    #[test]
    fn last_state_per_id_wins_and_a_torn_tail_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, states) = TxnStore::open(dir.path()).unwrap();
        assert!(states.is_empty());
        let mut all = HashMap::new();
        let mut m = TxnMetadata::new("a".into(), 1, 60_000, 0);
        all.insert("a".into(), m.clone());
        store.persist(&m, &all).unwrap();
        m.state = TxnState::Ongoing;
        m.partitions.insert(("t".into(), 0));
        all.insert("a".into(), m.clone());
        store.persist(&m, &all).unwrap();
        drop(store);
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join("transactions.log"))
            .unwrap();
        f.write_all(b"{\"transactional_id\":\"a\",\"produ").unwrap();
        drop(f);
        let (_, states) = TxnStore::open(dir.path()).unwrap();
        assert_eq!(states.get("a"), Some(&m));
    }
}
