//! Secrets at rest: the sealing key that encrypts group definitions (they
//! hold database passwords) in the sync metadata database.
//!
//! The key is never stored in the metadata database: it comes from a key
//! file or an environment variable, so a copy of the database (a backup,
//! a replica) reveals no password. AES-256-GCM with a random 96-bit nonce
//! per value; a sealed value is `enc:v1:` followed by base64 of nonce and
//! ciphertext.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// The prefix of a sealed value.
pub const SEALED_PREFIX: &str = "enc:v1:";

/// What can go wrong with the sealing key or a sealed value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The key text is not 32 bytes in base64.
    #[error(
        "the secret key is not valid: it must be 32 random bytes in base64 (44 characters); \
         `hubsync serve` creates one in its key file when the file does not exist"
    )]
    BadKey,
    /// The key file cannot be read or written.
    #[error("secret key file {path}: {cause}")]
    File {
        /// The file.
        path: String,
        /// Why.
        cause: std::io::Error,
    },
    /// A sealed value does not open with this key.
    #[error(
        "an encrypted value in the sync metadata database does not open with this secret key: \
         give the key it was written with (HUBSYNC_SECRET_KEY or the key file)"
    )]
    WrongKey,
    /// A sealed value was found but no key was given.
    #[error(
        "the sync metadata database holds encrypted group definitions: give their secret key \
         with HUBSYNC_SECRET_KEY or HUBSYNC_SECRET_KEY_FILE (the key file of `hubsync serve`)"
    )]
    NoKey,
}

/// A sealing key.
pub struct Cipher {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(..)") // never the key
    }
}

impl Cipher {
    /// A key from its base64 text (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Cipher, SecretError> {
        let bytes = B64.decode(text.trim()).map_err(|_| SecretError::BadKey)?;
        let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| SecretError::BadKey)?;
        Ok(Cipher { key: LessSafeKey::new(key), rng: SystemRandom::new() })
    }

    /// A new random key, as base64 text.
    pub fn generate() -> Result<String, SecretError> {
        let mut bytes = [0u8; 32];
        SystemRandom::new().fill(&mut bytes).map_err(|_| SecretError::BadKey)?;
        Ok(B64.encode(bytes))
    }

    /// The key in `path`, created (mode 0600) with a new random key when the
    /// file does not exist. Returns the key and whether it was created.
    pub fn from_file_or_create(path: &Path) -> Result<(Cipher, bool), SecretError> {
        let file_err = |cause| SecretError::File { path: path.display().to_string(), cause };
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((Cipher::from_base64(&text)?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let text = Cipher::generate()?;
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut f = options.open(path).map_err(file_err)?;
                std::io::Write::write_all(&mut f, format!("{text}\n").as_bytes()).map_err(file_err)?;
                Ok((Cipher::from_base64(&text)?, true))
            }
            Err(e) => Err(file_err(e)),
        }
    }

    /// The key named by the environment: `HUBSYNC_SECRET_KEY` (base64) or
    /// `HUBSYNC_SECRET_KEY_FILE` (a file holding it), if either is set.
    pub fn from_env() -> Result<Option<Cipher>, SecretError> {
        if let Ok(text) = std::env::var("HUBSYNC_SECRET_KEY") {
            return Cipher::from_base64(&text).map(Some);
        }
        if let Ok(path) = std::env::var("HUBSYNC_SECRET_KEY_FILE") {
            let text = std::fs::read_to_string(&path).map_err(|cause| SecretError::File { path, cause })?;
            return Cipher::from_base64(&text).map(Some);
        }
        Ok(None)
    }

    /// `plain` sealed: `enc:v1:…`.
    pub fn seal(&self, plain: &str) -> Result<String, SecretError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| SecretError::BadKey)?;
        let mut data = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .map_err(|_| SecretError::BadKey)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{SEALED_PREFIX}{}", B64.encode(out)))
    }

    /// A sealed value opened (a value without the prefix is returned as it is).
    pub fn open(&self, stored: &str) -> Result<String, SecretError> {
        let Some(body) = stored.strip_prefix(SEALED_PREFIX) else { return Ok(stored.to_owned()) };
        let bytes = B64.decode(body).map_err(|_| SecretError::WrongKey)?;
        if bytes.len() < NONCE_LEN {
            return Err(SecretError::WrongKey);
        }
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SecretError::WrongKey)?;
        let mut data = data.to_vec();
        let plain = self.key.open_in_place(nonce, Aad::empty(), &mut data).map_err(|_| SecretError::WrongKey)?;
        String::from_utf8(plain.to_vec()).map_err(|_| SecretError::WrongKey)
    }
}

/// Open `stored` with `cipher` if it is sealed; plain text passes through.
pub fn open_stored(cipher: Option<&Cipher>, stored: String) -> Result<String, SecretError> {
    match (stored.starts_with(SEALED_PREFIX), cipher) {
        (false, _) => Ok(stored),
        (true, Some(c)) => c.open(&stored),
        (true, None) => Err(SecretError::NoKey),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_never_show_the_plain_text() {
        let a = Cipher::from_base64(&Cipher::generate().expect("key")).expect("key a");
        let b = Cipher::from_base64(&Cipher::generate().expect("key")).expect("key b");
        let plain = r#"{"hub":"postgres://u:s3cret@h/db"}"#;
        let sealed = a.seal(plain).expect("seal");
        assert!(sealed.starts_with(SEALED_PREFIX) && !sealed.contains("s3cret"));
        assert_ne!(sealed, a.seal(plain).expect("seal"), "a fresh nonce every time");
        assert_eq!(a.open(&sealed).expect("open"), plain);
        assert!(matches!(b.open(&sealed), Err(SecretError::WrongKey)));
        assert!(matches!(open_stored(None, sealed), Err(SecretError::NoKey)));
        assert_eq!(open_stored(None, "plain".into()).expect("plain"), "plain");
        assert!(matches!(Cipher::from_base64("short"), Err(SecretError::BadKey)));
    }

    #[test]
    fn a_missing_key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("key");
        let (c1, created) = Cipher::from_file_or_create(&path).expect("create");
        assert!(created);
        let (c2, created) = Cipher::from_file_or_create(&path).expect("read");
        assert!(!created);
        assert_eq!(c2.open(&c1.seal("x").expect("seal")).expect("open"), "x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
