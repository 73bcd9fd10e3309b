//! Records as an answer's body: their bytes in the stream's framing and
//! the content type that says which (the output and input reads, and the
//! followed output).

use faasrt_streams::Framing;
use faasrt_streams::framing::{Record, encode_frame};
use hyper::header::HeaderValue;

/// `records` as bytes in the stream's framing: lines as they are, frames
/// with their keys.
pub(crate) fn encode_records(framing: Framing, records: &[Record]) -> Vec<u8> {
    let mut body = Vec::new();
    for record in records {
        match framing {
            Framing::Lines => body.extend_from_slice(&record.value),
            Framing::Frames => encode_frame(
                record.key.as_deref().unwrap_or_default(),
                &record.value,
                &mut body,
            ),
        }
    }
    body
}

/// The `Content-Type` of records in `framing`.
pub(crate) fn records_content_type(framing: Framing) -> HeaderValue {
    HeaderValue::from_static(match framing {
        Framing::Lines => "text/plain; charset=utf-8",
        Framing::Frames => "application/octet-stream",
    })
}
