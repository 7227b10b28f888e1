//! A global allocator that wipes every heap block when it is freed.
//!
//! Secret values are meant to live only in the locked arena, but some copies reach the ordinary
//! heap on their way out: a response buffer holding a value, a rendered template, the redaction
//! automaton (which encodes every value in its transitions), a decoded request. Wiping on free
//! makes "no value outlives its use" a property of the process instead of a discipline every
//! call site must remember. The cost is one `memset` per free, small against the syscalls of a
//! request.

use std::alloc::{GlobalAlloc, Layout, System};

/// The system allocator, with every block zeroed before it is returned to the system.
///
/// `realloc` is deliberately not overridden: the default moves the data to a new block and
/// frees the old one through [`GlobalAlloc::dealloc`], so the old copy is wiped too.
pub struct ZeroingAllocator;

// SAFETY: every method forwards to `System` with the caller's own pointer and layout; `dealloc`
// only writes zeros inside the block it is about to free, which the caller owns.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for ZeroingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` points to a live block of `layout.size()` bytes owned by the caller.
        unsafe { std::ptr::write_bytes(ptr, 0, layout.size()) };
        // The compiler may drop stores to memory that is freed next; making the pointer opaque
        // keeps the wipe.
        std::hint::black_box(ptr);
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
}
