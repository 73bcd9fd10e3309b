//! A wasi:http (0.2) "hello" component: the peer of faasrt's `hello` function in the HTTP
//! invoke benchmark. Every request is answered `200` with the body `Hello, world!\n`; the
//! request body, if any, is read to its end and discarded first.

use wasi::exports::http::incoming_handler::Guest;
use wasi::http::types::{
    Fields, IncomingBody, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use wasi::io::streams::StreamError;

const BODY: &[u8] = b"Hello, world!\n";

struct Hello;

impl Guest for Hello {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        drain(&request);

        let headers = Fields::from_list(&[
            ("content-type".to_string(), b"text/plain".to_vec()),
            ("content-length".to_string(), BODY.len().to_string().into_bytes()),
        ])
        .unwrap_or_else(|_| Fields::new());
        let response = OutgoingResponse::new(headers);
        response.set_status_code(200).ok();
        let body = response.body().expect("outgoing body taken once");
        ResponseOutparam::set(response_out, Ok(response));

        {
            let out = body.write().expect("outgoing stream taken once");
            out.blocking_write_and_flush(BODY).expect("write response body");
        }
        OutgoingBody::finish(body, None).expect("finish response body");
    }
}

/// Reads the request body to its end and throws it away.
fn drain(request: &IncomingRequest) {
    let Ok(body) = request.consume() else { return };
    {
        let Ok(stream) = body.stream() else { return };
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(_) => {}
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(_)) => break,
            }
        }
    }
    let _ = IncomingBody::finish(body);
}

wasi::http::proxy::export!(Hello);
