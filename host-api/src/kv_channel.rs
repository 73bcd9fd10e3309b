//! The key-value calls of a native function: the same `get`, `put` and
//! `delete` as the wasm imports (`kv_imports.rs`), with the same codes,
//! over a stream socket the child finds open at [`NATIVE_KV_FD`].
//!
//! The wire, little-endian, one request answered before the next is read:
//!
//! ```text
//! request:  op u8 | key_len u32 | value_len u32 | key | value
//!           op: 1 get, 2 put, 3 delete (value_len 0 for get and delete)
//! answer:   code i64 | value
//!           get: code = the value's length and the value follows,
//!                or KV_NOT_FOUND (-1); put, delete: 0
//!           any call: a negative KV_ERR_* code, nothing follows
//! ```
//!
//! A refused call is logged to the function's log, as for a wasm guest. A
//! request that is not in this wire (an unknown op, a key or value past
//! the limits) is answered with its code and the channel is closed: the
//! function's later calls fail, nothing it sent after is applied.

use crate::kv::{
    KV_ERR_KEY_SIZE, KV_ERR_VALUE_TOO_LARGE, KV_NOT_FOUND, KvAccess, KvTransactionError,
    MAX_KV_KEY_BYTES, MAX_KV_VALUE_BYTES, log_refusal,
};
use crate::stdio::LogTail;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The descriptor a native function's key-value channel is open at: above
/// the `RLIMIT_NOFILE` of 64 that native functions run under, so it never
/// clashes with one the function opens itself.
pub const NATIVE_KV_FD: i32 = 1001;

/// `op` of a get request.
pub const KV_OP_GET: u8 = 1;
/// `op` of a put request.
pub const KV_OP_PUT: u8 = 2;
/// `op` of a delete request.
pub const KV_OP_DELETE: u8 = 3;

/// The bytes of a request before its key.
pub const KV_REQUEST_HEADER_BYTES: usize = 9;

/// A request's header: what it asks, and how long its key and value are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KvRequestHeader {
    /// [`KV_OP_GET`], [`KV_OP_PUT`] or [`KV_OP_DELETE`].
    pub op: u8,
    /// The key's length.
    pub key_len: u32,
    /// The value's length (0 but for a put).
    pub value_len: u32,
}

impl KvRequestHeader {
    /// Reads a header.
    pub fn decode(bytes: &[u8; KV_REQUEST_HEADER_BYTES]) -> Self {
        let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        KvRequestHeader {
            op: bytes[0],
            key_len: word(1),
            value_len: word(5),
        }
    }

    /// The header as sent.
    pub fn encode(&self) -> [u8; KV_REQUEST_HEADER_BYTES] {
        let mut bytes = [0u8; KV_REQUEST_HEADER_BYTES];
        bytes[0] = self.op;
        bytes[1..5].copy_from_slice(&self.key_len.to_le_bytes());
        bytes[5..9].copy_from_slice(&self.value_len.to_le_bytes());
        bytes
    }

    /// Why the request cannot be served, if it cannot: the code to answer
    /// ([`KV_ERR_KEY_SIZE`], [`KV_ERR_VALUE_TOO_LARGE`], or
    /// [`KV_ERR_PROTOCOL`] for an unknown op or a value where none
    /// belongs) and the reason to log.
    fn refusal(&self) -> Option<(i64, String)> {
        if !(KV_OP_GET..=KV_OP_DELETE).contains(&self.op) {
            return Some((KV_ERR_PROTOCOL, format!("unknown key-value op {}", self.op)));
        }
        if self.key_len as usize > MAX_KV_KEY_BYTES || self.key_len == 0 {
            return Some((
                KV_ERR_KEY_SIZE.into(),
                format!("a key must be 1 to {MAX_KV_KEY_BYTES} bytes long"),
            ));
        }
        if self.value_len as usize > MAX_KV_VALUE_BYTES {
            return Some((
                KV_ERR_VALUE_TOO_LARGE.into(),
                format!("a value may be at most {MAX_KV_VALUE_BYTES} bytes"),
            ));
        }
        if self.op != KV_OP_PUT && self.value_len != 0 {
            return Some((
                KV_ERR_PROTOCOL,
                "a get or delete request carries no value".to_owned(),
            ));
        }
        None
    }
}

/// The code of a request that is not in the wire (native functions only;
/// the channel is closed after it).
pub const KV_ERR_PROTOCOL: i64 = -7;

