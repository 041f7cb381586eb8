//! Sync agents: each one's key and credential (hashed), its last contact,
//! and the databases it reported.

use hubsync_core::ConnectorError;
use sqlx::Row;

use super::MetaStore;

/// A database an agent registered, as the agent last reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentDatabase {
    /// The agent.
    pub agent: String,
    /// The database's name on the agent.
    pub name: String,
    /// Its engine, once reached.
    pub engine: Option<String>,
    /// Whether the agent reached it at its last check.
    pub reachable: bool,
    /// Why not.
    pub error: Option<String>,
    /// Its tables.
    pub tables: Vec<String>,
    /// When the agent reported this, µs since the Unix epoch.
    pub updated_micros: i64,
}

/// A sync agent as stored (hashes only, never a key or credential).
#[derive(Debug, Clone, PartialEq)]
pub struct AgentRecord {
    /// Its name.
    pub name: String,
    /// SHA-256 of its one-time key while the key is unused.
    pub key_hash: Option<String>,
    /// SHA-256 of the credential the key was exchanged for.
    pub credential_hash: Option<String>,
    /// When it was created, µs since the Unix epoch.
    pub created_micros: i64,
    /// When its current key was made.
    pub key_micros: i64,
    /// When the key was exchanged (the agent joined).
    pub connected_micros: Option<i64>,
    /// When the agent was last heard from.
    pub last_contact_micros: Option<i64>,
    /// The address it connected from.
    pub address: Option<String>,
    /// The version it runs.
    pub version: Option<String>,
}

impl MetaStore {
    /// Create an agent with the hash of its first key; `false` if the name is taken.
    pub async fn add_agent(&self, name: &str, key_hash: &str, now_micros: i64) -> Result<bool, ConnectorError> {
        let n = self
            .statement(
                "creating an agent",
                "INSERT INTO agents (name, key_hash, credential_hash, created_micros, key_micros) \
             VALUES (?, ?, NULL, ?, ?) ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(key_hash)
            .bind(now_micros)
            .bind(now_micros)
            .execute(&self.pool)
            .await?;
        Ok(n == 1)
    }

    /// Every agent.
    pub async fn agents(&self) -> Result<Vec<AgentRecord>, ConnectorError> {
        let rows = self
            .statement(
                "reading agents",
                "SELECT name, key_hash, credential_hash, created_micros, key_micros, connected_micros, \
             last_contact_micros, address, version FROM agents ORDER BY name",
            )
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| AgentRecord {
                name: r.get(0),
                key_hash: r.get(1),
                credential_hash: r.get(2),
                created_micros: r.get(3),
                key_micros: r.get(4),
                connected_micros: r.get(5),
                last_contact_micros: r.get(6),
                address: r.get(7),
                version: r.get(8),
            })
            .collect())
    }

    /// Give an agent a new key: the old key and any credential issued from
    /// it stop working at once. `false` if there is no such agent.
    pub async fn rekey_agent(&self, name: &str, key_hash: &str, now_micros: i64) -> Result<bool, ConnectorError> {
        let n = self
            .statement(
                "regenerating an agent key",
                "UPDATE agents SET key_hash = ?, credential_hash = NULL, key_micros = ?, connected_micros = NULL \
             WHERE name = ?",
            )
            .bind(key_hash)
            .bind(now_micros)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(n == 1)
    }

    /// Exchange a one-time key for a credential, in one statement, so a key
    /// works exactly once however many agents present it at the same time.
    /// Returns the agent's name, or `None` when no unused key matches.
    pub async fn exchange_agent_key(
        &self,
        key_hash: &str,
        credential_hash: &str,
        address: &str,
        version: &str,
        now_micros: i64,
    ) -> Result<Option<String>, ConnectorError> {
        let row = self.statement("exchanging an agent key", "UPDATE agents SET key_hash = NULL, credential_hash = ?, connected_micros = ?, last_contact_micros = ?, \
             address = ?, version = ? WHERE key_hash = ? RETURNING name").bind(credential_hash).bind(now_micros).bind(now_micros).bind(address).bind(version).bind(key_hash).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// The agent a credential belongs to, noting the contact.
    pub async fn agent_contact(
        &self,
        credential_hash: &str,
        address: &str,
        version: &str,
        now_micros: i64,
    ) -> Result<Option<String>, ConnectorError> {
        let row = self
            .statement(
                "recording an agent's contact",
                "UPDATE agents SET last_contact_micros = ?, address = ?, version = ? WHERE credential_hash = ? \
             RETURNING name",
            )
            .bind(now_micros)
            .bind(address)
            .bind(version)
            .bind(credential_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Replace what `agent` reported of its databases.
    pub async fn set_agent_databases(
        &self,
        agent: &str,
        databases: &[AgentDatabase],
        now_micros: i64,
    ) -> Result<(), ConnectorError> {
        let what = "recording an agent's databases";
        let mut tx = self.pool.begin_with(self.begin_sql()).await.map_err(self.db(what))?;
        self.statement(what, "DELETE FROM agent_databases WHERE agent = ?").bind(agent).execute(&mut *tx).await?;
        for d in databases {
            self.statement(
                what,
                "INSERT INTO agent_databases (agent, name, engine, reachable, error, tables, updated_micros) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(agent)
            .bind(&d.name)
            .bind(&d.engine)
            .bind(i64::from(d.reachable))
            .bind(&d.error)
            .bind(serde_json::to_string(&d.tables).unwrap_or_default())
            .bind(now_micros)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await.map_err(self.db(what))
    }

    /// What `agent` (every agent when `None`) reported of its databases, by name.
    pub async fn agent_databases(&self, agent: Option<&str>) -> Result<Vec<AgentDatabase>, ConnectorError> {
        let filter = if agent.is_some() { "WHERE agent = ?" } else { "" };
        let sql = format!(
            "SELECT agent, name, engine, reachable, error, tables, updated_micros FROM agent_databases \
             {filter} ORDER BY agent, name"
        );
        let mut q = self.statement("reading an agent's databases", &sql);
        if let Some(a) = agent {
            q = q.bind(a);
        }
        let rows = q.fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|r| AgentDatabase {
                agent: r.get(0),
                name: r.get(1),
                engine: r.get(2),
                reachable: r.get::<i64, _>(3) != 0,
                error: r.get(4),
                tables: serde_json::from_str(&r.get::<String, _>(5)).unwrap_or_default(),
                updated_micros: r.get(6),
            })
            .collect())
    }

    /// Remove an agent; whether it existed.
    pub async fn delete_agent(&self, name: &str) -> Result<bool, ConnectorError> {
        self.statement("removing an agent", "DELETE FROM agent_databases WHERE agent = ?")
            .bind(name)
            .execute(&self.pool)
            .await?;
        let n = self
            .statement("removing an agent", "DELETE FROM agents WHERE name = ?")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(n == 1)
    }
}
