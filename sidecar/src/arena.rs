//! The one locked, guarded region that holds every secret value.
//!
//! memsec gives a page-aligned block between two guard pages, with a canary, `MADV_DONTDUMP`
//! and an `mlock` whose result it ignores; [`LockedArena::new`] therefore locks the block again
//! itself and reports whether that worked, so the caller can fail closed. The arena is written
//! once (the sealed file is read into it and decrypted in place), then sealed read-only for the
//! life of the process, and wiped when dropped.

use std::ptr::NonNull;

use nix::errno::Errno;

/// A locked, guarded byte region.
pub struct LockedArena {
    ptr: NonNull<[u8]>,
    locked: bool,
    read_only: bool,
}

// SAFETY: the arena owns its region exclusively; after `seal_read_only` it is only ever read.
#[allow(unsafe_code)]
unsafe impl Send for LockedArena {}
// SAFETY: shared access only reads (mutation needs `&mut self`).
#[allow(unsafe_code)]
unsafe impl Sync for LockedArena {}

impl std::fmt::Debug for LockedArena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockedArena")
            .field("len", &self.len())
            .field("locked", &self.locked)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

/// Why an arena could not be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArenaError {
    /// The allocation itself failed.
    OutOfMemory,
    /// `mprotect` refused to make the arena read-only.
    Protect(Errno),
}

impl LockedArena {
    /// Allocates `len` bytes (at least one), zeroed, locked if the system allows it.
    ///
    /// When the lock did not hold, the `mlock` error comes alongside; the memory is usable
    /// either way, and the caller decides whether to go on.
    pub fn new(len: usize) -> Result<(Self, Option<Errno>), ArenaError> {
        let len = len.max(1);
        // SAFETY: memsec returns either `None` or a fresh block of exactly `len` writable bytes.
        #[allow(unsafe_code)]
        let ptr = unsafe { memsec::malloc_sized(len) }.ok_or(ArenaError::OutOfMemory)?;
        let mut arena = Self {
            ptr,
            locked: false,
            read_only: false,
        };
        let region = arena.as_mut_slice();
        region.fill(0);
        let lock = nix::errno::Errno::result(
            // SAFETY: the range is the block just allocated; mlock does not touch its contents.
            #[allow(unsafe_code)]
            unsafe {
                nix::libc::mlock(region.as_ptr().cast(), region.len())
            },
        );
        arena.locked = lock.is_ok();
        Ok((arena, lock.err()))
    }

    /// Whether the arena's pages are locked in memory.
    pub fn is_locked(&self) -> bool {
        self.locked
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.ptr.len()
    }

    /// Whether the arena is empty (never: it holds at least one byte).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, for reading.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: the block is live and readable for `len` bytes until `drop`.
        #[allow(unsafe_code)]
        unsafe {
            self.ptr.as_ref()
        }
    }

    /// The bytes, for writing; only before [`LockedArena::seal_read_only`].
    ///
    /// # Panics
    ///
    /// If the arena was already sealed: writing would fault, and this says why first.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        assert!(!self.read_only, "the arena is read-only once sealed");
        // SAFETY: the block is live, writable while not sealed, and borrowed mutably here.
        #[allow(unsafe_code)]
        unsafe {
            self.ptr.as_mut()
        }
    }

    /// Makes the arena read-only for the rest of its life.
    pub fn seal_read_only(&mut self) -> Result<(), ArenaError> {
        // SAFETY: `ptr` came from `memsec::malloc_sized`, as `mprotect` requires.
        #[allow(unsafe_code)]
        let ok = unsafe { memsec::mprotect(self.ptr, memsec::Prot::ReadOnly) };
        if !ok {
            return Err(ArenaError::Protect(Errno::last()));
        }
        self.read_only = true;
        Ok(())
    }
}

/// Permission to wipe an arena in place from another thread, for a process about to exit
/// without running destructors (the shutdown watchdog, or a normal exit while a thread that
/// holds the store is stuck in a sink). Made by [`LockedArena::wiper`].
#[derive(Debug, Clone, Copy)]
pub struct Wiper {
    ptr: NonNull<[u8]>,
}

// SAFETY: a `Wiper` only carries the address; using it is `unsafe` and documented below.
#[allow(unsafe_code)]
unsafe impl Send for Wiper {}
// SAFETY: as above.
#[allow(unsafe_code)]
unsafe impl Sync for Wiper {}

impl LockedArena {
    /// A [`Wiper`] for this arena.
    pub fn wiper(&self) -> Wiper {
        Wiper { ptr: self.ptr }
    }
}

impl Wiper {
    /// Makes the region writable again and zeroes it.
    ///
    /// # Safety
    ///
    /// The arena must still be alive (not dropped), and the process must exit right after:
    /// threads still reading the store see zeros from here on.
    #[allow(unsafe_code)]
    pub unsafe fn wipe_before_exit(self) {
        // SAFETY: the caller guarantees the block is still allocated; memsec's mprotect takes
        // the pointer memsec gave.
        unsafe {
            let _ = memsec::mprotect(self.ptr, memsec::Prot::ReadWrite);
            let bytes = self.ptr.as_ptr().cast::<u8>();
            memsec::memzero(bytes, self.ptr.len());
        }
    }
}

impl Drop for LockedArena {
    fn drop(&mut self) {
        // memsec's `free` makes the block writable, wipes it, unlocks it and releases it
        // (aborting if the canary was overwritten).
        // SAFETY: `ptr` came from `memsec::malloc_sized` and is freed exactly once.
        #[allow(unsafe_code)]
        unsafe {
            memsec::free(self.ptr)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_what_was_written_and_locks_when_allowed() {
        let (mut arena, lock_error) = LockedArena::new(10_000).unwrap();
        assert_eq!(arena.len(), 10_000);
        assert_eq!(arena.is_locked(), lock_error.is_none());
        arena.as_mut_slice()[9_999] = 7;
        arena.seal_read_only().unwrap();
        assert_eq!(arena.as_slice()[9_999], 7);
        assert!(arena.as_slice()[..9_999].iter().all(|&b| b == 0));
    }

    #[test]
    #[should_panic(expected = "read-only")]
    fn refuses_writes_once_sealed() {
        let (mut arena, _) = LockedArena::new(16).unwrap();
        arena.seal_read_only().unwrap();
        arena.as_mut_slice()[0] = 1;
    }
}
