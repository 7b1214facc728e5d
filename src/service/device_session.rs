//! Sign-in sessions: one per sign-in, covering the refresh chain that follows it. Recorded,
//! listed, ended, and checked on every token that names one in its `sid` claim.
//!
//! Refresh and verify read the session's row. A bearer access token is checked against a flag in
//! the shared store, remembered in process for `ENDED_CHECK_CACHE`: an ended session's access
//! tokens are refused at once on the instance that ended it, and within that time on the others.

use std::{net::IpAddr, time::Duration};

use chrono::{DateTime, Utc};
use entity::{blacklisted_token, device_session, outstanding_token};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait, sea_query::OnConflict,
};

use crate::{
    domain::LoginMethod,
    error::AppResult,
    service::{AppState, Client, token::Claims},
};

/// How long an instance trusts its last answer to "has this session ended?". The staleness of a
/// revocation on the other instances is at most this.
pub const ENDED_CHECK_CACHE: Duration = Duration::from_secs(5);

/// In-process memory of the store's answers, per session id.
pub type EndedCache = mini_moka::sync::Cache<String, bool>;

/// An empty cache with the documented lifetime.
pub fn ended_cache() -> EndedCache {
    mini_moka::sync::Cache::builder().max_capacity(100_000).time_to_live(ENDED_CHECK_CACHE).build()
}

/// A live session as its owner sees it.
#[derive(Debug, Clone)]
pub struct DeviceSession {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    /// The network the session signed in from: IPv4 /24, IPv6 /48.
    pub ip_network: Option<String>,
    pub user_agent: Option<String>,
    pub device_name: Option<String>,
    pub login_method: LoginMethod,
    /// The session of the token that asked.
    pub current: bool,
}

