//! Uploaded plugins: the component's bytes with its name, role, version
//! and SHA-256, shared by every instance.

use hubsync_core::ConnectorError;
use sqlx::Row;

use super::MetaStore;

/// A plugin uploaded through the API (its bytes are read separately).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPlugin {
    /// The name groups use (`stored:NAME`).
    pub name: String,
    /// `conflict-policy`, `column-filter` or `schema-map`.
    pub role: String,
    /// The version it describes itself with.
    pub version: String,
    /// SHA-256 of the component.
    pub sha256: String,
    /// Its size.
    pub size_bytes: i64,
    /// When it was uploaded, µs since the Unix epoch.
    pub uploaded_micros: i64,
}

impl MetaStore {
    /// Store (or replace) an uploaded plugin.
    pub async fn put_plugin(&self, p: &StoredPlugin, wasm: &[u8]) -> Result<(), ConnectorError> {
        self.statement(
            "storing a plugin",
            "INSERT INTO plugins (name, role, version, sha256, size_bytes, wasm, uploaded_micros) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET role = excluded.role, \
             version = excluded.version, sha256 = excluded.sha256, size_bytes = excluded.size_bytes, \
             wasm = excluded.wasm, uploaded_micros = excluded.uploaded_micros",
        )
        .bind(&p.name)
        .bind(&p.role)
        .bind(&p.version)
        .bind(&p.sha256)
        .bind(p.size_bytes)
        .bind(wasm.to_vec())
        .bind(p.uploaded_micros)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every uploaded plugin (without its bytes).
    pub async fn stored_plugins(&self) -> Result<Vec<StoredPlugin>, ConnectorError> {
        let rows = self
            .statement(
                "reading plugins",
                "SELECT name, role, version, sha256, size_bytes, uploaded_micros FROM plugins ORDER BY name",
            )
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| StoredPlugin {
                name: r.get(0),
                role: r.get(1),
                version: r.get(2),
                sha256: r.get(3),
                size_bytes: r.get(4),
                uploaded_micros: r.get(5),
            })
            .collect())
    }

    /// An uploaded plugin's component bytes.
    pub async fn plugin_wasm(&self, name: &str) -> Result<Option<Vec<u8>>, ConnectorError> {
        self.statement("reading a plugin", "SELECT wasm FROM plugins WHERE name = ?")
            .bind(name)
            .fetch_scalar(&self.pool)
            .await
    }

    /// Remove an uploaded plugin; whether it existed.
    pub async fn delete_plugin(&self, name: &str) -> Result<bool, ConnectorError> {
        let n = self
            .statement("removing a plugin", "DELETE FROM plugins WHERE name = ?")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(n == 1)
    }
}
