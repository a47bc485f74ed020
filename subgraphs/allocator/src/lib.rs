//! mimalloc as Rust's global allocator, called through its plain functions
//! wherever their blocks are aligned enough. The kit declares it as the
//! allocator of every binary that links the kit (`talentgraph_kit`'s
//! `allocator.rs` says why mimalloc).
//!
//! # Why not the `mimalloc` crate's `MiMalloc`
//!
//! Rust hands every allocation its alignment, and `MiMalloc` passes each one
//! to mimalloc's aligned functions (`mi_malloc_aligned` and its siblings),
//! even an alignment of 8. In mimalloc 3 those try one fast path, a free
//! block in the page of the request's size class, for requests up to 1 KiB.
//! Otherwise, unless the size class is a power of two of at most 4 KiB,
//! they allocate `size + alignment` bytes and align a pointer inside them. So a 48-byte
//! request that found its page empty, and every request above 1 KiB that is
//! not a power of two (async-graphql's boxed futures are such), took that
//! over-allocating path. Counted with callgrind in employer, it was about
//! 300 of the 1,040 allocations per JobSearchPage and 7 % of the process's
//! instructions, and each of those blocks came from a size class larger
//! than the one asked for.
//!
//! mimalloc's plain `mi_malloc` already returns blocks aligned to 16 bytes
//! (blocks under 16 bytes to 8), which covers every alignment Rust's
//! ordinary types ask for. [`MimallocGlobalAllocator`] calls the plain
//! functions whenever that suffices, and the aligned ones only for layouts
//! that ask for more (cache-line-aligned types, hand-built layouts).
//!
//! This is the only crate of the workspace that may use unsafe code: a
//! global allocator cannot be written without it, and keeping it to this
//! one type lets every other crate keep `unsafe_code = "forbid"`.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc,
    mi_zalloc_aligned,
};

/// The alignment of every block of 16 bytes or more that mimalloc's plain
/// functions return (its `MI_MAX_ALIGN_SIZE`, the alignment of C's
/// `max_align_t`). Smaller blocks are aligned to 8, which covers every
/// alignment not above their size.
pub const PLAIN_BLOCK_ALIGNMENT: usize = 16;

/// mimalloc, called through its plain functions whenever their blocks'
/// own alignment is enough (see the crate's documentation).
#[derive(Debug, Clone, Copy, Default)]
pub struct MimallocGlobalAllocator;

/// Whether a block from mimalloc's plain functions, for a request of `size`
/// bytes, is aligned enough for `alignment`: the alignment is at most
/// [`PLAIN_BLOCK_ALIGNMENT`] and not above the size. (A request smaller than
/// its alignment, which Rust's types never make but a hand-built `Layout`
/// can, may land in an 8-byte block.)
pub fn plain_block_is_aligned_enough(size: usize, alignment: usize) -> bool {
    alignment <= PLAIN_BLOCK_ALIGNMENT && alignment <= size
}

