//! The one place where errors become HTTP responses: each error maps to one
//! status and one stable `code` string, in a JSON body
//! `{"error": {"code": "...", "message": "...", ...}}`.

use bytes::Bytes;
use faasrt_runtime::{Invocation, RuntimeError};
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::{Response, StatusCode};
use serde_json::{Map, Value, json};

/// An error answer of the HTTP API.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Map<String, Value>,
}

impl ApiError {
    /// An error with `status`, stable `code` and a human `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Map::new(),
        }
    }

    /// Adds a machine-readable field next to `code` and `message`.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable error code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    pub(crate) fn unauthorized() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this call needs `Authorization: Bearer <token>` with the token from the server's data directory",
        )
    }

    pub(crate) fn route_not_found(path: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "route_not_found",
            format!("no route for {path}"),
        )
    }

    pub(crate) fn method_not_allowed(allowed: &'static str) -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("this route accepts {allowed}"),
        )
        .with("allow", allowed)
    }

    pub(crate) fn bad_query(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message)
    }

    pub(crate) fn body_too_large(limit: usize) -> Self {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body is larger than the limit of {limit} bytes"),
        )
        .with("limit", limit)
    }

    /// The error answer for an invocation that did not succeed: 504 for a
    /// timeout, 502 for a non-zero exit, a trap or oversized output (the
    /// function, not the server, failed), with the exit code and log tail.
    pub(crate) fn from_invocation(function: &str, invocation: &Invocation) -> Self {
        use faasrt_runtime::InvocationStatus as S;
        let (status, code) = match &invocation.status {
            S::TimedOut { .. } => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
            S::Exited(_) => (StatusCode::BAD_GATEWAY, "function_exit"),
            S::Trapped { .. } => (StatusCode::BAD_GATEWAY, "function_trap"),
            S::OutputTooLarge { .. } => (StatusCode::BAD_GATEWAY, "output_too_large"),
        };
        let message = invocation
            .status
            .failure_message()
            .unwrap_or_else(|| "function failed".into());
        let mut error = ApiError::new(status, code, format!("{function}: {message}"))
            .with("function", function)
            .with("exit_code", invocation.status.exit_code())
            .with("log_tail", invocation.log_tail.clone());
        if let S::Trapped { message, .. } = &invocation.status {
            error = error.with("trap", message.clone());
        }
        error
    }

    /// The JSON body of this error.
    pub fn body(&self) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code));
        error.insert("message".into(), json!(self.message));
        error.extend(self.details.clone());
        json!({ "error": error })
    }

    /// This error as an HTTP response.
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let body = serde_json::to_vec(&self.body()).expect("JSON values always serialize");
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        match self.status {
            StatusCode::UNAUTHORIZED => {
                headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        if let Some(Value::String(allow)) = self.details.get("allow")
            && let Ok(value) = HeaderValue::from_str(allow)
        {
            headers.insert(hyper::header::ALLOW, value);
        }
        response
    }
}

impl From<RuntimeError> for ApiError {
    fn from(error: RuntimeError) -> Self {
        use RuntimeError as E;
        let message = error.to_string();
        match error {
            E::InvalidName { name, .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_name", message).with("name", name)
            }
            E::NotFound { name } => {
                ApiError::new(StatusCode::NOT_FOUND, "function_not_found", message)
                    .with("name", name)
            }
            E::InvalidModule { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_module", message)
            }
            E::UnknownImports { names } => {
                ApiError::new(StatusCode::BAD_REQUEST, "unknown_imports", message)
                    .with("imports", names)
            }
            E::MissingEntryPoint => {
                ApiError::new(StatusCode::BAD_REQUEST, "missing_entry_point", message)
            }
            E::PipelineNotFound { name } => {
                ApiError::new(StatusCode::NOT_FOUND, "pipeline_not_found", message)
                    .with("name", name)
            }
            E::InvalidExecutable { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_executable", message)
            }
            E::InvalidPipeline { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_pipeline", message)
            }
            E::PreinitFailed { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "preinit_failed", message)
            }
            E::TooLarge { limit, .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
                    .with("limit", limit)
            }
            E::InvalidLimit(_) => ApiError::new(StatusCode::BAD_REQUEST, "invalid_limit", message),
            E::FunctionBusy { name, .. } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message)
                    .with("name", name)
            }
            E::Busy { .. } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message)
            }
            E::DigestChanged { name, deployed, .. } => {
                ApiError::new(StatusCode::CONFLICT, "digest_changed", message)
                    .with("name", name)
                    .with("digest", deployed)
            }
            E::KvQuotaExceeded {
                function,
                max_keys,
                max_bytes,
                ..
            } => ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "kv_quota_exceeded",
                message,
            )
            .with("name", function)
            .with("max_keys", max_keys)
            .with("max_bytes", max_bytes),
            E::InvalidKv(faasrt_host_api::KvWriteError::ValueTooLarge(_)) => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "value_too_large", message)
                    .with("limit", faasrt_host_api::MAX_KV_VALUE_BYTES)
            }
            E::InvalidKv(_) => ApiError::new(StatusCode::BAD_REQUEST, "invalid_key", message),
            E::Preparing { name } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", message)
                    .with("name", name)
            }
            E::DataDir { .. }
            | E::Store(_)
            | E::Corrupt(_)
            | E::EngineSetup(_)
            | E::Artifact { .. }
            | E::MemoryImage(_)
            | E::NativeExecutable { .. }
            | E::Isolation(_)
            | E::InvalidConfig(_)
            | E::HostThreads(_)
            | E::HostTaskFailed(_)
            | E::OnGuestThread => {
                tracing::error!(%message, "internal error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_imports_keep_their_list() {
        let error = ApiError::from(RuntimeError::UnknownImports {
            names: vec!["env::f".into()],
        });
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        assert_eq!(error.body()["error"]["imports"], json!(["env::f"]));
        assert_eq!(error.body()["error"]["code"], json!("unknown_imports"));
    }

    #[test]
    fn busy_is_429_with_retry_after() {
        let response = ApiError::from(RuntimeError::Busy { limit: 1 }).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(response.headers().contains_key(RETRY_AFTER));
    }
}
