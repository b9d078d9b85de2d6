//! The records of the group log (`<data dir>/__wren_meta/__consumer_offsets-0`): Kafka's own
//! `__consumer_offsets` key/value schemas for committed offsets and group metadata, plus two
//! Wren-only key versions for transactional offsets staged until their transaction ends.
//!
//! | key version | key fields                              | value                         |
//! |-------------|-----------------------------------------|-------------------------------|
//! | 1           | group, topic, partition (OffsetCommitKey) | OffsetCommitValue v3, null = deleted |
//! | 2           | group (GroupMetadataKey)                | GroupMetadataValue v3 (with its members), null = deleted |
//! | 0x7F01      | producer id, group, topic, partition    | OffsetCommitValue v3 (staged, not visible) |
//! | 0x7F02      | producer id                             | one byte: 1 = commit, 0 = abort |
//!
//! Strings are Kafka's (i16 length, UTF-8); a nullable string has length -1 for null.

use bytes::{Buf, BufMut, Bytes, BytesMut};

const OFFSET_KEY: i16 = 1;
const GROUP_KEY: i16 = 2;
const TXN_OFFSET_KEY: i16 = 0x7F01;
const TXN_MARKER_KEY: i16 = 0x7F02;
const OFFSET_VALUE_VERSION: i16 = 3;
const GROUP_VALUE_VERSION: i16 = 3;

/// A committed offset as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetAndMetadata {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp_ms: i64,
}

/// What the group log remembers about a group between restarts: Kafka's GroupMetadataValue,
/// members included, so a member can commit (also transactionally) with its member id and
/// generation after a restart, as with Kafka.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredGroup {
    pub protocol_type: String,
    pub generation_id: i32,
    pub protocol_name: Option<String>,
    pub leader_id: Option<String>,
    pub state_timestamp_ms: i64,
    pub members: Vec<StoredMember>,
}

/// One member as GroupMetadataValue's MemberMetadata holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    /// The member's metadata for the group's protocol.
    pub subscription: Bytes,
    pub assignment: Bytes,
}

impl StoredMember {
    fn encode(&self, buf: &mut BytesMut) {
        put_str(buf, &self.member_id);
        put_nullable_str(buf, self.instance_id.as_deref());
        put_str(buf, &self.client_id);
        put_str(buf, &self.client_host);
        buf.put_i32(self.rebalance_timeout_ms);
        buf.put_i32(self.session_timeout_ms);
        put_bytes(buf, &self.subscription);
        put_bytes(buf, &self.assignment);
    }

    /// MemberMetadata of GroupMetadataValue `version`: v1 adds the rebalance timeout, v3 the
    /// group instance id.
    fn decode(buf: &mut Bytes, version: i16) -> Option<StoredMember> {
        let member_id = get_str(buf)?;
        let instance_id = if version >= 3 {
            get_nullable_str(buf)?
        } else {
            None
        };
        let client_id = get_str(buf)?;
        let client_host = get_str(buf)?;
        let rebalance_timeout_ms = if version >= 1 { get_i32(buf)? } else { -1 };
        let session_timeout_ms = get_i32(buf)?;
        if rebalance_timeout_ms < 0 && version >= 1 {
            return None;
        }
        Some(StoredMember {
            member_id,
            instance_id,
            client_id,
            client_host,
            // v0 had one timeout for both.
            rebalance_timeout_ms: if version >= 1 {
                rebalance_timeout_ms
            } else {
                session_timeout_ms
            },
            session_timeout_ms,
            subscription: get_bytes(buf)?,
            assignment: get_bytes(buf)?,
        })
    }
}

/// One decoded record of the group log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupLogRecord {
    Offset {
        group: String,
        topic: String,
        partition: i32,
        value: Option<OffsetAndMetadata>,
    },
    Group {
        group: String,
        value: Option<StoredGroup>,
    },
    TxnOffset {
        producer_id: i64,
        group: String,
        topic: String,
        partition: i32,
        value: OffsetAndMetadata,
    },
    TxnMarker {
        producer_id: i64,
        commit: bool,
    },
}

