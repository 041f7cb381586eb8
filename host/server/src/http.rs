//! The HTTP surface around the resources: the router and its layers
//! (token check, problem+json for every error, the short answer cache),
//! health, readiness, metrics and the OpenAPI document.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::problem::ApiError;
use crate::resources;
use crate::state::AppState;
use crate::{metrics as prometheus, now_micros};

async fn authenticate(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .map(str::to_owned)
        .or_else(|| browser_token(&state, &req));
    let Some(token) = presented else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this call needs a token: send `Authorization: Bearer TOKEN` (make one with `hubsync token create`)",
        )
        .into_response();
    };
    match state.caller(&token).await {
        Ok(Some(caller)) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Ok(None) => ApiError::new(StatusCode::UNAUTHORIZED, "the token is not valid or was revoked").into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The token of a browser signed in to the dashboard, for the one route
/// a page cannot send a header to: `EventSource` opens `/api/v1/events`
/// with cookies only. Every other route wants the header (a cookie alone
/// never changes anything).
fn browser_token(state: &AppState, req: &Request) -> Option<String> {
    if req.method() != axum::http::Method::GET || req.uri().path() != "/api/v1/events" {
        return None;
    }
    let key = state.session_key.get()?;
    let now = (now_micros() / 1_000_000) as u64;
    key.from_headers(req.headers(), now).map(|s| s.token)
}

/// Every error answer as problem+json, including axum's own (an unknown
/// route, a wrong method, a body over the limit).
async fn problems(req: Request, next: Next) -> Response {
    let r = next.run(req).await;
    let status = r.status();
    let is_problem = r.headers().get(header::CONTENT_TYPE).is_some_and(|v| v == "application/problem+json");
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return r;
    }
    let text = match axum::body::to_bytes(r.into_body(), 64 << 10).await {
        Ok(b) if !b.is_empty() => String::from_utf8_lossy(&b).into_owned(),
        _ => match status {
            StatusCode::NOT_FOUND => "no such route; the API is described at /api/v1/openapi.json".into(),
            StatusCode::METHOD_NOT_ALLOWED => "this route does not take that method".into(),
            _ => status.canonical_reason().unwrap_or("error").into(),
        },
    };
    ApiError::new(status, text).into_response()
}

fn json_answer(body: bytes::Bytes) -> Response {
    let mut r = Response::new(axum::body::Body::from(body));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// The group a path under `/api/v1/groups/G` is about (decoded), if any.
pub(crate) fn group_of_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/api/v1/groups/")?;
    let segment = rest.split('/').next().filter(|s| !s.is_empty())?;
    Some(percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned())
}

/// Whether the cached answer of `uri` may show something of `group`: its
/// own status, or history that is the group's or every group's. What it
/// cannot tell counts as concerned (forgetting too much only costs a
/// query).
pub(crate) fn answer_concerns(uri: &str, group: &str) -> bool {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    if path.starts_with("/api/v1/groups/") {
        return group_of_path(path).is_none_or(|g| g == group);
    }
    if path == "/api/v1/history" {
        let mut filters = form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k == "group").peekable();
        return filters.peek().is_none() || filters.any(|(_, g)| g == group);
    }
    true
}

