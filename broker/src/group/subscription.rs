//! What a consumer group's members subscribe to, read from their ConsumerProtocolSubscription
//! metadata: OffsetDelete refuses subscribed topics, and offset expiry treats unsubscribed
//! topics of a stable group like an empty group's.

use std::collections::HashSet;

use super::group::Group;

impl Group {
    /// Consumer-protocol subscriptions of every member (the v0 prefix of every version).
    pub(super) fn compute_subscribed_topics(&self) -> Option<HashSet<String>> {
        if !self.is_consumer_group() {
            return None;
        }
        let protocol = self.protocol_name.as_deref()?;
        let mut topics = HashSet::new();
        for m in self.members.values() {
            let mut buf = m.metadata(protocol);
            topics.extend(parse_subscription_topics(&mut buf)?);
        }
        Some(topics)
    }

    /// Kafka's `isSubscribedToTopic`: unknown subscriptions count as subscribed for consumer
    /// groups.
    pub fn is_subscribed_to(&self, topic: &str) -> bool {
        if self.members.is_empty() {
            return false;
        }
        match &self.subscribed_topics {
            Some(t) => t.contains(topic),
            None => self.is_consumer_group(),
        }
    }
}

/// Topics of a ConsumerProtocolSubscription (i16 version, then the v0 fields).
pub fn parse_subscription_topics(buf: &mut bytes::Bytes) -> Option<Vec<String>> {
    use bytes::Buf;
    if buf.remaining() < 6 {
        return None;
    }
    let _version = buf.get_i16();
    let n = buf.get_i32();
    let mut topics = Vec::new();
    for _ in 0..n.max(0) {
        if buf.remaining() < 2 {
            return None;
        }
        let len = buf.get_i16();
        if len < 0 || buf.remaining() < len as usize {
            return None;
        }
        topics.push(String::from_utf8(buf.split_to(len as usize).to_vec()).ok()?);
    }
    Some(topics)
}