fn put_str(buf: &mut BytesMut, s: &str) {
    let len = i16::try_from(s.len()).expect("strings in group records fit Kafka's i16 length");
    buf.put_i16(len);
    buf.put_slice(s.as_bytes());
}

fn put_nullable_str(buf: &mut BytesMut, s: Option<&str>) {
    match s {
        Some(s) => put_str(buf, s),
        None => buf.put_i16(-1),
    }
}

fn get_nullable_str(buf: &mut Bytes) -> Option<Option<String>> {
    if buf.remaining() < 2 {
        return None;
    }
    let len = buf.get_i16();
    if len < 0 {
        return Some(None);
    }
    let len = len as usize;
    if buf.remaining() < len {
        return None;
    }
    let s = String::from_utf8(buf.split_to(len).to_vec()).ok()?;
    Some(Some(s))
}

fn get_str(buf: &mut Bytes) -> Option<String> {
    get_nullable_str(buf).flatten()
}

fn get_i32(buf: &mut Bytes) -> Option<i32> {
    (buf.remaining() >= 4).then(|| buf.get_i32())
}

fn put_bytes(buf: &mut BytesMut, b: &[u8]) {
    let len = i32::try_from(b.len()).expect("member metadata fits Kafka's i32 length");
    buf.put_i32(len);
    buf.put_slice(b);
}

/// Kafka's `bytes` (i32 length); a null (-1) reads as empty.
fn get_bytes(buf: &mut Bytes) -> Option<Bytes> {
    let len = get_i32(buf)?;
    if len < 0 {
        return Some(Bytes::new());
    }
    let len = len as usize;
    (buf.remaining() >= len).then(|| buf.split_to(len))
}

fn offset_value(v: &OffsetAndMetadata) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(OFFSET_VALUE_VERSION);
    buf.put_i64(v.offset);
    buf.put_i32(v.leader_epoch);
    put_str(&mut buf, &v.metadata);
    buf.put_i64(v.commit_timestamp_ms);
    buf.freeze()
}

fn decode_offset_value(mut buf: Bytes) -> Option<OffsetAndMetadata> {
    if buf.remaining() < 2 {
        return None;
    }
    let version = buf.get_i16();
    if buf.remaining() < 8 {
        return None;
    }
    let offset = buf.get_i64();
    // v0/v1: offset, metadata, commit ts (v1 adds expire ts); v3: leader epoch before metadata.
    let leader_epoch = if version >= 3 {
        if buf.remaining() < 4 {
            return None;
        }
        buf.get_i32()
    } else {
        -1
    };
    let metadata = get_str(&mut buf)?;
    if buf.remaining() < 8 {
        return None;
    }
    let commit_timestamp_ms = buf.get_i64();
    Some(OffsetAndMetadata {
        offset,
        leader_epoch,
        metadata,
        commit_timestamp_ms,
    })
}

