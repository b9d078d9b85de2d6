//! Errors on the wire: each one means the connection can no longer be trusted and is closed.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum WireError {
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge { size: usize, limit: usize },
    #[error("negative frame length {size}")]
    NegativeFrameLength { size: i32 },
    #[error("request header too short: {len} bytes")]
    HeaderTooShort { len: usize },
    #[error("unknown api key {api_key}")]
    UnknownApiKey { api_key: i16 },
    #[error("malformed request header for api key {api_key} v{api_version}")]
    MalformedHeader {
        api_key: i16,
        api_version: i16,
        #[source]
        source: anyhow_compat::Error,
    },
    #[error("malformed {api:?} v{api_version} request body")]
    MalformedBody {
        api: kafka_protocol::messages::ApiKey,
        api_version: i16,
        #[source]
        source: anyhow_compat::Error,
    },
    #[error("could not encode {api:?} v{api_version} response")]
    Encode {
        api: kafka_protocol::messages::ApiKey,
        api_version: i16,
        #[source]
        source: anyhow_compat::Error,
    },
    #[error("i/o on the connection")]
    Io(#[from] std::io::Error),
}

/// kafka-protocol reports errors as `anyhow::Error`; this keeps the chain as a `std` error source.
pub mod anyhow_compat {
    #[derive(Debug)]
    pub struct Error(pub String);
    impl std::fmt::Display for Error {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }
    impl std::error::Error for Error {}
    impl From<anyhow::Error> for Error {
        fn from(e: anyhow::Error) -> Self {
            Error(format!("{e:#}"))
        }
    }
}
