//! Pooled PostgreSQL connections handed from one short read to the next without going back to
//! the pool in between.
//!
//! sqlx's pool tests every connection it takes back with a round trip (a `Sync` and its
//! `ReadyForQuery`), so a one-statement read such as check-user's costs PostgreSQL two round trips.
//! A lease keeps a connection out of the pool between such reads. It is acquired from the pool as
//! usual, so it counts against the pool's size and passed the pool's checks, and it goes back to
//! the pool (and through its test) when a read on it fails or is cancelled, when it has sat unused
//! for `PING_IF_IDLE_FOR` (the pool would ping it before lending it again), or after `LEASE_FOR`.

use std::{
    ops::{Deref, DerefMut},
    sync::{Arc, Mutex, MutexGuard, PoisonError, Weak},
    time::{Duration, Instant},
};

use sea_orm::sqlx::{self, PgConnection, PgPool, Postgres, pool::PoolConnection};

use super::PING_IF_IDLE_FOR;

/// How long one connection may stay on lease before it goes back to the pool, whose lifetime and
/// health rules then apply to it again.
const LEASE_FOR: Duration = Duration::from_secs(60);

/// Up to `max` leased connections over a pool; cheap to clone.
#[derive(Clone)]
pub struct Leases(Arc<Shared>);

struct Shared {
    pool: PgPool,
    max: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Leases not in use, the most recently used last.
    idle: Vec<Lease>,
    /// Leases in use or idle.
    out: usize,
    reaper_started: bool,
}

struct Lease {
    connection: PoolConnection<Postgres>,
    leased_at: Instant,
    used_at: Instant,
}

impl Lease {
    fn is_fresh(&self, now: Instant) -> bool {
        now.duration_since(self.used_at) < PING_IF_IDLE_FOR
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Leases {
    /// Leases at most `max` of `pool`'s connections at a time; with `max` 0 every read goes
    /// through the pool.
    pub fn new(pool: PgPool, max: usize) -> Self {
        Self(Arc::new(Shared { pool, max, state: Mutex::new(State::default()) }))
    }

    /// A connection for one read: a leased one when there is one or room for one, else one
    /// straight from the pool. Call `keep` on it after a successful read; dropped without that,
    /// it goes back to the pool, which tests it.
    pub async fn connection(&self) -> Result<Leased, sqlx::Error> {
        let now = Instant::now();
        let (fresh, stale, may_lease) = {
            let mut state = self.0.lock();
            let stale = take_stale(&mut state, now);
            let fresh = state.idle.pop();
            let may_lease = fresh.is_none() && state.out < self.0.max;
            if may_lease {
                state.out += 1;
            }
            if !state.reaper_started && self.0.max > 0 {
                state.reaper_started = true;
                tokio::spawn(reap(Arc::downgrade(&self.0)));
            }
            (fresh, stale, may_lease)
        };
        drop(stale);
        if let Some(lease) = fresh {
            return Ok(Leased { leases: Arc::clone(&self.0), held: Held::Lease(Some(lease)) });
        }
        let reserved = may_lease.then(|| Reserved(&self.0));
        // If the pool fails, or the caller stops waiting for it, `reserved` gives its place up.
        let connection = self.0.pool.acquire().await?;
        let held = match reserved {
            Some(reserved) => {
                // The new lease counts from here; `Leased` gives the place up when it ends.
                std::mem::forget(reserved);
                Held::Lease(Some(Lease { connection, leased_at: now, used_at: now }))
            }
            None => Held::Pooled(connection),
        };
        Ok(Leased { leases: Arc::clone(&self.0), held })
    }

    /// Connections on lease now, in use or idle.
    pub fn leased(&self) -> usize {
        self.0.lock().out
    }

    /// The most connections on lease at once.
    pub fn limit(&self) -> usize {
        self.0.max
    }
}

/// A place on lease, counted while its connection is awaited from the pool.
struct Reserved<'a>(&'a Shared);

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        self.0.lock().out -= 1;
    }
}

/// Removes the idle leases unused for `PING_IF_IDLE_FOR` (the first ones: they were kept in the
/// order they were last used) and stops counting them; the caller drops them outside the lock,
/// and each drop hands its connection back to the pool.
fn take_stale(state: &mut State, now: Instant) -> Vec<Lease> {
    let stale = state.idle.iter().take_while(|lease| !lease.is_fresh(now)).count();
    state.out -= stale;
    state.idle.drain(..stale).collect()
}

/// Gives idle leases back to the pool when reads stop, so they do not sit out of its reach.
async fn reap(shared: Weak<Shared>) {
    loop {
        tokio::time::sleep(PING_IF_IDLE_FOR).await;
        let Some(shared) = shared.upgrade() else { return };
        let stale = take_stale(&mut shared.lock(), Instant::now());
        drop(stale);
    }
}

/// A connection for one read (see `Leases::connection`).
pub struct Leased {
    leases: Arc<Shared>,
    held: Held,
}

enum Held {
    /// `None` once handed back.
    Lease(Option<Lease>),
    Pooled(PoolConnection<Postgres>),
}

impl Leased {
    /// The read succeeded: the connection is ready for the next one.
    pub fn keep(mut self) {
        let Held::Lease(lease) = &mut self.held else { return };
        let Some(mut lease) = lease.take() else { return };
        let now = Instant::now();
        lease.used_at = now;
        if now.duration_since(lease.leased_at) < LEASE_FOR {
            self.leases.lock().idle.push(lease);
        } else {
            self.leases.lock().out -= 1;
        }
    }
}

impl Drop for Leased {
    fn drop(&mut self) {
        if let Held::Lease(lease) = &mut self.held
            && lease.take().is_some()
        {
            self.leases.lock().out -= 1;
        }
    }
}

impl Deref for Leased {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        match &self.held {
            Held::Lease(Some(lease)) => &lease.connection,
            Held::Lease(None) => unreachable!("a lease is only taken by `keep` and `drop`, which consume it"),
            Held::Pooled(connection) => connection,
        }
    }
}

impl DerefMut for Leased {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match &mut self.held {
            Held::Lease(Some(lease)) => &mut lease.connection,
            Held::Lease(None) => unreachable!("a lease is only taken by `keep` and `drop`, which consume it"),
            Held::Pooled(connection) => connection,
        }
    }
}
