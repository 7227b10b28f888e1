//! Where the bundle comes from: the one seam between "get sealed bytes" and "serve them".
//!
//! Two sources: a local sealed file (offline mode, PROTOCOL §12) and the control plane (online
//! mode, §13.1). Either way the sealed bytes go straight into the locked arena and are opened in
//! place, so the plaintext never exists outside locked memory.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ax_protocol::bundle::envelope::{SIGNING_KEY_LEN, open_in_place_trusting};
use ax_protocol::bundle::local::{LOCAL_KEY_LEN, LocalKey, open_local_in_place};
use ax_protocol::limits::MAX_BUNDLE_LEN;
use ring::agreement::{EphemeralPrivateKey, X25519};
use ring::rand::SystemRandom;
use zeroize::Zeroizing;

use crate::arena::{ArenaError, LockedArena};
use crate::control_plane::ControlPlane;
use crate::control_plane::fetch::fetch_sealed;
use crate::control_plane::retry::FullJitter;
use crate::exit::StartupError;
use crate::store::Store;

/// Where to get the bundle.
#[derive(Debug, Clone)]
pub enum BundleSource {
    /// A file made by `ax-sidecar seal`, with its 32-byte key file.
    LocalFile {
        /// The sealed file.
        bundle: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// The control plane, which seals the bundle to a key made for this start.
    ControlPlane {
        /// The control plane and the execution.
        plane: Arc<ControlPlane>,
        /// Its pinned Ed25519 public keys: the envelope's signature must verify under one.
        signing_keys: Vec<[u8; SIGNING_KEY_LEN]>,
        /// The total time the fetch may take, retries included.
        deadline: Duration,
    },
}

/// Whether the sidecar may serve from memory that could not be locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryPolicy {
    /// Refuse to start (the default).
    RequireLocked,
    /// Start anyway, with a warning.
    AllowUnlocked,
}

impl BundleSource {
    /// Gets, authenticates and opens the bundle into a [`Store`].
    pub async fn load(&self, policy: MemoryPolicy) -> Result<Store, StartupError> {
        match self {
            Self::ControlPlane {
                plane,
                signing_keys,
                deadline,
            } => fetch_and_open(plane, signing_keys, *deadline, policy).await,
            Self::LocalFile { bundle, key } => {
                let key = read_key(key)?;
                let arena = read_into_arena(bundle, policy)?;
                let now = unix_now();
                Store::open_in_arena(arena, |sealed| open_local_in_place(sealed, &key, now))
                    .map_err(|source| StartupError::Bundle {
                        path: bundle.clone(),
                        source,
                    })
            }
        }
    }
}

/// The online start: a fresh X25519 key, the fetch, then verify and open in the arena. The
/// private key never leaves ring and is consumed by the one opening it is made for.
async fn fetch_and_open(
    plane: &ControlPlane,
    signing_keys: &[[u8; SIGNING_KEY_LEN]],
    deadline: Duration,
    policy: MemoryPolicy,
) -> Result<Store, StartupError> {
    let rng = SystemRandom::new();
    let recipient = EphemeralPrivateKey::generate(&X25519, &rng)
        .map_err(|_| StartupError::Crypto("cannot generate the X25519 key"))?;
    let public = recipient
        .compute_public_key()
        .map_err(|_| StartupError::Crypto("cannot compute the X25519 public key"))?;
    let client = plane.client()?;
    let mut jitter = FullJitter::default();
    let arena = fetch_sealed(
        plane,
        &client,
        public.as_ref(),
        deadline,
        policy,
        &mut jitter,
    )
    .await?;
    let now = unix_now();
    let execution_id = plane.execution_id();
    Store::open_in_arena(arena, |sealed| {
        open_in_place_trusting(sealed, recipient, signing_keys, execution_id, now)
    })
    .map_err(StartupError::FetchedBundle)
}

/// A fresh arena of `len` bytes, refused when it could not be locked unless that is allowed.
pub fn locked_arena(len: usize, policy: MemoryPolicy) -> Result<LockedArena, StartupError> {
    let (arena, lock_error) = LockedArena::new(len).map_err(|e| match e {
        ArenaError::OutOfMemory | ArenaError::Protect(_) => StartupError::OutOfMemory { len },
    })?;
    if let Some(errno) = lock_error {
        if policy == MemoryPolicy::RequireLocked {
            return Err(StartupError::Lock { errno });
        }
        tracing::warn!(%errno, "secret memory is NOT locked: values may reach swap");
    }
    Ok(arena)
}

/// Reads a 32-byte key file into memory that is wiped on drop.
pub fn read_key(path: &Path) -> Result<LocalKey, StartupError> {
    let input = |source| StartupError::Input {
        what: "key file",
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Zeroizing::new(Vec::with_capacity(LOCAL_KEY_LEN + 1));
    File::open(path)
        .and_then(|f| f.take(LOCAL_KEY_LEN as u64 + 1).read_to_end(&mut bytes))
        .map_err(input)?;
    if bytes.len() != LOCAL_KEY_LEN {
        let len = if bytes.len() > LOCAL_KEY_LEN {
            std::fs::metadata(path).map_or(bytes.len(), |m| m.len() as usize)
        } else {
            bytes.len()
        };
        return Err(StartupError::KeyLength {
            path: path.to_path_buf(),
            len,
        });
    }
    LocalKey::from_bytes(&bytes).map_err(|_| StartupError::KeyLength {
        path: path.to_path_buf(),
        len: bytes.len(),
    })
}

/// Reads a whole file into a fresh locked arena of exactly its size.
fn read_into_arena(path: &Path, policy: MemoryPolicy) -> Result<LockedArena, StartupError> {
    let input = |source| StartupError::Input {
        what: "bundle file",
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(input)?;
    let len = file.metadata().map_err(input)?.len();
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if len > MAX_BUNDLE_LEN {
        return Err(StartupError::Bundle {
            path: path.to_path_buf(),
            source: ax_protocol::bundle::BundleError::TooLarge { len }.into(),
        });
    }
    let mut arena = locked_arena(len, policy)?;
    let region = &mut arena.as_mut_slice()[..len];
    file.read_exact(region).map_err(input)?;
    let mut probe = [0u8; 1];
    if file.read(&mut probe).map_err(input)? != 0 {
        return Err(input(std::io::Error::other(
            "the file grew while it was read",
        )));
    }
    Ok(arena)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
