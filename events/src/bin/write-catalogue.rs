//! Rewrites `events/CATALOGUE.md` and `events/schemas/` from the code.

use std::path::Path;

#[allow(clippy::print_stdout)]
fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::write(
        root.join("CATALOGUE.md"),
        talentgraph_events::catalogue_markdown(),
    )?;
    let schemas = root.join("schemas");
    std::fs::create_dir_all(&schemas)?;
    for entry in std::fs::read_dir(&schemas)? {
        std::fs::remove_file(entry?.path())?;
    }
    for (name, text) in talentgraph_events::schema_files() {
        std::fs::write(schemas.join(&name), text)?;
        println!("wrote events/schemas/{name}");
    }
    println!("wrote events/CATALOGUE.md");
    Ok(())
}
