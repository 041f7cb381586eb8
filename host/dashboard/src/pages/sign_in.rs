//! Signing in with an API token (checked by asking the API who it is)
//! and signing out. Failed attempts are limited per address.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::session::{self, SESSION_SECONDS};
use crate::web::{Posted, Ui, now_secs, page, refused_origin};

pub(crate) fn routes() -> Router<Arc<Ui>> {
    Router::new().route("/sign-in", get(form).post(sign_in)).route("/sign-out", post(sign_out))
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignIn {
    next: String,
    error: Option<String>,
}

/// Where to go after signing in.
#[derive(Deserialize)]
struct Next {
    #[serde(default)]
    next: Option<String>,
}

/// Only a path of this site: never `//elsewhere` or a full URL.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".into(),
    }
}

async fn form(Query(q): Query<Next>) -> Response {
    page(&SignIn { next: safe_next(q.next.as_deref()), error: None })
}

#[derive(Deserialize)]
struct Credentials {
    token: String,
    #[serde(default)]
    next: Option<String>,
}

async fn sign_in(
    State(ui): State<Arc<Ui>>,
    connect: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    Form(c): Form<Credentials>,
) -> Response {
    let ip = connect.map(|c| c.0.0.ip());
    let next = safe_next(c.next.as_deref());
    let again = |status: StatusCode, error: String| {
        let mut r = page(&SignIn { next: next.clone(), error: Some(error) });
        *r.status_mut() = status;
        r
    };
    // No session yet, so no CSRF token: the origin check alone keeps
    // another site from signing a browser in to an account of its choice.
    if refused_origin(&headers).is_some() {
        return again(StatusCode::FORBIDDEN, "refused: this form was posted from another site".into());
    }
    if !ui.may_try(ip) {
        return again(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed sign-ins from this address; wait a minute".into(),
        );
    }
    let token = c.token.trim();
    let who = ui.client(token).whoami().await;
    let identity = match who {
        Ok(i) => i,
        Err(e) if e.status == 401 => {
            ui.failed(ip);
            return again(StatusCode::UNAUTHORIZED, e.message);
        }
        Err(e) => return again(StatusCode::BAD_GATEWAY, e.message),
    };
    let Some(value) = ui.options.key.cookie_value(token, identity.role, now_secs() + SESSION_SECONDS) else {
        ui.failed(ip);
        return again(StatusCode::UNAUTHORIZED, "that is not a hubsync token".into());
    };
    let mut r = Redirect::to(&next).into_response();
    if let Ok(v) = HeaderValue::from_str(&session::set_cookie(&value, ui.options.tls)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
struct Nothing {}

async fn sign_out(State(ui): State<Arc<Ui>>, _: Posted<Nothing>) -> Response {
    let mut r = Redirect::to("/sign-in").into_response();
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie(ui.options.tls)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}
