//! `/plugins`: the plugins kept on the server (conflict policies, column
//! filters, schema maps): role, version, SHA-256, size, the groups using
//! each; (admin) upload one (the server checks it first: the check's
//! error shows beside the file field) and remove one no group uses.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path};
use axum::response::Response;
use axum::routing::{get, post};
use hubsync_api::{PluginView, UploadQuery};
use serde::Deserialize;

use super::overview::now_micros;
use super::{Chrome, seg};
use crate::upload::Uploaded;
use crate::view;
use crate::web::{Posted, Signed, Ui, done, page, shown};

/// The largest upload the page takes (the API's own limit decides).
const UPLOAD_LIMIT_BYTES: usize = 65 << 20;

pub(crate) fn routes() -> Router<Arc<Ui>> {
    Router::new()
        .route("/plugins", get(plugins).post(upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT_BYTES)))
        .route("/plugins/{plugin}/remove", post(remove))
}

struct PluginRow {
    name: String,
    role: String,
    version: String,
    sha256: String,
    size: String,
    uploaded: String,
    used_by: Vec<String>,
    path: String,
}

#[derive(Template)]
#[template(path = "plugins.html")]
struct Plugins {
    chrome: Chrome,
    rows: Vec<PluginRow>,
    /// The plugin just uploaded, as the server checked it.
    accepted: Option<PluginView>,
    typed: String,
    file_error: Option<String>,
    error: Option<String>,
    cli: String,
    curl: String,
}

async fn render(s: &Signed, accepted: Option<PluginView>, typed: String, file_error: Option<String>) -> Response {
    let chrome = Chrome::of(s, "Plugins", "plugins");
    let now = now_micros();
    let (rows, error) = match s.api.plugins().await {
        Ok(list) => (
            list.into_iter()
                .map(|p| PluginRow {
                    path: format!("/plugins/{}", seg(&p.name)),
                    name: p.name,
                    role: p.role,
                    version: p.version,
                    sha256: p.sha256,
                    size: format!("{} KiB", view::count(p.size_bytes / 1024)),
                    uploaded: view::ago(p.uploaded_micros, now),
                    used_by: p.used_by,
                })
                .collect(),
            None,
        ),
        Err(e) => (Vec::new(), Some(e.message)),
    };
    let data = Plugins {
        cli: chrome.cli("plugin upload FILE.wasm --name NAME"),
        curl: chrome.curl("POST", "/api/v1/plugins?name=NAME --data-binary @FILE.wasm", None),
        chrome,
        rows,
        accepted,
        typed,
        file_error,
        error,
    };
    shown(page(&data), s)
}

async fn plugins(s: Signed) -> Response {
    render(&s, None, String::new(), None).await
}

async fn upload(u: Uploaded) -> Response {
    let typed = u.text("name");
    let Some(file) = u.file("file") else {
        return render(&u.signed, None, typed, Some("choose a .wasm component to upload".into())).await;
    };
    // The name given, else the file's name without `.wasm`.
    let name = if typed.is_empty() {
        file.filename.as_deref().unwrap_or_default().trim_end_matches(".wasm").to_owned()
    } else {
        typed.clone()
    };
    match u.signed.api.upload_plugin(&UploadQuery { name }, file.data.clone()).await {
        Ok(p) => render(&u.signed, Some(p), String::new(), None).await,
        Err(e) => render(&u.signed, None, typed, Some(e.message)).await,
    }
}

#[derive(Deserialize)]
struct Nothing {}

async fn remove(Path(plugin): Path<String>, p: Posted<Nothing>) -> Response {
    let r = p.signed.api.delete_plugin(&plugin).await;
    done("/plugins", r.map(|()| format!("plugin {plugin} removed")).map_err(|e| e.message))
}