/// Serve status and history reads from a half-second cache, computing
/// each URI once however many clients ask at the same moment. A call that
/// changes something forgets the answers it may have changed: a group's
/// own (a `sync` request to one group keeps every other group's status
/// cached; under a stream of such requests, clearing everything made the
/// cache useless), or all of them.
async fn answers(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let cacheable = req.method() == axum::http::Method::GET && (path.ends_with("/status") || path == "/api/v1/history");
    if !cacheable {
        let write = (req.method() != axum::http::Method::GET).then(|| path.to_owned());
        let r = next.run(req).await;
        if let Some(path) = write {
            state.forget_answers_after(&path);
        }
        return r;
    }
    let uri = req.uri().to_string();
    if let Some(b) = state.answer(&uri) {
        return json_answer(b);
    }
    let lock: Option<Arc<tokio::sync::Mutex<()>>> = state.computing.lock().ok().map(|mut c| {
        if c.len() > 10_000 {
            c.clear();
        }
        c.entry(uri.clone()).or_default().clone()
    });
    let Some(lock) = lock else { return next.run(req).await };
    let _one = lock.lock().await;
    if let Some(b) = state.answer(&uri) {
        return json_answer(b);
    }
    let r = next.run(req).await;
    if r.status() != StatusCode::OK {
        return r;
    }
    let (parts, body) = r.into_parts();
    match axum::body::to_bytes(body, 64 << 20).await {
        Ok(b) => {
            if let Ok(mut a) = state.answers.lock() {
                if a.len() > 10_000 {
                    a.clear();
                }
                a.insert(uri, (std::time::Instant::now(), b.clone()));
            }
            Response::from_parts(parts, axum::body::Body::from(b))
        }
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.engine.meta().ping().await {
        Ok(()) => "ready\n".into_response(),
        Err(e) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

async fn openapi() -> Response {
    let mut r = axum::Json(crate::openapi::document()).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let now = now_micros();
    let leases = match state.engine.meta().leases().await {
        Ok(l) => l,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let held: Vec<(String, String, String)> = leases
        .into_iter()
        .filter(|l| l.expires_micros >= now)
        .filter_map(|l| Some((l.group, l.member, l.holder?)))
        .collect();
    let mut plugins = Vec::new();
    if let Ok(prepared) = state.prepared.lock() {
        for (group, (_, g, _)) in prepared.iter() {
            for p in g.plugins() {
                let i = p.info();
                plugins.push((group.clone(), format!("{} {}", i.name, i.version), p.stats()));
            }
        }
    }
    let mut text = state.metrics.render(&held, &plugins, &state.instance);
    let (agents, databases) =
        match (state.engine.meta().agents().await, state.engine.meta().agent_databases(None).await) {
            (Ok(a), Ok(d)) => (a, d),
            (Err(e), _) | (_, Err(e)) => return ApiError::from(e).into_response(),
        };
    let online: Vec<(String, bool)> =
        agents.iter().map(|a| (a.name.clone(), resources::agents::online(a, now))).collect();
    let reachable: Vec<(String, String, bool)> =
        databases.into_iter().map(|d| (d.agent, d.name, d.reachable)).collect();
    prometheus::render_agents(&mut text, &online, &reachable);
    let mut r = text.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    r
}

/// The HTTP routes: health, metrics and the document beside the API's
/// resources, each behind the layers it needs.
pub fn router(state: Arc<AppState>) -> Router {
    let with_token = resources::with_token()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(state.clone(), answers))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate));
    let limit = state.options.body_limit_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(resources::for_agents())
        .merge(with_token)
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(problems))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::{answer_concerns, group_of_path};

    #[test]
    fn a_groups_write_names_its_group_decoded() {
        assert_eq!(group_of_path("/api/v1/groups/g1/sync").as_deref(), Some("g1"));
        assert_eq!(group_of_path("/api/v1/groups/eu%20shops").as_deref(), Some("eu shops"));
        assert_eq!(group_of_path("/api/v1/groups/g1/members/m2/reinit").as_deref(), Some("g1"));
        assert_eq!(group_of_path("/api/v1/groups"), None);
        assert_eq!(group_of_path("/api/v1/groups/"), None);
        assert_eq!(group_of_path("/api/v1/tokens/t"), None);
    }

    #[test]
    fn only_the_groups_own_answers_and_shared_history_are_concerned() {
        let g = "eu shops";
        for uri in [
            "/api/v1/groups/eu%20shops/status",
            "/api/v1/history",
            "/api/v1/history?limit=50",
            "/api/v1/history?group=eu+shops&limit=50",
            "/api/v1/history?group=eu%20shops",
            "/api/v1/history?group=other&group=eu%20shops",
            "/api/v1/whatever/status",
        ] {
            assert!(answer_concerns(uri, g), "{uri}");
        }
        for uri in ["/api/v1/groups/g1/status", "/api/v1/history?group=g1&limit=50", "/api/v1/history?group=eu"] {
            assert!(!answer_concerns(uri, g), "{uri}");
        }
    }
}
