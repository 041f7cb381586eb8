//! The on-disk cache of compiled components: one `<sha256>-<compat>.cwasm`
//! file per plugin and engine build, written atomically and swept of what
//! nobody will read again.
//!
//! A compiled Python or JavaScript plugin is about 40 MB, so leftovers matter:
//! a process killed while writing leaves its temporary file, an upgraded
//! hubsync leaves the entries of the build before it (their `compat` part no
//! longer matches), and a plugin replaced in a group leaves its old entry.
//! Every compile ends with a sweep; loading an entry marks it used.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use wasmtime::component::Component;

/// A temporary file this old was left by a process that died while writing
/// (a write takes seconds).
pub(crate) const STALE_TEMPORARY: Duration = Duration::from_secs(60 * 60);
/// An entry of another hubsync build unused this long is removed: the build
/// that wrote it has most likely been upgraded away. A build still running
/// beside this one recompiles it at worst once a day.
pub(crate) const STALE_OTHER_BUILD: Duration = Duration::from_secs(24 * 60 * 60);
/// Any entry unused this long is removed (a plugin no group uses any more).
pub(crate) const STALE_UNUSED: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// Loading an entry marks it used only when its mark is older than this,
/// so that a load is not also a write.
const MARK_AFTER: Duration = Duration::from_secs(60 * 60);

const TEMPORARY_PREFIX: &str = ".tmp-";
const EXTENSION: &str = ".cwasm";

/// A cache directory for one engine build.
#[derive(Debug, Clone)]
pub(crate) struct DiskCache {
    dir: PathBuf,
    /// The engine's compatibility hash: part of every entry's name.
    compat: String,
}

impl DiskCache {
    pub(crate) fn new(dir: PathBuf, compat: String) -> DiskCache {
        DiskCache { dir, compat }
    }

    /// Where the component with this SHA-256 (hex) is kept.
    pub(crate) fn entry(&self, sha: &str) -> PathBuf {
        self.dir.join(format!("{sha}-{}{EXTENSION}", self.compat))
    }

    /// Notes that `path` was used now (its modification time is the mark the
    /// sweep goes by); best effort, a read-only cache only loses the mark.
    pub(crate) fn mark_used(path: &Path) {
        let now = SystemTime::now();
        let Ok(modified) = std::fs::metadata(path).and_then(|m| m.modified()) else { return };
        if now.duration_since(modified).unwrap_or_default() < MARK_AFTER {
            return;
        }
        if let Err(e) = std::fs::File::options().append(true).open(path).and_then(|f| f.set_modified(now)) {
            tracing::debug!(path = %path.display(), error = %e, "cannot mark a compiled plugin as used");
        }
    }

    /// Writes `component` to `path` through a temporary file and a rename, so
    /// that a reader never sees half a file; the temporary file is removed
    /// if the write fails.
    pub(crate) fn store(&self, path: &Path, component: &Component) -> Result<(), Box<dyn std::error::Error>> {
        std::fs::create_dir_all(&self.dir)?;
        let name = path.file_name().and_then(|f| f.to_str()).unwrap_or("entry");
        let tmp = self.dir.join(format!("{TEMPORARY_PREFIX}{}-{name}", std::process::id()));
        let written = component
            .serialize()
            .map_err(|e| -> Box<dyn std::error::Error> { format!("{e:#}").into() })
            .and_then(|bytes| Ok(std::fs::write(&tmp, bytes)?))
            .and_then(|()| Ok(std::fs::rename(&tmp, path)?));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }

    /// Removes what nobody will read again (see the `STALE_*` ages); returns
    /// how many files went. Files it cannot read or remove are left alone.
    pub(crate) fn sweep(&self) -> usize {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return 0 };
        let now = SystemTime::now();
        let mine = format!("-{}{EXTENSION}", self.compat);
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let age = match entry.metadata().and_then(|m| m.modified()) {
                Ok(t) => now.duration_since(t).unwrap_or_default(),
                Err(_) => continue,
            };
            let stale = if name.starts_with(TEMPORARY_PREFIX) {
                age >= STALE_TEMPORARY
            } else if name.ends_with(EXTENSION) {
                age >= STALE_UNUSED || (!name.ends_with(&mine) && age >= STALE_OTHER_BUILD)
            } else {
                false
            };
            if !stale {
                continue;
            }
            match std::fs::remove_file(entry.path()) {
                Ok(()) => {
                    tracing::info!(
                        file = name,
                        age_hours = age.as_secs() / 3600,
                        "removed a stale compiled plugin file"
                    );
                    removed += 1;
                }
                Err(e) => tracing::debug!(file = name, error = %e, "cannot remove a stale compiled plugin file"),
            }
        }
        removed
    }
}
