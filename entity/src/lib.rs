//! SeaORM entities: the Django `users` table and the tables this service adds.

pub mod blacklisted_token;
pub mod device_session;
pub mod outstanding_token;
pub mod refresh_rotation;
pub mod user;
