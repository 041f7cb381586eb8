//! Group files: TOML in, validated [`SyncFile`] out, with `${VAR}`
//! expanded and relative paths made relative to the file.

use std::path::{Path, PathBuf};

use hubsync_core::SyncFile;

use crate::EngineError;

/// A group file ready to run.
#[derive(Debug, Clone)]
pub struct LoadedFile {
    /// The definitions, with URLs and plugin paths resolved.
    pub file: SyncFile,
    /// The metadata database URL.
    pub metadata_url: String,
    /// The folder relative paths were resolved against.
    pub base_dir: PathBuf,
}

/// Read, parse, resolve and validate a group file.
pub fn load_file(path: &Path) -> Result<LoadedFile, EngineError> {
    let text =
        std::fs::read_to_string(path).map_err(|cause| EngineError::Read { path: path.display().to_string(), cause })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let base = if base.as_os_str().is_empty() { PathBuf::from(".") } else { base };
    let base = std::fs::canonicalize(&base).unwrap_or(base);
    parse_file(&text, &path.display().to_string(), &base)
}

/// Parse and resolve group-file text; `name` is used in messages.
pub fn parse_file(text: &str, name: &str, base_dir: &Path) -> Result<LoadedFile, EngineError> {
    let mut file: SyncFile =
        toml::from_str(text).map_err(|e| EngineError::Parse { path: name.to_owned(), message: e.to_string() })?;
    let mut problems = file.problems();
    let mut expand = |s: &mut String, what: &str| match expand_env(s) {
        Ok(v) => *s = resolve_sqlite(&v, base_dir),
        Err(e) => problems.push(format!("{what}: {e}")),
    };
    for g in &mut file.groups {
        expand(&mut g.hub, &format!("group {:?}: hub", g.name));
        for m in &mut g.members {
            expand(&mut m.url, &format!("group {:?}: member {:?}", g.name, m.name));
        }
        let policies = std::iter::once(&mut g.conflict_policy)
            .chain(g.tables.iter_mut().filter_map(|t| t.conflict_policy.as_mut()))
            .chain(
                g.members.iter_mut().flat_map(|m| m.column_filter.as_mut().into_iter().chain(m.schema_map.as_mut())),
            );
        for p in policies {
            let named = p.plugin.starts_with("builtin:") || p.plugin.starts_with("stored:");
            if !named && Path::new(&p.plugin).is_relative() {
                p.plugin = base_dir.join(&p.plugin).display().to_string();
            }
        }
    }
    let mut metadata = file.metadata.clone().unwrap_or_else(|| "sqlite://hubsync-meta.db".into());
    expand(&mut metadata, "metadata");
    if !problems.is_empty() {
        return Err(EngineError::Invalid(problems));
    }
    Ok(LoadedFile { file, metadata_url: metadata, base_dir: base_dir.to_path_buf() })
}

/// Replace `${VAR}` with the environment variable's value.
fn expand_env(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| format!("`${{` without a closing `}}` in {s:?}"))?;
        let var = &after[..end];
        let value = std::env::var(var)
            .map_err(|_| format!("environment variable {var} is not set (the file refers to it as ${{{var}}})"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Make a relative `sqlite://PATH` relative to `base`.
fn resolve_sqlite(url: &str, base: &Path) -> String {
    let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else {
        return url.to_owned();
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path.is_empty() || path.starts_with('/') || path.contains(":memory:") {
        return url.to_owned();
    }
    let full = base.join(path);
    match query {
        Some(q) => format!("sqlite://{}?{q}", full.display()),
        None => format!("sqlite://{}", full.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[group]]
name = "sales"
hub = "sqlite://hub.db"
interval_seconds = 30
conflict_policy = { plugin = "builtin:last-writer-wins", config = { tie = "hub" } }

[[group.member]]
name = "shop-1"
url = "sqlite://shops/one.db?mode=rwc"
direction = "to-hub"

[[group.table]]
name = "orders"
columns = ["id", "amount"]
conflict_policy = { plugin = "policies/mine.wasm" }
"#;

    #[test]
    fn a_file_resolves_paths_against_its_folder() {
        let f = parse_file(GOOD, "g.toml", Path::new("/srv/sync")).expect("valid");
        let g = &f.file.groups[0];
        assert_eq!(g.hub, "sqlite:///srv/sync/hub.db");
        assert_eq!(g.members[0].url, "sqlite:///srv/sync/shops/one.db?mode=rwc");
        assert_eq!(g.members[0].direction, hubsync_core::SyncDirection::ToHub);
        assert_eq!(f.metadata_url, "sqlite:///srv/sync/hubsync-meta.db");
        assert_eq!(
            g.tables[0].conflict_policy.as_ref().map(|p| p.plugin.as_str()),
            Some("/srv/sync/policies/mine.wasm")
        );
        assert_eq!(g.conflict_policy.config["tie"], "hub");
        assert_eq!(g.batch_rows, 10_000);
    }

    #[test]
    fn mistakes_are_reported_with_where_they_are() {
        let typo = GOOD.replace("interval_seconds", "interval_secs");
        let e = parse_file(&typo, "g.toml", Path::new("/")).expect_err("unknown field").to_string();
        assert!(e.contains("g.toml") && e.contains("interval_secs") && e.contains("line"), "{e}");
        let e = parse_file(
            &GOOD.replace("sqlite://hub.db", "postgres://u:${HUBSYNC_NO_SUCH_VAR}@h/db"),
            "g.toml",
            Path::new("/"),
        )
        .expect_err("unset variable")
        .to_string();
        assert!(e.contains("HUBSYNC_NO_SUCH_VAR is not set"), "{e}");
        let e = parse_file(&GOOD.replace("to-hub", "sideways"), "g.toml", Path::new("/"))
            .expect_err("bad enum")
            .to_string();
        assert!(e.contains("sideways"), "{e}");
    }

    #[test]
    fn environment_variables_are_expanded() {
        // PATH is set in every test environment.
        let path = std::env::var("PATH").unwrap_or_default();
        assert_eq!(expand_env("a${PATH}b").as_deref(), Ok(format!("a{path}b").as_str()));
        assert!(expand_env("${PATH").is_err());
    }
}
