//! The deployment's hourly SMS budgets, against SMS pumping: registration codes and codes to
//! existing accounts spend apart, and registration codes into one number block are capped too.
//!
//! Registration is the only send anyone can trigger for any number, so a flood of it must not
//! use up what existing users need to log in or reset their password.

use std::time::Duration;

use crate::{
    domain::{MobileNumber, OtpType},
    error::AppResult,
    service::{AppState, rate_limit::Limit},
};

const HOUR: Duration = Duration::from_secs(3600);
const EXHAUSTED: &str = "sms_budget_exhausted";
const PAUSED: &str = "SMS sending is paused for a while. Try again later.";
/// The deployment-wide budgets have one counter each.
const WHOLE_DEPLOYMENT: &str = "all";

/// The budget units one send took, so a send that fails later can give them back.
#[derive(Debug, Default)]
pub struct SmsSpend {
    store_keys: Vec<String>,
}

/// Takes one SMS from every budget a code of `otp_type` to `number` draws on; refuses (taking
/// nothing) when any of them is spent for this hour.
pub async fn take(state: &AppState, otp_type: OtpType, number: &MobileNumber<'_>) -> AppResult<SmsSpend> {
    let limits = &state.config.limits;
    let budgets = match otp_type {
        // The block first: a pump into one range is refused before it touches the shared budget.
        OtpType::Auth => vec![
            (
                Limit {
                    name: "sms_prefix",
                    code: EXHAUSTED,
                    message: "SMS sending to this number range is paused for a while. Try again later.",
                    max: limits.sms_per_prefix_per_hour,
                    window: HOUR,
                },
                block(number, limits.sms_prefix_digits),
            ),
            (
                Limit {
                    name: "sms_registration",
                    code: EXHAUSTED,
                    message: PAUSED,
                    max: limits.sms_per_hour,
                    window: HOUR,
                },
                WHOLE_DEPLOYMENT.to_string(),
            ),
        ],
        // Codes for existing accounts: the signed-in kinds need a token, the others a known number.
        OtpType::Login | OtpType::ForgotPassword | OtpType::ChangePhone | OtpType::DeleteAccount => vec![(
            Limit {
                name: "sms_accounts",
                code: EXHAUSTED,
                message: PAUSED,
                max: limits.sms_accounts_per_hour,
                window: HOUR,
            },
            WHOLE_DEPLOYMENT.to_string(),
        )],
    };
    let mut spend = SmsSpend::default();
    for (budget, key) in budgets {
        if let Err(error) = budget.hit(state, &key).await {
            // `hit` keeps nothing it refused; what the budgets before it took goes back.
            spend.give_back(state).await;
            return Err(error);
        }
        spend.store_keys.push(budget.store_key(&key));
    }
    Ok(spend)
}

impl SmsSpend {
    /// Gives back every unit taken (the message was not sent).
    pub async fn give_back(&self, state: &AppState) {
        for key in &self.store_keys {
            if let Err(error) = state.store.decrement_window(key).await {
                tracing::warn!(%error, budget = %key, "could not give back the SMS budget after a refused or failed send");
            }
        }
    }
}

/// The number block a number belongs to: its country code and first `digits` national digits
/// (`+998 90123` for `+998 90 123 45 67` with 5), the unit a pump walks through.
fn block(number: &MobileNumber<'_>, digits: usize) -> String {
    let national = number.national.get(..digits).unwrap_or(number.national);
    format!("+{}{national}", number.country_code)
}

#[cfg(test)]
mod tests {
    use phonenumber::country;

    use super::*;

    #[test]
    fn a_block_is_the_country_code_and_the_first_national_digits() {
        let number = MobileNumber { region: country::Id::UZ, country_code: "998", national: "901234567" };
        assert_eq!(block(&number, 5), "+99890123");
        assert_eq!(block(&number, 2), "+99890");
        assert_eq!(block(&number, 12), "+998901234567", "a block longer than the number is the number");
    }
}
