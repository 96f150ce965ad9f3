//! `sqlx::migrate!` embeds `migrations/sqlite/` at build time: rebuild when a migration is added
//! (the macro alone notices only edits to the files it already embedded).

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
