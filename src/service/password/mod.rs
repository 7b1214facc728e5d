//! Password hashing in Django's formats, off the async runtime and with bounded concurrency.
//!
//! New hashes are argon2id m=19456,t=2,p=1 written as Django does (`argon2$argon2id$…`), so a
//! Django process can still read them. Django's `pbkdf2_sha256$…` and older argon2 hashes verify
//! and are reported as needing a rehash. Hashes with our parameters are computed by `argon2id`
//! (the same function, with prefetching); all others by the argon2 crate.

mod argon2id;

use std::sync::{
    Arc, Mutex, PoisonError,
    atomic::{AtomicUsize, Ordering},
    mpsc,
};

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::{Output, ParamsString, SaltString},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use subtle::ConstantTimeEq;
use tokio::sync::{OnceCell, oneshot};

use crate::error::{AppError, AppResult};

const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;
const OUTPUT_LEN: usize = 32;
const DJANGO_ARGON2_PREFIX: &str = "argon2";
const DJANGO_PBKDF2_PREFIX: &str = "pbkdf2_sha256$";

/// Result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    pub matches: bool,
    /// The hash is valid but not in the current format or parameters.
    pub needs_rehash: bool,
}

/// argon2's working memory for one hash with the current parameters (19 MiB).
type Memory = Box<[Block]>;

/// A hash or verification, run on a hashing thread with that thread's memory.
type Job = Box<dyn FnOnce(&mut [Block]) + Send>;

/// Runs hashes on `concurrency` dedicated threads, so a login flood queues here instead of
/// occupying the threads that serve cheap requests.
///
/// Each thread keeps one argon2 working memory between hashes: allocating 19 MiB per hash costs
/// page faults, and glibc kept such freed blocks in per-thread arenas (a login flood grew the
/// process to 500 MiB). The threads run at a lower priority (`PASSWORD_HASH_NICE`, 19 by
/// default) where the OS allows it, so under a flood they take the CPU that cheap requests leave
/// rather than an equal share.
#[derive(Clone)]
pub struct PasswordHasher {
    jobs: mpsc::Sender<Job>,
    waiting: HashQueue,
    /// A real hash of a random password, verified when the account does not exist so that
    /// "no such user" takes as long as "wrong password". Made on first use, not at start-up.
    dummy_hash: Arc<OnceCell<String>>,
}

impl PasswordHasher {
    pub fn new(concurrency: usize) -> Self {
        Self::with_nice(concurrency, DEFAULT_HASH_NICE)
    }

    /// `new` with the hashing threads at niceness `nice`.
    pub fn with_nice(concurrency: usize, nice: i32) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let waiting = HashQueue::default();
        for _ in 0..concurrency.max(1) {
            let (queue, waiting) = (Arc::clone(&queue), waiting.clone());
            std::thread::Builder::new()
                .name("password-hash".into())
                .spawn(move || hashing_thread(&queue, &waiting, nice))
                .expect("cannot start a password hashing thread");
        }
        Self { jobs, waiting, dummy_hash: Arc::new(OnceCell::new()) }
    }

    /// Hashes waiting for a free thread (for metrics).
    pub fn queue_depth(&self) -> usize {
        self.waiting.len()
    }

    /// The hashes waiting for a free thread, as a handle that can be read later.
    pub fn queue(&self) -> HashQueue {
        self.waiting.clone()
    }

    /// Hashes a new password with the current parameters.
    pub async fn hash(&self, password: &str) -> AppResult<String> {
        let password = password.to_string();
        self.run(move |memory| hash_blocking(&password, memory)).await?
    }

    /// Checks a password against a stored hash (`None`: the account does not exist).
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> AppResult<Verification> {
        let password = password.to_string();
        let (stored, exists) = match stored {
            Some(stored) => (stored.to_string(), true),
            None => {
                let make = || async { self.hash(&hex::encode(rand::random::<[u8; 16]>())).await };
                (self.dummy_hash.get_or_try_init(make).await?.clone(), false)
            }
        };
        let verification = self.run(move |memory| verify_blocking(&password, &stored, memory)).await?;
        Ok(Verification { matches: verification.matches && exists, ..verification })
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce(&mut [Block]) -> T + Send + 'static) -> AppResult<T> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            // The caller gave up while queued (client gone, deadline): nobody wants the answer.
            if !reply.is_closed() {
                let _ = reply.send(work(memory));
            }
        });
        self.waiting.join();
        if self.jobs.send(job).is_err() {
            self.waiting.leave();
            return Err(anyhow::anyhow!("password hashing threads are gone").into());
        }
        answer.await.map_err(|_| AppError::Internal(anyhow::anyhow!("password hashing failed")))
    }
}

