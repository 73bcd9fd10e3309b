//! The `/v1/functions/{name}/kv` handlers: an operator's view of a
//! function's key-value state (list, get, put, delete). Keys travel
//! percent-encoded in the path and may be any bytes; listings give each key
//! as text and as hex, and page with `after` (or `after_hex`).
//! The work is `faasrt_runtime::Runtime`'s.

use crate::api_error::ApiError;
use crate::app::{App, HttpResponse, json};
use crate::body::PendingBody;
use crate::query::{parse_number, query_pairs, unknown_parameter};
use bytes::Bytes;
use faasrt_host_api::{KvUsage, MAX_KV_VALUE_BYTES};
use faasrt_runtime::KvPage;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};

/// Entries per listing unless `limit` says otherwise.
const DEFAULT_PAGE: usize = 100;

/// `GET /v1/functions/{name}/kv?prefix=P&after=K&limit=N` (or `prefix_hex`,
/// `after_hex` for keys that are not text).
pub(crate) async fn list(app: &App, name: &str, request: &Parts) -> Result<HttpResponse, ApiError> {
    let mut prefix = Vec::new();
    let mut after = None;
    let mut limit = DEFAULT_PAGE;
    for (key, value) in query_pairs(request) {
        match key.as_str() {
            "prefix" => prefix = value.into_bytes(),
            "prefix_hex" => prefix = from_hex(&key, &value)?,
            "after" => after = Some(value.into_bytes()),
            "after_hex" => after = Some(from_hex(&key, &value)?),
            "limit" => limit = parse_number(&key, &value)?,
            _ => {
                return Err(unknown_parameter(
                    &key,
                    "prefix, prefix_hex, after, after_hex, limit",
                ));
            }
        }
    }
    let page = app
        .runtime
        .kv_list(name, &prefix, after.as_deref(), limit)
        .await?;
    let quota = app.runtime.get(name)?.limits.kv_quota();
    Ok(json(StatusCode::OK, &listing(&page, quota)))
}

/// `GET /v1/functions/{name}/kv/{key}`: the value's bytes.
pub(crate) async fn get(app: &App, name: &str, key: &str) -> Result<HttpResponse, ApiError> {
    let key = path_key(key);
    let Some(value) = app.runtime.kv_get(name, &key).await? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "key_not_found",
            format!(
                "function {name:?} has no value under key {:?}",
                String::from_utf8_lossy(&key)
            ),
        ));
    };
    let mut response = Response::new(Full::new(Bytes::from(value)).boxed());
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    Ok(response)
}

/// `PUT /v1/functions/{name}/kv/{key}`, body = the value.
pub(crate) async fn put(
    app: &App,
    name: &str,
    key: &str,
    request: &Parts,
    body: &mut PendingBody,
) -> Result<HttpResponse, ApiError> {
    let key = path_key(key);
    // Checked first, so a bad name or key is not answered with a 413.
    app.runtime.get(name)?;
    let value = body.read(request, MAX_KV_VALUE_BYTES).await?;
    let usage = app.runtime.kv_put(name, &key, &value).await?;
    Ok(json(StatusCode::OK, &usage_body(usage)))
}

/// `DELETE /v1/functions/{name}/kv/{key}`; deleting a missing key is not an
/// error.
pub(crate) async fn delete(app: &App, name: &str, key: &str) -> Result<HttpResponse, ApiError> {
    let usage = app.runtime.kv_delete(name, &path_key(key)).await?;
    Ok(json(StatusCode::OK, &usage_body(usage)))
}

/// The key named by a path segment, percent-decoded to its bytes.
fn path_key(segment: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(segment).collect()
}

fn from_hex(key: &str, value: &str) -> Result<Vec<u8>, ApiError> {
    hex::decode(value)
        .map_err(|e| ApiError::bad_query(format!("{key} must be hexadecimal bytes: {e}")))
}

fn usage_body(usage: KvUsage) -> serde_json::Value {
    serde_json::json!({ "usage": usage })
}

fn listing(page: &KvPage, quota: faasrt_host_api::KvQuota) -> serde_json::Value {
    let keys: Vec<serde_json::Value> = page
        .entries
        .iter()
        .map(|entry| {
            serde_json::json!({
                "key": String::from_utf8_lossy(&entry.key),
                "key_hex": hex::encode(&entry.key),
                "value_bytes": entry.value_bytes,
            })
        })
        .collect();
    serde_json::json!({
        "keys": keys,
        "more": page.more,
        "usage": page.usage,
        "quota": { "max_keys": quota.max_keys, "max_bytes": quota.max_bytes },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_key_is_percent_decoded_to_any_bytes() {
        assert_eq!(path_key("user%3A1"), b"user:1");
        assert_eq!(path_key("a%2Fb"), b"a/b");
        assert_eq!(path_key("%FF%00"), vec![0xff, 0x00]);
        assert_eq!(path_key("plain"), b"plain");
    }
}
