//! Bearer-token checks for the HTTP API.

use hyper::HeaderMap;
use hyper::header::AUTHORIZATION;

/// The token management calls must present.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Wraps the server's token.
    pub fn new(token: String) -> Self {
        Token(token)
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
        constant_time_eq(presented.trim().as_bytes(), self.0.as_bytes())
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
