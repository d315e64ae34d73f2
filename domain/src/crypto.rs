//! Env-var encryption: AES-256-GCM, a fresh random nonce per value, the app id and key name bound as
//! associated data (a ciphertext copied to another app or key does not decrypt). Encryption is never
//! off: without a configured key one is generated on first start and kept in the data dir (mode 0600).

use std::fmt;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;

use crate::error::{Error, Result};

pub const KEY_FILE: &str = "secret.key";

#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

impl SecretKey {
    /// Parses a key given as 64 hex characters or base64 of 32 bytes.
    pub fn parse(s: &str) -> Result<SecretKey> {
        let s = s.trim();
        let bytes = if s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()) {
            hex::decode(s).ok()
        } else {
            B64.decode(s).ok()
        };
        match bytes.and_then(|b| <[u8; 32]>::try_from(b).ok()) {
            Some(k) => Ok(SecretKey(k)),
            None => Err(Error::invalid("secret_key", "must be 32 bytes, as 64 hex characters or base64")),
        }
    }

    pub fn generate() -> SecretKey {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        SecretKey(k)
    }

    /// Loads `<data_dir>/secret.key`, creating it (mode 0600) if it does not exist.
    pub fn load_or_create(data_dir: &Path) -> Result<SecretKey> {
        let path = data_dir.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(s) => SecretKey::parse(&s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SecretKey::generate();
                write_private(&path, &hex::encode(key.0))?;
                tracing::info!(path = %path.display(), "generated a new secret key for env-var encryption");
                Ok(key)
            }
            Err(e) => Err(Error::internal("read secret key", e)),
        }
    }

    pub fn seal(&self, aad: &str, plaintext: &str) -> Result<(Vec<u8>, Vec<u8>)> {
        let cipher = Aes256Gcm::new_from_slice(&self.0).map_err(|e| Error::internal("cipher", e))?;
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext.as_bytes(), aad: aad.as_bytes() })
            .map_err(|_| Error::Internal("encrypt failed".into()))?;
        Ok((nonce.to_vec(), ct))
    }

    pub fn open(&self, aad: &str, nonce: &[u8], ciphertext: &[u8]) -> Result<String> {
        let cipher = Aes256Gcm::new_from_slice(&self.0).map_err(|e| Error::internal("cipher", e))?;
        if nonce.len() != 12 {
            return Err(Error::Internal("bad nonce length".into()));
        }
        let pt = cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: aad.as_bytes() })
            .map_err(|_| Error::Internal("env var does not decrypt: was RHONE_SECRET_KEY changed?".into()))?;
        String::from_utf8(pt).map_err(|e| Error::internal("env var utf-8", e))
    }
}

fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::internal("create secret key file", e))?;
    f.write_all(contents.as_bytes()).map_err(|e| Error::internal("write secret key file", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_value_opens_only_with_same_key_and_context() {
        let k = SecretKey::generate();
        let (n, ct) = k.seal("1:DB", "hunter2").unwrap();
        assert_eq!(k.open("1:DB", &n, &ct).unwrap(), "hunter2");
        assert!(k.open("2:DB", &n, &ct).is_err(), "context is bound");
        assert!(SecretKey::generate().open("1:DB", &n, &ct).is_err(), "other key fails");
        assert!(!ct.windows(7).any(|w| w == b"hunter2"), "ciphertext hides the value");
    }

    #[test]
    fn each_seal_uses_a_fresh_nonce() {
        let k = SecretKey::generate();
        let (n1, c1) = k.seal("a", "same").unwrap();
        let (n2, c2) = k.seal("a", "same").unwrap();
        assert_ne!(n1, n2);
        assert_ne!(c1, c2);
    }

    #[test]
    fn generated_key_file_is_private_and_stable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let k1 = SecretKey::load_or_create(dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(KEY_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let k2 = SecretKey::load_or_create(dir.path()).unwrap();
        let (n, c) = k1.seal("x", "v").unwrap();
        assert_eq!(k2.open("x", &n, &c).unwrap(), "v");
    }

    #[test]
    fn key_parses_from_hex_or_base64_and_debug_hides_it() {
        let hexkey = "00".repeat(32);
        assert!(SecretKey::parse(&hexkey).is_ok());
        assert!(SecretKey::parse(&B64.encode([7u8; 32])).is_ok());
        assert!(SecretKey::parse("short").is_err());
        assert_eq!(format!("{:?}", SecretKey::parse(&hexkey).unwrap()), "SecretKey([redacted])");
    }
}