impl GroupLogRecord {
    /// The record's key and value (None for a tombstone).
    pub fn encode(&self) -> (Bytes, Option<Bytes>) {
        let mut key = BytesMut::new();
        let value = match self {
            GroupLogRecord::Offset {
                group,
                topic,
                partition,
                value,
            } => {
                key.put_i16(OFFSET_KEY);
                put_str(&mut key, group);
                put_str(&mut key, topic);
                key.put_i32(*partition);
                value.as_ref().map(offset_value)
            }
            GroupLogRecord::Group { group, value } => {
                key.put_i16(GROUP_KEY);
                put_str(&mut key, group);
                value.as_ref().map(|g| {
                    let mut buf = BytesMut::new();
                    buf.put_i16(GROUP_VALUE_VERSION);
                    put_str(&mut buf, &g.protocol_type);
                    buf.put_i32(g.generation_id);
                    put_nullable_str(&mut buf, g.protocol_name.as_deref());
                    put_nullable_str(&mut buf, g.leader_id.as_deref());
                    buf.put_i64(g.state_timestamp_ms);
                    let members = i32::try_from(g.members.len()).expect("members fit an i32");
                    buf.put_i32(members);
                    for m in &g.members {
                        m.encode(&mut buf);
                    }
                    buf.freeze()
                })
            }
            GroupLogRecord::TxnOffset {
                producer_id,
                group,
                topic,
                partition,
                value,
            } => {
                key.put_i16(TXN_OFFSET_KEY);
                key.put_i64(*producer_id);
                put_str(&mut key, group);
                put_str(&mut key, topic);
                key.put_i32(*partition);
                Some(offset_value(value))
            }
            GroupLogRecord::TxnMarker {
                producer_id,
                commit,
            } => {
                key.put_i16(TXN_MARKER_KEY);
                key.put_i64(*producer_id);
                Some(Bytes::from(vec![u8::from(*commit)]))
            }
        };
        (key.freeze(), value)
    }

    /// Decodes one record; None for a record this version does not understand (skipped).
    pub fn decode(mut key: Bytes, value: Option<Bytes>) -> Option<GroupLogRecord> {
        if key.remaining() < 2 {
            return None;
        }
        match key.get_i16() {
            0 | OFFSET_KEY => {
                let group = get_str(&mut key)?;
                let topic = get_str(&mut key)?;
                if key.remaining() < 4 {
                    return None;
                }
                let partition = key.get_i32();
                let value = match value {
                    None => None,
                    Some(v) => Some(decode_offset_value(v)?),
                };
                Some(GroupLogRecord::Offset {
                    group,
                    topic,
                    partition,
                    value,
                })
            }
            GROUP_KEY => {
                let group = get_str(&mut key)?;
                let value = match value {
                    None => None,
                    Some(mut v) => {
                        if v.remaining() < 2 {
                            return None;
                        }
                        let version = v.get_i16();
                        let protocol_type = get_str(&mut v)?;
                        if v.remaining() < 4 {
                            return None;
                        }
                        let generation_id = v.get_i32();
                        let protocol_name = get_nullable_str(&mut v)?;
                        let leader_id = get_nullable_str(&mut v)?;
                        let state_timestamp_ms = if version >= 2 && v.remaining() >= 8 {
                            v.get_i64()
                        } else {
                            -1
                        };
                        // Each member takes at least 18 bytes, so a count the value cannot
                        // hold is refused before anything is reserved for it.
                        let count = get_i32(&mut v)?;
                        let count = usize::try_from(count).ok()?;
                        if count > v.remaining() / 18 {
                            return None;
                        }
                        let mut members = Vec::with_capacity(count);
                        for _ in 0..count {
                            members.push(StoredMember::decode(&mut v, version)?);
                        }
                        Some(StoredGroup {
                            protocol_type,
                            generation_id,
                            protocol_name,
                            leader_id,
                            state_timestamp_ms,
                            members,
                        })
                    }
                };
                Some(GroupLogRecord::Group { group, value })
            }
            TXN_OFFSET_KEY => {
                if key.remaining() < 8 {
                    return None;
                }
                let producer_id = key.get_i64();
                let group = get_str(&mut key)?;
                let topic = get_str(&mut key)?;
                if key.remaining() < 4 {
                    return None;
                }
                let partition = key.get_i32();
                let value = decode_offset_value(value?)?;
                Some(GroupLogRecord::TxnOffset {
                    producer_id,
                    group,
                    topic,
                    partition,
                    value,
                })
            }
            TXN_MARKER_KEY => {
                if key.remaining() < 8 {
                    return None;
                }
                let producer_id = key.get_i64();
                let commit = value?.first().copied()? == 1;
                Some(GroupLogRecord::TxnMarker {
                    producer_id,
                    commit,
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
#[path = "records_tests.rs"]
mod tests;
