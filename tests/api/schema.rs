//! `schema.graphql` must be the SDL of the code, so frontends can generate types from the file.

use std::path::Path;

#[test]
fn schema_graphql_matches_the_code() {
    // Arrange
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let generated = tantana::graphql::sdl();

    // Act: regenerate on request, as `cargo run -- print-schema > schema.graphql` would
    if std::env::var_os("UPDATE_SCHEMA").is_some_and(|value| value == "1") {
        std::fs::write(&path, &generated).expect("schema.graphql is writable");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();

    // Assert
    assert!(
        committed == generated,
        "schema.graphql differs from the schema in the code. Regenerate it with\n\n    \
         cargo run -- print-schema > schema.graphql\n\n(or UPDATE_SCHEMA=1 cargo test --test api schema) and commit it."
    );
}
