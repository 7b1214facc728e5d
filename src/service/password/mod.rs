//! Password hashing in Django's formats, off the async runtime and with bounded concurrency.
//!
//! New hashes are argon2id m=19456,t=2,p=1 written as Django does (`argon2$argon2id$…`), so a
//! Django process can still read them. Django's `pbkdf2_sha256$…` and older argon2 hashes verify
//! and are reported as needing a rehash. Every argon2 hash is computed by the argon2 crate, in
//! the hashing thread's own working memory when it fits.
//!
//! The queue in front of the hashing threads is bounded in cost units (one unit: one hash with
//! our parameters). A hash that does not fit is refused at once with a 503 and `Retry-After`,
//! instead of waiting behind a flood until the request deadline.

use std::sync::{
    Arc, Mutex, PoisonError,
    atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    mpsc,
};

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::{Output, ParamsString, SaltString},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use subtle::ConstantTimeEq;
use tokio::sync::{OnceCell, oneshot};

use crate::config::DEFAULT_HASH_NICE;
use crate::error::{AppError, AppResult};

const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;
const OUTPUT_LEN: usize = 32;
const DJANGO_ARGON2_PREFIX: &str = "argon2";
const DJANGO_PBKDF2_PREFIX: &str = "pbkdf2_sha256$";

/// PBKDF2-SHA256 iterations that take as long as one hash with our argon2 parameters: a
/// 1,000,000-iteration check took 120 ms on the host where ours took 12–20 ms (bench/RESULTS.md).
const PBKDF2_ITERATIONS_PER_UNIT: u64 = 125_000;

/// Roughly how long one unit keeps a hashing thread busy, to tell a refused client when the
/// queue will have drained (the upper end of the benchmark's single-hash times).
const UNIT_MILLIS: u64 = 20;

/// Queue units per hashing thread when the caller does not configure it (`PASSWORD_HASH_QUEUE`
/// defaults to the same four per core).
const DEFAULT_QUEUE_PER_THREAD: usize = 4;

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
type Work = Box<dyn FnOnce(&mut [Block]) + Send>;

/// Work and the queue capacity it holds until a thread takes it.
struct Job {
    admission: Arc<Admission>,
    work: Work,
}

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
    threads: usize,
    /// Hashes a thread started (for tests and metrics).
    started: Arc<AtomicU64>,
    /// A real hash of a random password, verified when the account does not exist so that
    /// "no such user" takes as long as "wrong password". Made on first use, not at start-up.
    dummy_hash: Arc<OnceCell<String>>,
}

impl PasswordHasher {
    /// `concurrency` threads at the default niceness, with four queue units per thread.
    pub fn new(concurrency: usize) -> Self {
        Self::with_queue(concurrency, DEFAULT_QUEUE_PER_THREAD * concurrency.max(1), DEFAULT_HASH_NICE)
    }

    /// `concurrency` threads at niceness `nice`; at most `queue_units` cost units wait for them.
    pub fn with_queue(concurrency: usize, queue_units: usize, nice: i32) -> Self {
        let threads = concurrency.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..threads {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name("password-hash".into())
                .spawn(move || hashing_thread(&queue, nice))
                .expect("cannot start a password hashing thread");
        }
        let waiting = HashQueue::with_capacity(queue_units);
        Self { jobs, waiting, threads, started: Arc::default(), dummy_hash: Arc::new(OnceCell::new()) }
    }

    /// Hashes waiting for a free thread (for metrics).
    pub fn queue_depth(&self) -> usize {
        self.waiting.len()
    }

    /// Hashes and verifications the threads have started since start-up; ones whose caller gave
    /// up while queued are not counted, since they are never computed.
    pub fn hashes_started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    /// Hashes a new password with the current parameters.
    pub async fn hash(&self, password: &str) -> AppResult<String> {
        let password = password.to_string();
        self.run(1, move |memory| hash_blocking(&password, memory)).await?
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
        let units = verification_units(&stored);
        let verification = self.run(units, move |memory| verify_blocking(&password, &stored, memory)).await?;
        Ok(Verification { matches: verification.matches && exists, ..verification })
    }

    /// Queues `work` if `units` of queue capacity are free, and waits for its answer.
    async fn run<T: Send + 'static>(
        &self,
        units: usize,
        work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> AppResult<T> {
        let Some(admission) = self.waiting.admit(units) else {
            metrics::counter!("password_hash_refused_total").increment(1);
            return Err(AppError::Busy { retry_after_secs: self.drain_secs() });
        };
        // If this future is dropped while the job waits (client gone, deadline), its capacity is
        // free at once; the thread that later takes the job finds nobody waiting and skips it.
        let _held = ReleaseOnDrop(Arc::clone(&admission));
        let (reply, answer) = oneshot::channel();
        let started = Arc::clone(&self.started);
        // The hashing thread logs inside the caller's span, so its lines carry the request id.
        let span = tracing::Span::current();
        let work = Box::new(move |memory: &mut [Block]| {
            let _in_caller_span = span.enter();
            if !reply.is_closed() {
                started.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(units, "password hash started");
                let _ = reply.send(work(memory));
            }
        });
        // A failed send hands the job back and drops it, which releases its admission.
        if self.jobs.send(Job { admission, work }).is_err() {
            return Err(anyhow::anyhow!("password hashing threads are gone").into());
        }
        answer.await.map_err(|_| AppError::Internal(anyhow::anyhow!("password hashing failed")))
    }