// SAFETY: each method forwards to the mimalloc function for the same
// operation: the plain one only when `plain_block_is_aligned_enough` says its
// blocks meet the layout's alignment, the aligned one otherwise. Both
// families return null when out of memory, as `GlobalAlloc` expects, and
// mimalloc's `mi_free` and `mi_realloc` take blocks of either family.
unsafe impl GlobalAlloc for MimallocGlobalAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if plain_block_is_aligned_enough(layout.size(), layout.align()) {
            // SAFETY: `mi_malloc` takes any size.
            unsafe { mi_malloc(layout.size()) }.cast()
        } else {
            // SAFETY: any size, and a power-of-two alignment, which every
            // `Layout` holds.
            unsafe { mi_malloc_aligned(layout.size(), layout.align()) }.cast()
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if plain_block_is_aligned_enough(layout.size(), layout.align()) {
            // SAFETY: as in `alloc`.
            unsafe { mi_zalloc(layout.size()) }.cast()
        } else {
            // SAFETY: as in `alloc`.
            unsafe { mi_zalloc_aligned(layout.size(), layout.align()) }.cast()
        }
    }

    #[inline]
    unsafe fn dealloc(&self, pointer: *mut u8, _layout: Layout) {
        // SAFETY: the caller's contract says `pointer` came from this
        // allocator, so from one of mimalloc's functions above.
        unsafe { mi_free(pointer.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if plain_block_is_aligned_enough(new_size, layout.align()) {
            // SAFETY: `pointer` came from this allocator (the caller's
            // contract). `mi_realloc` returns either the same block, when the
            // new size still fits in it (its address, so its alignment,
            // unchanged), or a new plain block, aligned enough by the test
            // above.
            unsafe { mi_realloc(pointer.cast::<c_void>(), new_size) }.cast()
        } else {
            // SAFETY: `pointer` came from this allocator; the alignment is a
            // power of two.
            unsafe { mi_realloc_aligned(pointer.cast::<c_void>(), new_size, layout.align()) }.cast()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::alloc::{GlobalAlloc, Layout};

    use super::MimallocGlobalAllocator;

    /// The byte every test block is filled with, to see that reallocation
    /// keeps a block's contents.
    const FILL: u8 = 0xA5;

    /// Every size from 1 byte to 5 KiB (past mimalloc's 1 KiB small-block
    /// limit and many size classes beyond), with every alignment from 1
    /// to 4 KiB, comes back aligned, writable to its last byte, zeroed when
    /// asked, and keeps its bytes and its alignment through a reallocation
    /// that grows it and one that shrinks it. Many blocks of each layout are
    /// held at once, so the pages of a size class run out of free blocks
    /// and the paths taken then are exercised too.
    #[test]
    fn every_layout_gets_a_block_aligned_as_it_asks() {
        const BLOCKS_HELD_PER_LAYOUT: usize = 40;
        let allocator = MimallocGlobalAllocator;
        let sizes = (1..=256).chain((257..=5 * 1024).step_by(37));
        for size in sizes {
            for alignment in (0..=12).map(|power| 1_usize << power) {
                let layout = Layout::from_size_align(size, alignment).expect("a valid layout");
                let held: Vec<*mut u8> = (0..BLOCKS_HELD_PER_LAYOUT)
                    .map(|block| allocate_filled(&allocator, layout, block % 2 == 0))
                    .collect();
                for pointer in held {
                    grow_shrink_and_free(&allocator, pointer, layout);
                }
            }
        }
    }

    /// Requests of the alignments Rust's ordinary types have get a block of
    /// their own size class, never a larger one. Many 48-byte blocks (a size
    /// class that is not a power of two, so its pages run out and are
    /// refilled) and 1,500-byte ones (above mimalloc's 1 KiB small-block
    /// limit) each have exactly the usable size mimalloc gives that request.
    /// Through the aligned functions, every such request that missed their
    /// fast path got a block of a larger size class.
    #[test]
    fn ordinary_alignments_get_a_block_of_their_own_size_class() {
        use libmimalloc_sys::{mi_good_size, mi_usable_size};
        const BLOCKS: usize = 5_000;
        let allocator = MimallocGlobalAllocator;
        for (size, alignment) in [(48, 8), (48, 16), (24, 8), (1_500, 8), (4_000, 16)] {
            let layout = Layout::from_size_align(size, alignment).expect("a valid layout");
            // SAFETY: a pure function of the size.
            let size_class = unsafe { mi_good_size(size) };
            let blocks: Vec<*mut u8> = (0..BLOCKS)
                .map(|_| allocate_filled(&allocator, layout, false))
                .collect();
            let oversized = blocks
                .iter()
                // SAFETY: each pointer is a live block from mimalloc.
                .filter(|pointer| unsafe { mi_usable_size(pointer.cast()) } != size_class)
                .count();
            for pointer in blocks {
                // SAFETY: allocated above with `layout`, freed once.
                unsafe { allocator.dealloc(pointer, layout) };
            }
            assert_eq!(
                oversized, 0,
                "{oversized} of {BLOCKS} blocks for {layout:?} were not of the {size_class}-byte size class"
            );
        }
    }

    /// Allocates a block for `layout` (zeroed if asked, and then checked to
    /// be), checks its alignment, and fills it with [`FILL`].
    fn allocate_filled(
        allocator: &MimallocGlobalAllocator,
        layout: Layout,
        zeroed: bool,
    ) -> *mut u8 {
        let pointer = if zeroed {
            // SAFETY: every layout of these tests has a non-zero size.
            unsafe { allocator.alloc_zeroed(layout) }
        } else {
            // SAFETY: as above.
            unsafe { allocator.alloc(layout) }
        };
        assert!(!pointer.is_null(), "{layout:?}: out of memory");
        assert_eq!(
            pointer as usize % layout.align(),
            0,
            "{layout:?}: misaligned"
        );
        if zeroed {
            // SAFETY: the block holds `layout.size()` initialized bytes.
            let bytes = unsafe { std::slice::from_raw_parts(pointer, layout.size()) };
            assert!(
                bytes.iter().all(|byte| *byte == 0),
                "{layout:?}: not zeroed"
            );
        }
        // SAFETY: the block holds `layout.size()` bytes.
        unsafe { std::ptr::write_bytes(pointer, FILL, layout.size()) };
        pointer
    }

    /// Reallocates a block filled with [`FILL`] to twice and then half its
    /// size, checks its alignment and bytes after each, and frees it.
    fn grow_shrink_and_free(allocator: &MimallocGlobalAllocator, pointer: *mut u8, layout: Layout) {
        let alignment = layout.align();
        let grown = Layout::from_size_align(layout.size() * 2, alignment).expect("a valid layout");
        // SAFETY: the caller's block, allocated with `layout`.
        let pointer = unsafe { allocator.realloc(pointer, layout, grown.size()) };
        assert_kept(pointer, grown, layout.size());
        let shrunk =
            Layout::from_size_align(layout.size().div_ceil(2), alignment).expect("a valid layout");
        // SAFETY: the block was reallocated with `grown`.
        let pointer = unsafe { allocator.realloc(pointer, grown, shrunk.size()) };
        assert_kept(pointer, shrunk, shrunk.size());
        // SAFETY: the block was reallocated with `shrunk`.
        unsafe { allocator.dealloc(pointer, shrunk) };
    }

    /// Checks that a reallocated block is there, aligned for `layout`, and
    /// still holds [`FILL`] in its first `kept_bytes`.
    fn assert_kept(pointer: *mut u8, layout: Layout, kept_bytes: usize) {
        assert!(!pointer.is_null(), "{layout:?}: out of memory");
        assert_eq!(
            pointer as usize % layout.align(),
            0,
            "{layout:?}: misaligned after reallocation"
        );
        // SAFETY: the block holds at least `kept_bytes` bytes copied from a
        // block filled with `FILL`.
        let bytes = unsafe { std::slice::from_raw_parts(pointer, kept_bytes) };
        assert!(
            bytes.iter().all(|byte| *byte == FILL),
            "{layout:?}: lost bytes in reallocation"
        );
    }
}
