//! The allocator of `ax-run`: the system allocator, except that every block is wiped before it
//! is freed.
//!
//! `ax-run` holds the execution token for a moment, between the control plane's answer and the
//! write into the sidecar's token pipe. Our own copies of it are wiped when dropped, but
//! libraries copy too, and we cannot reach their buffers: rustls decrypts the answer into a
//! record buffer and queues the plaintext in another, serde copies strings, a growing `Vec`
//! leaves its old block behind. glibc does not clear what it frees, so each of those copies
//! would stay readable in the heap (to a debugger, a core file, or a same-uid process that can
//! read `/proc/PID/mem`) for as long as `ax-run` runs, which is as long as the command runs.
//! Wiping at `dealloc` and `realloc` closes that for every allocation, whoever made it.
//!
//! The cost is one pass over each block as it is freed, and a copy for every `realloc` (which
//! is never done in place, so that the old block can be wiped). `ax-run` allocates little: a
//! few small HTTPS exchanges, then it waits for the command. Not measured separately.
//!
//! What it cannot clear: bytes on a stack (wiped where we put them there: the HTTPS read
//! buffer), in registers, or in kernel buffers (the token pipe, the TLS socket).

use std::alloc::{GlobalAlloc, Layout, System};

use zeroize::Zeroize;

/// [`System`], with every block wiped before it is freed or moved by `realloc`.
#[derive(Debug, Clone, Copy, Default)]
pub struct WipingAllocator;

/// Zeroes `len` bytes at `ptr` with writes the compiler may not remove (a plain `memset`
/// right before `free` is a dead store it is allowed to drop).
///
/// # Safety
///
/// `ptr` must be valid for writes of `len` bytes, and nothing else may use them meanwhile.
#[allow(unsafe_code)]
unsafe fn wipe(ptr: *mut u8, len: usize) {
    // SAFETY: the caller guarantees `ptr..ptr+len` is a live block that only we touch.
    unsafe { std::slice::from_raw_parts_mut(ptr, len) }.zeroize();
}

// SAFETY: every call is forwarded to `System` with the layout it was given; the extra work is
// writing zeroes into a block we own, before handing it back. `realloc` is done as
// allocate, copy, wipe, free, which keeps its contract: the first `min(old, new)` bytes are
// preserved, the old block is released only on success, and a failure returns null leaving
// the old block as it was.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for WipingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` is a live block of `layout.size()` bytes that the caller gives up.
        unsafe {
            wipe(ptr, layout.size());
            System.dealloc(ptr, layout);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size`, rounded up to `layout.align()`, does not
        // overflow `isize`, so this layout is valid.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: `new_size` is non-zero (the caller's contract), so `new_layout` is too.
        let new = unsafe { System.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are live, distinct, and at least `min(..)` bytes long; the
            // old one is ours to wipe and free once its contents have moved.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                wipe(ptr, layout.size());
                System.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(unsafe_code)]
    fn wipe_zeroes_every_byte_of_the_block() {
        let mut block = vec![0xa5u8; 1000];
        // SAFETY: the vector's buffer is live, 1000 bytes, and borrowed by nothing else.
        unsafe { wipe(block.as_mut_ptr(), block.len()) };
        assert!(block.iter().all(|&b| b == 0));
    }

    #[test]
    #[allow(unsafe_code)]
    fn realloc_keeps_the_contents_when_growing_and_shrinking() {
        let a = WipingAllocator;
        let layout = |size| Layout::from_size_align(size, 8).unwrap();
        // SAFETY: non-zero layouts; each block is used within its size and freed once, with
        // the layout it was last given.
        unsafe {
            let p = a.alloc(layout(64));
            assert!(!p.is_null());
            for i in 0..64 {
                p.add(i).write(i as u8 + 1);
            }
            let grown = a.realloc(p, layout(64), 4096);
            assert!(!grown.is_null());
            let kept: Vec<u8> = (0..64).map(|i| grown.add(i).read()).collect();
            assert_eq!(kept, (1..=64).collect::<Vec<u8>>());
            let shrunk = a.realloc(grown, layout(4096), 16);
            assert!(!shrunk.is_null());
            let kept: Vec<u8> = (0..16).map(|i| shrunk.add(i).read()).collect();
            assert_eq!(kept, (1..=16).collect::<Vec<u8>>());
            a.dealloc(shrunk, layout(16));
        }
    }
}
