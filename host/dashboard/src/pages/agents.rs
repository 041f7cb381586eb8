//! `/agents`: sync agents (databases behind a firewall): online or not,
//! version, last contact, their databases and whether each is reachable;
//! (admin) create one and see its one-time key once, with a copy button,
//! regenerate its key (which retires the running agent), remove it.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::{get, post};
use hubsync_api::{AgentKey, NewAgent};
use serde::Deserialize;

use super::overview::now_micros;
use super::{Chrome, seg, shell};
use crate::view;
use crate::web::{Posted, Signed, Ui, done, page, shown};

pub(crate) fn routes() -> Router<Arc<Ui>> {
    Router::new()
        .route("/agents", get(agents).post(create))
        .route("/agents/{agent}/regenerate-key", post(regenerate))
        .route("/agents/{agent}/delete", post(delete))
}

struct Database {
    name: String,
    engine: String,
    reachable: bool,
    error: String,
    tables: usize,
    updated: String,
}

struct AgentRow {
    name: String,
    path: String,
    online: bool,
    state: &'static str,
    version: String,
    address: String,
    last_contact: String,
    databases: Vec<Database>,
}

/// A key just made: shown on this one answer, never again.
struct Shown {
    name: String,
    key: String,
    command: String,
}

#[derive(Template)]
#[template(path = "agents.html")]
struct Agents {
    chrome: Chrome,
    rows: Vec<AgentRow>,
    key: Option<Shown>,
    /// What was typed in the create form, kept when it failed.
    typed: String,
    name_error: Option<String>,
    error: Option<String>,
    cli: String,
    curl: String,
}

async fn render(s: &Signed, key: Option<AgentKey>, typed: String, name_error: Option<String>) -> Response {
    let chrome = Chrome::of(s, "Agents", "agents");
    let now = now_micros();
    let (rows, error) = match s.api.agents().await {
        Ok(list) => (
            list.into_iter()
                .map(|a| AgentRow {
                    path: format!("/agents/{}", seg(&a.name)),
                    name: a.name,
                    online: a.online,
                    state: a.state.as_str(),
                    version: a.version.unwrap_or_default(),
                    address: a.address.unwrap_or_default(),
                    last_contact: a.last_contact_micros.map(|t| view::ago(t, now)).unwrap_or_else(|| "never".into()),
                    databases: a
                        .databases
                        .into_iter()
                        .map(|d| Database {
                            name: d.name,
                            engine: d.engine.unwrap_or_default(),
                            reachable: d.reachable,
                            error: d.error.unwrap_or_default(),
                            tables: d.tables.len(),
                            updated: view::ago(d.updated_micros, now),
                        })
                        .collect(),
                })
                .collect(),
            None,
        ),
        Err(e) => (Vec::new(), Some(e.message)),
    };
    let key = key.map(|k| Shown {
        command: format!(
            "hubsync agent connect --service {} --key {} --state agent-state",
            chrome.server,
            shell(&k.key)
        ),
        name: k.name,
        key: k.key,
    });
    let data = Agents {
        cli: chrome.cli("agent list"),
        curl: chrome.curl("GET", "/api/v1/agents", None),
        chrome,
        rows,
        key,
        typed,
        name_error,
        error,
    };
    shown(page(&data), s)
}

async fn agents(s: Signed) -> Response {
    render(&s, None, String::new(), None).await
}

#[derive(Deserialize)]
struct Create {
    name: String,
}

async fn create(p: Posted<Create>) -> Response {
    let name = p.form.name.trim().to_owned();
    match p.signed.api.create_agent(&NewAgent { name: name.clone() }).await {
        Ok(k) => render(&p.signed, Some(k), String::new(), None).await,
        Err(e) => render(&p.signed, None, name, Some(e.message)).await,
    }
}

async fn regenerate(Path(agent): Path<String>, p: Posted<Nothing>) -> Response {
    match p.signed.api.regenerate_key(&agent).await {
        Ok(k) => render(&p.signed, Some(k), String::new(), None).await,
        Err(e) => done("/agents", Err(e.message)),
    }
}

#[derive(Deserialize)]
struct Nothing {}

async fn delete(Path(agent): Path<String>, p: Posted<Nothing>) -> Response {
    let r = p.signed.api.delete_agent(&agent).await;
    done("/agents", r.map(|()| format!("agent {agent} removed")).map_err(|e| e.message))
}
