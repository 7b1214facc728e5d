//! Group commit of sign-ins on PostgreSQL: the sign-ins that are ready together (an account's
//! `last_login`, an upgraded hash, the new refresh token as outstanding) are written by one
//! statement, so a login flood pays one round trip, one statement and one commit per batch
//! instead of one per login.
//!
//! Why: in a login flood the hashing threads finish a hash every few milliseconds, and each
//! sign-in's write cost PostgreSQL more CPU than any other part of a login but the hash
//! (`bench/RESULTS.md`, tenth round). Several instances behind a load balancer share one
//! database, so this is also the write load that grows with them.
//!
//! A batch goes out as soon as nothing more can join it soon: when no hash is queued or running,
//! a sign-in is written at once, as before. While hashes are running, each of them may end in a
//! sign-in within one hash time, so the writer waits up to `LINGER` for them.

use std::{
    collections::HashMap,
    sync::{Arc, OnceLock},
    time::Duration,
};

use chrono::{DateTime, Utc};
use entity::user;
use sea_orm::{DbErr, FromQueryResult, QueryResult, RuntimeErr, sqlx};
use tokio::{
    sync::{mpsc, oneshot},
    time::Instant,
};

use crate::service::password::HashBacklog;

/// The longest a sign-in waits for others to share its write (a hash takes 12–20 ms on the
/// benchmark's machines, so under load about one more finishes meanwhile on each thread).
pub const LINGER: Duration = Duration::from_millis(10);
/// The most sign-ins one statement writes.
pub const MAX_BATCH: usize = 32;

/// One sign-in to record.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub user_id: i64,
    pub at: DateTime<Utc>,
    /// Replaces the stored password hash (a rehash with the current parameters).
    pub new_password_hash: Option<String>,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
    pub refresh_jti: String,
}

/// The account as stored after its sign-in, or `None` when it was deleted since it was read.
pub type Recorded = Result<Option<user::Model>, DbErr>;

type Pending = (SignIn, oneshot::Sender<Recorded>);

/// Hands sign-ins to one writer task per process, started on first use (on the runtime that
/// serves the requests).
pub struct SignInWriter {
    pool: sqlx::PgPool,
    hashes: HashBacklog,
    queue: OnceLock<mpsc::UnboundedSender<Pending>>,
}

impl SignInWriter {
    pub fn new(pool: sqlx::PgPool, hashes: HashBacklog) -> Self {
        Self { pool, hashes, queue: OnceLock::new() }
    }

    /// Records one sign-in and answers once its batch is committed.
    pub async fn record(&self, sign_in: SignIn) -> Recorded {
        let (reply, answer) = oneshot::channel();
        let writer_gone = || DbErr::Custom("the sign-in writer has stopped".into());
        self.queue().send((sign_in, reply)).map_err(|_| writer_gone())?;
        answer.await.map_err(|_| writer_gone())?
    }

    fn queue(&self) -> &mpsc::UnboundedSender<Pending> {
        self.queue.get_or_init(|| {
            let (queue, pending) = mpsc::unbounded_channel();
            tokio::spawn(write_batches(self.pool.clone(), pending, self.hashes.clone()));
            queue
        })
    }
}

/// The writer task: gathers a batch, writes it, answers everyone in it; until every
/// `SignInWriter` is dropped.
async fn write_batches(pool: sqlx::PgPool, mut pending: mpsc::UnboundedReceiver<Pending>, hashes: HashBacklog) {
    let mut held_over = None;
    loop {
        let first = match held_over.take() {
            Some(sign_in) => sign_in,
            None => match pending.recv().await {
                Some(sign_in) => sign_in,
                None => return,
            },
        };
        let (batch, next) = gather(first, &mut pending, &hashes).await;
        held_over = next;
        write(&pool, batch).await;
    }
}

