//! Keeps `rhone serve`'s resident memory close to what it uses. Left alone, glibc's allocator holds on
//! to memory Rhone has freed:
//!
//! - A block of at least the mmap threshold (128 KiB) is mmapped and given back on free, but the first
//!   such free raises this *dynamic* threshold to the block's size (and the trim threshold to twice
//!   it). argon2's 19 MiB block (one per password hash or check) is the first: every later login
//!   carves it from a heap that is then never trimmed, +19 MiB for good after one login (per arena).
//!   Setting the thresholds turns the adjustment off, so large blocks always go back to the kernel.
//! - Each thread that allocates while others hold the arenas gets an arena of its own (up to 8 per
//!   core), each keeping its own freed memory; tokio's blocking pool and sqlx's SQLite threads make
//!   many. Two arenas serve a server with a couple of busy threads.

/// Blocks of this size or more are mmapped (and unmapped on free).
const MMAP_THRESHOLD: i32 = 128 * 1024;
/// Free memory at the top of a heap beyond this is returned to the kernel.
const TRIM_THRESHOLD: i32 = 256 * 1024;
/// Allocator arenas at most.
const ARENA_MAX: i32 = 2;

/// Sets the allocator's thresholds and arena limit. Call first thing in `main`, before any thread
/// starts; a no-op where the C library is not glibc.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: mallopt only sets allocator parameters; it is called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
        libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX);
    }
}
