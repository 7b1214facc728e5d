//! SeaORM entities: the Django `users` table and the tables this service adds.

pub mod user;
