//! Query strings: their pairs, and the typed values and errors the routes
//! read from them.

use crate::api_error::ApiError;
use hyper::http::request::Parts;

/// The decoded `key=value` pairs of `request`'s query, in order.
pub(crate) fn query_pairs(request: &Parts) -> Vec<(String, String)> {
    form_urlencoded::parse(request.uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `value` as a non-negative number, or a 400 naming `key`.
pub(crate) fn parse_number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ApiError> {
    value.parse().map_err(|_| {
        ApiError::bad_query(format!(
            "{key} must be a non-negative integer, got {value:?}"
        ))
    })
}

/// `value` as `true`/`1` or `false`/`0`, or a 400 naming `key`.
pub(crate) fn parse_bool(key: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::bad_query(format!(
            "{key} must be true or false, got {value:?}"
        ))),
    }
}

/// The 400 for a parameter `key` this route does not know (`known` lists
/// the ones it does).
pub(crate) fn unknown_parameter(key: &str, known: &str) -> ApiError {
    ApiError::bad_query(format!(
        "unknown query parameter {key:?}; this route accepts {known}"
    ))
}
