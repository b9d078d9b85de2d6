//! What a handler knows about a request besides its body: who sent it, over which listener,
//! and which API version it speaks. Built by dispatch from the connection and the header.

use std::net::SocketAddr;

use kafka_protocol::messages::{ApiKey, RequestHeader};

/// The two ends of a connection: fixed for all its requests.
#[derive(Clone, Copy, Debug)]
pub struct Origin {
    /// The client's address.
    pub peer: SocketAddr,
    /// The broker address the client connected to.
    pub listener: SocketAddr,
    /// The simulated broker (node id) that listener belongs to.
    pub node: i32,
}

#[derive(Clone, Debug)]
pub struct RequestContext {
    pub origin: Origin,
    /// The header's client id ("" when null).
    pub client_id: String,
    pub api_key: ApiKey,
    pub api_version: i16,
    pub correlation_id: i32,
}

impl RequestContext {
    pub fn new(origin: Origin, api_key: ApiKey, header: &RequestHeader) -> Self {
        RequestContext {
            origin,
            client_id: header
                .client_id
                .as_ref()
                .map(|id| id.to_string())
                .unwrap_or_default(),
            api_key,
            api_version: header.request_api_version,
            correlation_id: header.correlation_id,
        }
    }

    /// Kafka's client host format, as DescribeGroups reports it: "/127.0.0.1".
    pub fn client_host(&self) -> String {
        format!("/{}", self.origin.peer.ip())
    }
}
