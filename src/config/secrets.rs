//! The signing secret: required and strong in production, random (and loud) in development.

use anyhow::bail;
use secrecy::{ExposeSecret, SecretString};

use super::variables::RawConfig;

/// The keys the service signs with.
pub(super) struct Keys {
    pub secret_key: SecretString,
    pub jwt_signing_key: SecretString,
    /// No `SECRET_KEY` was given: a random one is in use.
    pub is_random: bool,
}

pub(super) fn keys(raw: &RawConfig, production: bool) -> anyhow::Result<Keys> {
    let (secret_key, is_random) = match &raw.secret_key {
        Some(key) => (key.clone(), false),
        None if production => bail!("SECRET_KEY is required when DEBUG=false"),
        None => (SecretString::from(random_secret()), true),
    };
    if production {
        check_deployment_secret(secret_key.expose_secret())?;
    }
    let jwt_signing_key = raw.jwt_signing_key.clone().unwrap_or_else(|| secret_key.clone());
    Ok(Keys { secret_key, jwt_signing_key, is_random })
}

/// Django's deployment check security.W009: a production key must be long, varied and not
/// the `startproject` placeholder.
fn check_deployment_secret(key: &str) -> anyhow::Result<()> {
    let distinct: std::collections::HashSet<char> = key.chars().collect();
    if key.chars().count() < 50 || distinct.len() < 5 || key.starts_with("django-insecure-") {
        bail!(
            "SECRET_KEY is too weak for DEBUG=false: it needs at least 50 characters, at least 5 \
             distinct ones, and no django-insecure- prefix (Django's check security.W009)"
        );
    }
    Ok(())
}

fn random_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}
