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
//! A batch goes out as soon as nothing more can join it soon: when no hash waits for a hashing
//! thread, a sign-in is written at once, as before. While hashes wait, every hashing thread is
//! busy and the logins are queued for far longer than `LINGER` anyway, so the writer waits up to
//! `LINGER` for the sign-ins the running hashes are about to produce.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use chrono::{DateTime, Utc};
use entity::user;
use sea_orm::{DbErr, FromQueryResult, QueryResult, sqlx};
use tokio::{
    sync::{mpsc, oneshot},
    time::Instant,
};

use crate::{db, service::password::HashQueue};

/// The longest a sign-in waits for others to share its write, while hashes are queued: about one
/// hash time (12–20 ms on the benchmark's machines), so each hashing thread adds about one.
pub const LINGER: Duration = Duration::from_millis(15);
/// The most sign-ins one statement writes.
pub const MAX_BATCH: usize = 32;

/// One sign-in to record.
#[derive(Debug)]
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
/// serves the requests) and again if it ever stopped.
pub struct SignInWriter {
    pool: sqlx::PgPool,
    hashes_waiting: HashQueue,
    queue: Mutex<Option<mpsc::UnboundedSender<Pending>>>,
}

impl SignInWriter {
    pub fn new(pool: sqlx::PgPool, hashes_waiting: HashQueue) -> Self {
        Self { pool, hashes_waiting, queue: Mutex::new(None) }
    }

    /// Records one sign-in and answers once its batch is committed.
    pub async fn record(&self, sign_in: SignIn) -> Recorded {
        let (reply, answer) = oneshot::channel();
        let writer_gone = || DbErr::Custom("the sign-in writer has stopped".into());
        self.queue().send((sign_in, reply)).map_err(|_| writer_gone())?;
        answer.await.map_err(|_| writer_gone())?
    }

    fn queue(&self) -> mpsc::UnboundedSender<Pending> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        match &*queue {
            Some(running) if !running.is_closed() => running.clone(),
            _ => {
                let (started, pending) = mpsc::unbounded_channel();
                tokio::spawn(write_batches(self.pool.clone(), pending, self.hashes_waiting.clone()));
                queue.insert(started).clone()
            }
        }
    }
}

/// The writer task: gathers a batch, writes it, answers everyone in it; until every
/// `SignInWriter` is dropped.
async fn write_batches(pool: sqlx::PgPool, mut pending: mpsc::UnboundedReceiver<Pending>, hashes_waiting: HashQueue) {
    let mut held_over = None;
    loop {
        let first = match held_over.take() {
            Some(sign_in) => sign_in,
            None => match pending.recv().await {
                Some(sign_in) => sign_in,
                None => return,
            },
        };
        let (batch, next) = gather(first, &mut pending, &hashes_waiting).await;
        held_over = next;
        write(&pool, batch).await;
    }
}

