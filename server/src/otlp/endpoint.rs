//! The `--otlp-endpoint` URL, checked once at start-up: a receiver's base
//! URL (`http://collector:4318`) becomes its traces URL
//! (`http://collector:4318/v1/traces`), and anything the exporter could
//! not send to is refused with a message that says why.

use hyper::Uri;
use std::fmt;
use std::str::FromStr;

/// The path an OTLP/HTTP receiver takes traces on.
const TRACES_PATH: &str = "/v1/traces";

/// Where spans are sent: the traces URL of an OTLP/HTTP receiver (an
/// OpenTelemetry Collector, Jaeger), plain `http://` only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtlpEndpoint {
    uri: Uri,
}

/// Why an `--otlp-endpoint` URL was refused.
#[derive(Debug, thiserror::Error)]
pub enum OtlpEndpointError {
    /// The text does not parse as a URL.
    #[error("{url:?} is not a URL: {source}")]
    NotAUrl {
        /// What was given.
        url: String,
        /// What the URL parser said.
        #[source]
        source: hyper::http::uri::InvalidUri,
    },
    /// No `http://` in front (`collector:4318`).
    #[error(
        "{url:?} has no scheme: give http://HOST:PORT (an OpenTelemetry Collector takes OTLP/HTTP on :4318)"
    )]
    NoScheme {
        /// What was given.
        url: String,
    },
    /// A scheme other than `http` (`https`, `grpc`).
    #[error(
        "{url:?}: only http:// is supported (OTLP/HTTP with protobuf, without TLS), not {scheme}://"
    )]
    UnsupportedScheme {
        /// What was given.
        url: String,
        /// Its scheme.
        scheme: String,
    },
    /// A scheme and no host (`http:///v1/traces`).
    #[error("{url:?} names no host")]
    NoHost {
        /// What was given.
        url: String,
    },
    /// A query string, which OTLP receivers do not take.
    #[error("{url:?} has a query; give the receiver's URL without one")]
    Query {
        /// What was given.
        url: String,
    },
}

impl OtlpEndpoint {
    /// Checks `url` and makes it a traces URL: `/v1/traces` is appended to
    /// its path unless the path already ends in it.
    ///
    /// # Errors
    /// [`OtlpEndpointError`]: not a URL, no scheme, a scheme other than
    /// `http`, no host, a query.
    pub fn parse(url: &str) -> Result<Self, OtlpEndpointError> {
        let owned = || url.to_owned();
        let uri: Uri = url
            .trim()
            .parse()
            .map_err(|source| OtlpEndpointError::NotAUrl {
                url: owned(),
                source,
            })?;
        match uri.scheme_str() {
            None => return Err(OtlpEndpointError::NoScheme { url: owned() }),
            Some("http") => {}
            Some(scheme) => {
                return Err(OtlpEndpointError::UnsupportedScheme {
                    url: owned(),
                    scheme: scheme.to_owned(),
                });
            }
        }
        let Some(authority) = uri.authority().filter(|a| !a.host().is_empty()) else {
            return Err(OtlpEndpointError::NoHost { url: owned() });
        };
        if uri.query().is_some() {
            return Err(OtlpEndpointError::Query { url: owned() });
        }
        let base = uri.path().trim_end_matches('/');
        let path = if base.ends_with(TRACES_PATH) {
            base.to_owned()
        } else {
            format!("{base}{TRACES_PATH}")
        };
        let uri = Uri::builder()
            .scheme("http")
            .authority(authority.clone())
            .path_and_query(path)
            .build()
            .map_err(|_| OtlpEndpointError::NoHost { url: owned() })?;
        Ok(OtlpEndpoint { uri })
    }

    /// The traces URL spans are POSTed to.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }
}

impl FromStr for OtlpEndpoint {
    type Err = OtlpEndpointError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        OtlpEndpoint::parse(url)
    }
}

impl fmt::Display for OtlpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.uri.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_gets_the_traces_path_and_a_traces_url_is_kept() {
        for (given, used) in [
            ("http://collector:4318", "http://collector:4318/v1/traces"),
            ("http://collector:4318/", "http://collector:4318/v1/traces"),
            (
                "http://127.0.0.1:4318/otlp",
                "http://127.0.0.1:4318/otlp/v1/traces",
            ),
            (
                "http://jaeger:4318/v1/traces",
                "http://jaeger:4318/v1/traces",
            ),
            (
                "http://jaeger:4318/v1/traces/",
                "http://jaeger:4318/v1/traces",
            ),
            ("http://[::1]:4318", "http://[::1]:4318/v1/traces"),
        ] {
            let endpoint = OtlpEndpoint::parse(given).unwrap();
            assert_eq!(endpoint.to_string(), used, "{given}");
        }
    }

    #[test]
    fn urls_the_exporter_cannot_send_to_are_refused_saying_why() {
        let refused = |url: &str| OtlpEndpoint::parse(url).unwrap_err();
        assert!(matches!(
            refused("not a url"),
            OtlpEndpointError::NotAUrl { .. }
        ));
        assert!(matches!(
            refused("collector:4318"),
            OtlpEndpointError::NoScheme { .. }
        ));
        assert!(matches!(
            refused("/v1/traces"),
            OtlpEndpointError::NoScheme { .. }
        ));
        let https = refused("https://collector:4318");
        assert!(
            matches!(&https, OtlpEndpointError::UnsupportedScheme { scheme, .. } if scheme == "https")
        );
        assert!(https.to_string().contains("only http://"), "{https}");
        assert!(matches!(
            refused("http://c:4318/?a=b"),
            OtlpEndpointError::Query { .. }
        ));
    }
}
