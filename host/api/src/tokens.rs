//! API tokens: `/tokens`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A token (never its secret).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `admin` or `reader`.
    pub role: Role,
    /// When it was made, µs since the Unix epoch.
    pub created_micros: i64,
    /// When it was last used.
    pub last_used_micros: Option<i64>,
    /// When it was revoked.
    pub revoked_micros: Option<i64>,
}

/// A token to make.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// A name for people.
    pub name: String,
    /// What it may do.
    pub role: Role,
}

/// A new token: `token` is shown this once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    /// The bearer token (keep it: it is not stored).
    pub token: String,
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read and change everything.
    Admin,
    /// Read only.
    Reader,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Reader => "reader",
        }
    }

    /// The role of a stored name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "reader" => Some(Role::Reader),
            _ => None,
        }
    }
}

/// Who the caller is: the token presented, by name, and what it may do.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Identity {
    /// The token's name.
    pub name: String,
    /// `admin` (reads and changes) or `reader` (reads only).
    pub role: crate::Role,
}
