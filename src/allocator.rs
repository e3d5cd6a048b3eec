//! The process-wide allocator, chosen per command.
//!
//! `hearth serve` spent a third of its CPU in glibc malloc under load (many small, short-lived
//! allocations handed between tokio and the SQLite worker threads); mimalloc's thread-local free
//! lists remove most of that. `hearth vmm` must stay small (its overhead target is < 5 MiB) and
//! mimalloc's per-thread heaps double its RSS, so every other command keeps glibc malloc.
//!
//! The choice is made at the first allocation, before `main`, from the process's own command
//! line, and never changes: so every block is freed by the allocator that produced it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU8, Ordering};

use mimalloc::MiMalloc;

pub struct Allocator;

const UNDECIDED: u8 = 0;
const GLIBC: u8 = 1;
const MIMALLOC: u8 = 2;

static CHOICE: AtomicU8 = AtomicU8::new(UNDECIDED);

/// mimalloc for `hearth serve`, glibc otherwise.
pub fn choose(args: &[u8]) -> u8 {
    let mut words = args.split(|b| *b == 0);
    let _program = words.next();
    match words.next() {
        Some(b"serve") => MIMALLOC,
        _ => GLIBC,
    }
}

#[inline]
fn uses_mimalloc() -> bool {
    let mut choice = CHOICE.load(Ordering::Relaxed);
    if choice == UNDECIDED {
        choice = choose(&read_own_command_line());
        CHOICE.store(choice, Ordering::Relaxed);
    }
    choice == MIMALLOC
}

/// The first bytes of /proc/self/cmdline, read with raw calls: no allocation may happen here.
fn read_own_command_line() -> [u8; 64] {
    let mut buf = [0u8; 64];
    // SAFETY: open/read/close on a NUL-terminated path and a stack buffer of the given length.
    unsafe {
        let fd = libc::open(
            c"/proc/self/cmdline".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        );
        if fd >= 0 {
            let _ = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
            libc::close(fd);
        }
    }
    buf
}

// SAFETY: the choice is fixed before the first block is handed out, so each block is always
// freed and resized by the allocator that produced it.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if uses_mimalloc() {
            MiMalloc.alloc(layout)
        } else {
            System.alloc(layout)
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if uses_mimalloc() {
            MiMalloc.alloc_zeroed(layout)
        } else {
            System.alloc_zeroed(layout)
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if uses_mimalloc() {
            MiMalloc.dealloc(ptr, layout)
        } else {
            System.dealloc(ptr, layout)
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if uses_mimalloc() {
            MiMalloc.realloc(ptr, layout, new_size)
        } else {
            System.realloc(ptr, layout, new_size)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_gets_mimalloc_and_everything_else_glibc() {
        assert_eq!(choose(b"/usr/bin/hearth\0serve\0--listen\0x\0"), MIMALLOC);
        assert_eq!(choose(b"hearth\0vmm\0--config\0f\0"), GLIBC);
        assert_eq!(choose(b"hearth\0servex\0"), GLIBC);
        assert_eq!(choose(b"hearth\0"), GLIBC);
        assert_eq!(choose(b""), GLIBC);
    }

    #[test]
    fn this_test_process_reads_its_own_command_line() {
        let line = read_own_command_line();
        assert!(
            line.iter().any(|b| *b != 0),
            "the command line of a running process is never empty"
        );
    }
}
