//! The `Mutation` root, merged from one object per aggregate of the service layer.
//!
//! Root mutation fields run one after another, and each calls its service function, so aliased
//! `verifyOtp` or `login` fields count against the same attempt limits as separate requests.

mod account;
mod otp;
mod session;

use async_graphql::MergedObject;

/// Everything that changes state.
#[derive(MergedObject, Default)]
pub struct Mutation(otp::OtpMutation, account::AccountMutation, session::SessionMutation);

/// Complexity of a field that hashes or verifies a password (argon2, tens of milliseconds of
/// CPU): with the limit of 500 one document holds at most nine, however it aliases them.
const PASSWORD_HASHING_COST: usize = 50;
