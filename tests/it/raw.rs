//! A minimal Kafka client built on kafka-protocol, for tests that need exact requests.

use bytes::{Buf, BufMut, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct RawClient {
    stream: TcpStream,
    correlation_id: i32,
    client_id: &'static str,
}

impl RawClient {
    pub async fn connect(addr: &str) -> RawClient {
        RawClient {
            stream: TcpStream::connect(addr).await.expect("connect"),
            correlation_id: 0,
            client_id: "wren-raw",
        }
    }

    /// The client id its request headers carry (default "wren-raw").
    pub fn with_client_id(mut self, client_id: &'static str) -> RawClient {
        self.client_id = client_id;
        self
    }

    /// Sends raw frame bytes (length prefix added) without reading an answer.
    pub async fn send_raw(&mut self, body: &[u8]) {
        let mut buf = BytesMut::new();
        buf.put_i32(body.len() as i32);
        buf.extend_from_slice(body);
        self.stream.write_all(&buf).await.expect("write");
    }

    /// Sends bytes exactly as given, no length prefix.
    pub async fn send_unframed(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// True when the broker closed the connection (EOF or reset) within 5 s.
    pub async fn is_closed(&mut self) -> bool {
        self.is_closed_within(std::time::Duration::from_secs(5))
            .await
    }

    /// True when the broker closed the connection (EOF or reset) within `limit`.
    pub async fn is_closed_within(&mut self, limit: std::time::Duration) -> bool {
        let mut b = [0u8; 1];
        matches!(
            tokio::time::timeout(limit, self.stream.read(&mut b)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }

    pub async fn request(
        &mut self,
        api_key: ApiKey,
        version: i16,
        body: RequestKind,
    ) -> ResponseKind {
        self.try_request(api_key, version, body)
            .await
            .expect("an answer, not a closed connection")
    }

    /// Like [`Self::request`], but `None` when the broker closed the connection instead of
    /// answering.
    pub async fn try_request(
        &mut self,
        api_key: ApiKey,
        version: i16,
        body: RequestKind,
    ) -> Option<ResponseKind> {
        self.correlation_id += 1;
        let header = RequestHeader::default()
            .with_request_api_key(api_key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id)
            .with_client_id(Some(StrBytes::from_static_str(self.client_id)));
        let mut buf = BytesMut::new();
        header
            .encode(&mut buf, api_key.request_header_version(version))
            .unwrap();
        body.encode(&mut buf, version).unwrap();
        let mut frame = BytesMut::new();
        frame.put_i32(buf.len() as i32);
        frame.extend_from_slice(&buf);
        self.stream.write_all(&frame).await.ok()?;
        let size = self.stream.read_i32().await.ok()? as usize;
        let mut frame = vec![0u8; size];
        self.stream.read_exact(&mut frame).await.ok()?;
        let mut frame = bytes::Bytes::from(frame);
        let header =
            ResponseHeader::decode(&mut frame, api_key.response_header_version(version)).unwrap();
        assert_eq!(
            header.correlation_id, self.correlation_id,
            "answers come in order"
        );
        Some(ResponseKind::decode(api_key, &mut frame, version).unwrap())
    }

    pub async fn read_frame(&mut self) -> bytes::Bytes {
        let size = self.stream.read_i32().await.expect("response size") as usize;
        let mut frame = vec![0u8; size];
        self.stream
            .read_exact(&mut frame)
            .await
            .expect("response body");
        bytes::Bytes::from(frame)
    }
}

/// Reads the correlation id at the front of a response frame body.
pub fn correlation_id(frame: &bytes::Bytes) -> i32 {
    frame.clone().get_i32()
}
