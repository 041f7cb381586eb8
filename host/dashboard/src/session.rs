//! Signed-in browsers: the session cookie (the API token, its role and
//! an expiry, signed with a key every instance shares, so any instance of
//! a deployment accepts it) and the CSRF token derived from it.
//!
//! The cookie is `HttpOnly` (no script reads the token), `SameSite=Strict`
//! (no other site's page sends it), `Secure` under TLS, and expires; the
//! server checks the expiry it signed, not only the browser's.

use axum::http::HeaderMap;
use hubsync_api::Role;
use ring::hmac;

/// The cookie's name.
pub const COOKIE: &str = "hubsync_session";

/// How long a sign-in lasts, seconds.
pub const SESSION_SECONDS: u64 = 8 * 3600;

/// The key sessions are signed with (shared by every instance).
#[derive(Clone)]
pub struct SessionKey(hmac::Key);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(…)")
    }
}

impl SessionKey {
    /// A key from its secret bytes (at least 32).
    pub fn new(secret: &[u8]) -> SessionKey {
        SessionKey(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    fn sign(&self, what: &str) -> String {
        hex(hmac::sign(&self.0, what.as_bytes()).as_ref())
    }

    fn verify(&self, what: &str, mac: &str) -> bool {
        let Some(bytes) = unhex(mac) else { return false };
        hmac::verify(&self.0, what.as_bytes(), &bytes).is_ok()
    }

    /// The cookie value for `token` with `role`, valid until `expires_secs`
    /// (Unix time). `None` when the token has characters no token has.
    pub fn cookie_value(&self, token: &str, role: Role, expires_secs: u64) -> Option<String> {
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return None;
        }
        let body = format!("{expires_secs}.{}.{token}", role.as_str());
        let mac = self.sign(&body);
        Some(format!("{body}.{mac}"))
    }

    /// The session a cookie value holds, if it is signed by this key and
    /// not expired at `now_secs`.
    pub fn open(&self, value: &str, now_secs: u64) -> Option<Session> {
        let (body, mac) = value.rsplit_once('.')?;
        if !self.verify(body, mac) {
            return None;
        }
        let mut parts = body.splitn(3, '.');
        let expires: u64 = parts.next()?.parse().ok()?;
        let role = Role::parse(parts.next()?)?;
        let token = parts.next()?.to_owned();
        (expires > now_secs).then(|| Session {
            token,
            role,
            csrf: self.sign(&format!("csrf:{value}"))[..32].to_owned(),
        })
    }

    /// The session of a request's cookie, if any.
    pub fn from_headers(&self, headers: &HeaderMap, now_secs: u64) -> Option<Session> {
        headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .filter(|(name, _)| *name == COOKIE)
            .find_map(|(_, value)| self.open(value, now_secs))
    }
}

/// A signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    /// The API token it signed in with.
    pub token: String,
    /// What that token may do.
    pub role: Role,
    /// The token every form of this session carries.
    pub csrf: String,
}

impl Session {
    /// Whether it may change things (an admin token).
    pub fn admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// `Set-Cookie` for a new session (`secure`: served over TLS).
pub fn set_cookie(value: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}{secure}")
}

/// `Set-Cookie` that ends the session.
pub fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_opens_with_its_key_until_it_expires() {
        let key = SessionKey::new(&[7; 32]);
        let v = key.cookie_value("hst_ab_cd", Role::Reader, 100).expect("a token");
        let s = key.open(&v, 99).expect("valid");
        assert_eq!((s.token.as_str(), s.role), ("hst_ab_cd", Role::Reader));
        assert!(key.open(&v, 100).is_none(), "expired");
        assert!(SessionKey::new(&[8; 32]).open(&v, 1).is_none(), "another key");
        let forged = v.replacen("reader", "admin", 1);
        assert!(key.open(&forged, 1).is_none(), "a changed role breaks the signature");
        assert!(key.cookie_value("a;b", Role::Admin, 1).is_none());
    }

    #[test]
    fn the_csrf_token_is_per_session() {
        let key = SessionKey::new(&[7; 32]);
        let a = key.open(&key.cookie_value("hst_a", Role::Admin, 9).expect("a"), 1).expect("a");
        let b = key.open(&key.cookie_value("hst_b", Role::Admin, 9).expect("b"), 1).expect("b");
        assert_ne!(a.csrf, b.csrf);
    }
}
