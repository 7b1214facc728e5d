//! Closed sets of values, one enum per concept: lower-case in REST bodies, the database and the
//! OpenAPI document, UPPER case in GraphQL.

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$variant_meta:meta])* $variant:ident => $wire:literal),+ $(,)? }
    ) => {
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, async_graphql::Enum,
            utoipa::ToSchema,
        )]
        #[serde(rename_all = "snake_case")]
        $(#[$meta])*
        pub enum $name { $($(#[$variant_meta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The lower-case spelling used in REST bodies and the database.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $wire),+ }
            }

            /// Parses the lower-case spelling.
            pub fn from_wire(value: &str) -> Option<Self> {
                match value { $($wire => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

wire_enum!(
    /// What a one-time code is for.
    #[schema(description = "What a one-time code is for: `auth` registers a new phone, `forgot_password` resets the\n\
        password of an existing account, `login` signs an existing account in without a password,\n\
        `change_phone` (with a bearer token, to the new number) moves the account to a new number,\n\
        `delete_account` (with a bearer token, to the account's own number) confirms its deletion.")]
    OtpType {
        /// Registration of a new phone number.
        Auth => "auth",
        /// Resetting the password of an existing account.
        ForgotPassword => "forgot_password",
        /// Signing in to an existing account without a password.
        Login => "login",
        /// Moving the signed-in account to a new phone number; sent to the new number.
        ChangePhone => "change_phone",
        /// Confirming the deletion of the signed-in account; sent to its own number.
        DeleteAccount => "delete_account",
    }
);

wire_enum!(
    /// How a sign-in session started.
    #[schema(description = "How a sign-in session started: with the password, or with a one-time code.")]
    LoginMethod {
        Password => "password",
        Otp => "otp",
    }
);

// `users.gender`; undocumented, as both the SDL and the OpenAPI document have always had it.
wire_enum!(
    Gender {
        Male => "male",
        Female => "female",
    }
);

wire_enum!(
    /// The language of the user's SMS texts and app.
    #[schema(description = "The account's language, also the language of its SMS texts.")]
    Language {
        Uz => "uz",
        Ru => "ru",
        En => "en",
    }
);

wire_enum!(
    /// The screen a login flow should show next for a phone number.
    #[schema(description = "Which screen a login flow should show next.")]
    LoginNext {
        /// The account has a password: ask for it.
        Password => "password",
        /// The account has no password: sign in with a `LOGIN` code.
        Otp => "otp",
        /// No account: register with an `AUTH` code.
        Register => "register",
    }
);

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use super::*;

    /// serde and utoipa derive the spelling from the variant name; `as_str` lists it. They agree.
    #[test]
    fn every_spelling_agrees() {
        fn check<T: Copy + serde::Serialize + PartialSchema>(all: &[T], as_str: fn(T) -> &'static str) {
            let documented = serde_json::to_value(T::schema()).unwrap()["enum"].clone();
            let listed: Vec<&str> = all.iter().map(|value| as_str(*value)).collect();
            assert_eq!(documented, serde_json::json!(listed));
            for value in all {
                assert_eq!(serde_json::to_value(value).unwrap(), as_str(*value));
            }
        }
        check(OtpType::ALL, OtpType::as_str);
        check(Gender::ALL, Gender::as_str);
        check(Language::ALL, Language::as_str);
        check(LoginNext::ALL, LoginNext::as_str);
    }
}
