//! The REST API under `/api/v1`, one module per resource: each holds its
//! routes, its handlers and its part of the OpenAPI document. Handlers
//! take and return `hubsync-api`'s types through the extractors of
//! [`crate::extract`].

use std::sync::Arc;

use axum::Router;

use crate::state::AppState;

pub(crate) mod agents;
pub(crate) mod conflicts;
pub(crate) mod groups;
pub(crate) mod members;
pub(crate) mod plugins;
pub(crate) mod quarantine;
pub(crate) mod schema;
pub(crate) mod status;
pub(crate) mod sync;
pub(crate) mod tokens;

/// The routes that need a token (the authentication layer goes around them).
pub(crate) fn with_token() -> Router<Arc<AppState>> {
    Router::new()
        .merge(groups::routes())
        .merge(members::routes())
        .merge(schema::routes())
        .merge(sync::routes())
        .merge(status::routes())
        .merge(conflicts::routes())
        .merge(quarantine::routes())
        .merge(plugins::routes())
        .merge(tokens::routes())
        .merge(agents::routes())
        .merge(crate::events::routes())
}

/// The routes agents call with their key or credential instead of a token.
pub(crate) fn for_agents() -> Router<Arc<AppState>> {
    agents::agent_routes()
}

/// Every resource's part of the OpenAPI document.
pub(crate) fn documents() -> Vec<utoipa::openapi::OpenApi> {
    use utoipa::OpenApi;
    vec![
        groups::Doc::openapi(),
        members::Doc::openapi(),
        schema::Doc::openapi(),
        sync::Doc::openapi(),
        status::Doc::openapi(),
        conflicts::Doc::openapi(),
        quarantine::Doc::openapi(),
        plugins::Doc::openapi(),
        tokens::Doc::openapi(),
        agents::Doc::openapi(),
        crate::events::Doc::openapi(),
    ]
}
