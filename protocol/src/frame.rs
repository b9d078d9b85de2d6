//! Length-prefixed frames: a big-endian `i32` size, then that many bytes.

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::WireError;

/// Kafka's `socket.request.max.bytes` default: 100 MiB.
pub const DEFAULT_FRAME_BYTES_MAX: usize = 100 * 1024 * 1024;

/// Reads one frame body. `Ok(None)` means the peer closed the connection cleanly between frames.
/// The size is checked against `frame_bytes_max` before anything is allocated for the body.
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    frame_bytes_max: usize,
) -> Result<Option<BytesMut>, WireError> {
    let mut prefix = [0u8; 4];
    match reader.read_exact(&mut prefix).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let size = i32::from_be_bytes(prefix);
    if size < 0 {
        return Err(WireError::NegativeFrameLength { size });
    }
    let size = size as usize;
    if size > frame_bytes_max {
        return Err(WireError::FrameTooLarge {
            size,
            limit: frame_bytes_max,
        });
    }
    let mut body = BytesMut::zeroed(size);
    reader.read_exact(&mut body).await?;
    Ok(Some(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_a_frame_and_then_clean_eof() {
        let mut input: &[u8] = &[0, 0, 0, 3, b'a', b'b', b'c'];
        let frame = read_frame(&mut input, 10).await.unwrap().unwrap();
        assert_eq!(&frame[..], b"abc");
        assert!(read_frame(&mut input, 10).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn oversized_frame_is_rejected_before_allocation() {
        let mut input: &[u8] = &[0x7f, 0xff, 0xff, 0xff];
        let err = read_frame(&mut input, DEFAULT_FRAME_BYTES_MAX)
            .await
            .unwrap_err();
        assert!(matches!(err, WireError::FrameTooLarge { .. }), "{err}");
    }

    #[tokio::test]
    async fn negative_length_is_rejected() {
        let mut input: &[u8] = &[0xff, 0xff, 0xff, 0xfe];
        let err = read_frame(&mut input, 10).await.unwrap_err();
        assert!(matches!(err, WireError::NegativeFrameLength { size: -2 }));
    }

    #[tokio::test]
    async fn truncated_body_is_an_io_error() {
        let mut input: &[u8] = &[0, 0, 0, 5, 1, 2];
        assert!(matches!(
            read_frame(&mut input, 10).await,
            Err(WireError::Io(_))
        ));
    }
}
