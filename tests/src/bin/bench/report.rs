//! The markdown tables the bench writes into the docs.
use crate::instructions::COUNTED_WARM_UP_PAGES;
use crate::instructions::InstructionCount;
use crate::load::Measurement;
use crate::options::Options;
use crate::options::PAGES;

pub const TABLE_START: &str = "<!-- bench:start -->";
pub const TABLE_END: &str = "<!-- bench:end -->";
/// A run with several variants compares them; it has its own section so the
/// full table stays.
pub const VARIANTS_TABLE_START: &str = "<!-- bench-variants:start -->";
pub const VARIANTS_TABLE_END: &str = "<!-- bench-variants:end -->";
/// `--count-instructions` writes a section of its own.
pub const INSTRUCTIONS_TABLE_START: &str = "<!-- bench-instructions:start -->";
pub const INSTRUCTIONS_TABLE_END: &str = "<!-- bench-instructions:end -->";
pub fn comma_separated<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

pub fn markdown(
    measurements: &[Measurement],
    options: &Options,
    (start, end): (&str, &str),
) -> String {
    let labels: Vec<String> = measurements
        .first()
        .map(|measurement| {
            measurement
                .cpu_seconds_per_1000_pages
                .keys()
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let by_variant = options.variants.len() > 1;
    let mut table = format!(
        "| {}page | size | connections | pages/s | p50 ms | p95 ms | p99 ms | errors | {} |\n|---|---|---|---|---|---|---|---|{}\n",
        if by_variant { "variant | " } else { "" },
        labels
            .iter()
            .map(|label| format!("CPU s/1000 pages: {label}"))
            .collect::<Vec<_>>()
            .join(" | "),
        "---|".repeat(labels.len() + usize::from(by_variant))
    );
    for measurement in measurements {
        table.push_str(&format!(
            "| {}{} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {} |\n",
            if by_variant {
                format!("{} | ", measurement.variant)
            } else {
                String::new()
            },
            measurement.page,
            measurement.page_size,
            measurement.connections,
            measurement.pages_per_second,
            measurement.p50_milliseconds,
            measurement.p95_milliseconds,
            measurement.p99_milliseconds,
            measurement.errors,
            labels
                .iter()
                .map(|label| format!("{:.2}", measurement.cpu_seconds_per_1000_pages[label]))
                .collect::<Vec<_>>()
                .join(" | ")
        ));
    }
    format!(
        "{start}\n{table}\nMeasured with `cargo run --release -p talentgraph-e2e --bin bench -- --seconds {} --warm-up-seconds {} --connections {} --page-sizes {}{}` \
         on one 2-core machine: `devstack up` in release mode with `RUST_LOG=warn` (the full demo world; the six subgraphs \
         share the devstack process), the pinned Apollo Router with the development profile, the load generator in the same \
         machine. JobSearchPage and InternshipBrowsePage filter by a random organization per request, JobDetailPage and \
         OrganizationPage take a random job or organization; the dashboards repeat one demo account's request.{}\n",
        options.seconds,
        options.warm_up_seconds,
        comma_separated(&options.connections),
        comma_separated(&options.page_sizes),
        [
            (
                options.pages.len() != PAGES.len(),
                format!(" --pages {}", options.pages.join(",")),
            ),
            (options.direct, " --direct".to_owned()),
            (options.router_ceiling, " --router-ceiling".to_owned()),
            (options.hive_router, " --hive-router".to_owned()),
            (options.router_own_core, " --router-own-core".to_owned()),
            (
                options.scale_out.is_some(),
                format!(
                    " --scale-out {}",
                    options.scale_out.as_deref().unwrap_or_default()
                ),
            ),
            (
                options.compare_supergraph.is_some(),
                options
                    .compare_supergraph
                    .as_ref()
                    .map(|(label, path)| {
                        format!(" --compare-supergraph '{label}={}'", path.display())
                    })
                    .unwrap_or_default(),
            ),
        ]
        .iter()
        .filter(|(chosen, _)| *chosen)
        .map(|(_, flag)| flag.as_str())
        .collect::<String>(),
        if by_variant {
            format!(
                " The stack was started once per variant, in this order, with `--variants '{}'`.",
                options
                    .variants
                    .iter()
                    .map(|variant| format!(
                        "{}:{}",
                        variant.label,
                        variant
                            .environment
                            .iter()
                            .map(|(name, value)| format!("{name}={value}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ))
                    .collect::<Vec<_>>()
                    .join(";")
            )
        } else {
            String::new()
        }
    ) + end
}

/// The markdown section of `--count-instructions`.
pub fn instructions_markdown(counts: &[InstructionCount], options: &Options) -> String {
    let subgraph = options.count_instructions.as_deref().unwrap_or_default();
    let mut table = format!(
        "| page | size | pages counted | {subgraph}: instructions per page | {subgraph}: allocations per page |\n|---|---|---|---|---|\n"
    );
    for count in counts {
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            count.page,
            count.page_size,
            count.pages,
            thousands(count.instructions_per_page),
            thousands(count.allocations_per_page)
        ));
    }
    format!(
        "{INSTRUCTIONS_TABLE_START}\n{table}\nCounted with `cargo run --release -p talentgraph-e2e --bin bench -- --count-instructions {subgraph} --counted-pages {} --page-sizes {}{}`: \
         {subgraph}'s release binary under `valgrind --tool=callgrind`, behind a second Apollo Router, the rest of the dev stack as `devstack up` runs it; \
         {COUNTED_WARM_UP_PAGES} pages uncounted, then the counted ones one at a time, with the same variables on every run. \
         Instructions are user space only; allocations are calls to Rust's allocation functions (`__rust_alloc`, `__rust_alloc_zeroed`, `__rust_realloc`), whichever allocator serves them.\n",
        options.counted_pages,
        comma_separated(&options.page_sizes),
        if options.pages.len() == PAGES.len() {
            String::new()
        } else {
            format!(" --pages {}", options.pages.join(","))
        }
    ) + INSTRUCTIONS_TABLE_END
}

/// `1234567` as `1,234,567`.
pub fn thousands(number: u64) -> String {
    let digits = number.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_are_grouped_by_commas() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(12_345_678), "12,345,678");
    }
}