    /// Whole seconds until the queue as it is now has drained, at least one.
    fn drain_secs(&self) -> u64 {
        let units = self.waiting.units() as u64;
        (units * UNIT_MILLIS).div_ceil(self.threads as u64 * 1000).max(1)
    }
}

/// What checking a password against `stored` costs the hashing threads, in hashes with our
/// parameters: argon2 by work (memory × passes) or by memory, whichever is larger; PBKDF2 by
/// iterations. At least 1; anything unparsable fails fast and counts as 1.
fn verification_units(stored: &str) -> usize {
    let units = if let Some(phc) = stored.strip_prefix(DJANGO_ARGON2_PREFIX).filter(|rest| rest.starts_with('$')) {
        PasswordHash::new(phc).ok().and_then(|hash| Params::try_from(&hash).ok()).map_or(1, |params| {
            let (memory, passes) = (u64::from(params.m_cost()), u64::from(params.t_cost()));
            let ours = u64::from(MEMORY_KIB);
            // The argon2 crate computes lanes one after another, so parallelism adds no speed.
            let work = (memory * passes).div_ceil(ours * u64::from(ITERATIONS));
            work.max(memory.div_ceil(ours))
        })
    } else if let Some(rest) = stored.strip_prefix(DJANGO_PBKDF2_PREFIX) {
        let iterations = rest.split('$').next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
        iterations.div_ceil(PBKDF2_ITERATIONS_PER_UNIT)
    } else {
        1
    };
    usize::try_from(units).unwrap_or(usize::MAX).max(1)
}

/// Hashes waiting for a free hashing thread, counted as jobs and as cost units.
#[derive(Clone)]
struct HashQueue(Arc<Waiting>);

#[derive(Default)]
struct Waiting {
    hashes: AtomicUsize,
    units: AtomicUsize,
    /// Most units that may wait; 0 reads as 1, so that one hash can always be admitted.
    capacity: usize,
}

impl HashQueue {
    fn with_capacity(units: usize) -> Self {
        Self(Arc::new(Waiting { capacity: units, ..Waiting::default() }))
    }

    fn len(&self) -> usize {
        self.0.hashes.load(Ordering::Relaxed)
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cost units waiting.
    fn units(&self) -> usize {
        self.0.units.load(Ordering::Acquire)
    }

    /// Most cost units that may wait.
    fn capacity(&self) -> usize {
        self.0.capacity.max(1)
    }

    /// Reserves a job's units if they fit. The reservation and the check are one atomic step,
    /// so concurrent callers can never overfill the queue. One job never weighs more than the
    /// whole queue, so an expensive legacy hash still gets in when the queue is empty.
    fn admit(&self, units: usize) -> Option<Arc<Admission>> {
        let capacity = self.capacity();
        let units = units.clamp(1, capacity);
        self.0
            .units
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |waiting| {
                waiting.checked_add(units).filter(|total| *total <= capacity)
            })
            .ok()?;
        self.0.hashes.fetch_add(1, Ordering::Relaxed);
        Some(Arc::new(Admission { queue: self.clone(), units, released: AtomicBool::new(false) }))
    }

    /// A job left the queue: a thread took it, its caller gave up, or it was never handed over.
    fn leave(&self, units: usize) {
        self.0.hashes.fetch_sub(1, Ordering::Relaxed);
        self.0.units.fetch_sub(units, Ordering::AcqRel);
    }
}

/// The units one job holds in the queue, given back exactly once.
struct Admission {
    queue: HashQueue,
    units: usize,
    released: AtomicBool,
}

impl Admission {
    fn release(&self) {
        if !self.released.swap(true, Ordering::AcqRel) {
            self.queue.leave(self.units);
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.release();
    }
}

/// The caller's hold on its job's admission: released when the caller stops waiting.
struct ReleaseOnDrop(Arc<Admission>);

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// One hashing thread: takes jobs until every `PasswordHasher` clone is dropped.
fn hashing_thread(queue: &Mutex<mpsc::Receiver<Job>>, nice: i32) {
    lower_thread_priority(nice);
    let mut memory: Option<Memory> = None;
    loop {
        let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(Job { admission, work }) = job else { return };
        admission.release();
        drop(admission);
        let memory = memory.get_or_insert_with(new_memory);
        // A panicking job loses its answer (the caller sees an internal error), not the thread.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(memory)));
    }
}

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
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut output, memory)
        .map_err(|e| failed(&e))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&output).map_err(|e| failed(&e))?),
    };
    Ok(format!("{DJANGO_ARGON2_PREFIX}{hash}"))
}