/// A batch starting with `first`: whatever is already waiting, plus what arrives within
/// `LINGER` while hashes are still running. One account appears once in a batch (one statement
/// updates a row once), so a second sign-in of the same account is held over for the next one.
async fn gather(
    first: Pending,
    pending: &mut mpsc::UnboundedReceiver<Pending>,
    hashes: &HashBacklog,
) -> (Vec<Pending>, Option<Pending>) {
    let deadline = Instant::now() + LINGER;
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        let next = match pending.try_recv() {
            Ok(sign_in) => sign_in,
            Err(_) if hashes.is_empty() => break,
            Err(_) => match tokio::time::timeout_at(deadline, pending.recv()).await {
                Ok(Some(sign_in)) => sign_in,
                Ok(None) | Err(_) => break,
            },
        };
        if batch.iter().any(|(sign_in, _)| sign_in.user_id == next.0.user_id) {
            return (batch, Some(next));
        }
        batch.push(next);
    }
    (batch, None)
}

/// Writes one batch and answers each sign-in in it.
async fn write(pool: &sqlx::PgPool, batch: Vec<Pending>) {
    metrics::histogram!("sign_in_batch_size").record(batch.len() as f64);
    let mut columns = Columns::with_capacity(batch.len());
    let mut replies = Vec::with_capacity(batch.len());
    for (sign_in, reply) in batch {
        replies.push((sign_in.user_id, reply));
        columns.push(sign_in);
    }
    let rows = sqlx::query(RECORD_SIGN_INS)
        .bind(columns.user_ids)
        .bind(columns.ats)
        .bind(columns.new_password_hashes)
        .bind(columns.refresh_tokens)
        .bind(columns.refresh_expiries)
        .bind(columns.refresh_jtis)
        .fetch_all(pool)
        .await
        .map_err(|error| DbErr::Query(RuntimeErr::SqlxError(Arc::new(error))));
    let users: Result<Vec<user::Model>, DbErr> = rows.and_then(|rows| {
        rows.into_iter().map(|row| user::Model::from_query_result(&QueryResult::from(row), "")).collect()
    });
    let mut signed_in: HashMap<i64, user::Model> = match users {
        Ok(users) => users.into_iter().map(|user| (user.id, user)).collect(),
        Err(error) => {
            for (_, reply) in replies {
                let _ = reply.send(Err(error.clone()));
            }
            return;
        }
    };
    for (user_id, reply) in replies {
        let _ = reply.send(Ok(signed_in.remove(&user_id)));
    }
}

/// A batch as the statement's six array parameters.
struct Columns {
    user_ids: Vec<i64>,
    ats: Vec<DateTime<Utc>>,
    new_password_hashes: Vec<Option<String>>,
    refresh_tokens: Vec<String>,
    refresh_expiries: Vec<DateTime<Utc>>,
    refresh_jtis: Vec<String>,
}

impl Columns {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            user_ids: Vec::with_capacity(capacity),
            ats: Vec::with_capacity(capacity),
            new_password_hashes: Vec::with_capacity(capacity),
            refresh_tokens: Vec::with_capacity(capacity),
            refresh_expiries: Vec::with_capacity(capacity),
            refresh_jtis: Vec::with_capacity(capacity),
        }
    }

    fn push(&mut self, sign_in: SignIn) {
        self.user_ids.push(sign_in.user_id);
        self.ats.push(sign_in.at);
        self.new_password_hashes.push(sign_in.new_password_hash);
        self.refresh_tokens.push(sign_in.refresh_token);
        self.refresh_expiries.push(sign_in.refresh_expires_at);
        self.refresh_jtis.push(sign_in.refresh_jti);
    }
}

