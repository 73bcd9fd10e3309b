//! A request body read at most once, with a size limit, and drained after
//! the answer so that a refused client still reads the reply.

use crate::api_error::ApiError;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::StatusCode;
use hyper::body::Incoming;
use hyper::header::CONTENT_LENGTH;
use hyper::http::request::Parts;

/// How much of a refused body is read and thrown away so that the client
/// gets the answer; past this the connection is simply closed.
const DRAIN_LIMIT: u64 = 64 << 20;

/// A request body that a handler may read once; what is left unread is
/// drained after the handler answers.
pub(crate) struct PendingBody {
    body: Option<Incoming>,
}

impl PendingBody {
    /// Wraps `body`, unread.
    pub(crate) fn new(body: Incoming) -> Self {
        PendingBody { body: Some(body) }
    }

    /// Takes the body to stream it (a pipeline's input); nothing is drained
    /// after the answer then.
    pub(crate) fn take(&mut self) -> Option<Incoming> {
        self.body.take()
    }

    /// Reads the whole body, refusing it (413) past `limit` bytes without
    /// keeping more than that in memory.
    pub(crate) async fn read(&mut self, request: &Parts, limit: usize) -> Result<Bytes, ApiError> {
        let declared = request
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(len) = declared.filter(|len| *len > limit as u64) {
            if len > DRAIN_LIMIT {
                // Not worth reading just to refuse it: close instead.
                self.body = None;
            }
            return Err(ApiError::body_too_large(limit));
        }
        let Some(body) = self.body.take() else {
            return Ok(Bytes::new());
        };
        let mut buffer = bytes::BytesMut::new();
        let mut body = body;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|error| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_body",
                    format!("cannot read the request body: {error}"),
                )
            })?;
            if let Ok(data) = frame.into_data() {
                if buffer.len() + data.len() > limit {
                    self.body = Some(body);
                    return Err(ApiError::body_too_large(limit));
                }
                buffer.extend_from_slice(&data);
            }
        }
        Ok(buffer.freeze())
    }

    /// Reads and discards what is left of the body, up to [`DRAIN_LIMIT`].
    pub(crate) async fn drain(&mut self) {
        let Some(mut body) = self.body.take() else {
            return;
        };
        let mut drained = 0u64;
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                drained += data.len() as u64;
                if drained > DRAIN_LIMIT {
                    break;
                }
            }
        }
    }
}
