//! Values every instance of a deployment shares, each created once by
//! whichever instance needs it first (the dashboard's session key).

use hubsync_core::ConnectorError;

use super::MetaStore;

impl MetaStore {
    /// The setting `name`; when there is none yet, `value` is stored and
    /// returned. Instances racing to create it all get the first one stored.
    pub async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String, ConnectorError> {
        let what = "reading a shared setting";
        self.statement(what, "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(value)
            .execute(&self.pool)
            .await?;
        let stored: Option<String> = self
            .statement(what, "SELECT value FROM settings WHERE name = ?")
            .bind(name)
            .fetch_scalar(&self.pool)
            .await?;
        stored.ok_or_else(|| ConnectorError::Database {
            engine: self.engine,
            operation: what.to_owned(),
            cause: format!("setting {name:?} vanished after it was stored; try again"),
        })
    }
}
