//! A client for the admin API (used by `gossipd get|set|delete|members|keys` and the tests):
//! hyper's HTTP/1.1 client, one request per connection, bodies typed as [`api`](super::api).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{CONNECTION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::de::DeserializeOwned;
use thiserror::Error;
use tokio::net::TcpStream;

use super::api;

/// A response: status code and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as (lossy) UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Why an admin API call failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// No HTTP answer: connection refused, timed out, or not HTTP.
    #[error("cannot reach the admin API at {addr}")]
    Unreachable {
        /// The address called.
        addr: SocketAddr,
        /// What went wrong.
        #[source]
        source: io::Error,
    },
    /// An answer other than the expected one (the API's text error message, trimmed).
    #[error("HTTP {status}: {message}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The body, trimmed.
        message: String,
    },
    /// A `200` whose body is not the expected JSON.
    #[error("bad {path} answer")]
    BadAnswer {
        /// The request's path.
        path: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
}

/// RFC 3986 unreserved characters stay, everything else is percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one path segment (everything but RFC 3986 unreserved characters).
pub fn encode_segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// Sends one request to the admin API at `addr` and reads the whole response, within
/// `timeout`. Any status is a response; only a failure to get one is an error.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    timeout: Duration,
) -> Result<Response, ClientError> {
    let unreachable = |source| ClientError::Unreachable { addr, source };
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|e| unreachable(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    tokio::time::timeout(timeout, exchange(addr, method, path, body))
        .await
        .map_err(|_| {
            unreachable(io::Error::new(
                io::ErrorKind::TimedOut,
                "admin request timed out",
            ))
        })?
        .map_err(unreachable)
}

async fn exchange(
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: Option<&[u8]>,
) -> io::Result<Response> {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, addr.to_string())
        .header(CONNECTION, "close")
        .header(CONTENT_TYPE, "application/octet-stream")
        .body(Full::new(Bytes::copy_from_slice(body.unwrap_or_default())))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(io::Error::other)?;
    let answer = async move {
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes().to_vec();
        Ok::<_, hyper::Error>(Response { status, body })
    };
    // The connection ends once the answer is read (`Connection: close`).
    let (answer, _) = tokio::join!(answer, connection);
    answer.map_err(io::Error::other)
}

/// The admin API of one node, with typed answers.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    addr: SocketAddr,
    timeout: Duration,
}

impl Client {
    /// A client of the admin API at `addr`; each call gives up after `timeout`.
    pub fn new(addr: SocketAddr, timeout: Duration) -> Self {
        Self { addr, timeout }
    }

    /// One request, any status.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Response, ClientError> {
        request(self.addr, method, path, body, self.timeout).await
    }

    /// One request whose answer must be `200` with a JSON body of type `T`.
    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<T, ClientError> {
        let r = self.request(method, path, body).await?;
        if r.status != 200 {
            return Err(status_error(&r));
        }
        serde_json::from_slice(&r.body).map_err(|source| ClientError::BadAnswer {
            path: path.to_owned(),
            source,
        })
    }

    /// `GET /members`.
    pub async fn members(&self) -> Result<api::Members, ClientError> {
        self.call("GET", "/members", None).await
    }

    /// `GET /kv/{node}/{key}`: the raw value, `None` if unknown or deleted.
    pub async fn get(&self, node: &str, key: &str) -> Result<Option<Vec<u8>>, ClientError> {
        let path = format!("/kv/{}/{}", encode_segment(node), encode_segment(key));
        let r = self.request("GET", &path, None).await?;
        match r.status {
            200 => Ok(Some(r.body)),
            404 => Ok(None),
            _ => Err(status_error(&r)),
        }
    }

    /// `PUT /kv/{key}`.
    pub async fn set(&self, key: &str, value: &[u8]) -> Result<api::Written, ClientError> {
        let path = format!("/kv/{}", encode_segment(key));
        self.call("PUT", &path, Some(value)).await
    }

    /// `DELETE /kv/{key}`.
    pub async fn delete(&self, key: &str) -> Result<api::Written, ClientError> {
        let path = format!("/kv/{}", encode_segment(key));
        self.call("DELETE", &path, None).await
    }

    /// `GET /keys`.
    pub async fn keys(&self) -> Result<api::Keys, ClientError> {
        self.call("GET", "/keys", None).await
    }

    /// `POST /keys`: installs `key` (its text: hex or base64), not as primary.
    pub async fn add_key(&self, key: &str) -> Result<api::Keys, ClientError> {
        self.call("POST", "/keys", Some(key.as_bytes())).await
    }

    /// `PUT /keys/primary`: makes the key with `fingerprint` the primary.
    pub async fn use_key(&self, fingerprint: &str) -> Result<api::Keys, ClientError> {
        self.call("PUT", "/keys/primary", Some(fingerprint.as_bytes()))
            .await
    }

    /// `DELETE /keys/{fingerprint}`.
    pub async fn remove_key(&self, fingerprint: &str) -> Result<api::Keys, ClientError> {
        let path = format!("/keys/{}", encode_segment(fingerprint));
        self.call("DELETE", &path, None).await
    }
}

fn status_error(r: &Response) -> ClientError {
    ClientError::Status {
        status: r.status,
        message: r.text().trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(encode_segment("a b/c~"), "a%20b%2Fc~");
        assert_eq!(encode_segment("é-._"), "%C3%A9-._");
    }

    #[tokio::test]
    async fn a_closed_port_is_reported_as_unreachable_with_the_os_error() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let e = request(addr, "GET", "/health", None, Duration::from_secs(5))
            .await
            .unwrap_err();
        let ClientError::Unreachable { source, .. } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(source.kind(), io::ErrorKind::ConnectionRefused);
        assert_eq!(
            e.to_string(),
            format!("cannot reach the admin API at {addr}")
        );
    }
}
