//! A size-class allocator for plugins (wasm only, feature `fast-alloc`, on
//! by default).
//!
//! Every call lifts its batch into freshly allocated strings and vectors and
//! frees them afterwards: a dozen allocations per conflict. Blocks of up to
//! 4 KiB are kept in per-size free lists (powers of two from 16 bytes), so
//! after the first batch an allocation is a list pop and a free a push.
//! Larger blocks go to the system allocator. Memory held in the lists is
//! reused but never returned, which wasm could not do anyway.
//!
//! Plugins run single-threaded (wasm32 without the atomics feature), which
//! is what makes the unsynchronised lists sound; with atomics this module is
//! not compiled. Disable the feature to bring your own global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr;

const MIN_SHIFT: u32 = 4;
const MAX_SHIFT: u32 = 12;
const CLASSES: usize = (MAX_SHIFT - MIN_SHIFT + 1) as usize;

/// The allocator; install with `#[global_allocator]`.
pub struct SizeClassAlloc {
    free: UnsafeCell<[*mut u8; CLASSES]>,
}

// SAFETY: only compiled for wasm without threads, where there is one thread.
unsafe impl Sync for SizeClassAlloc {}

impl SizeClassAlloc {
    /// An allocator with empty free lists.
    pub const fn new() -> Self {
        SizeClassAlloc { free: UnsafeCell::new([ptr::null_mut(); CLASSES]) }
    }
}

impl Default for SizeClassAlloc {
    fn default() -> Self {
        Self::new()
    }
}

/// The size class of a layout, or `None` for blocks served by `System`.
/// A class-`c` block has size and alignment `1 << (c + MIN_SHIFT)`, which
/// satisfies any layout whose size and alignment are at most that.
fn class_of(layout: Layout) -> Option<usize> {
    let need = layout.size().max(layout.align()).max(1 << MIN_SHIFT);
    let shift = usize::BITS - (need - 1).leading_zeros();
    (shift <= MAX_SHIFT).then(|| (shift - MIN_SHIFT) as usize)
}

fn class_layout(class: usize) -> Layout {
    let size = 1usize << (class as u32 + MIN_SHIFT);
    // SAFETY: size is a power of two no larger than 4 KiB.
    unsafe { Layout::from_size_align_unchecked(size, size) }
}

unsafe impl GlobalAlloc for SizeClassAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = class_of(layout) else {
            // SAFETY: forwarded with the caller's guarantees.
            return unsafe { System.alloc(layout) };
        };
        // SAFETY: single-threaded (see the module doc); no reference to the
        // lists outlives this call.
        let free = unsafe { &mut *self.free.get() };
        let head = free[class];
        if head.is_null() {
            // SAFETY: class layouts have non-zero size.
            return unsafe { System.alloc(class_layout(class)) };
        }
        // A free block stores the next free block's address in its first word.
        // SAFETY: `head` came from this list and is at least 16 bytes, aligned.
        free[class] = unsafe { head.cast::<*mut u8>().read() };
        head
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(class) = class_of(layout) else {
            // SAFETY: blocks outside the classes came from `System` with this layout.
            return unsafe { System.dealloc(ptr, layout) };
        };
        // SAFETY: as in `alloc`; `ptr` is a block of this class we handed out.
        let free = unsafe { &mut *self.free.get() };
        unsafe { ptr.cast::<*mut u8>().write(free[class]) };
        free[class] = ptr;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_size_and_alignment() {
        let l = |size, align| Layout::from_size_align(size, align).expect("layout");
        assert_eq!(class_of(l(1, 1)), Some(0));
        assert_eq!(class_of(l(16, 8)), Some(0));
        assert_eq!(class_of(l(17, 1)), Some(1));
        assert_eq!(class_of(l(8, 64)), Some(2));
        assert_eq!(class_of(l(4096, 8)), Some(8));
        assert_eq!(class_of(l(4097, 8)), None);
        for size in 1..5000 {
            if let Some(c) = class_of(l(size, 8)) {
                assert!(class_layout(c).size() >= size);
            }
        }
    }

    #[test]
    fn blocks_are_reused_and_distinct() {
        let a = SizeClassAlloc::new();
        let l = Layout::from_size_align(24, 8).expect("layout");
        // SAFETY: test of the allocator's own contract.
        unsafe {
            let p = a.alloc(l);
            let q = a.alloc(l);
            assert!(!p.is_null() && !q.is_null() && p != q);
            p.write_bytes(0xAB, 24);
            a.dealloc(p, l);
            assert_eq!(a.alloc(l), p, "freed block reused");
            a.dealloc(p, l);
            a.dealloc(q, l);
            let big = Layout::from_size_align(10_000, 8).expect("layout");
            let b = a.alloc(big);
            assert!(!b.is_null());
            a.dealloc(b, big);
        }
    }
}
