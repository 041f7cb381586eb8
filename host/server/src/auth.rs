//! API tokens: `hst_<id>_<secret>`, stored as the SHA-256 of the secret,
//! looked up by id and compared in constant time.
//!
//! Two roles, as Data Sync's `DataSync_Executor` split: `admin` may change
//! things, `reader` may only read.

use ring::rand::{SecureRandom, SystemRandom};

use hubsync_connectors::meta::{MetaStore, TokenRecord};

use crate::ServerError;
pub use hubsync_api::Role;

fn random_hex(bytes: usize) -> Result<String, ServerError> {
    let mut b = vec![0u8; bytes];
    SystemRandom::new().fill(&mut b).map_err(|_| ServerError::Random)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// A token's cache key: its SHA-256 (the text itself is not kept).
pub fn fingerprint(presented: &str) -> String {
    hash(presented)
}

fn hash(secret: &str) -> String {
    sha256_hex(secret.as_bytes())
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes).as_ref().iter().map(|x| format!("{x:02x}")).collect()
}

/// Make a token: returns the full token text (shown once) and its record.
pub async fn create(
    meta: &MetaStore,
    name: &str,
    role: Role,
    now_micros: i64,
) -> Result<(String, TokenRecord), ServerError> {
    if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
        return Err(ServerError::Invalid("a token name is 1 to 64 printable characters".into()));
    }
    let id = random_hex(6)?;
    let secret = random_hex(24)?;
    let record = TokenRecord {
        id: id.clone(),
        name: name.to_owned(),
        role: role.as_str().to_owned(),
        hash: hash(&secret),
        created_micros: now_micros,
        last_used_micros: None,
        revoked_micros: None,
    };
    meta.add_token(&record).await?;
    Ok((format!("hst_{id}_{secret}"), record))
}

/// The role of a presented token, if it is a live token of this store.
pub async fn check(meta: &MetaStore, presented: &str, now_micros: i64) -> Result<Option<(Role, String)>, ServerError> {
    let Some((id, secret)) = presented.strip_prefix("hst_").and_then(|t| t.split_once('_')) else {
        return Ok(None);
    };
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let Some(t) = meta.token(id).await? else { return Ok(None) };
    let given = hash(secret);
    // Constant time: the comparison takes as long whatever bytes differ.
    let same: bool = subtle::ConstantTimeEq::ct_eq(given.as_bytes(), t.hash.as_bytes()).into();
    if !same || t.revoked_micros.is_some() {
        return Ok(None);
    }
    meta.token_used(&t.id, now_micros).await?;
    Ok(Role::parse(&t.role).map(|r| (r, t.name)))
}

/// A stored token as the API shows it (never its secret); `Err` names a role this version
/// does not know (a newer hubsync made the token).
pub fn view(t: TokenRecord) -> Result<hubsync_api::TokenView, ServerError> {
    let role = Role::parse(&t.role).ok_or_else(|| {
        ServerError::Invalid(format!(
            "token {:?} has a role {:?} this hubsync does not know: upgrade this instance",
            t.name, t.role
        ))
    })?;
    Ok(hubsync_api::TokenView {
        id: t.id,
        name: t.name,
        role,
        created_micros: t.created_micros,
        last_used_micros: t.last_used_micros,
        revoked_micros: t.revoked_micros,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tokens_work_until_revoked_and_only_with_their_secret() {
        let dir = tempfile::tempdir().expect("dir");
        let meta = MetaStore::open(&format!("sqlite://{}", dir.path().join("m.db").display())).await.expect("store");
        let (text, rec) = create(&meta, "ci", Role::Reader, 1).await.expect("create");
        assert!(!rec.hash.contains(&text[16..]), "the secret is not stored");
        assert_eq!(check(&meta, &text, 2).await.expect("check"), Some((Role::Reader, "ci".into())));
        let mut wrong = text.clone();
        wrong.pop();
        wrong.push(if text.ends_with('0') { '1' } else { '0' });
        assert_eq!(check(&meta, &wrong, 2).await.expect("check"), None);
        assert_eq!(check(&meta, "Bearer nonsense", 2).await.expect("check"), None);
        assert_eq!(meta.revoke_token("ci", 3).await.expect("revoke"), 1);
        assert_eq!(check(&meta, &text, 4).await.expect("check"), None);
    }
}
