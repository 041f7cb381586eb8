//! The transport: one HTTP/1.1 request per call over plain TCP or rustls,
//! JSON in and out, problem+json errors turned into their `detail`; and
//! WebSockets (the agent's connection) over the same.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use hubsync_api::Problem;
use hubsync_api::agent_link::MAX_FRAME_BYTES;

/// A client that cannot be made: its settings are wrong.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server address is not a URL this client can use.
    #[error("{0}")]
    Invalid(String),
    /// The TLS set-up failed (a CA certificate that does not load).
    #[error("TLS: {0}")]
    Tls(String),
}

/// A failed call: the HTTP status (0 when the server could not be reached)
/// and what the server said.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CallError {
    /// The HTTP status, or 0 for "not reached".
    pub status: u16,
    /// The server's `detail`, or why it could not be reached.
    pub message: String,
}

/// The answer of a call in process: its status and body.
pub type LocalAnswer = std::pin::Pin<Box<dyn std::future::Future<Output = (u16, Bytes)> + Send>>;

/// A server reached without a socket: the same routes, layers and token
/// checks, called in process (the dashboard calls the API this way, so a
/// page can do nothing its token could not do through the API).
pub trait Local: Send + Sync {
    /// Answer one request.
    fn call(&self, request: Request<Bytes>) -> LocalAnswer;
}

/// A client of one server with one token.
#[derive(Clone)]
pub struct Client {
    host: String,
    port: u16,
    tls: Option<TlsConnector>,
    token: Option<String>,
    local: Option<Arc<dyn Local>>,
}

impl Client {
    /// A client of `server` (`http://HOST:PORT` or `https://…`); `ca_cert`
    /// is a PEM file to trust besides the public roots (a self-signed
    /// server certificate).
    pub fn new(server: &str, token: Option<String>, ca_cert: Option<&std::path::Path>) -> Result<Client, ClientError> {
        let bad = || {
            ClientError::Invalid(format!(
                "server {server:?} is not a URL like http://127.0.0.1:7070 or https://sync.example.com"
            ))
        };
        let (tls, rest) = if let Some(r) = server.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = server.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(bad());
        };
        let authority = rest.trim_end_matches('/');
        if authority.contains('/') || authority.is_empty() {
            return Err(bad());
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h, p.parse().map_err(|_| bad())?),
            _ => (authority, if tls { 443 } else { 80 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let tls = if tls {
            let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            if let Some(path) = ca_cert {
                let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                    .and_then(|i| i.collect::<Result<_, _>>())
                    .map_err(|e| ClientError::Tls(format!("CA certificate {}: {e}", path.display())))?;
                for c in certs {
                    roots.add(c).map_err(|e| ClientError::Tls(format!("CA certificate {}: {e}", path.display())))?;
                }
            }
            let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
            let config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| ClientError::Tls(e.to_string()))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Some(TlsConnector::from(Arc::new(config)))
        } else {
            None
        };
        Ok(Client { host, port, tls, token, local: None })
    }

    /// A client of a server in this process, with `token`.
    pub fn in_process(server: Arc<dyn Local>, token: String) -> Client {
        Client { host: "in-process".into(), port: 0, tls: None, token: Some(token), local: Some(server) }
    }

    /// GET `path` (with its query) as JSON: for routes this version does
    /// not know; the typed methods cover the ones it does.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CallError> {
        let (_, body) = self.call("GET", path, None).await?;
        decode(&body)
    }

    /// GET `path` as text (metrics).
    pub async fn get_text(&self, path: &str) -> Result<String, CallError> {
        let (_, body) = self.call("GET", path, None).await?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// Send `body` as JSON with `method`; the answer as JSON (`null` for 204).
    pub async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, CallError> {
        let json = match body {
            Some(b) => Some(serde_json::to_vec(b).map_err(|e| CallError { status: 0, message: e.to_string() })?),
            None => None,
        };
        let (_, answer) = self.call(method, path, json).await?;
        if answer.is_empty() { decode(b"null") } else { decode(&answer) }
    }

    /// One request with a JSON body (if any); the status and body of a 2xx
    /// answer, else the error.
    pub async fn call(&self, method: &str, path: &str, body: Option<Vec<u8>>) -> Result<(u16, Bytes), CallError> {
        self.call_as(method, path, body, "application/json").await
    }

    /// [`Client::call`] with a body of `content_type`.
    pub async fn call_as(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        content_type: &str,
    ) -> Result<(u16, Bytes), CallError> {
        let unreachable = |e: &dyn std::fmt::Display| CallError {
            status: 0,
            message: format!(
                "cannot reach the hubsync server at {}:{}: {e} (is `hubsync serve` running? set --server or HUBSYNC_SERVER)",
                self.host, self.port
            ),
        };
        let mut req = Request::builder().method(method).uri(path).header(HOST, format!("{}:{}", self.host, self.port));
        if let Some(t) = &self.token {
            req = req.header(AUTHORIZATION, format!("Bearer {t}"));
        }
        if body.is_some() {
            req = req.header(CONTENT_TYPE, content_type);
        }
        let req = req
            .body(Bytes::from(body.unwrap_or_default()))
            .map_err(|e| CallError { status: 0, message: format!("bad request: {e}") })?;
        if let Some(local) = &self.local {
            let (status, bytes) = local.call(req).await;
            return answer(status, bytes);
        }
        let req = req.map(Full::new);
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port)).await.map_err(|e| unreachable(&e))?;
        let _ = tcp.set_nodelay(true);
        let response = match &self.tls {
            None => send(TokioIo::new(tcp), req).await,
            Some(connector) => {
                let name = ServerName::try_from(self.host.clone())
                    .map_err(|e| CallError { status: 0, message: format!("server name {}: {e}", self.host) })?;
                let tls = connector.connect(name, tcp).await.map_err(|e| unreachable(&e))?;
                send(TokioIo::new(tls), req).await
            }
        }
        .map_err(|e| unreachable(&e))?;
        let (status, bytes) = response;
        answer(status, bytes)
    }
}

