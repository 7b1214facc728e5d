//! Criterion: issuing and verifying simplejwt-compatible tokens (`service::token::TokenService`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tantana::{config::Config, domain::LoginMethod, error::TokenKind, service::token::TokenService};

fn tokens() -> TokenService {
    let vars = [("SECRET_KEY", "bench-secret-key-bench-secret-key"), ("DEBUG", "false")];
    let config = Config::from_vars(vars.map(|(name, value)| (name.to_string(), value.to_string())))
        .expect("bench configuration is valid");
    TokenService::new(&config)
}

fn token(c: &mut Criterion) {
    let tokens = tokens();
    c.bench_function("token/issue_pair", |b| {
        b.iter(|| {
            tokens
                .issue_pair(black_box(42), LoginMethod::Password, "3f0c6a1e9b2d4c7e8a5f1b2c3d4e5f60".into())
                .expect("signs")
        })
    });
    let pair = tokens.issue_pair(42, LoginMethod::Password, "3f0c6a1e9b2d4c7e8a5f1b2c3d4e5f60".into()).expect("signs");
    c.bench_function("token/verify_access", |b| {
        b.iter(|| tokens.verify(black_box(&pair.access), TokenKind::Access).expect("valid"))
    });
}

criterion_group!(benches, token);
criterion_main!(benches);
