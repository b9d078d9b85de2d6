//! Where replicas go and which partition coordinates a key, as Kafka computes them.

/// Kafka's rack-unaware `assignReplicasToBrokers` (AdminUtils) with a fixed start index of 0,
/// so a test knows where leaders land: partition `p`'s first replica (its preferred leader) is
/// broker `p % n`, and the followers are shifted by one more every `n` partitions so replicas
/// spread as in Kafka. `first_partition` continues an existing topic (CreatePartitions).
pub fn assign(brokers: &[i32], partitions: i32, rf: usize, first_partition: i32) -> Vec<Vec<i32>> {
    let n = brokers.len();
    if n == 0 {
        return Vec::new();
    }
    let rf = rf.clamp(1, n);
    let mut assigned = Vec::new();
    for p in first_partition.max(0)..first_partition.max(0).saturating_add(partitions.max(0)) {
        let p = p as usize;
        // Kafka adds one to the shift every n partitions.
        let shift = p / n;
        let first = p % n;
        let mut replicas = vec![brokers[first]];
        for j in 0..rf - 1 {
            replicas.push(brokers[replica_index(first, shift, j, n)]);
        }
        assigned.push(replicas);
    }
    assigned
}

/// Kafka's `replicaIndex`: the j-th follower after `first`, never `first` itself.
fn replica_index(first: usize, shift: usize, j: usize, n: usize) -> usize {
    let offset = 1 + (shift + j) % (n - 1);
    (first + offset) % n
}

/// Java's `String.hashCode` over UTF-16 code units.
pub fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// Kafka's `Utils.abs(key.hashCode) % partitions` (GroupCoordinator.partitionFor,
/// TransactionStateManager.partitionFor).
pub fn partition_for(key: &str, partitions: i32) -> i32 {
    let h = java_hash(key);
    let abs = if h == i32::MIN { 0 } else { h.abs() };
    abs % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_brokers_rf_three_spread_leaders_and_followers() {
        let a = assign(&[1, 2, 3], 6, 3, 0);
        assert_eq!(a[0], vec![1, 2, 3]);
        assert_eq!(a[1], vec![2, 3, 1]);
        assert_eq!(a[2], vec![3, 1, 2]);
        // After n partitions the followers shift by one more.
        assert_eq!(a[3], vec![1, 3, 2]);
        assert_eq!(a[4], vec![2, 1, 3]);
    }

    #[test]
    fn one_broker_one_replica() {
        assert_eq!(assign(&[7], 3, 1, 0), vec![vec![7], vec![7], vec![7]]);
    }

    #[test]
    fn added_partitions_continue_the_pattern() {
        assert_eq!(
            assign(&[1, 2, 3], 2, 2, 4),
            assign(&[1, 2, 3], 6, 2, 0)[4..].to_vec()
        );
    }

    #[test]
    fn hashes_as_java_does() {
        assert_eq!(java_hash(""), 0);
        assert_eq!(java_hash("hello"), 99162322);
        assert_eq!(java_hash("polygenelubricants"), i32::MIN);
        assert_eq!(partition_for("polygenelubricants", 50), 0);
        assert_eq!(partition_for("hello", 50), 99162322 % 50);
    }
}