/// A 2xx answer's status and body, else the server's `detail` as the error.
fn answer(status: u16, bytes: Bytes) -> Result<(u16, Bytes), CallError> {
    if (200..300).contains(&status) {
        return Ok((status, bytes));
    }
    let detail = serde_json::from_slice::<Problem>(&bytes)
        .map(|p| p.detail)
        .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
    Err(CallError { status, message: detail })
}

/// A byte stream a WebSocket runs over: plain TCP or TLS.
pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// A WebSocket to the server.
pub type Socket = tokio_tungstenite::WebSocketStream<Box<dyn Io>>;

impl Client {
    async fn stream(&self) -> Result<Box<dyn Io>, CallError> {
        let unreachable = |e: &dyn std::fmt::Display| CallError {
            status: 0,
            message: format!("cannot reach the hubsync service at {}:{}: {e}", self.host, self.port),
        };
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port)).await.map_err(|e| unreachable(&e))?;
        let _ = tcp.set_nodelay(true);
        Ok(match &self.tls {
            None => Box::new(tcp),
            Some(connector) => {
                let name = ServerName::try_from(self.host.clone())
                    .map_err(|e| CallError { status: 0, message: format!("server name {}: {e}", self.host) })?;
                Box::new(connector.connect(name, tcp).await.map_err(|e| unreachable(&e))?)
            }
        })
    }

    /// Open a WebSocket to `path` with the client's token and `headers`;
    /// a refusal comes back as the server's status and `detail`.
    pub async fn websocket(&self, path: &str, headers: &[(&str, String)]) -> Result<Socket, CallError> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let scheme = if self.tls.is_some() { "wss" } else { "ws" };
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        let bad = |e: &dyn std::fmt::Display| CallError { status: 0, message: format!("bad request: {e}") };
        let mut req = format!("{scheme}://{host}:{}{path}", self.port).into_client_request().map_err(|e| bad(&e))?;
        let mut put = |name: &str, value: &str| -> Result<(), CallError> {
            let name = hyper::header::HeaderName::try_from(name).map_err(|e| bad(&e))?;
            req.headers_mut().insert(name, value.parse().map_err(|e| bad(&e))?);
            Ok(())
        };
        if let Some(t) = &self.token {
            put("authorization", &format!("Bearer {t}"))?;
        }
        for (n, v) in headers {
            put(n, v)?;
        }
        let stream = self.stream().await?;
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME_BYTES))
            .max_frame_size(Some(MAX_FRAME_BYTES));
        match tokio_tungstenite::client_async_with_config(req, stream, Some(config)).await {
            Ok((socket, _)) => Ok(socket),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let status = response.status().as_u16();
                let body = response.body().as_deref().unwrap_or_default();
                let detail = serde_json::from_slice::<Problem>(body)
                    .map(|p| p.detail)
                    .unwrap_or_else(|_| format!("the service answered {status}"));
                Err(CallError { status, message: detail })
            }
            Err(e) => Err(CallError {
                status: 0,
                message: format!("cannot open the agent connection to {}:{}: {e}", self.host, self.port),
            }),
        }
    }
}

async fn send<S>(io: TokioIo<S>, req: Request<Full<Bytes>>) -> Result<(u16, Bytes), hyper::Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(conn);
    let response = sender.send_request(req).await?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, bytes))
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CallError> {
    serde_json::from_slice(bytes).map_err(|e| CallError {
        status: 0,
        message: format!("the server's answer is not what this hubsync expects: {e}"),
    })
}

/// `s` as one path segment: everything but unreserved characters
/// percent-encoded, so a name never changes the route.
pub fn segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
