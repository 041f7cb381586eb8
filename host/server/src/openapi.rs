//! The OpenAPI 3.1 document: every resource's part merged, with the bearer
//! security scheme and the problem answers every operation can give.

use utoipa::OpenApi;

/// The document's head: title, description, default security.
#[derive(OpenApi)]
#[openapi(
    info(title = "hubsync admin API", description = "Sync groups, members, schemas, syncs, history, conflicts and tokens."),
    components(schemas(crate::problem::Problem)),
    security(("bearer" = [])),
)]
struct Head;

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Head::openapi();
    for part in crate::resources::documents() {
        doc.merge(part);
    }
    add_common(&mut doc);
    doc
}

/// The bearer scheme, and on every operation the problem answers it can
/// give whatever it does (bad input, no or a wrong token, a reader's
/// write, a body over the limit, an unreachable metadata database), so no
/// operation has to repeat them.
fn add_common(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let components = openapi.components.get_or_insert_with(Default::default);
    components
        .add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    let common = [
        ("400", "The request is not valid: the detail says what to fix."),
        ("401", "No token, or a token that is not valid."),
        ("403", "The token's role may not do this."),
        ("404", "Nothing has that name: the detail says which group, member, plugin, agent or token."),
        ("413", "The body is larger than the server accepts."),
        ("503", "The metadata database cannot be reached."),
    ];
    for item in openapi.paths.paths.values_mut() {
        let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for op in ops.into_iter().flatten() {
            for (code, what) in common {
                op.responses.responses.entry(code.to_owned()).or_insert_with(|| {
                    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
                    ResponseBuilder::new().description(what).content("application/problem+json", content).build().into()
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// The document as committed: every change to the API's contract shows
    /// in review as a diff of `openapi.json`, and users generate clients
    /// from it without running a server.
    #[test]
    fn the_committed_document_is_the_served_one() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
        let served = super::document().to_pretty_json().expect("the document serializes") + "\n";
        if std::env::var_os("HUBSYNC_BLESS").is_some() {
            std::fs::write(&path, &served).expect("write openapi.json");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == served,
            "the OpenAPI document changed: review `git diff` after `HUBSYNC_BLESS=1 cargo test -p hubsync-server \
             --lib openapi` and commit {} if the change is meant",
            path.display()
        );
    }
}
