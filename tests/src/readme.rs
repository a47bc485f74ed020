//! Tables the measuring binaries keep current in the docs, between
//! markers.

use crate::repository_root;

/// Replaces the part of `tests/README.md` between `start` and `end` (the
/// markers included) with `section`, which carries the markers; when the
/// markers are missing, appends `heading` and the section. The measuring
/// binaries keep their tables current this way.
pub fn write_tests_readme_section(start: &str, end: &str, section: &str, heading: &str) {
    write_readme_section("tests/README.md", start, end, section, heading);
}

/// [`write_tests_readme_section`] for any markdown file of the repository
/// (`readme`, relative to its root).
pub fn write_readme_section(readme: &str, start: &str, end: &str, section: &str, heading: &str) {
    let path = repository_root().join(readme);
    let readme = std::fs::read_to_string(&path).unwrap_or_default();
    let updated = match (readme.find(start), readme.find(end)) {
        (Some(first), Some(last)) => format!(
            "{}{section}{}",
            &readme[..first],
            &readme[last + end.len()..]
        ),
        _ => format!("{readme}\n{heading}{section}\n"),
    };
    std::fs::write(&path, updated)
        .unwrap_or_else(|error| panic!("writes {}: {error}", path.display()));
}
