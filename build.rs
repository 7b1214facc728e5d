//! Build script: switches the PostgreSQL + Redis test tier on when its servers are named.

fn main() {
    // Tests marked for that tier are `#[ignore]`d unless both variables are set at build time,
    // so a machine with nothing but Rust reports them as ignored rather than failing them.
    println!("cargo::rustc-check-cfg=cfg(backing_services)");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rerun-if-env-changed=TEST_REDIS_URL");
    let named = |name: &str| std::env::var(name).is_ok_and(|value| !value.is_empty());
    if named("TEST_DATABASE_URL") && named("TEST_REDIS_URL") {
        println!("cargo::rustc-cfg=backing_services");
    }
    println!("cargo::rerun-if-changed=build.rs");
}
