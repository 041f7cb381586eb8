//! API tokens: the SHA-256 of their secret, their role, when made, last
//! used and revoked (the server makes and checks them).

use hubsync_core::ConnectorError;
use sqlx::Row;

use super::MetaStore;

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

impl MetaStore {
    /// Store a new token.
    pub async fn add_token(&self, t: &TokenRecord) -> Result<(), ConnectorError> {
        self.statement(
            "storing a token",
            "INSERT INTO tokens (id, name, role, hash, created_micros, last_used_micros, revoked_micros) \
             VALUES (?, ?, ?, ?, ?, NULL, NULL)",
        )
        .bind(&t.id)
        .bind(&t.name)
        .bind(&t.role)
        .bind(&t.hash)
        .bind(t.created_micros)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every token, revoked ones included, oldest first.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>, ConnectorError> {
        let rows = self
            .statement(
                "reading tokens",
                "SELECT id, name, role, hash, created_micros, last_used_micros, revoked_micros FROM tokens \
             ORDER BY created_micros, id",
            )
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(token_of).collect())
    }

    /// The token with this id.
    pub async fn token(&self, id: &str) -> Result<Option<TokenRecord>, ConnectorError> {
        let row = self.statement("reading a token", "SELECT id, name, role, hash, created_micros, last_used_micros, revoked_micros FROM tokens WHERE id = ?").bind(id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(token_of))
    }

    /// Note that a token was used (at most one write a minute per token).
    pub async fn token_used(&self, id: &str, at_micros: i64) -> Result<(), ConnectorError> {
        self.statement(
            "recording a token's use",
            "UPDATE tokens SET last_used_micros = ? WHERE id = ? \
             AND (last_used_micros IS NULL OR last_used_micros < ?)",
        )
        .bind(at_micros)
        .bind(id)
        .bind(at_micros - 60_000_000)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Revoke the tokens with this id or name; returns how many.
    pub async fn revoke_token(&self, id_or_name: &str, at_micros: i64) -> Result<u64, ConnectorError> {
        self.statement(
            "revoking a token",
            "UPDATE tokens SET revoked_micros = ? WHERE (id = ? OR name = ?) AND revoked_micros IS NULL",
        )
        .bind(at_micros)
        .bind(id_or_name)
        .bind(id_or_name)
        .execute(&self.pool)
        .await
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
