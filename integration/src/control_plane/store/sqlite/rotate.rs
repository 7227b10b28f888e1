//! `ax-control-plane rotate-master-key`: rewraps everything the master key seals — every
//! tenant's data key, the identity (signing key, TLS), the published signing keys and the
//! check value — under a new master key, in one transaction, without reading or writing a
//! single value row: values are sealed with the data keys, which do not change.
//!
//! The control plane must be stopped while it runs: a running one holds the old master key in
//! memory and would wrap a tenant created afterwards with it.

use std::path::Path;

use rusqlite::{TransactionBehavior, params};

use super::super::StoreError;
use super::super::sealing::{self, MasterKey, SealingKey};
use super::SqliteStore;

/// What a rotation rewrapped, for its report line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewrapped {
    /// Tenants' data keys.
    pub data_keys: usize,
    /// Identity parts, published signing keys and the check value.
    pub identity: usize,
}

/// Rewraps the database `db` from the master key in `old_file` to the one in `new_file`.
/// Refused, with nothing changed: a missing database, either key file unreadable, of another
/// length or open to group or others, the same key twice, or an old key that does not open
/// the database (or any row of it: one row that does not open rolls the whole change back).
pub fn rotate_master_key(
    db: &Path,
    old_file: &Path,
    new_file: &Path,
) -> Result<Rewrapped, StoreError> {
    if std::fs::symlink_metadata(db).is_err() {
        return Err(StoreError::NoDatabase {
            path: db.to_owned(),
        });
    }
    let old = MasterKey::from_file(old_file)?;
    let new = MasterKey::from_file(new_file)?;
    // Digests compared, so the comparison's timing says nothing about either key.
    let digest = |k: &SealingKey| ring::digest::digest(&ring::digest::SHA256, k.bytes());
    if digest(&old).as_ref() == digest(&new).as_ref() {
        return Err(StoreError::SameMasterKey {
            path: new_file.to_owned(),
        });
    }
    let store = SqliteStore::open(db, old, old_file)?;
    let done = store.rewrap(&new, old_file)?;
    store.forget_old_pages()?;
    Ok(done)
}

impl SqliteStore {
    /// The data keys do not change, so their old wrapping must not stay on disk: whoever later
    /// got the old master key could unwrap them from a stale page. `secure_delete` (set
    /// before the change) zeroes the pages SQLite frees, and a truncating checkpoint moves
    /// the new pages into the file and empties the WAL, which held the old ones.
    fn forget_old_pages(&self) -> Result<(), StoreError> {
        let conn = self.conn();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    fn rewrap(&self, new: &SealingKey, old_file: &Path) -> Result<Rewrapped, StoreError> {
        let mut conn = self.conn();
        conn.pragma_update(None, "secure_delete", "ON")?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let refused = || StoreError::WrongMasterKey {
            path: old_file.to_owned(),
        };
        let mut done = Rewrapped {
            data_keys: 0,
            identity: 0,
        };
        let tenants: Vec<(String, Vec<u8>)> = tx
            .prepare("SELECT name, data_key FROM tenants")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (tenant, wrapped) in tenants {
            let aad = sealing::data_key_aad(&tenant);
            let key = self
                .master
                .open(&aad, &wrapped)
                .ok_or_else(|| StoreError::DataKey {
                    tenant: tenant.clone(),
                })?;
            let rewrapped = new.seal(&self.rng, &aad, &key)?;
            tx.execute(
                "UPDATE tenants SET data_key = ?2 WHERE name = ?1",
                params![tenant, rewrapped],
            )?;
            done.data_keys += 1;
        }
        let parts: Vec<(String, Vec<u8>)> = tx
            .prepare("SELECT what, sealed FROM identity")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (what, sealed) in parts {
            let aad = sealing::identity_aad(&what);
            let plain = self
                .master
                .open(&aad, &sealed)
                .ok_or(StoreError::Identity { what: "identity" })?;
            tx.execute(
                "UPDATE identity SET sealed = ?2 WHERE what = ?1",
                params![what, new.seal(&self.rng, &aad, &plain)?],
            )?;
            done.identity += 1;
        }
        let keys: Vec<(String, Vec<u8>)> = tx
            .prepare("SELECT id, sealed FROM signing_keys")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (id, sealed) in keys {
            let aad = sealing::identity_aad(&super::schema::signing_key_what(&id));
            let plain = self
                .master
                .open(&aad, &sealed)
                .ok_or(StoreError::Identity {
                    what: "signing key",
                })?;
            tx.execute(
                "UPDATE signing_keys SET sealed = ?2 WHERE id = ?1",
                params![id, new.seal(&self.rng, &aad, &plain)?],
            )?;
            done.identity += 1;
        }
        let aad = sealing::identity_aad("master-check");
        let check: Vec<u8> = tx.query_row(
            "SELECT value FROM meta WHERE key = 'master_check'",
            [],
            |r| r.get(0),
        )?;
        match self.master.open(&aad, &check) {
            Some(plain) if plain.as_slice() == sealing::CHECK_PLAINTEXT => {}
            _ => return Err(refused()),
        }
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'master_check'",
            params![new.seal(&self.rng, &aad, sealing::CHECK_PLAINTEXT)?],
        )?;
        done.identity += 1;
        tx.commit()?;
        Ok(done)
    }
}
