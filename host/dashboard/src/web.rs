//! The dashboard's HTTP side: its router, the headers every answer
//! carries (a Content-Security-Policy with no inline script, no framing,
//! no caching of pages), the signed-in extractor, checked form posts, and
//! the short message a redirect carries to the next page.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use askama::Template;
use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use hubsync_client::{Client, Local};
use serde::de::DeserializeOwned;

use crate::session::{Session, SessionKey};
use crate::{assets, pages};

/// How the dashboard is served.
#[derive(Debug, Clone)]
pub struct Options {
    /// The key sessions are signed with (every instance the same).
    pub key: SessionKey,
    /// Served over TLS: cookies are `Secure`.
    pub tls: bool,
}

/// Failed sign-ins allowed per address and minute.
const SIGN_IN_FAILURES: u32 = 5;

/// The dashboard's state.
pub(crate) struct Ui {
    api: Arc<dyn Local>,
    pub(crate) options: Options,
    /// Failed sign-ins per address: count and when the window began.
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl Ui {
    /// A client of the API with `token`, in process.
    pub(crate) fn client(&self, token: &str) -> Client {
        Client::in_process(self.api.clone(), token.to_owned())
    }

    /// Whether `ip` may try to sign in now.
    pub(crate) fn may_try(&self, ip: Option<IpAddr>) -> bool {
        let Ok(f) = self.failures.lock() else { return true };
        let ip = ip.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        f.get(&ip).is_none_or(|(n, at)| *n < SIGN_IN_FAILURES || at.elapsed() > Duration::from_secs(60))
    }

    /// Count a failed sign-in from `ip`.
    pub(crate) fn failed(&self, ip: Option<IpAddr>) {
        let Ok(mut f) = self.failures.lock() else { return };
        if f.len() > 10_000 {
            f.retain(|_, (_, at)| at.elapsed() < Duration::from_secs(60));
        }
        let e = f.entry(ip.unwrap_or(IpAddr::from([0, 0, 0, 0]))).or_insert((0, Instant::now()));
        if e.1.elapsed() > Duration::from_secs(60) {
            *e = (0, Instant::now());
        }
        e.0 += 1;
    }
}

/// Seconds since the Unix epoch, now.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// The dashboard's routes; everything else goes to `api` (the API's own
/// router, which the dashboard also calls in process through `local`).
pub fn router(local: Arc<dyn Local>, options: Options, api: Router) -> Router {
    let ui = Arc::new(Ui { api: local, options, failures: Mutex::new(HashMap::new()) });
    let pages = pages::routes()
        .route("/assets/app.css", get(assets::css))
        .route("/assets/app.js", get(assets::js))
        .layer(middleware::from_fn(headers))
        .with_state(ui);
    pages.fallback_service(api)
}

/// Headers on every page: a strict CSP (scripts and styles only from this
/// origin, no inline script, no framing), no sniffing, no referrer to other sites, and
/// no caching of anything that shows data.
async fn headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // `same-origin`, not `no-referrer`: under `no-referrer` a browser sends
    // `Origin: null` with this site's own form posts, which the CSRF check
    // must refuse.
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

/// A page as HTML, or the error page when it does not render.
pub(crate) fn page<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a dashboard page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "this page failed to render; the server's log says why").into_response()
        }
    }
}

/// A signed-in browser: its session, an API client with its token, and
/// how to reach this server (for the equivalent commands pages show).
pub(crate) struct Signed {
    pub(crate) session: Session,
    pub(crate) api: Client,
    /// `http://HOST` or `https://HOST`, as the browser reached it.
    pub(crate) server: String,
    /// The message the previous action left (see [`flash`]).
    pub(crate) flash: Option<Flash>,
}

/// What an action said, shown once on the next page.
#[derive(Debug, Clone)]
pub(crate) struct Flash {
    /// Whether it went wrong.
    pub(crate) error: bool,
    /// The text.
    pub(crate) text: String,
}

const FLASH: &str = "hubsync_flash";

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<Arc<Ui>> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, ui: &Arc<Ui>) -> Result<Signed, Response> {
        let Some(session) = ui.options.key.from_headers(&parts.headers, now_secs()) else {
            let back = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let to = format!("/sign-in?next={}", encode(back));
            return Err(Redirect::to(&to).into_response());
        };
        let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1:7070");
        let server = format!("{}://{host}", if ui.options.tls { "https" } else { "http" });
        let flash = cookie(&parts.headers, FLASH).and_then(|v| {
            let (kind, text) = v.split_once(':')?;
            Some(Flash { error: kind == "e", text: decode(text) })
        });
        Ok(Signed { api: ui.client(&session.token), session, server, flash })
    }
}

/// A form posted by a signed-in browser of this site: the session's CSRF
/// token must come with it, and a browser that says where the post comes
/// from must say this origin. Anything else is refused (403).
pub(crate) struct Posted<T> {
    pub(crate) signed: Signed,
    pub(crate) form: T,
}

impl<T: DeserializeOwned> FromRequest<Arc<Ui>> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, ui: &Arc<Ui>) -> Result<Posted<T>, Response> {
        let (mut parts, body) = req.into_parts();
        let forbidden = |why: &str| (StatusCode::FORBIDDEN, format!("refused: {why}")).into_response();
        let cross =
            parts.headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_some_and(|s| s == "cross-site");
        if cross || !same_origin(&parts.headers) {
            return Err(forbidden("this form was posted from another site"));
        }
        let signed = Signed::from_request_parts(&mut parts, ui).await?;
        let bytes = axum::body::Bytes::from_request(Request::from_parts(parts, body), ui)
            .await
            .map_err(IntoResponse::into_response)?;
        let fields: HashMap<String, String> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        if fields.get("csrf").map(String::as_str) != Some(signed.session.csrf.as_str()) {
            return Err(forbidden("the form's CSRF token is missing or wrong; reload the page and try again"));
        }
        let form: T = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            (StatusCode::BAD_REQUEST, format!("this form is not one the dashboard sent: {e}")).into_response()
        })?;
        Ok(Posted { signed, form })
    }
}

/// A 403 for a post that says it comes from another site (`Origin`, or
/// `Sec-Fetch-Site: cross-site`); `None` for this site's own.
pub(crate) fn refused_origin(headers: &HeaderMap) -> Option<Response> {
    let cross = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_some_and(|s| s == "cross-site");
    (cross || !same_origin(headers))
        .then(|| (StatusCode::FORBIDDEN, "refused: this form was posted from another site").into_response())
}

/// Whether a request's `Origin` (when the browser sends one) is this host.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    origin.split_once("://").is_some_and(|(_, rest)| rest == host)
}

/// Redirect to `to` (303, so the browser GETs it), carrying `text` to show there.
pub(crate) fn done(to: &str, outcome: Result<String, String>) -> Response {
    let (kind, text) = match outcome {
        Ok(t) => ("o", t),
        Err(t) => ("e", t),
    };
    let mut r = Redirect::to(to).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{FLASH}={kind}:{}; Path=/; HttpOnly; SameSite=Strict; Max-Age=30",
        encode(&text)
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// A page that shows the flash clears it.
pub(crate) fn shown(mut r: Response, signed: &Signed) -> Response {
    if signed.flash.is_some()
        && let Ok(v) = HeaderValue::from_str(&format!("{FLASH}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"))
    {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// `s` percent-encoded for a query value or a cookie.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The inverse of [`encode`] (invalid escapes kept as they are).
pub(crate) fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
