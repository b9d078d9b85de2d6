//! WriteTxnMarkers (27): a COMMIT or ABORT control batch appended to partitions this broker
//! leads. Kafka's coordinators send it to partition leaders; Wren's own coordinator writes its
//! markers directly (txn/markers.rs), so here it serves Admin `abortTransaction`
//! (`kafka-transactions abort`), which closes a *hanging* transaction: data a producer left
//! open in a partition. As Kafka's leader (`ReplicaManager.appendRecords`, origin
//! COORDINATOR), the marker is written whether or not the producer has a transaction open
//! there; it closes an open one, so the last stable offset advances and an abort enters the
//! aborted-transaction index (read_committed consumers skip the data). Wren's coordinator is
//! not told, as Kafka's is not: a transaction it still has Ongoing ends (or times out) as usual
//! later, its own marker then closing nothing.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::write_txn_markers_request::WritableTxnMarker;
use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{WriteTxnMarkersRequest, WriteTxnMarkersResponse};
use wren_storage::TxnMarker;

use crate::cluster::route::Leadership;
use crate::error::storage_error_code;
use crate::topics::TopicRegistry;

/// Runs on a thread that may block: the appends may fsync.
pub fn handle(
    topics: &TopicRegistry,
    leadership: Leadership<'_>,
    now_ms: i64,
    request: WriteTxnMarkersRequest,
) -> WriteTxnMarkersResponse {
    let markers = request
        .markers
        .into_iter()
        .map(|m| write_one(topics, leadership, now_ms, m))
        .collect();
    WriteTxnMarkersResponse::default().with_markers(markers)
}

fn write_one(
    topics: &TopicRegistry,
    leadership: Leadership<'_>,
    now_ms: i64,
    m: WritableTxnMarker,
) -> WritableTxnMarkerResult {
    let marker = TxnMarker {
        producer_id: m.producer_id.0,
        producer_epoch: m.producer_epoch,
        commit: m.transaction_result,
        coordinator_epoch: m.coordinator_epoch,
        timestamp_ms: now_ms,
    };
    let results = m
        .topics
        .into_iter()
        .map(|t| {
            let topic = topics.get(t.name.as_str());
            let partitions = t
                .partition_indexes
                .into_iter()
                .map(|index| {
                    // `__consumer_offsets` is a view without partition logs (offsets_topic.rs):
                    // it is not found here, as a partition this broker does not host.
                    let code = match topic.as_ref().and_then(|t| t.partition(index)) {
                        None => ResponseError::UnknownTopicOrPartition.code(),
                        Some(partition) => match leadership.check(t.name.as_str(), index, -1) {
                            Err(e) => e.code(),
                            Ok(_) => match partition.append_marker(&marker) {
                                Ok(_) => 0,
                                Err(e) => {
                                    tracing::debug!(topic = %t.name.as_str(), partition = index, error = %e, "marker refused");
                                    storage_error_code(&e).code()
                                }
                            },
                        },
                    };
                    WritableTxnMarkerPartitionResult::default()
                        .with_partition_index(index)
                        .with_error_code(code)
                })
                .collect();
            WritableTxnMarkerTopicResult::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    WritableTxnMarkerResult::default()
        .with_producer_id(m.producer_id)
        .with_topics(results)
}
