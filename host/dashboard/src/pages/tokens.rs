//! `/tokens` (admin): the API tokens, with their roles and last use; make
//! one (its text shown once) or revoke one.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::{get, post};
use hubsync_api::{CreatedToken, NewToken, Role};
use serde::Deserialize;

use super::overview::now_micros;
use super::{Chrome, seg};
use crate::view;
use crate::web::{Posted, Signed, Ui, done, page, shown};

pub(crate) fn routes() -> Router<Arc<Ui>> {
    Router::new().route("/tokens", get(tokens).post(create)).route("/tokens/{token}/revoke", post(revoke))
}

struct TokenRow {
    id: String,
    name: String,
    role: &'static str,
    created: String,
    used: String,
    revoked: bool,
    path: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct Tokens {
    chrome: Chrome,
    rows: Vec<TokenRow>,
    made: Option<CreatedToken>,
    typed: String,
    typed_role: String,
    name_error: Option<String>,
    error: Option<String>,
    cli: String,
    curl: String,
}

async fn render(
    s: &Signed,
    made: Option<CreatedToken>,
    typed: (String, String),
    name_error: Option<String>,
) -> Response {
    let chrome = Chrome::of(s, "Tokens", "tokens");
    let now = now_micros();
    let (rows, error) = match s.api.tokens().await {
        Ok(list) => (
            list.into_iter()
                .map(|t| TokenRow {
                    path: format!("/tokens/{}", seg(&t.id)),
                    id: t.id,
                    name: t.name,
                    role: t.role.as_str(),
                    created: view::ago(t.created_micros, now),
                    used: t.last_used_micros.map(|u| view::ago(u, now)).unwrap_or_else(|| "never".into()),
                    revoked: t.revoked_micros.is_some(),
                })
                .collect(),
            None,
        ),
        Err(e) => (Vec::new(), Some(e.message)),
    };
    let data = Tokens {
        cli: chrome.cli("token list"),
        curl: chrome.curl("GET", "/api/v1/tokens", None),
        chrome,
        rows,
        made,
        typed: typed.0,
        typed_role: typed.1,
        name_error,
        error,
    };
    shown(page(&data), s)
}

async fn tokens(s: Signed) -> Response {
    render(&s, None, (String::new(), "reader".into()), None).await
}

#[derive(Deserialize)]
struct Create {
    name: String,
    role: String,
}

async fn create(p: Posted<Create>) -> Response {
    let typed = (p.form.name.trim().to_owned(), p.form.role.clone());
    let Some(role) = Role::parse(&p.form.role) else {
        return render(&p.signed, None, typed, Some("choose admin or reader".into())).await;
    };
    match p.signed.api.create_token(&NewToken { name: typed.0.clone(), role }).await {
        Ok(t) => render(&p.signed, Some(t), (String::new(), "reader".into()), None).await,
        Err(e) => render(&p.signed, None, typed, Some(e.message)).await,
    }
}

#[derive(Deserialize)]
struct Nothing {}

async fn revoke(Path(token): Path<String>, p: Posted<Nothing>) -> Response {
    let r = p.signed.api.revoke_token(&token).await;
    done("/tokens", r.map(|()| format!("token {token} revoked")).map_err(|e| e.message))
}
