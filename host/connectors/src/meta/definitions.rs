//! Group definitions: the engine's record of each group it prepared, and
//! the definitions `hubsync serve` holds (at a revision, for optimistic
//! concurrency; sealed when a key is given, as they hold passwords).

use hubsync_core::ConnectorError;
use sqlx::Row;

use super::MetaStore;

impl MetaStore {
    /// The definition a group was last synced with (JSON), if any.
    pub async fn group_definition(&self, group: &str) -> Result<Option<String>, ConnectorError> {
        let stored: Option<String> = self
            .statement("reading a group definition", "SELECT definition FROM groups WHERE name = ?")
            .bind(group)
            .fetch_scalar(&self.pool)
            .await?;
        stored.map(|s| self.unseal(s)).transpose()
    }

    /// Every stored group definition: (name, definition JSON).
    pub async fn group_definitions(&self) -> Result<Vec<(String, String)>, ConnectorError> {
        let rows = self
            .statement("reading group definitions", "SELECT name, definition FROM groups ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.get(0), self.unseal(r.get(1))?))).collect()
    }

    /// Record the definition a group is synced with.
    pub async fn set_group_definition(
        &self,
        group: &str,
        definition: &str,
        at_micros: i64,
    ) -> Result<(), ConnectorError> {
        self.statement(
            "recording a group definition",
            "INSERT INTO groups (name, definition, updated_micros) VALUES (?, ?, ?) ON CONFLICT (name) \
             DO UPDATE SET definition = excluded.definition, updated_micros = excluded.updated_micros",
        )
        .bind(group)
        .bind(self.seal(definition)?)
        .bind(at_micros)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every group defined for `hubsync serve`: (name, definition JSON, revision).
    pub async fn specs(&self) -> Result<Vec<(String, String, i64)>, ConnectorError> {
        let rows = self
            .statement("reading group definitions", "SELECT name, definition, revision FROM group_specs ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.get(0), self.unseal(r.get(1))?, r.get(2)))).collect()
    }

    /// Every served group's name and revision (cheap: no definitions read).
    pub async fn spec_revisions(&self) -> Result<Vec<(String, i64)>, ConnectorError> {
        let rows = self
            .statement("reading group revisions", "SELECT name, revision FROM group_specs ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// One group's definition and revision.
    pub async fn spec(&self, name: &str) -> Result<Option<(String, i64)>, ConnectorError> {
        let row = self
            .statement("reading a group definition", "SELECT definition, revision FROM group_specs WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((self.unseal(r.get(0))?, r.get(1)))).transpose()
    }

    /// Store a group's definition: create it when `revision` is `None` (fails
    /// with `Ok(None)` if it exists), else replace it if it is still at
    /// `revision` (`Ok(None)` when someone changed it since). Returns the
    /// new revision.
    pub async fn put_spec(
        &self,
        name: &str,
        definition: &str,
        revision: Option<i64>,
        at_micros: i64,
    ) -> Result<Option<i64>, ConnectorError> {
        let sealed = self.seal(definition)?;
        let what = "storing a group definition";
        let done = match revision {
            None => {
                self.statement(
                    what,
                    "INSERT INTO group_specs (name, definition, revision, updated_micros) VALUES (?, ?, 1, ?) \
                 ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(&sealed)
                .bind(at_micros)
                .execute(&self.pool)
                .await?
            }
            Some(rev) => {
                self.statement(
                    what,
                    "UPDATE group_specs SET definition = ?, revision = revision + 1, updated_micros = ? \
                 WHERE name = ? AND revision = ?",
                )
                .bind(&sealed)
                .bind(at_micros)
                .bind(name)
                .bind(rev)
                .execute(&self.pool)
                .await?
            }
        };
        Ok((done == 1).then_some(revision.unwrap_or(0) + 1))
    }

    /// Remove a group's definition, its leases and its sync state (history
    /// stays). Returns whether it existed.
    pub async fn delete_spec(&self, name: &str) -> Result<bool, ConnectorError> {
        let what = "removing a group";
        let mut tx = self.pool.begin_with(self.begin_sql()).await.map_err(self.db(what))?;
        let n = self.statement(what, "DELETE FROM group_specs WHERE name = ?").bind(name).execute(&mut *tx).await?;
        for t in ["leases", "anchors", "journal", "parked", "quarantine", "members", "latest"] {
            self.statement(what, &format!("DELETE FROM {t} WHERE group_name = ?")).bind(name).execute(&mut *tx).await?;
        }
        // Kept, marked fresh: a group made again under this name starts new
        // incarnations, whose marks differ from what this one left behind.
        self.statement(what, "UPDATE databases SET fresh = 1 WHERE group_name = ?")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        self.statement(what, "DELETE FROM groups WHERE name = ?").bind(name).execute(&mut *tx).await?;
        tx.commit().await.map_err(self.db(what))?;
        Ok(n == 1)
    }
}