/// argon2's own `verify_password`, with the pooled memory when the hash's cost fits in it.
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
    let argon2 = Argon2::new(algorithm, version, params);
    let hashed = if fits {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut computed, memory)
    } else {
        // An older hash with more memory than ours: rare, so it gets its own allocation.
        argon2.hash_password_into(password.as_bytes(), salt_bytes, &mut computed)
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
            hasher.run(1, |_| unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }).await.unwrap()
        };
        assert_eq!(nice_of_hashing_thread(PasswordHasher::with_queue(1, 4, 18)).await, 18);
        assert_eq!(nice_of_hashing_thread(PasswordHasher::new(1)).await, DEFAULT_HASH_NICE);
    }

    fn django_argon2(params: Params) -> String {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        format!("{DJANGO_ARGON2_PREFIX}{}", hasher.hash_password(b"correct horse", &salt).unwrap())
    }

    #[test]
    fn legacy_hashes_weigh_by_their_cost_relative_to_ours() {
        let ours = hash_blocking("correct horse", &mut new_memory()).unwrap();
        assert_eq!(verification_units(&ours), 1);
        // Django 5's PBKDF2 default and Django's argon2 default (100 MiB, 8 lanes).
        let pbkdf2 = "pbkdf2_sha256$1000000$seasalt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        assert_eq!(verification_units(pbkdf2), 8);
        // Computed, not hashed: a real m=102400 hash takes a second in a debug build.
        let django_default = "argon2$argon2id$v=19$m=102400,t=2,p=8$c2Vhc2FsdHNlYXNhbHQ$\
                              AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert_eq!(verification_units(django_default), 6);
        // Fewer passes than ours still cost the memory; cheaper PBKDF2 costs at least one unit.
        assert_eq!(verification_units(&django_argon2(Params::new(2 * MEMORY_KIB, 1, 1, None).unwrap())), 2);
        assert_eq!(verification_units("pbkdf2_sha256$1000$seasalt$AAAA"), 1);
        for unusable in ["", "!unusable", "argon2$garbage", "pbkdf2_sha256$x$y$z", "md5$abc$def"] {
            assert_eq!(verification_units(unusable), 1, "{unusable}");
        }
    }

    #[test]
    fn the_queue_admits_units_up_to_its_capacity_and_no_further() {
        let queue = HashQueue::with_capacity(3);
        let first = queue.admit(1).unwrap();
        let second = queue.admit(2).unwrap();
        assert!(queue.admit(1).is_none());
        assert_eq!((queue.len(), queue.units()), (2, 3));
        // Released once, however many times it is let go.
        first.release();
        first.release();
        drop(first);
        assert_eq!((queue.len(), queue.units()), (1, 2));
        assert!(queue.admit(2).is_none());
        let third = queue.admit(1).unwrap();
        drop((second, third));
        assert!(queue.is_empty());
        // A job heavier than the whole queue is clamped to it: alone it fits, beside others not.
        let heavy = queue.admit(50).unwrap();
        assert_eq!(queue.units(), 3);
        assert!(queue.admit(1).is_none());
        drop(heavy);
        assert_eq!(queue.units(), 0);
    }

    #[test]
    fn concurrent_admissions_never_overfill_the_queue() {
        let queue = HashQueue::with_capacity(5);
        let barrier = std::sync::Barrier::new(16);
        let admitted: Vec<Arc<Admission>> = std::thread::scope(|scope| {
            let tries: Vec<_> = (0..16)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        (0..100).filter_map(|_| queue.admit(1)).collect::<Vec<_>>()
                    })
                })
                .collect();
            tries.into_iter().flat_map(|thread| thread.join().unwrap()).collect()
        });
        assert_eq!(admitted.len(), 5);
        assert_eq!(queue.units(), 5);
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_a_caller_that_gives_up_frees_its_place() {
        let hasher = PasswordHasher::with_queue(1, 1, DEFAULT_HASH_NICE);
        // The only thread waits on this until the test lets it go.
        let (open, gate) = std::sync::mpsc::channel::<()>();
        let busy = tokio::spawn({
            let hasher = hasher.clone();
            async move { hasher.run(1, move |_| gate.recv().is_ok()).await }
        });
        while hasher.hashes_started() == 0 {
            tokio::task::yield_now().await;
        }
        let queued = tokio::spawn({
            let hasher = hasher.clone();
            async move { hasher.run(1, |_| "queued").await }
        });
        while hasher.queue_depth() == 0 {
            tokio::task::yield_now().await;
        }

        let refused = hasher.verify("correct horse", Some("pbkdf2_sha256$1000$seasalt$AAAA")).await;

        assert!(matches!(refused, Err(AppError::Busy { retry_after_secs: 1 })), "{refused:?}");
        // The queued caller gives up: its unit is free at once, before any thread gets to it.
        queued.abort();
        assert!(queued.await.unwrap_err().is_cancelled());
        assert_eq!((hasher.queue_depth(), hasher.waiting.units()), (0, 0));
        let admitted = tokio::spawn({
            let hasher = hasher.clone();
            async move { hasher.run(1, |_| "admitted").await }
        });
        open.send(()).unwrap();
        assert!(busy.await.unwrap().unwrap());
        assert_eq!(admitted.await.unwrap().unwrap(), "admitted");
        // The abandoned job was skipped: two hashes ran, not three.
        assert_eq!(hasher.hashes_started(), 2);
    }
}