/// A batch starting with `first`: whatever is already waiting, plus what arrives within
/// `LINGER` while hashes are queued. One account appears once in a batch (one statement
/// updates a row once), so a second sign-in of the same account is held over for the next one.
async fn gather(
    first: Pending,
    pending: &mut mpsc::UnboundedReceiver<Pending>,
    hashes_waiting: &HashQueue,
) -> (Vec<Pending>, Option<Pending>) {
    let deadline = Instant::now() + LINGER;
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        let next = match pending.try_recv() {
            Ok(sign_in) => sign_in,
            Err(_) if hashes_waiting.is_empty() => break,
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
async fn write(pool: &sqlx::PgPool, mut batch: Vec<Pending>) {
    metrics::histogram!("sign_in_batch_size").record(batch.len() as f64);
    // Rows are locked in the order of the arrays: in id order, two instances writing batches
    // with the same accounts wait for each other instead of deadlocking.
    batch.sort_unstable_by_key(|(sign_in, _)| sign_in.user_id);
    let mut recorded = run(pool, &batch).await;
    if recorded.as_ref().is_err_and(is_deadlock) {
        recorded = run(pool, &batch).await;
    }
    let users: Result<Vec<user::Model>, DbErr> = recorded.map_err(db::query_failed).and_then(|rows| {
        rows.into_iter().map(|row| user::Model::from_query_result(&QueryResult::from(row), "")).collect()
    });
    let mut signed_in: HashMap<i64, user::Model> = match users {
        Ok(users) => users.into_iter().map(|user| (user.id, user)).collect(),
        Err(error) => {
            for (_, reply) in batch {
                let _ = reply.send(Err(error.clone()));
            }
            return;
        }
    };
    for (sign_in, reply) in batch {
        let _ = reply.send(Ok(signed_in.remove(&sign_in.user_id)));
    }
}

/// One sign-in by the one-row statement, more by the array one (which costs PostgreSQL more
/// for one row and less per row from two on).
async fn run(pool: &sqlx::PgPool, batch: &[Pending]) -> Result<Vec<sqlx::postgres::PgRow>, sqlx::Error> {
    if let [(sign_in, _)] = batch {
        return sqlx::query(RECORD_SIGN_IN)
            .bind(sign_in.user_id)
            .bind(sign_in.at)
            .bind(sign_in.new_password_hash.as_deref())
            .bind(&sign_in.refresh_token)
            .bind(sign_in.refresh_expires_at)
            .bind(&sign_in.refresh_jti)
            .fetch_all(pool)
            .await;
    }
    let sign_ins = || batch.iter().map(|(sign_in, _)| sign_in);
    sqlx::query(RECORD_SIGN_INS)
        .bind(sign_ins().map(|sign_in| sign_in.user_id).collect::<Vec<_>>())
        .bind(sign_ins().map(|sign_in| sign_in.at).collect::<Vec<_>>())
        .bind(sign_ins().map(|sign_in| sign_in.new_password_hash.as_deref()).collect::<Vec<_>>())
        .bind(sign_ins().map(|sign_in| sign_in.refresh_token.as_str()).collect::<Vec<_>>())
        .bind(sign_ins().map(|sign_in| sign_in.refresh_expires_at).collect::<Vec<_>>())
        .bind(sign_ins().map(|sign_in| sign_in.refresh_jti.as_str()).collect::<Vec<_>>())
        .fetch_all(pool)
        .await
}

fn is_deadlock(error: &sqlx::Error) -> bool {
    error.as_database_error().and_then(|error| error.code()).is_some_and(|code| code == "40P01")
}

/// One sign-in: $1 the account, $2 the time, $3 the new hash or NULL, $4–$6 the refresh token,
/// its expiry and jti. The insert reads the updated row, so a deleted account gets neither.
const RECORD_SIGN_IN: &str = r#"WITH signed_in AS (
    UPDATE "users"
    SET "last_login" = $2,
        "password" = COALESCE($3, "password"),
        "updated_at" = CASE WHEN $3::text IS NULL THEN "updated_at" ELSE $2 END
    WHERE "id" = $1
    RETURNING *
), outstanding AS (
    INSERT INTO "token_blacklist_outstandingtoken" ("token", "created_at", "expires_at", "user_id", "jti")
    SELECT $4, $2, $5, "id", $6 FROM signed_in
)
SELECT * FROM signed_in"#;

/// Several sign-ins: the same six parameters as arrays, one element per sign-in, sorted by account.
const RECORD_SIGN_INS: &str = r#"WITH signed_in AS (
    UPDATE "users"
    SET "last_login" = sign_in.at,
        "password" = COALESCE(sign_in.new_password, "users"."password"),
        "updated_at" = CASE WHEN sign_in.new_password IS NULL THEN "users"."updated_at" ELSE sign_in.at END
    FROM unnest($1::int8[], $2::timestamptz[], $3::text[]) AS sign_in (user_id, at, new_password)
    WHERE "users"."id" = sign_in.user_id
    RETURNING "users".*
), outstanding AS (
    INSERT INTO "token_blacklist_outstandingtoken" ("token", "created_at", "expires_at", "user_id", "jti")
    SELECT token.token, token.at, token.expires_at, token.user_id, token.jti
    FROM unnest($1::int8[], $2::timestamptz[], $4::text[], $5::timestamptz[], $6::text[])
        AS token (user_id, at, token, expires_at, jti)
    WHERE token.user_id IN (SELECT "id" FROM signed_in)
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
    async fn with_no_hash_queued_a_batch_takes_what_is_waiting_and_goes() {
        let (queue, mut pending) = mpsc::unbounded_channel();
        let hashes = HashQueue::default();
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
    async fn while_hashes_are_queued_a_batch_waits_up_to_the_linger_for_more() {
        let (queue, mut pending) = mpsc::unbounded_channel();
        let hashes = HashQueue::of_length(1);
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
        let hashes = HashQueue::default();
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
        let hashes = HashQueue::default();
        for user_id in 1..=(MAX_BATCH as i64 + 5) {
            queue.send(sign_in(user_id).0).unwrap();
        }

        let (batch, _) = gather(sign_in(0).0, &mut pending, &hashes).await;

        assert_eq!(batch.len(), MAX_BATCH);
    }
}