/// Hashes waiting for a free hashing thread. While there are some, every thread is busy and more
/// sign-ins are on their way (see `service::sign_in_writer`).
#[derive(Clone, Default)]
pub struct HashQueue(Arc<AtomicUsize>);

impl HashQueue {
    pub fn len(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A hash was handed to the threads.
    fn join(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// A hash left the queue: a thread took it, or it was never handed over.
    fn leave(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }

    /// A queue that reads as `waiting` hashes long, for tests.
    #[cfg(test)]
    pub(crate) fn of_length(waiting: usize) -> Self {
        Self(Arc::new(AtomicUsize::new(waiting)))
    }
}

/// One hashing thread: takes jobs until every `PasswordHasher` clone is dropped.
fn hashing_thread(queue: &Mutex<mpsc::Receiver<Job>>, waiting: &HashQueue, nice: i32) {
    lower_thread_priority(nice);
    let mut memory: Option<Memory> = None;
    loop {
        let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = job else { return };
        waiting.leave();
        let memory = memory.get_or_insert_with(new_memory);
        // A panicking job loses its answer (the caller sees an internal error), not the thread.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(memory)));
    }
}

/// Niceness of the hashing threads unless configured. At 10 a saturated server still let
/// hashing push check-user's p99 past 10 ms; at 19 hashing gets the CPU that requests leave
/// (logins in a flood wait longer), and a login alone is as fast as before.
pub const DEFAULT_HASH_NICE: i32 = 19;

/// `nice` for the calling thread (on Linux `setpriority` with `who = 0` is per thread).
/// Best effort: without it hashing competes with requests as an equal.
fn lower_thread_priority(nice: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its integer arguments.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, nice);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

fn current_params() -> Params {
    Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, Some(OUTPUT_LEN)).expect("static argon2 params are valid")
}

fn new_memory() -> Memory {
    vec![Block::default(); current_params().block_count()].into_boxed_slice()
}

fn hash_blocking(password: &str, memory: &mut [Block]) -> AppResult<String> {
    let failed = |error: &dyn std::fmt::Display| AppError::from(anyhow::anyhow!("argon2 hashing failed: {error}"));
    let params = current_params();
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(|e| failed(&e))?;
    let mut output = [0u8; OUTPUT_LEN];
    argon2id::hash_into(&params, password.as_bytes(), salt_bytes, &mut output, memory).map_err(|e| failed(&e))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&output).map_err(|e| failed(&e))?),
    };
    Ok(format!("{DJANGO_ARGON2_PREFIX}{hash}"))
}

/// argon2's own `verify_password`, with the pooled memory when the hash's cost fits in it, and
/// our prefetching argon2id for the parameters it computes (ours among them).
fn verify_argon2(password: &str, hash: &PasswordHash<'_>, memory: &mut [Block]) -> bool {
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else { return false };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(hash.algorithm), Params::try_from(hash)) else {
        return false;
    };
    let Ok(version) = hash.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else { return false };
    let mut computed = vec![0u8; expected.len()];
    let fits = params.block_count() <= memory.len();
    let hashed = if fits && argon2id::supports(algorithm, version, &params) {
        argon2id::hash_into(&params, password.as_bytes(), salt_bytes, &mut computed, memory)
    } else {
        let argon2 = Argon2::new(algorithm, version, params);
        if fits {
            argon2.hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut computed, memory)
        } else {
            // An older hash with more memory than ours: rare, so it gets its own allocation.
            argon2.hash_password_into(password.as_bytes(), salt_bytes, &mut computed)
        }
    };
    hashed.is_ok() && bool::from(computed.ct_eq(expected.as_bytes()))
}