/// Which of a user's live sessions to end.
#[derive(Debug, Clone, Copy)]
pub enum Ending<'a> {
    /// This one, if it is the user's and live.
    One(&'a str),
    /// All of them but this one (the caller's, or none for every session).
    AllBut(Option<&'a str>),
}

/// A new session id: the `sid` claim of its tokens.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Records the session that `refresh` (a freshly issued refresh token) starts.
pub async fn start(db: &impl ConnectionTrait, client: &Client, refresh: &Claims) -> AppResult<()> {
    let (Some(id), Some(user_id)) = (refresh.sid.clone(), refresh.user_id()) else {
        return Err(anyhow::anyhow!("a new refresh token without a session or a user").into());
    };
    let now = Utc::now();
    let method = refresh.login_method.unwrap_or(LoginMethod::Password);
    device_session::Entity::insert(device_session::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        created_at: Set(now),
        last_used_at: Set(now),
        expires_at: Set(refresh.expires_at()),
        ended_at: Set(None),
        refresh_jti: Set(refresh.jti.clone()),
        ip_address: Set(client.ip.map(|ip| ip.to_string())),
        user_agent: Set(client.user_agent.clone()),
        device_name: Set(client.device_name.clone()),
        login_method: Set(method.as_str().to_string()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// A refresh moved the session's chain on to `next`.
pub async fn advance(db: &impl ConnectionTrait, next: &Claims) -> AppResult<()> {
    let Some(id) = &next.sid else { return Ok(()) };
    device_session::Entity::update_many()
        .filter(device_session::Column::Id.eq(id.as_str()))
        .col_expr(device_session::Column::LastUsedAt, Utc::now().into())
        .col_expr(device_session::Column::ExpiresAt, next.expires_at().into())
        .col_expr(device_session::Column::RefreshJti, next.jti.clone().into())
        .exec(db)
        .await?;
    Ok(())
}

/// Whether the session a token names is still open, by its row. A token without `sid` (minted by
/// Django) belongs to no session and passes.
pub async fn is_open(db: &impl ConnectionTrait, claims: &Claims) -> AppResult<bool> {
    let Some(id) = &claims.sid else { return Ok(true) };
    let ended: Option<Option<DateTime<Utc>>> = device_session::Entity::find_by_id(id.clone())
        .select_only()
        .column(device_session::Column::EndedAt)
        .into_tuple()
        .one(db)
        .await?;
    Ok(matches!(ended, Some(None)))
}

/// Whether the session of a bearer access token has ended, from the store (through the cache).
pub async fn has_ended(state: &AppState, claims: &Claims) -> AppResult<bool> {
    let Some(id) = &claims.sid else { return Ok(false) };
    if let Some(ended) = state.ended_sessions.get(id) {
        return Ok(ended);
    }
    let ended = state.store.flag_is_up(&ended_key(id)).await?;
    state.ended_sessions.insert(id.clone(), ended);
    Ok(ended)
}

/// The user's live sessions, newest first; `current_id` is the caller's.
pub async fn list(state: &AppState, user_id: i64, current_id: Option<&str>) -> AppResult<Vec<DeviceSession>> {
    let rows = live_of(user_id).order_by_desc(device_session::Column::CreatedAt).all(&state.db).await?;
    Ok(rows
        .into_iter()
        .map(|row| DeviceSession {
            current: current_id == Some(row.id.as_str()),
            ip_network: row.ip_address.as_deref().and_then(|ip| ip.parse().ok()).map(network_of),
            login_method: LoginMethod::from_wire(&row.login_method).unwrap_or(LoginMethod::Password),
            id: row.id,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            user_agent: row.user_agent,
            device_name: row.device_name,
        })
        .collect())
}

/// Ends sessions of the user at once: their rows, their refresh tokens (blacklisted, so a Django
/// process sharing the tables refuses them too) and their access tokens. Answers how many ended.
pub async fn end(state: &AppState, user_id: i64, which: Ending<'_>) -> AppResult<usize> {
    let txn = state.db.begin().await?;
    let ended = end_in(&txn, user_id, which).await?;
    txn.commit().await?;
    announce_ended(state, &ended).await?;
    Ok(ended.len())
}

/// `end` inside a caller's transaction; pass what it answers to `announce_ended` after the commit.
pub async fn end_in(db: &impl ConnectionTrait, user_id: i64, which: Ending<'_>) -> AppResult<Vec<String>> {
    let mut query = live_of(user_id);
    query = match which {
        Ending::One(id) => query.filter(device_session::Column::Id.eq(id)),
        Ending::AllBut(Some(id)) => query.filter(device_session::Column::Id.ne(id)),
        Ending::AllBut(None) => query,
    };
    let rows = query.all(db).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    device_session::Entity::update_many()
        .filter(device_session::Column::Id.is_in(ids.iter().map(String::as_str)))
        .col_expr(device_session::Column::EndedAt, Utc::now().into())
        .exec(db)
        .await?;
    let tokens: Vec<i64> = outstanding_token::Entity::find()
        .select_only()
        .column(outstanding_token::Column::Id)
        .filter(outstanding_token::Column::Jti.is_in(rows.iter().map(|row| row.refresh_jti.as_str())))
        .into_tuple()
        .all(db)
        .await?;
    blacklist(db, tokens).await?;
    Ok(ids)
}

/// Blacklists these outstanding refresh tokens (by row id) in simplejwt's table; one already
/// blacklisted stays as it was.
pub async fn blacklist(db: &impl ConnectionTrait, token_ids: Vec<i64>) -> AppResult<()> {
    if token_ids.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    blacklisted_token::Entity::insert_many(token_ids.into_iter().map(|token_id| blacklisted_token::ActiveModel {
        blacklisted_at: Set(now),
        token_id: Set(token_id),
        ..Default::default()
    }))
    .on_conflict(OnConflict::column(blacklisted_token::Column::TokenId).do_nothing().to_owned())
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Raises the ended flag of each session for every instance, for as long as an access token of it
/// can live, and forgets this instance's cached answers.
pub async fn announce_ended(state: &AppState, ids: &[String]) -> AppResult<()> {
    let keep_for = Duration::from_secs(state.config.jwt_access_ttl.saturating_add(60));
    for id in ids {
        state.store.raise_flag(&ended_key(id), keep_for).await?;
        state.ended_sessions.invalidate(id);
    }
    Ok(())
}

/// Marks every open session of the user but `keep` ended in the database, without flags: for
/// changes that also refuse every earlier access token another way (`users.tokens_valid_after`).
pub async fn close_all(db: &impl ConnectionTrait, user_id: i64, keep: Option<&str>) -> AppResult<()> {
    let mut query = device_session::Entity::update_many()
        .filter(device_session::Column::UserId.eq(user_id))
        .filter(device_session::Column::EndedAt.is_null());
    if let Some(keep) = keep {
        query = query.filter(device_session::Column::Id.ne(keep));
    }
    query.col_expr(device_session::Column::EndedAt, Utc::now().into()).exec(db).await?;
    Ok(())
}

/// Deletes every session row of the user: addresses and devices are personal data.
pub async fn forget_all(db: &impl ConnectionTrait, user_id: i64) -> AppResult<()> {
    device_session::Entity::delete_many().filter(device_session::Column::UserId.eq(user_id)).exec(db).await?;
    Ok(())
}

fn live_of(user_id: i64) -> sea_orm::Select<device_session::Entity> {
    device_session::Entity::find()
        .filter(device_session::Column::UserId.eq(user_id))
        .filter(device_session::Column::EndedAt.is_null())
        .filter(device_session::Column::ExpiresAt.gt(Utc::now()))
}

fn ended_key(id: &str) -> String {
    format!("session-ended:{id}")
}

/// The address as the session list shows it: its /24 (IPv4) or /48 (IPv6) network.
fn network_of(ip: IpAddr) -> String {
    let prefix = if ip.is_ipv4() { 24 } else { 48 };
    match ipnet::IpNet::new(ip, prefix) {
        Ok(network) => network.trunc().to_string(),
        Err(_) => ip.to_string(),
    }
}
