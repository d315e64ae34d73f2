//! Per-app git credentials (an access token or a deploy key), stored sealed: the store only ever sees
//! the nonce and ciphertext of the secret half.

use sqlx::any::AnyRow;

use super::{get, now_ms, Store};
use crate::error::Result;

/// A credential as stored. `kind` is `token` or `deploy_key`.
#[derive(Debug, Clone)]
pub struct StoredCredential {
    pub kind: String,
    /// The user name git sends with a token.
    pub username: Option<String>,
    /// The public half of a deploy key (OpenSSH one-line format).
    pub public_key: Option<String>,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub updated_at: i64,
}

fn credential(row: &AnyRow) -> Result<StoredCredential> {
    Ok(StoredCredential {
        kind: get(row, "kind")?,
        username: get(row, "username")?,
        public_key: get(row, "public_key")?,
        nonce: get(row, "nonce")?,
        ciphertext: get(row, "ciphertext")?,
        updated_at: get(row, "updated_at")?,
    })
}

impl Store {
    pub async fn credential(&self, app_id: i64) -> Result<Option<StoredCredential>> {
        let row = sqlx::query(
            "SELECT kind, username, public_key, nonce, ciphertext, updated_at FROM app_credentials WHERE app_id = $1",
        )
        .bind(app_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(credential).transpose()
    }

    /// Sets the app's one credential, replacing whatever it had.
    pub async fn put_credential(&self, app_id: i64, c: &StoredCredential) -> Result<()> {
        sqlx::query(
            "INSERT INTO app_credentials (app_id, kind, username, public_key, nonce, ciphertext, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (app_id) DO UPDATE SET kind = excluded.kind, username = excluded.username,
             public_key = excluded.public_key, nonce = excluded.nonce, ciphertext = excluded.ciphertext,
             updated_at = excluded.updated_at",
        )
        .bind(app_id)
        .bind(&c.kind)
        .bind(&c.username)
        .bind(&c.public_key)
        .bind(&c.nonce)
        .bind(&c.ciphertext)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Removes the app's credential; false when it had none.
    pub async fn delete_credential(&self, app_id: i64) -> Result<bool> {
        let done = sqlx::query("DELETE FROM app_credentials WHERE app_id = $1").bind(app_id).execute(self.pool()).await?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::app_named;

    fn sealed(kind: &str, ct: &[u8]) -> StoredCredential {
        StoredCredential {
            kind: kind.into(),
            username: (kind == "token").then(|| "x-access-token".into()),
            public_key: (kind == "deploy_key").then(|| "ssh-ed25519 AAAA rhone-a".into()),
            nonce: vec![1; 12],
            ciphertext: ct.to_vec(),
            updated_at: 0,
        }
    }

    /// Each app has at most one credential: setting another kind replaces it; deleting the app
    /// deletes it.
    async fn one_credential_per_app_replaced_and_deleted_with_the_app(s: Store) {
        let a = app_named(&s, "a").await;
        let b = app_named(&s, "b").await;
        assert!(s.credential(a.id).await.unwrap().is_none());
        s.put_credential(a.id, &sealed("token", b"t1")).await.unwrap();
        s.put_credential(b.id, &sealed("token", b"other")).await.unwrap();
        s.put_credential(a.id, &sealed("deploy_key", b"k1")).await.unwrap();
        let c = s.credential(a.id).await.unwrap().expect("stored");
        assert_eq!((c.kind.as_str(), c.ciphertext.as_slice(), c.username), ("deploy_key", &b"k1"[..], None));
        assert_eq!(c.public_key.as_deref(), Some("ssh-ed25519 AAAA rhone-a"));
        assert!(c.updated_at > 0);
        assert_eq!(s.credential(b.id).await.unwrap().expect("b keeps its own").ciphertext, b"other");
        assert!(s.delete_credential(a.id).await.unwrap());
        assert!(!s.delete_credential(a.id).await.unwrap(), "nothing left to delete");
        assert!(s.credential(a.id).await.unwrap().is_none());
        s.delete_app(b.id).await.unwrap();
        assert!(s.credential(b.id).await.unwrap().is_none(), "deleting the app deletes its credential");
    }

    #[tokio::test]
    async fn credentials_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::connect(&format!("sqlite://{}/t.db", dir.path().display())).await.unwrap();
        one_credential_per_app_replaced_and_deleted_with_the_app(s).await;
    }

    /// Needs `RHONE_TEST_POSTGRES_URL` like the other two-backend store tests (`make test` sets it).
    #[tokio::test]
    async fn credentials_on_postgres() {
        use sqlx::Connection;
        let server = std::env::var("RHONE_TEST_POSTGRES_URL")
            .expect("RHONE_TEST_POSTGRES_URL must point at a PostgreSQL server (export RHONE_TEST_POSTGRES_URL=$(bash server/tests/postgres.sh))");
        let server = server.trim_end_matches('/');
        let name = format!("rhone_cred_{}_{}", std::process::id(), now_ms());
        let mut conn = sqlx::PgConnection::connect(&format!("{server}/postgres")).await.expect("connect to PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create database");
        let s = Store::connect(&format!("{server}/{name}")).await.unwrap();
        one_credential_per_app_replaced_and_deleted_with_the_app(s).await;
    }
}
