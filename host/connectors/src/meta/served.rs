//! What `hubsync serve` keeps besides the engine's state: group definitions
//! as the API defines them, API tokens, and the lease rows through which
//! several instances share the members to sync.
//!
//! Leases are the only place where instances meet. On PostgreSQL a claim
//! reads the next due member with `FOR UPDATE SKIP LOCKED`, so concurrent
//! claims never wait for each other nor take the same row; on SQLite (one
//! writer at a time, `BEGIN IMMEDIATE`) the same statements are serial.

use hubsync_core::{ConnectorError, EngineKind};
use sqlx::Row;

use super::{MetaStore, Scope, SessionRecord};

/// An API token as stored: never the secret, only its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    /// The token's public id (the part before the secret).
    pub id: String,
    /// A name for people ("ci", "alice").
    pub name: String,
    /// `admin` or `reader`.
    pub role: String,
    /// SHA-256 of the secret, hex.
    pub hash: String,
    /// When it was made, µs since the Unix epoch.
    pub created_micros: i64,
    /// When it was last used.
    pub last_used_micros: Option<i64>,
    /// When it was revoked, if it was.
    pub revoked_micros: Option<i64>,
}

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

/// Who holds a member's lease now.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaseHolder {
    /// The group.
    pub group: String,
    /// The member.
    pub member: String,
    /// The instance syncing it, if one is.
    pub holder: Option<String>,
    /// Until when the holder's lease runs, µs since the Unix epoch.
    pub expires_micros: i64,
    /// When the member is due to sync next.
    pub due_micros: i64,
}

/// Which history entries to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryFilter {
    /// Only this group.
    pub group: Option<String>,
    /// Only this member.
    pub member: Option<String>,
    /// Only `success`, `warning` or `error` entries.
    pub level: Option<String>,
    /// Only entries started at or after this, µs since the Unix epoch.
    pub since_micros: Option<i64>,
    /// Only entries started before this.
    pub until_micros: Option<i64>,
    /// Only entries older than this entry id (the previous page's cursor).
    pub before_id: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

/// A page of history, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPage {
    /// The entries with their ids.
    pub entries: Vec<(i64, SessionRecord)>,
    /// The cursor of the next (older) page, if there may be one.
    pub next: Option<i64>,
}

impl MetaStore {
    /// Every group defined for `hubsync serve`: (name, definition JSON, revision).
    pub async fn specs(&self) -> Result<Vec<(String, String, i64)>, ConnectorError> {
        let rows = sqlx::query(self.sql("SELECT name, definition, revision FROM group_specs ORDER BY name"))
            .fetch_all(&self.pool)
            .await
            .map_err(self.db("reading group definitions"))?;
        rows.iter().map(|r| Ok((r.get(0), self.unseal(r.get(1))?, r.get(2)))).collect()
    }

    /// One group's definition and revision.
    pub async fn spec(&self, name: &str) -> Result<Option<(String, i64)>, ConnectorError> {
        let row = sqlx::query(self.sql("SELECT definition, revision FROM group_specs WHERE name = ?"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.db("reading a group definition"))?;
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
            None => sqlx::query(self.sql(
                "INSERT INTO group_specs (name, definition, revision, updated_micros) VALUES (?, ?, 1, ?) \
                 ON CONFLICT (name) DO NOTHING",
            ))
            .bind(name)
            .bind(&sealed)
            .bind(at_micros)
            .execute(&self.pool)
            .await
            .map_err(self.db(what))?
            .rows_affected(),
            Some(rev) => sqlx::query(self.sql(
                "UPDATE group_specs SET definition = ?, revision = revision + 1, updated_micros = ? \
                 WHERE name = ? AND revision = ?",
            ))
            .bind(&sealed)
            .bind(at_micros)
            .bind(name)
            .bind(rev)
            .execute(&self.pool)
            .await
            .map_err(self.db(what))?
            .rows_affected(),
        };
        Ok((done == 1).then_some(revision.unwrap_or(0) + 1))
    }

