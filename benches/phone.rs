//! Criterion: phone-number parsing to E.164 (`domain::PhoneNumber::parse`), run on every request.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use phonenumber::country;
use tantana::domain::PhoneNumber;

fn phone(c: &mut Criterion) {
    // Each input form takes a different path through the parser (see `PhoneNumber::parse`).
    for (name, input) in [("e164", "+998901234567"), ("no_plus", "998901234567"), ("national", "90 123 45 67")] {
        c.bench_function(&format!("phone/parse_{name}"), |b| {
            b.iter(|| PhoneNumber::parse(black_box(input), country::Id::UZ).expect("valid"))
        });
    }
    c.bench_function("phone/parse_invalid", |b| b.iter(|| PhoneNumber::parse(black_box("+99890"), country::Id::UZ)));
}

criterion_group!(benches, phone);
criterion_main!(benches);