/// $1–$6: one array per `SignIn` field, one element per sign-in. The accounts are locked in id
/// order first, so two instances writing overlapping batches cannot deadlock. An account that
/// was deleted is not locked, not updated and gets no token row.
const RECORD_SIGN_INS: &str = r#"WITH sign_in AS (
    SELECT *
    FROM unnest($1::int8[], $2::timestamptz[], $3::text[], $4::text[], $5::timestamptz[], $6::text[])
        AS sign_in (user_id, at, new_password, token, expires_at, jti)
), locked AS (
    SELECT "id" FROM "users" WHERE "id" IN (SELECT user_id FROM sign_in) ORDER BY "id" FOR NO KEY UPDATE
), signed_in AS (
    UPDATE "users"
    SET "last_login" = sign_in.at,
        "password" = COALESCE(sign_in.new_password, "users"."password"),
        "updated_at" = CASE WHEN sign_in.new_password IS NULL THEN "users"."updated_at" ELSE sign_in.at END
    FROM sign_in JOIN locked ON locked.id = sign_in.user_id
    WHERE "users"."id" = locked.id
    RETURNING "users".*
), outstanding AS (
    INSERT INTO "token_blacklist_outstandingtoken" ("token", "created_at", "expires_at", "user_id", "jti")
    SELECT sign_in.token, sign_in.at, sign_in.expires_at, signed_in.id, sign_in.jti
    FROM sign_in JOIN signed_in ON signed_in.id = sign_in.user_id
)
SELECT * FROM signed_in"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn sign_in(user_id: i64) -> (Pending, oneshot::Receiver<Recorded>) {
        let (reply, answer) = oneshot::channel();
        let at = Utc::now();
        let sign_in = SignIn {
            user_id,
            at,
            new_password_hash: None,
            refresh_token: format!("token-{user_id}"),
            refresh_expires_at: at,
            refresh_jti: format!("jti-{user_id}"),
        };
        ((sign_in, reply), answer)
    }

    fn user_ids(batch: &[Pending]) -> Vec<i64> {
        batch.iter().map(|(sign_in, _)| sign_in.user_id).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn with_no_hash_running_a_batch_takes_what_is_waiting_and_goes() {
        let (queue, mut pending) = mpsc::unbounded_channel();
        let hashes = HashBacklog::default();
        queue.send(sign_in(2).0).unwrap();
        let later = queue.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            later.send(sign_in(3).0).unwrap();
        });

        let (batch, held_over) = gather(sign_in(1).0, &mut pending, &hashes).await;

        assert_eq!(user_ids(&batch), [1, 2]);
        assert!(held_over.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn while_hashes_run_a_batch_waits_up_to_the_linger_for_more() {
        let (queue, mut pending) = mpsc::unbounded_channel();
        let hashes = HashBacklog::default();
        let _running = hashes.enter();
        let later = queue.clone();
        tokio::spawn(async move {
            tokio::time::sleep(LINGER / 2).await;
            later.send(sign_in(2).0).unwrap();
            tokio::time::sleep(LINGER).await;
            later.send(sign_in(3).0).unwrap();
        });
        let started = Instant::now();

        let (batch, held_over) = gather(sign_in(1).0, &mut pending, &hashes).await;

        assert_eq!(user_ids(&batch), [1, 2]);
        assert!(held_over.is_none());
        assert_eq!(started.elapsed(), LINGER);
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_sign_in_of_one_account_waits_for_the_next_batch() {
        let (queue, mut pending) = mpsc::unbounded_channel();
        let hashes = HashBacklog::default();
        for user_id in [2, 1, 3] {
            queue.send(sign_in(user_id).0).unwrap();
        }

        let (batch, held_over) = gather(sign_in(1).0, &mut pending, &hashes).await;

        assert_eq!(user_ids(&batch), [1, 2]);
        assert_eq!(held_over.map(|(sign_in, _)| sign_in.user_id), Some(1));
        let (next, _) = gather(sign_in(4).0, &mut pending, &hashes).await;
        assert_eq!(user_ids(&next), [4, 3]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_holds_at_most_max_batch_sign_ins() {
        let (queue, mut pending) = mpsc::unbounded_channel();
        let hashes = HashBacklog::default();
        for user_id in 1..=(MAX_BATCH as i64 + 5) {
            queue.send(sign_in(user_id).0).unwrap();
        }

        let (batch, _) = gather(sign_in(0).0, &mut pending, &hashes).await;

        assert_eq!(batch.len(), MAX_BATCH);
    }
}