    /// Remove a group's definition, its leases and its sync state (history
    /// stays). Returns whether it existed.
    pub async fn delete_spec(&self, name: &str) -> Result<bool, ConnectorError> {
        let what = "removing a group";
        let mut tx = self.pool.begin_with(self.begin_sql()).await.map_err(self.db(what))?;
        let n = sqlx::query(self.sql("DELETE FROM group_specs WHERE name = ?"))
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(self.db(what))?
            .rows_affected();
        for t in ["leases", "anchors", "journal", "parked", "quarantine", "members", "latest"] {
            sqlx::query(self.sql(&format!("DELETE FROM {t} WHERE group_name = ?")))
                .bind(name)
                .execute(&mut *tx)
                .await
                .map_err(self.db(what))?;
        }
        // Kept, marked fresh: a group made again under this name starts new
        // incarnations, whose marks differ from what this one left behind.
        sqlx::query(self.sql("UPDATE databases SET fresh = 1 WHERE group_name = ?"))
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(self.db(what))?;
        sqlx::query(self.sql("DELETE FROM groups WHERE name = ?"))
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(self.db(what))?;
        tx.commit().await.map_err(self.db(what))?;
        Ok(n == 1)
    }

    /// Store a new token.
    pub async fn add_token(&self, t: &TokenRecord) -> Result<(), ConnectorError> {
        sqlx::query(self.sql(
            "INSERT INTO tokens (id, name, role, hash, created_micros, last_used_micros, revoked_micros) \
             VALUES (?, ?, ?, ?, ?, NULL, NULL)",
        ))
        .bind(&t.id)
        .bind(&t.name)
        .bind(&t.role)
        .bind(&t.hash)
        .bind(t.created_micros)
        .execute(&self.pool)
        .await
        .map_err(self.db("storing a token"))?;
        Ok(())
    }

