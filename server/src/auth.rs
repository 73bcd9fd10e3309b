//! Bearer-token checks for the HTTP API.

use hyper::HeaderMap;
use hyper::header::AUTHORIZATION;

/// The token management calls must present.
///
/// Where the CPU has memory protection keys, the token lives in a
/// [`SecretRegion`](faasrt_isolation::SecretRegion): pages no thread can read
/// except while a request's token is compared, so a stray read of host memory
/// (a sandbox escape, an out-of-bounds read) faults instead of leaking it.
/// Elsewhere it is ordinary memory (`faasrt doctor` says which).
#[derive(Clone)]
pub struct Token(std::sync::Arc<Stored>);

enum Stored {
    Protected(faasrt_isolation::SecretRegion),
    Plain(String),
}

impl Token {
    /// Wraps the server's token, in protected pages where possible.
    pub fn new(token: String) -> Self {
        let stored = match faasrt_isolation::SecretRegion::new(token.as_bytes()) {
            Ok(region) => Stored::Protected(region),
            Err(_) => Stored::Plain(token),
        };
        Token(std::sync::Arc::new(stored))
    }

    /// Whether the token is kept in pages guarded by a protection key.
    pub fn is_protected(&self) -> bool {
        matches!(*self.0, Stored::Protected(_))
    }

    /// Whether `headers` carry `Authorization: Bearer <this token>`.
    ///
    /// The comparison takes the same time wherever the first difference is,
    /// so response timing does not reveal how much of a guess was right.
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(presented) = headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
        else {
            return false;
        };
        let presented = presented.trim().as_bytes();
        match &*self.0 {
            Stored::Protected(region) => region.read(|secret| constant_time_eq(presented, secret)),
            Stored::Plain(token) => constant_time_eq(presented, token.as_bytes()),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).expect("header"));
        headers
    }

    #[test]
    fn the_right_token_is_admitted() {
        assert!(Token::new("s3cret".into()).admits(&headers("Bearer s3cret")));
    }

    #[test]
    fn wrong_or_missing_tokens_are_refused() {
        let token = Token::new("s3cret".into());
        assert!(!token.admits(&headers("Bearer s3cre")));
        assert!(!token.admits(&headers("Bearer s3cret2")));
        assert!(!token.admits(&headers("Basic s3cret")));
        assert!(!token.admits(&HeaderMap::new()));
    }
}
