//! argon2 off the async threads: every hash and verification runs on the blocking pool behind a
//! small semaphore, so a flood of logins uses at most a few cores and never stalls the API or the
//! proxy. The queue in front of it is bounded too: past it, callers are told to retry.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::Semaphore;

use crate::error::{Error, Result};

pub const MIN_PASSWORD: usize = 8;

/// Callers waiting per permit before new ones are refused with "try again".
const QUEUE_PER_PERMIT: usize = 32;

#[derive(Clone)]
pub struct PasswordPool {
    permits: Arc<Semaphore>,
    size: usize,
    waiting: Arc<AtomicUsize>,
}

impl Default for PasswordPool {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        PasswordPool::new(cores.div_ceil(2).clamp(1, 4))
    }
}

struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl PasswordPool {
    pub fn new(size: usize) -> PasswordPool {
        PasswordPool { permits: Arc::new(Semaphore::new(size)), size, waiting: Arc::default() }
    }

    /// Runs `f` on the blocking pool once a permit is free.
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let queued = self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.waiting);
        if queued >= self.size * QUEUE_PER_PERMIT {
            return Err(Error::RateLimited { retry_after_secs: 1 });
        }
        let permit = self.permits.clone().acquire_owned().await.map_err(|e| Error::internal("password pool", e))?;
        tokio::task::spawn_blocking(move || {
            let out = f();
            drop(permit);
            out
        })
        .await
        .map_err(|e| Error::internal("password check", e))
    }

    /// An argon2 hash of a new password (at least [`MIN_PASSWORD`] characters).
    pub async fn hash(&self, password: &str) -> Result<String> {
        check_new(password)?;
        let password = password.to_string();
        self.run(move || hash_now(&password)).await?
    }

    /// Whether `password` matches `hash`; `None` spends the same time against a dummy hash, so the
    /// answer time does not reveal whether an account exists.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool> {
        let (password, hash) = (password.to_string(), hash.map(str::to_string));
        self.run(move || match hash {
            Some(h) => verify_now(&password, &h),
            None => {
                let _ = verify_now(&password, dummy_hash());
                false
            }
        })
        .await
    }
}

pub fn check_new(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(Error::invalid("password", format!("must be at least {MIN_PASSWORD} characters")));
    }
    Ok(())
}

fn hash_now(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal("hash password", e))
}

fn verify_now(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_now("not-a-real-password-xx").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_hash_verifies_only_the_same_password() {
        let pool = PasswordPool::new(1);
        let h = pool.hash("correct horse").await.unwrap();
        assert!(pool.verify("correct horse", Some(&h)).await.unwrap());
        assert!(!pool.verify("wrong horse!", Some(&h)).await.unwrap());
        assert!(!pool.verify("correct horse", None).await.unwrap());
        assert!(matches!(pool.hash("short").await, Err(Error::Invalid { field: "password", .. })));
    }

    /// On a single-threaded runtime, other tasks keep running while a password is checked.
    #[tokio::test(flavor = "current_thread")]
    async fn the_async_thread_stays_free_while_argon2_runs() {
        let pool = PasswordPool::new(1);
        let h = hash_now("correct horse").unwrap();
        let check = tokio::spawn(async move { pool.verify("correct horse", Some(&h)).await });
        let mut ticks = 0u64;
        while !check.is_finished() {
            tokio::task::yield_now().await;
            ticks += 1;
        }
        assert!(check.await.unwrap().unwrap());
        assert!(ticks > 100, "only {ticks} turns of another task while argon2 ran: it blocked the async thread");
    }

    #[tokio::test]
    async fn at_most_the_pool_size_run_at_once_and_the_queue_is_bounded() {
        let pool = PasswordPool::new(2);
        let (now, max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs: Vec<_> = (0..6)
            .map(|_| {
                let (pool, now, max) = (pool.clone(), now.clone(), max.clone());
                tokio::spawn(async move {
                    pool.run(move || {
                        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                        max.fetch_max(n, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(30));
                        now.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for j in jobs {
            j.await.unwrap().unwrap();
        }
        assert!((1..=2).contains(&max.load(Ordering::SeqCst)), "max concurrency {}", max.load(Ordering::SeqCst));

        let full = PasswordPool::new(1);
        full.waiting.store(QUEUE_PER_PERMIT, Ordering::SeqCst);
        assert!(matches!(full.run(|| ()).await, Err(Error::RateLimited { .. })), "a full queue refuses new work");
    }
}
