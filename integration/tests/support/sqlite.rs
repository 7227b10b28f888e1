//! A SQLite control-plane database and its master key in a private temporary directory, and
//! direct access to the file as an attacker with write access to it would have.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The files: `control-plane.db` (and its `-wal`, `-shm`) and `master.key`, 0600.
pub struct SqliteFiles {
    pub dir: tempfile::TempDir,
}

impl SqliteFiles {
    /// A fresh directory named after `prefix`, holding a master key of 32 `key_byte`s.
    pub fn new(prefix: &str, key_byte: u8) -> Self {
        let dir = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
        let files = Self { dir };
        write_key(&files.key(), &[key_byte; 32], 0o600);
        files
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("control-plane.db")
    }

    pub fn key(&self) -> PathBuf {
        self.dir.path().join("master.key")
    }

    /// Runs SQL on the database directly.
    pub fn sql(&self, sql: &str) {
        rusqlite::Connection::open(self.db())
            .unwrap()
            .execute_batch(sql)
            .unwrap();
    }

    /// The raw bytes of the database and its -wal and -shm files, as far as they exist.
    pub fn raw_bytes(&self) -> Vec<(String, Vec<u8>)> {
        ["", "-wal", "-shm"]
            .iter()
            .filter_map(|suffix| {
                let path = PathBuf::from(format!("{}{suffix}", self.db().display()));
                std::fs::read(&path)
                    .ok()
                    .map(|b| (path.display().to_string(), b))
            })
            .collect()
    }
}

/// Writes a key file with `mode`.
pub fn write_key(path: &Path, bytes: &[u8], mode: u32) {
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
