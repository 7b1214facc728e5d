//! Criterion: argon2id hash and verify through `service::password::PasswordHasher`.
//!
//! `bench/run` reads `password/verify`'s mean as the single-hash time behind the login target
//! (a login verifies one hash with the current parameters), and `password/verify_on_every_core`'s
//! as what one hash costs while every core hashes.

use std::{hint::black_box, time::Duration};

use criterion::{Criterion, criterion_group, criterion_main};
use tantana::service::password::PasswordHasher;

fn password(c: &mut Criterion) {
    // The hasher runs each hash on its own threads and answers through a channel, as in the server.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build().expect("tokio runtime");
    let hasher = PasswordHasher::new(1);
    let stored = runtime.block_on(hasher.hash("Tashkent-2024!")).expect("hashes");
    let mut group = c.benchmark_group("password");
    // One hash takes ~15 ms: ten samples over a few seconds are enough and keep the run short.
    group.sample_size(10).measurement_time(Duration::from_secs(4));
    group.bench_function("hash", |b| b.iter(|| runtime.block_on(hasher.hash(black_box("Tashkent-2024!")))));
    group.bench_function("verify", |b| {
        b.iter(|| runtime.block_on(hasher.verify(black_box("Tashkent-2024!"), Some(&stored))))
    });
    // One verify on each core at once, as in a login flood: how much a hash slows down when
    // another runs beside it (shared L3 and memory bandwidth), with nothing else on the machine.
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let side_by_side = PasswordHasher::new(cores);
    group.bench_function("verify_on_every_core", |b| {
        b.iter(|| {
            runtime.block_on(futures::future::join_all(
                (0..cores).map(|_| side_by_side.verify(black_box("Tashkent-2024!"), Some(&stored))),
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, password);
criterion_main!(benches);
