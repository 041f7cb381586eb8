//! The pages, one module per page or resource: each holds its routes,
//! what it asks the API, and its template's data.

use std::sync::Arc;

use axum::Router;

use crate::web::{Flash, Signed, Ui};

mod agents;
mod conflicts;
mod group;
mod logs;
mod new_group;
mod overview;
mod plugins;
mod quarantine;
mod sign_in;
mod tokens;

/// Every page's routes.
pub(crate) fn routes() -> Router<Arc<Ui>> {
    Router::new()
        .merge(sign_in::routes())
        .merge(overview::routes())
        .merge(group::routes())
        .merge(logs::routes())
        .merge(new_group::routes())
        .merge(conflicts::routes())
        .merge(quarantine::routes())
        .merge(agents::routes())
        .merge(plugins::routes())
        .merge(tokens::routes())
}

/// What the layout around every signed-in page needs.
pub(crate) struct Chrome {
    /// The page's title.
    pub(crate) title: String,
    /// Which navigation entry is current.
    pub(crate) nav: &'static str,
    /// Whether the token may change things (a reader sees no such button).
    pub(crate) admin: bool,
    /// The session's CSRF token, carried by every form.
    pub(crate) csrf: String,
    /// What the last action said.
    pub(crate) flash: Option<Flash>,
    /// `http(s)://HOST`, for the equivalent commands.
    pub(crate) server: String,
}

impl Chrome {
    pub(crate) fn of(s: &Signed, title: impl Into<String>, nav: &'static str) -> Chrome {
        Chrome {
            title: title.into(),
            nav,
            admin: s.session.admin(),
            csrf: s.session.csrf.clone(),
            flash: s.flash.clone(),
            server: s.server.clone(),
        }
    }

    /// `hubsync ARGS --server URL` as a user would type it.
    pub(crate) fn cli(&self, args: &str) -> String {
        format!("hubsync {args} --server {}", self.server)
    }

    /// The `curl` call of `METHOD PATH` (with a JSON body, if any).
    pub(crate) fn curl(&self, method: &str, path: &str, body: Option<&str>) -> String {
        let mut c = String::from("curl -H \"Authorization: Bearer $HUBSYNC_TOKEN\"");
        if method != "GET" {
            c.push_str(&format!(" -X {method}"));
        }
        if let Some(b) = body {
            c.push_str(&format!(" -H 'Content-Type: application/json' -d '{b}'"));
        }
        c.push_str(&format!(" {}{path}", self.server));
        c
    }
}

pub(crate) use hubsync_client::segment as seg;

/// `s` quoted for a POSIX shell, when it needs quoting.
pub(crate) fn shell(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:/@".contains(&b)) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    status: u16,
    message: String,
}

/// The page of an API error (its status, its `detail`); a token the API
/// no longer takes (revoked) sends the browser to sign in again.
pub(crate) fn error_page(chrome: Chrome, e: hubsync_client::CallError) -> axum::response::Response {
    if e.status == 401 {
        return axum::response::IntoResponse::into_response(axum::response::Redirect::to("/sign-in"));
    }
    let status = axum::http::StatusCode::from_u16(e.status).unwrap_or(axum::http::StatusCode::BAD_GATEWAY);
    let mut r = crate::web::page(&ErrorPage { chrome, status: status.as_u16(), message: e.message });
    *r.status_mut() = status;
    r
}
