//! Wren's integration tests: one binary, a module per feature. Each test starts its own
//! in-process broker on 127.0.0.1:0 with a temporary data dir.

mod bad_input;
mod crash_loop;
mod create_partitions;
mod disk_full;
mod embedding;
mod footprint;
mod group_limits;
mod group_offsets;
mod group_txn_offsets;
mod groups;
mod groups_rdkafka;
mod idempotence;
mod lifecycle;
mod oracle_findings;
mod pipelining;
mod produce_validation;
mod protocol;
mod raw;
mod rdkafka_client;
mod request_limits;
mod support;
mod topic_configs;
mod topic_deletion;
mod transactions;
mod txn_protocol;
mod versions;