    /// Every token, revoked ones included, oldest first.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>, ConnectorError> {
        let rows = sqlx::query(self.sql(
            "SELECT id, name, role, hash, created_micros, last_used_micros, revoked_micros FROM tokens \
             ORDER BY created_micros, id",
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(self.db("reading tokens"))?;
        Ok(rows.iter().map(token_of).collect())
    }

    /// The token with this id.
    pub async fn token(&self, id: &str) -> Result<Option<TokenRecord>, ConnectorError> {
        let row = sqlx::query(self.sql(
            "SELECT id, name, role, hash, created_micros, last_used_micros, revoked_micros FROM tokens WHERE id = ?",
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(self.db("reading a token"))?;
        Ok(row.as_ref().map(token_of))
    }

    /// Note that a token was used (at most one write a minute per token).
    pub async fn token_used(&self, id: &str, at_micros: i64) -> Result<(), ConnectorError> {
        sqlx::query(self.sql(
            "UPDATE tokens SET last_used_micros = ? WHERE id = ? \
             AND (last_used_micros IS NULL OR last_used_micros < ?)",
        ))
        .bind(at_micros)
        .bind(id)
        .bind(at_micros - 60_000_000)
        .execute(&self.pool)
        .await
        .map_err(self.db("recording a token's use"))?;
        Ok(())
    }

    /// Revoke the tokens with this id or name; returns how many.
    pub async fn revoke_token(&self, id_or_name: &str, at_micros: i64) -> Result<u64, ConnectorError> {
        Ok(sqlx::query(
            self.sql("UPDATE tokens SET revoked_micros = ? WHERE (id = ? OR name = ?) AND revoked_micros IS NULL"),
        )
        .bind(at_micros)
        .bind(id_or_name)
        .bind(id_or_name)
        .execute(&self.pool)
        .await
        .map_err(self.db("revoking a token"))?
        .rows_affected())
    }

    /// Make sure every listed member of `group` has a lease row (new ones
    /// due at `due_micros`), and drop the rows of members no longer listed.
    /// `members` are (name, agent it is reached through, if any).
    pub async fn sync_leases(
        &self,
        group: &str,
        members: &[(String, Option<String>)],
        due_micros: i64,
    ) -> Result<(), ConnectorError> {
        let what = "updating the sync schedule";
        let mut tx = self.pool.begin_with(self.begin_sql()).await.map_err(self.db(what))?;
        for (m, agent) in members {
            sqlx::query(self.sql(
                "INSERT INTO leases (group_name, member, holder, expires_micros, due_micros, cancel, agent) \
                 VALUES (?, ?, NULL, 0, ?, 0, ?) ON CONFLICT (group_name, member) DO UPDATE SET agent = excluded.agent",
            ))
            .bind(group)
            .bind(m)
            .bind(due_micros)
            .bind(agent)
            .execute(&mut *tx)
            .await
            .map_err(self.db(what))?;
        }
        let members: Vec<String> = members.iter().map(|(m, _)| m.clone()).collect();
        let rows = sqlx::query(self.sql("SELECT member FROM leases WHERE group_name = ?"))
            .bind(group)
            .fetch_all(&mut *tx)
            .await
            .map_err(self.db(what))?;
        for r in rows {
            let m: String = r.get(0);
            if !members.contains(&m) {
                sqlx::query(self.sql("DELETE FROM leases WHERE group_name = ? AND member = ?"))
                    .bind(group)
                    .bind(&m)
                    .execute(&mut *tx)
                    .await
                    .map_err(self.db(what))?;
            }
        }
        tx.commit().await.map_err(self.db(what))
    }

    /// Take the lease of the member that is most overdue and that nobody
    /// holds (or whose holder's lease ran out), for `holder` until
    /// `now + ttl`. `None` when nothing is due.
    pub async fn claim_due(
        &self,
        holder: &str,
        now_micros: i64,
        ttl_micros: i64,
        agents: &[String],
    ) -> Result<Option<(String, String)>, ConnectorError> {
        let what = "taking a member's lease";
        let mut tx = self.pool.begin_with(self.begin_sql()).await.map_err(self.db(what))?;
        let lock = if self.engine == EngineKind::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        // Members behind an agent only where that agent is connected.
        let reachable = if agents.is_empty() {
            "agent IS NULL".to_owned()
        } else {
            format!("(agent IS NULL OR agent IN ({}))", vec!["?"; agents.len()].join(", "))
        };
        let sql = format!(
            "SELECT group_name, member FROM leases WHERE group_name <> '' AND due_micros <= ? \
             AND (holder IS NULL OR expires_micros < ?) AND {reachable} \
             ORDER BY due_micros, group_name, member LIMIT 1{lock}"
        );
        let mut q = sqlx::query(self.sql(&sql)).bind(now_micros).bind(now_micros);
        for a in agents {
            q = q.bind(a);
        }
        let row = q.fetch_optional(&mut *tx).await.map_err(self.db(what))?;
        let Some(row) = row else {
            tx.rollback().await.map_err(self.db(what))?;
            return Ok(None);
        };
        let (group, member): (String, String) = (row.get(0), row.get(1));
        sqlx::query(
            self.sql(
                "UPDATE leases SET holder = ?, expires_micros = ?, cancel = 0 WHERE group_name = ? AND member = ?",
            ),
        )
        .bind(holder)
        .bind(now_micros + ttl_micros)
        .bind(&group)
        .bind(&member)
        .execute(&mut *tx)
        .await
        .map_err(self.db(what))?;
        tx.commit().await.map_err(self.db(what))?;
        Ok(Some((group, member)))
    }

    /// Extend `holder`'s lease on a member to `expires_micros`. `Ok(None)`
    /// when the lease is no longer `holder`'s (it expired and another took
    /// it, or the member was removed); else whether a cancel was asked for.
    pub async fn renew_lease(
        &self,
        holder: &str,
        group: &str,
        member: &str,
        expires_micros: i64,
    ) -> Result<Option<bool>, ConnectorError> {
        let row = sqlx::query(self.sql(
            "UPDATE leases SET expires_micros = ? WHERE group_name = ? AND member = ? AND holder = ? RETURNING cancel",
        ))
        .bind(expires_micros)
        .bind(group)
        .bind(member)
        .bind(holder)
        .fetch_optional(&self.pool)
        .await
        .map_err(self.db("renewing a member's lease"))?;
        Ok(row.map(|r| r.get::<i64, _>(0) != 0))
    }

    /// Give a lease back: the member is due again at `next_due_micros`
    /// (unless a sync was asked for meanwhile, which keeps it due now).
    pub async fn release_lease(
        &self,
        holder: &str,
        group: &str,
        member: &str,
        next_due_micros: i64,
    ) -> Result<(), ConnectorError> {
        sqlx::query(self.sql(
            "UPDATE leases SET holder = NULL, expires_micros = 0, cancel = 0, \
             due_micros = CASE WHEN due_micros < 0 THEN 0 ELSE ? END \
             WHERE group_name = ? AND member = ? AND holder = ?",
        ))
        .bind(next_due_micros)
        .bind(group)
        .bind(member)
        .bind(holder)
        .execute(&self.pool)
        .await
        .map_err(self.db("releasing a member's lease"))?;
        Ok(())
    }

    /// Ask for a sync of a group's members (or one) now. A member being
    /// synced syncs again right after. Returns how many members.
    pub async fn request_sync(&self, group: &str, member: Option<&str>) -> Result<u64, ConnectorError> {
        // -1: due now, and "asked while running" for `release_lease`.
        Ok(sqlx::query(self.sql(
            "UPDATE leases SET due_micros = CASE WHEN holder IS NULL THEN 0 ELSE -1 END \
             WHERE group_name = ? AND (CAST(? AS TEXT) IS NULL OR member = ?)",
        ))
        .bind(group)
        .bind(member)
        .bind(member)
        .execute(&self.pool)
        .await
        .map_err(self.db("asking for a sync"))?
        .rows_affected())
    }

    /// Ask the instances syncing a group's members (or one) to stop; returns
    /// how many syncs were running.
    pub async fn request_cancel(
        &self,
        group: &str,
        member: Option<&str>,
        now_micros: i64,
    ) -> Result<u64, ConnectorError> {
        Ok(sqlx::query(self.sql(
            "UPDATE leases SET cancel = 1 WHERE group_name = ? AND (CAST(? AS TEXT) IS NULL OR member = ?) \
             AND holder IS NOT NULL AND expires_micros >= ?",
        ))
        .bind(group)
        .bind(member)
        .bind(member)
        .bind(now_micros)
        .execute(&self.pool)
        .await
        .map_err(self.db("asking a sync to stop"))?
        .rows_affected())
    }

    /// Every member lease (for status and metrics).
    pub async fn leases(&self) -> Result<Vec<LeaseHolder>, ConnectorError> {
        let rows = sqlx::query(self.sql(
            "SELECT group_name, member, holder, expires_micros, due_micros FROM leases WHERE group_name <> '' \
             ORDER BY group_name, member",
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(self.db("reading leases"))?;
        Ok(rows
            .iter()
            .map(|r| LeaseHolder {
                group: r.get(0),
                member: r.get(1),
                holder: r.get(2),
                expires_micros: r.get(3),
                due_micros: r.get(4),
            })
            .collect())
    }

    /// Take (or renew) the store-wide instance lease: `Ok(Some(other))`
    /// when another live instance holds it. Used on SQLite, where only one
    /// `hubsync serve` may run. With `take_over` the lease is taken whoever
    /// holds it: the caller knows the holder is dead (it holds the store's
    /// lock file, which the kernel releases when a process dies).
    pub async fn claim_instance(
        &self,
        holder: &str,
        now_micros: i64,
        ttl_micros: i64,
        take_over: bool,
    ) -> Result<Option<String>, ConnectorError> {
        let what = "taking the instance lease";
        let mut tx = self.pool.begin_with(self.begin_sql()).await.map_err(self.db(what))?;
        sqlx::query(self.sql(
            "INSERT INTO leases (group_name, member, holder, expires_micros, due_micros, cancel) \
             VALUES ('', '', NULL, 0, 0, 0) ON CONFLICT (group_name, member) DO NOTHING",
        ))
        .execute(&mut *tx)
        .await
        .map_err(self.db(what))?;
        let row =
            sqlx::query(self.sql("SELECT holder, expires_micros FROM leases WHERE group_name = '' AND member = ''"))
                .fetch_one(&mut *tx)
                .await
                .map_err(self.db(what))?;
        let (other, expires): (Option<String>, i64) = (row.get(0), row.get(1));
        if let Some(other) = other.filter(|o| !take_over && o != holder && expires >= now_micros) {
            tx.rollback().await.map_err(self.db(what))?;
            return Ok(Some(other));
        }
        sqlx::query(self.sql("UPDATE leases SET holder = ?, expires_micros = ? WHERE group_name = '' AND member = ''"))
            .bind(holder)
            .bind(now_micros + ttl_micros)
            .execute(&mut *tx)
            .await
            .map_err(self.db(what))?;
        tx.commit().await.map_err(self.db(what))?;
        Ok(None)
    }

    /// Give back every lease `holder` has (at shutdown).
    pub async fn release_all(&self, holder: &str) -> Result<(), ConnectorError> {
        sqlx::query(self.sql("UPDATE leases SET holder = NULL, expires_micros = 0, cancel = 0 WHERE holder = ?"))
            .bind(holder)
            .execute(&self.pool)
            .await
            .map_err(self.db("releasing leases"))?;
        Ok(())
    }

    /// Store (or replace) an uploaded plugin.
    pub async fn put_plugin(&self, p: &StoredPlugin, wasm: &[u8]) -> Result<(), ConnectorError> {
        sqlx::query(self.sql(
            "INSERT INTO plugins (name, role, version, sha256, size_bytes, wasm, uploaded_micros) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET role = excluded.role, \
             version = excluded.version, sha256 = excluded.sha256, size_bytes = excluded.size_bytes, \
             wasm = excluded.wasm, uploaded_micros = excluded.uploaded_micros",
        ))
        .bind(&p.name)
        .bind(&p.role)
        .bind(&p.version)
        .bind(&p.sha256)
        .bind(p.size_bytes)
        .bind(wasm.to_vec())
        .bind(p.uploaded_micros)
        .execute(&self.pool)
        .await
        .map_err(self.db("storing a plugin"))?;
        Ok(())
    }

    /// Every uploaded plugin (without its bytes).
    pub async fn stored_plugins(&self) -> Result<Vec<StoredPlugin>, ConnectorError> {
        let rows = sqlx::query(
            self.sql("SELECT name, role, version, sha256, size_bytes, uploaded_micros FROM plugins ORDER BY name"),
        )
        .fetch_all(&self.pool)
        .await
        .map_err(self.db("reading plugins"))?;
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
        sqlx::query_scalar(self.sql("SELECT wasm FROM plugins WHERE name = ?"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.db("reading a plugin"))
    }

    /// Remove an uploaded plugin; whether it existed.
    pub async fn delete_plugin(&self, name: &str) -> Result<bool, ConnectorError> {
        let n = sqlx::query(self.sql("DELETE FROM plugins WHERE name = ?"))
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(self.db("removing a plugin"))?
            .rows_affected();
        Ok(n == 1)
    }

    /// Create an agent with the hash of its first key; `false` if the name is taken.
    pub async fn add_agent(&self, name: &str, key_hash: &str, now_micros: i64) -> Result<bool, ConnectorError> {
        let n = sqlx::query(self.sql(
            "INSERT INTO agents (name, key_hash, credential_hash, created_micros, key_micros) \
             VALUES (?, ?, NULL, ?, ?) ON CONFLICT (name) DO NOTHING",
        ))
        .bind(name)
        .bind(key_hash)
        .bind(now_micros)
        .bind(now_micros)
        .execute(&self.pool)
        .await
        .map_err(self.db("creating an agent"))?
        .rows_affected();
        Ok(n == 1)
    }

    /// Every agent.
    pub async fn agents(&self) -> Result<Vec<AgentRecord>, ConnectorError> {
        let rows = sqlx::query(self.sql(
            "SELECT name, key_hash, credential_hash, created_micros, key_micros, connected_micros, \
             last_contact_micros, address, version FROM agents ORDER BY name",
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(self.db("reading agents"))?;
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
        let n = sqlx::query(self.sql(
            "UPDATE agents SET key_hash = ?, credential_hash = NULL, key_micros = ?, connected_micros = NULL \
             WHERE name = ?",
        ))
        .bind(key_hash)
        .bind(now_micros)
        .bind(name)
        .execute(&self.pool)
        .await
        .map_err(self.db("regenerating an agent key"))?
        .rows_affected();
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
        let row = sqlx::query(self.sql(
            "UPDATE agents SET key_hash = NULL, credential_hash = ?, connected_micros = ?, last_contact_micros = ?, \
             address = ?, version = ? WHERE key_hash = ? RETURNING name",
        ))
        .bind(credential_hash)
        .bind(now_micros)
        .bind(now_micros)
        .bind(address)
        .bind(version)
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(self.db("exchanging an agent key"))?;
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
        let row = sqlx::query(self.sql(
            "UPDATE agents SET last_contact_micros = ?, address = ?, version = ? WHERE credential_hash = ? \
             RETURNING name",
        ))
        .bind(now_micros)
        .bind(address)
        .bind(version)
        .bind(credential_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(self.db("recording an agent's contact"))?;
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
        sqlx::query(self.sql("DELETE FROM agent_databases WHERE agent = ?"))
            .bind(agent)
            .execute(&mut *tx)
            .await
            .map_err(self.db(what))?;
        for d in databases {
            sqlx::query(self.sql(
                "INSERT INTO agent_databases (agent, name, engine, reachable, error, tables, updated_micros) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            ))
            .bind(agent)
            .bind(&d.name)
            .bind(&d.engine)
            .bind(i64::from(d.reachable))
            .bind(&d.error)
            .bind(serde_json::to_string(&d.tables).unwrap_or_default())
            .bind(now_micros)
            .execute(&mut *tx)
            .await
            .map_err(self.db(what))?;
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
        let mut q = sqlx::query(self.sql(&sql));
        if let Some(a) = agent {
            q = q.bind(a);
        }
        let rows = q.fetch_all(&self.pool).await.map_err(self.db("reading an agent's databases"))?;
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
        sqlx::query(self.sql("DELETE FROM agent_databases WHERE agent = ?"))
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(self.db("removing an agent"))?;
        let n = sqlx::query(self.sql("DELETE FROM agents WHERE name = ?"))
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(self.db("removing an agent"))?
            .rows_affected();
        Ok(n == 1)
    }

    /// Run `work` while no other instance runs work under the same `key`
    /// (a PostgreSQL advisory lock held by a transaction of its own; on
    /// SQLite, where one instance runs, it simply runs). Instances preparing
    /// the same group at once would race each other's provisioning.
    pub async fn exclusive<T>(
        &self,
        key: &str,
        work: impl std::future::Future<Output = T>,
    ) -> Result<T, ConnectorError> {
        if self.engine != EngineKind::Postgres {
            return Ok(work.await);
        }
        let what = "waiting for another instance preparing the same group";
        let mut tx = self.pool.begin().await.map_err(self.db(what))?;
        sqlx::query(self.sql("SELECT pg_advisory_xact_lock(hashtextextended(?, 7418880002))"))
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(self.db(what))?;
        let out = work.await;
        tx.rollback().await.map_err(self.db(what))?;
        Ok(out)
    }

    /// Sync history, newest first, filtered and paged by entry id.
    pub async fn history(&self, f: &HistoryFilter) -> Result<HistoryPage, ConnectorError> {
        let level = match f.level.as_deref() {
            None => 0,
            Some("success") => 1,
            Some("warning") => 2,
            Some("error") => 3,
            Some(other) => {
                return Err(ConnectorError::BadUrl(format!("level {other:?} is not one of success, warning, error")));
            }
        };
        let rows = sqlx::query(self.sql(
            "SELECT id, group_name, member, table_name, started_micros, duration_ms, ok, rows_down, rows_up, \
             conflicts, message, warnings, holder FROM sessions \
             WHERE (CAST(? AS TEXT) IS NULL OR group_name = ?) AND (CAST(? AS TEXT) IS NULL OR member = ?) \
             AND (? = 0 OR (? = 1 AND ok = 1 AND warnings = 0) OR (? = 2 AND ok = 1 AND warnings > 0) \
                  OR (? = 3 AND ok = 0)) \
             AND started_micros >= ? AND started_micros < ? AND id < ? ORDER BY id DESC LIMIT ?",
        ))
        .bind(&f.group)
        .bind(&f.group)
        .bind(&f.member)
        .bind(&f.member)
        .bind(level)
        .bind(level)
        .bind(level)
        .bind(level)
        .bind(f.since_micros.unwrap_or(i64::MIN))
        .bind(f.until_micros.unwrap_or(i64::MAX))
        .bind(f.before_id.unwrap_or(i64::MAX))
        .bind(f.limit)
        .fetch_all(&self.pool)
        .await
        .map_err(self.db("reading sync history"))?;
        let entries: Vec<(i64, SessionRecord)> = rows
            .iter()
            .map(|r| {
                (
                    r.get(0),
                    SessionRecord {
                        scope: Scope { group: r.get(1), member: r.get(2), table: r.get(3) },
                        started_micros: r.get(4),
                        duration_ms: r.get(5),
                        ok: r.get::<i64, _>(6) != 0,
                        rows_down: r.get(7),
                        rows_up: r.get(8),
                        conflicts: r.get(9),
                        message: r.get(10),
                        warnings: r.get(11),
                        holder: r.get(12),
                    },
                )
            })
            .collect();
        let next = (entries.len() as i64 == f.limit).then(|| entries.last().map(|e| e.0)).flatten();
        Ok(HistoryPage { entries, next })
    }
}

fn token_of(r: &sqlx::any::AnyRow) -> TokenRecord {
    TokenRecord {
        id: r.get(0),
        name: r.get(1),
        role: r.get(2),
        hash: r.get(3),
        created_micros: r.get(4),
        last_used_micros: r.get(5),
        revoked_micros: r.get(6),
    }
}
