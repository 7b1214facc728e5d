//! Closed sets of values: OTP purposes and profile enums, with their wire spellings.

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

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
    OtpType {
        Auth => "auth",
        ForgotPassword => "forgot_password",
        Login => "login",
    }
);

wire_enum!(
    /// `users.gender`.
    Gender {
        Male => "male",
        Female => "female",
    }
);

wire_enum!(
    /// `users.language`, also the language of SMS texts.
    Language {
        Uz => "uz",
        Ru => "ru",
        En => "en",
    }
);
