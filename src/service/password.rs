//! Password hashing in Django's formats, off the async runtime and with bounded concurrency.
//!
//! New hashes are argon2id m=19456,t=2,p=1 written as Django does (`argon2$argon2id$…`), so a
//! Django process can still read them. Django's `pbkdf2_sha256$…` and older argon2 hashes verify
//! and are reported as needing a rehash.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordVerifier, Version, password_hash::SaltString};
use base64::{Engine, engine::general_purpose::STANDARD};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::error::{AppError, AppResult};

const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;
const DJANGO_ARGON2_PREFIX: &str = "argon2";
const DJANGO_PBKDF2_PREFIX: &str = "pbkdf2_sha256$";

/// Result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    pub matches: bool,
    /// The hash is valid but not in the current format or parameters.
    pub needs_rehash: bool,
}

/// Runs hashes on the blocking pool, at most `concurrency` at a time, so a login flood queues
/// here instead of occupying the threads that serve cheap requests.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    /// A real hash of a random password, verified when the account does not exist so that
    /// "no such user" takes as long as "wrong password".
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    pub fn new(concurrency: usize) -> Self {
        let dummy_hash = hash_blocking(&hex::encode(rand::random::<[u8; 16]>()))
            .unwrap_or_else(|_| format!("{DJANGO_ARGON2_PREFIX}$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA"));
        Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            waiting: Arc::new(AtomicUsize::new(0)),
            dummy_hash: dummy_hash.into(),
        }
    }

    /// Hashes waiting for a free slot (for metrics).
    pub fn queue_depth(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Hashes a new password with the current parameters.
    pub async fn hash(&self, password: &str) -> AppResult<String> {
        let password = password.to_string();
        self.run(move || hash_blocking(&password)).await?
    }

    /// Checks a password against a stored hash (`None`: the account does not exist).
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> AppResult<Verification> {
        let password = password.to_string();
        let (stored, exists) = match stored {
            Some(stored) => (stored.to_string(), true),
            None => (self.dummy_hash.to_string(), false),
        };
        let verification = self.run(move || verify_blocking(&password, &stored)).await?;
        Ok(Verification { matches: verification.matches && exists, ..verification })
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let permit = self.permits.acquire().await;
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        let _permit = permit.map_err(|_| anyhow::anyhow!("password hasher is shut down"))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|error| AppError::Internal(anyhow::anyhow!("password hashing task failed: {error}")))
    }
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, Some(32)).expect("static argon2 params are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> AppResult<String> {
    use argon2::PasswordHasher as _;
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let hash = argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|error| anyhow::anyhow!("argon2 hashing failed: {error}"))?;
    Ok(format!("{DJANGO_ARGON2_PREFIX}{hash}"))
}

fn verify_blocking(password: &str, stored: &str) -> Verification {
    const NO: Verification = Verification { matches: false, needs_rehash: false };
    if let Some(phc) = stored.strip_prefix(DJANGO_ARGON2_PREFIX).filter(|rest| rest.starts_with('$')) {
        let Ok(hash) = PasswordHash::new(phc) else { return NO };
        // Verification uses the algorithm and parameters recorded in the hash itself.
        let matches = Argon2::default().verify_password(password.as_bytes(), &hash).is_ok();
        let current = hash.algorithm == Algorithm::Argon2id.ident()
            && Params::try_from(&hash).is_ok_and(|params| {
                params.m_cost() == MEMORY_KIB && params.t_cost() == ITERATIONS && params.p_cost() == PARALLELISM
            });
        return Verification { matches, needs_rehash: matches && !current };
    }
    if let Some(rest) = stored.strip_prefix(DJANGO_PBKDF2_PREFIX) {
        let matches = verify_django_pbkdf2(password, rest);
        return Verification { matches, needs_rehash: matches };
    }
    // Unusable (`!…`), empty or unknown formats never verify.
    NO
}

/// `<iterations>$<salt>$<base64 sha256 digest>`, as Django's PBKDF2PasswordHasher writes it.
fn verify_django_pbkdf2(password: &str, encoded: &str) -> bool {
    let mut parts = encoded.splitn(3, '$');
    let (Some(iterations), Some(salt), Some(expected)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(iterations) = iterations.parse::<u32>() else { return false };
    let Ok(expected) = STANDARD.decode(expected) else { return false };
    if iterations == 0 || expected.len() != 32 {
        return false;
    }
    let mut derived = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt.as_bytes(), iterations, &mut derived);
    derived.ct_eq(&expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_hashes_use_djangos_argon2id_format_and_verify() {
        let hash = hash_blocking("Tashkent-2024!").unwrap();
        assert!(hash.starts_with("argon2$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert_eq!(verify_blocking("Tashkent-2024!", &hash), Verification { matches: true, needs_rehash: false });
        assert!(!verify_blocking("tashkent-2024!", &hash).matches);
    }

    #[test]
    fn django_pbkdf2_hashes_verify_and_ask_for_a_rehash() {
        // Django's layout with a low iteration count; the API tests use a hash made by Django itself.
        let mut digest = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"correct horse", b"seasalt", 1000, &mut digest);
        let stored = format!("pbkdf2_sha256$1000$seasalt${}", STANDARD.encode(digest));
        assert_eq!(verify_blocking("correct horse", &stored), Verification { matches: true, needs_rehash: true });
        assert!(!verify_blocking("wrong horse", &stored).matches);
    }

    #[test]
    fn unusable_and_malformed_hashes_never_verify() {
        for stored in ["", "!unusable", "argon2$garbage", "pbkdf2_sha256$x$y$z", "md5$abc$def"] {
            assert!(!verify_blocking("anything", stored).matches, "{stored}");
        }
    }
}
