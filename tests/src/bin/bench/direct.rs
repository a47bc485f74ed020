//! `--direct`: JobSearchPage's data fetched straight from the subgraphs,
//! as a client of separate services would.

use crate::load::Route;
use crate::load::post_to;
use serde_json::{Value, json};

/// JobSearchPage's first fetch, as the router sends it to employer (which
/// provides the organizations' cards).
pub const DIRECT_JOBS: &str = "query($first: Int!, $after: String, $filter: JobFilter) { jobs(first: $first, after: $after, filter: $filter) { edges { cursor node { __typename id title location remote employmentType postedAt salaryRange { min max currency } organization { __typename id name slug logoUrl verified } } } pageInfo { hasNextPage endCursor } } }";
/// The second level, on the jobs: (subgraph, selection on `Job`).
pub const DIRECT_JOB_FETCHES: [(&str, &str); 2] = [
    (
        "jobseeker",
        "... on Job { applicationCount viewerHasApplied }",
    ),
    ("payment", "... on Job { promotion { tier endsAt } }"),
];

pub fn subgraph_url(name: &str) -> String {
    let port = talentgraph_subgraphs::subgraph_named(name)
        .unwrap_or_else(|| panic!("a subgraph named {name}"))
        .default_port;
    format!("http://127.0.0.1:{port}/graphql")
}

/// The direct route's URLs and queries, built once per run so the load
/// generator's own CPU (a measured column) is spent on requests alone.
pub struct DirectFetches {
    pub jobs_url: String,
    /// The second level: (subgraph URL, `_entities` query).
    pub job_fetches: Vec<(String, String)>,
}

impl DirectFetches {
    pub(crate) fn new() -> Self {
        Self {
            jobs_url: subgraph_url("employer"),
            job_fetches: DIRECT_JOB_FETCHES
                .iter()
                .map(|(subgraph, selection)| {
                    (
                        subgraph_url(subgraph),
                        format!(
                            "query($representations: [_Any!]!) {{ _entities(representations: $representations) {{ {selection} }} }}"
                        ),
                    )
                })
                .collect(),
        }
    }
}

/// Fetches JobSearchPage's data from the subgraphs without the router and
/// checks that every representation got its entity.
/// Returns the number of calls it made.
pub async fn direct_job_search(
    client: &reqwest::Client,
    fetches: &DirectFetches,
    token: Option<&str>,
    variables: &Value,
    route: Route,
) -> Result<usize, String> {
    let jobs = post_to(
        client,
        &fetches.jobs_url,
        token,
        &json!({ "query": DIRECT_JOBS, "variables": variables }),
    )
    .await?;
    let edges = jobs["data"]["jobs"]["edges"]
        .as_array()
        .ok_or("employer answered without jobs")?;
    if edges
        .iter()
        .any(|edge| edge["node"]["organization"]["name"].as_str().is_none())
    {
        return Err("employer answered a job without its organization's card".to_owned());
    }
    let job_representations: Vec<Value> = edges
        .iter()
        .map(|edge| json!({ "__typename": "Job", "id": edge["node"]["id"] }))
        .collect();
    let mut calls = Vec::new();
    for (url, query) in &fetches.job_fetches {
        let representations = &job_representations;
        if representations.is_empty() {
            continue;
        }
        let groups: Vec<Vec<Value>> = if route == Route::DirectOneCallPerEntity {
            representations
                .iter()
                .map(|one| vec![one.clone()])
                .collect()
        } else {
            vec![representations.clone()]
        };
        for group in groups {
            calls.push(async move {
                let expected = group.len();
                let answer = post_to(
                    client,
                    url,
                    token,
                    &json!({ "query": query, "variables": { "representations": group } }),
                )
                .await?;
                let found = answer["data"]["_entities"]
                    .as_array()
                    .map_or(0, |entities| {
                        entities.iter().filter(|entity| !entity.is_null()).count()
                    });
                if found == expected {
                    Ok(())
                } else {
                    Err(format!("{url}: {found} of {expected} entities"))
                }
            });
        }
    }
    let second_level = calls.len();
    futures::future::try_join_all(calls).await?;
    Ok(1 + second_level)
}
