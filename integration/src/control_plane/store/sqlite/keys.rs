//! The SQLite engine's signing keys (the `signing_keys` table, see
//! [`keys`](crate::control_plane::keys)): each PKCS#8 document sealed with the master key,
//! bound to its id.

use rusqlite::params;

use super::super::StoreError;
use super::super::sealing;
use super::schema::signing_key_what;
use super::{SqliteStore, from_sql, to_sql};
use crate::control_plane::keys::{Role, StoredKey};

impl SqliteStore {
    pub(super) fn read_signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT id, role, created_at, sealed FROM signing_keys ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Vec<u8>>(3)?,
            ))
        })?;
        let mut keys = Vec::new();
        for row in rows {
            let (id, role, created_at, sealed) = row?;
            let role = Role::parse(&role).ok_or(StoreError::SigningKeyRole)?;
            let pkcs8 = self
                .master
                .open(&sealing::identity_aad(&signing_key_what(&id)), &sealed)
                .ok_or(StoreError::Identity {
                    what: "signing key",
                })?;
            keys.push(StoredKey {
                id,
                role,
                created_at: from_sql(created_at),
                pkcs8,
            });
        }
        Ok(keys)
    }

    pub(super) fn write_signing_keys(&self, keys: &[StoredKey]) -> Result<(), StoreError> {
        let current =
            keys.iter()
                .find(|k| k.role == Role::Current)
                .ok_or(StoreError::Identity {
                    what: "signing key",
                })?;
        let identity = self.seal_identity("signing-key", &current.pkcs8)?;
        let mut sealed = Vec::with_capacity(keys.len());
        for k in keys {
            let what = signing_key_what(&k.id);
            sealed.push(self.seal_identity(&what, &k.pkcs8)?);
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO identity (what, sealed) VALUES ('signing-key', ?1)",
            params![identity],
        )?;
        tx.execute("DELETE FROM signing_keys", [])?;
        for (k, blob) in keys.iter().zip(sealed) {
            tx.execute(
                "INSERT INTO signing_keys (id, role, created_at, sealed) VALUES (?1, ?2, ?3, ?4)",
                params![k.id, k.role.as_str(), to_sql(k.created_at), blob],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}