/// Serves the key-value calls that arrive on `channel` against `access`
/// until the function closes its end (it exited) or breaks the wire;
/// refusals are written to `log`.
pub async fn serve_kv_channel(mut channel: tokio::net::UnixStream, access: KvAccess, log: LogTail) {
    let mut header = [0u8; KV_REQUEST_HEADER_BYTES];
    let mut key = Vec::new();
    let mut value = Vec::new();
    loop {
        if channel.read_exact(&mut header).await.is_err() {
            return;
        }
        let request = KvRequestHeader::decode(&header);
        if let Some((code, why)) = request.refusal() {
            let _ = log
                .append(format!("faasrt kv: {why}; the key-value channel is closed\n").as_bytes());
            let _ = channel.write_all(&code.to_le_bytes()).await;
            return;
        }
        key.resize(request.key_len as usize, 0);
        value.resize(request.value_len as usize, 0);
        if channel.read_exact(&mut key).await.is_err()
            || channel.read_exact(&mut value).await.is_err()
        {
            return;
        }
        let answer = answer(&access, &log, request.op, &key, &value);
        if channel.write_all(&answer).await.is_err() {
            return;
        }
    }
}

/// The answer to one well-formed request.
fn answer(access: &KvAccess, log: &LogTail, op: u8, key: &[u8], value: &[u8]) -> Vec<u8> {
    let what = match op {
        KV_OP_GET => "faasrt kv get",
        KV_OP_PUT => "faasrt kv put",
        _ => "faasrt kv delete",
    };
    let code = |code: i64| code.to_le_bytes().to_vec();
    let transaction = match access.transaction(log, what) {
        Ok(transaction) => transaction,
        Err(unavailable) => return code(unavailable.into()),
    };
    let refused = |error: KvTransactionError| code(log_refusal(log, what, &error).into());
    match op {
        KV_OP_GET => match transaction.get(key) {
            Ok(Some(found)) => {
                let mut answer = code(found.len() as i64);
                answer.extend_from_slice(&found);
                answer
            }
            Ok(None) => code(KV_NOT_FOUND),
            Err(error) => refused(error.into()),
        },
        KV_OP_PUT => match transaction.write(key, Some(value)) {
            Ok(()) => code(0),
            Err(error) => refused(error),
        },
        _ => match transaction.write(key, None) {
            Ok(()) => code(0),
            Err(error) => refused(error),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::{
        KV_ERR_UNAVAILABLE, KvQuota, KvReadError, KvReader, KvTransaction, KvUsage, entry_bytes,
    };
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use tokio::net::UnixStream;

    /// Committed state in memory.
    struct Committed(BTreeMap<Vec<u8>, Vec<u8>>);

    impl KvReader for Committed {
        fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvReadError> {
            Ok(self.0.get(key).cloned())
        }

        fn usage(&self) -> Result<KvUsage, KvReadError> {
            Ok(KvUsage {
                keys: self.0.len() as u64,
                bytes: self.0.iter().map(|(k, v)| entry_bytes(k, v)).sum(),
            })
        }
    }

    fn transaction(max_keys: u64) -> KvTransaction {
        let committed = Committed([(b"a".to_vec(), b"1".to_vec())].into_iter().collect());
        KvTransaction::new(
            Arc::new(committed),
            KvQuota {
                max_keys,
                max_bytes: 1 << 20,
            },
        )
    }

    /// A client end and the server's task over `access`.
    fn channel(access: KvAccess, log: &LogTail) -> (UnixStream, tokio::task::JoinHandle<()>) {
        let (client, server) = UnixStream::pair().expect("pair");
        let task = tokio::spawn(serve_kv_channel(server, access, log.clone()));
        (client, task)
    }

    async fn call(client: &mut UnixStream, op: u8, key: &[u8], value: &[u8]) -> (i64, Vec<u8>) {
        let header = KvRequestHeader {
            op,
            key_len: key.len() as u32,
            value_len: value.len() as u32,
        };
        client.write_all(&header.encode()).await.expect("header");
        client.write_all(key).await.expect("key");
        client.write_all(value).await.expect("value");
        let mut code = [0u8; 8];
        client.read_exact(&mut code).await.expect("answer");
        let code = i64::from_le_bytes(code);
        let mut found = Vec::new();
        if op == KV_OP_GET && code >= 0 {
            found.resize(code as usize, 0);
            client.read_exact(&mut found).await.expect("value");
        }
        (code, found)
    }

    #[test]
    fn a_header_reads_back_as_written() {
        let header = KvRequestHeader {
            op: KV_OP_PUT,
            key_len: 5,
            value_len: 70_000,
        };
        assert_eq!(KvRequestHeader::decode(&header.encode()), header);
    }

    #[tokio::test]
    async fn calls_act_on_the_transaction_and_read_their_own_writes() {
        let txn = transaction(10);
        let log = LogTail::new(4096);
        let (mut client, task) = channel(KvAccess::Function(txn.clone()), &log);
        assert_eq!(
            call(&mut client, KV_OP_GET, b"a", b"").await,
            (1, b"1".to_vec())
        );
        assert_eq!(
            call(&mut client, KV_OP_GET, b"b", b"").await.0,
            KV_NOT_FOUND
        );
        let big = vec![7u8; 300_000];
        assert_eq!(call(&mut client, KV_OP_PUT, b"b", &big).await.0, 0);
        assert_eq!(
            call(&mut client, KV_OP_GET, b"b", b"").await,
            (300_000, big.clone())
        );
        assert_eq!(call(&mut client, KV_OP_DELETE, b"a", b"").await.0, 0);
        assert_eq!(
            call(&mut client, KV_OP_GET, b"a", b"").await.0,
            KV_NOT_FOUND
        );
        drop(client);
        task.await
            .expect("the server ends when the function's end closes");
        let writes = txn.take_writes();
        assert_eq!(writes.get(&b"a"[..]), Some(&None));
        assert_eq!(writes.get(&b"b"[..]), Some(&Some(big)));
    }

    #[tokio::test]
    async fn a_refused_write_answers_its_code_and_is_logged() {
        let log = LogTail::new(4096);
        let (mut client, _task) = channel(KvAccess::Function(transaction(1)), &log);
        assert_eq!(
            call(&mut client, KV_OP_PUT, b"new", b"v").await.0,
            i64::from(crate::kv::KV_ERR_QUOTA)
        );
        assert!(log.text().contains("quota"), "{}", log.text());
        // The channel stays usable after a refusal.
        assert_eq!(call(&mut client, KV_OP_GET, b"a", b"").await.0, 1);
    }

    #[tokio::test]
    async fn without_state_every_call_is_unavailable_and_says_why() {
        let log = LogTail::new(4096);
        let (mut client, _task) = channel(KvAccess::Unavailable, &log);
        for op in [KV_OP_GET, KV_OP_PUT, KV_OP_DELETE] {
            let value: &[u8] = if op == KV_OP_PUT { b"v" } else { b"" };
            assert_eq!(
                call(&mut client, op, b"k", value).await.0,
                i64::from(KV_ERR_UNAVAILABLE)
            );
        }
        assert!(log.text().contains("no key-value state"), "{}", log.text());
    }

    #[tokio::test]
    async fn a_request_off_the_wire_is_answered_and_closes_the_channel() {
        let cases: [(KvRequestHeader, i64); 4] = [
            (
                KvRequestHeader {
                    op: 9,
                    key_len: 1,
                    value_len: 0,
                },
                KV_ERR_PROTOCOL,
            ),
            (
                KvRequestHeader {
                    op: KV_OP_GET,
                    key_len: 1,
                    value_len: 3,
                },
                KV_ERR_PROTOCOL,
            ),
            (
                KvRequestHeader {
                    op: KV_OP_GET,
                    key_len: MAX_KV_KEY_BYTES as u32 + 1,
                    value_len: 0,
                },
                KV_ERR_KEY_SIZE.into(),
            ),
            (
                KvRequestHeader {
                    op: KV_OP_PUT,
                    key_len: 1,
                    value_len: MAX_KV_VALUE_BYTES as u32 + 1,
                },
                KV_ERR_VALUE_TOO_LARGE.into(),
            ),
        ];
        for (header, expected) in cases {
            let txn = transaction(10);
            let log = LogTail::new(4096);
            let (mut client, task) = channel(KvAccess::Function(txn.clone()), &log);
            client.write_all(&header.encode()).await.expect("header");
            let mut code = [0u8; 8];
            client.read_exact(&mut code).await.expect("answer");
            assert_eq!(i64::from_le_bytes(code), expected, "{header:?}");
            task.await.expect("the server stopped");
            let mut rest = Vec::new();
            client.read_to_end(&mut rest).await.expect("EOF");
            assert!(rest.is_empty(), "nothing follows the refusal");
            assert!(log.text().contains("channel is closed"), "{}", log.text());
            assert!(txn.take_writes().is_empty());
        }
    }
}