fn verify_blocking(password: &str, stored: &str, memory: &mut [Block]) -> Verification {
    const NO: Verification = Verification { matches: false, needs_rehash: false };
    if let Some(phc) = stored.strip_prefix(DJANGO_ARGON2_PREFIX).filter(|rest| rest.starts_with('$')) {
        let Ok(hash) = PasswordHash::new(phc) else { return NO };
        // Verification uses the algorithm and parameters recorded in the hash itself.
        let matches = verify_argon2(password, &hash, memory);
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
    use argon2::{PasswordHasher as _, PasswordVerifier as _};

    use super::*;

    #[test]
    fn new_hashes_use_djangos_argon2id_format_and_verify() {
        let memory = &mut new_memory();
        let hash = hash_blocking("Tashkent-2024!", memory).unwrap();
        assert!(hash.starts_with("argon2$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert_eq!(
            verify_blocking("Tashkent-2024!", &hash, memory),
            Verification { matches: true, needs_rehash: false }
        );
        assert!(!verify_blocking("tashkent-2024!", &hash, memory).matches);
    }

    #[test]
    fn pooled_memory_hashes_agree_with_the_argon2_crate() {
        // Ours verifies under the crate's verifier, and the crate's hashes verify under ours,
        // including one with other parameters (an older Django default) that needs a rehash.
        let memory = &mut new_memory();
        let ours = hash_blocking("correct horse", memory).unwrap();
        let phc = PasswordHash::new(ours.strip_prefix(DJANGO_ARGON2_PREFIX).unwrap()).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse", &phc).is_ok());
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let older = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::new(512, 2, 2, None).unwrap());
        let theirs = format!("{DJANGO_ARGON2_PREFIX}{}", older.hash_password(b"correct horse", &salt).unwrap());
        assert_eq!(
            verify_blocking("correct horse", &theirs, memory),
            Verification { matches: true, needs_rehash: true }
        );
        assert!(!verify_blocking("wrong horse", &theirs, memory).matches);
    }

    #[test]
    fn django_pbkdf2_hashes_verify_and_ask_for_a_rehash() {
        // Django's layout with a low iteration count; the API tests use a hash made by Django itself.
        let mut digest = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"correct horse", b"seasalt", 1000, &mut digest);
        let stored = format!("pbkdf2_sha256$1000$seasalt${}", STANDARD.encode(digest));
        let memory = &mut new_memory();
        assert_eq!(
            verify_blocking("correct horse", &stored, memory),
            Verification { matches: true, needs_rehash: true }
        );
        assert!(!verify_blocking("wrong horse", &stored, memory).matches);
    }

    #[test]
    fn unusable_and_malformed_hashes_never_verify() {
        let memory = &mut new_memory();
        for stored in ["", "!unusable", "argon2$garbage", "pbkdf2_sha256$x$y$z", "md5$abc$def"] {
            assert!(!verify_blocking("anything", stored, memory).matches, "{stored}");
        }
    }

    #[tokio::test]
    async fn the_hashing_threads_verify_known_and_refuse_unknown_accounts() {
        let hasher = PasswordHasher::new(2);
        let stored = hasher.hash("Tashkent-2024!").await.unwrap();
        let checks = (0..4).map(|_| hasher.verify("Tashkent-2024!", Some(&stored)));
        assert!(futures::future::join_all(checks).await.into_iter().all(|v| v.unwrap().matches));
        assert!(!hasher.verify("Tashkent-2024!", None).await.unwrap().matches);
        assert_eq!(hasher.queue_depth(), 0);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_hashing_threads_run_at_the_configured_niceness() {
        // SAFETY: getpriority only reads its integer arguments; `who = 0` is the calling thread.
        let nice_of_hashing_thread = |hasher: PasswordHasher| async move {
            hasher.run(|_| unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }).await.unwrap()
        };
        assert_eq!(nice_of_hashing_thread(PasswordHasher::with_nice(1, 18)).await, 18);
        assert_eq!(nice_of_hashing_thread(PasswordHasher::new(1)).await, DEFAULT_HASH_NICE);
    }
}
