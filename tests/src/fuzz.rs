//! A generator of valid GraphQL documents for a subgraph's schema, and the
//! run that sends them to a live subgraph.
//!
//! Documents are built from the schema itself (root fields, arguments of
//! every type, nested selections, aliases, inline fragments on abstract
//! types, `_entities` with made-up representations) with argument values
//! chosen to be awkward: limits and one past them, negative numbers, empty,
//! very long, multibyte and NUL-bearing strings, ids that are not ids.
//! Every document is validated against the schema before it is sent, so
//! what the subgraph sees is valid GraphQL whose values may be wrong; its
//! answers must be clean errors, never a 5xx, an internal error or a hang.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use apollo_compiler::ast::OperationType;
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Name, Schema};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Strings chosen to hurt: empty, whitespace, long, multibyte, NUL (as a
/// GraphQL escape), SQL and LIKE metacharacters, an e-mail over the index
/// limit, a token-looking value.
const AWKWARD_STRINGS: &[&str] = &[
    "",
    " ",
    "a",
    "ada@example.com",
    "jobseeker@demo.talentgraph.dev",
    "%",
    "_",
    "\\\\",
    "' OR 1=1 --",
    "\\u0000",
    "nul\\u0000inside",
    "é漢字🙂",
    "\\n\\t",
    "2026-01-01T00:00:00Z",
    "not-a-date",
    "00000000-0000-0000-0000-000000000000",
    "Zm9yZ2Vk",
    "eyJhbGciOiJub25lIn0.e30.",
];

const AWKWARD_INTS: &[i64] = &[
    0,
    1,
    -1,
    2,
    10,
    99,
    100,
    101,
    500,
    501,
    1_000,
    2_147_483_647,
    -2_147_483_648,
];

/// Generates valid documents for one schema, reproducibly from a seed.
pub struct DocumentGenerator<'schema> {
    schema: &'schema Valid<Schema>,
    random: ChaCha8Rng,
    /// Ids that exist in the demo world, so some lookups find rows.
    known_ids: Vec<String>,
    entity_types: Vec<Name>,
}

impl<'schema> DocumentGenerator<'schema> {
    pub fn new(schema: &'schema Valid<Schema>, seed: u64, known_ids: Vec<String>) -> Self {
        use rand::SeedableRng;
        let entity_types = schema
            .types
            .get("_Entity")
            .and_then(|entity| match entity {
                ExtendedType::Union(union) => Some(
                    union
                        .members
                        .iter()
                        .map(|member| member.name.clone())
                        .collect(),
                ),
                _ => None,
            })
            .unwrap_or_default();
        Self {
            schema,
            random: ChaCha8Rng::seed_from_u64(seed),
            known_ids,
            entity_types,
        }
    }

    /// A document that validates against the schema; retries until one
    /// does (almost every attempt does).
    pub fn valid_document(&mut self) -> String {
        loop {
            let document = self.document();
            if ExecutableDocument::parse_and_validate(self.schema, &document, "fuzz.graphql")
                .is_ok()
            {
                return document;
            }
        }
    }

    fn document(&mut self) -> String {
        let mutation = self.schema.root_operation(OperationType::Mutation).cloned();
        let (keyword, root) = match mutation {
            Some(mutation) if self.random.gen_bool(0.15) => ("mutation", mutation),
            _ => (
                "query",
                self.schema
                    .root_operation(OperationType::Query)
                    .cloned()
                    .expect("a query type"),
            ),
        };
        let depth = self.random.gen_range(1..=6);
        let fields = self.random.gen_range(1..=3);
        let selection = self.selection_set(&root, depth, fields);
        format!("{keyword} Fuzz {selection}")
    }

    fn selection_set(&mut self, type_name: &Name, depth: usize, width: usize) -> String {
        let mut parts = Vec::new();
        match self.schema.types.get(type_name) {
            Some(ExtendedType::Object(object)) => {
                let fields: Vec<_> = object
                    .fields
                    .iter()
                    .filter(|(name, _)| name.as_str() != "_service" || depth > 0)
                    .map(|(name, field)| (name.clone(), field.node.clone()))
                    .collect();
                for _ in 0..width {
                    let Some((name, field)) = fields.choose(&mut self.random).cloned() else {
                        break;
                    };
                    parts.push(self.field(&name, &field, depth));
                }
            }
            Some(ExtendedType::Interface(_) | ExtendedType::Union(_)) => {
                parts.push("__typename".to_owned());
                let possible: Vec<Name> = match self.schema.types.get(type_name) {
                    Some(ExtendedType::Union(union)) => union
                        .members
                        .iter()
                        .map(|member| member.name.clone())
                        .collect(),
                    _ => self
                        .schema
                        .implementers_map()
                        .get(type_name)
                        .map(|implementers| implementers.objects.iter().cloned().collect())
                        .unwrap_or_default(),
                };
                for _ in 0..width.min(2) {
                    if let Some(member) = possible.choose(&mut self.random).cloned() {
                        let inner = self.selection_set(&member, depth, width);
                        parts.push(format!("... on {member} {inner}"));
                    }
                }
            }
            _ => parts.push("__typename".to_owned()),
        }
        if parts.is_empty() {
            parts.push("__typename".to_owned());
        }
        format!("{{ {} }}", parts.join(" "))
    }

    fn field(
        &mut self,
        name: &Name,
        field: &apollo_compiler::schema::FieldDefinition,
        depth: usize,
    ) -> String {
        let alias = if self.random.gen_bool(0.1) {
            format!("a{}: ", self.random.gen_range(0..1000))
        } else {
            String::new()
        };
        let mut arguments = Vec::new();
        for argument in &field.arguments {
            let required = argument.ty.is_non_null() && argument.default_value.is_none();
            if required || self.random.gen_bool(0.5) {
                let value = if name.as_str() == "_entities" {
                    self.representations()
                } else {
                    self.value(&argument.ty, 0)
                };
                arguments.push(format!("{}: {value}", argument.name));
            }
        }
        let arguments = if arguments.is_empty() {
            String::new()
        } else {
            format!("({})", arguments.join(", "))
        };
        let inner_type = field.ty.inner_named_type();
        let composite = matches!(
            self.schema.types.get(inner_type),
            Some(ExtendedType::Object(_) | ExtendedType::Interface(_) | ExtendedType::Union(_))
        );
        if !composite {
            return format!("{alias}{name}{arguments}");
        }
        let selection = if depth == 0 {
            "{ __typename }".to_owned()
        } else {
            let width = self.random.gen_range(1..=4);
            self.selection_set(&inner_type.clone(), depth - 1, width)
        };
        format!("{alias}{name}{arguments} {selection}")
    }

    /// `_entities(representations:)`: a few made-up representations of the
    /// subgraph's entity types, ids known and unknown.
    fn representations(&mut self) -> String {
        let count = *[0_usize, 1, 2, 5, 20]
            .choose(&mut self.random)
            .unwrap_or(&1);
        let items: Vec<String> = (0..count)
            .map(|_| {
                let type_name = self
                    .entity_types
                    .choose(&mut self.random)
                    .map_or("Nothing".to_owned(), ToString::to_string);
                let id = self.id();
                if self.random.gen_bool(0.1) {
                    format!("{{ __typename: \"{type_name}\" }}")
                } else {
                    format!("{{ __typename: \"{type_name}\", id: {id} }}")
                }
            })
            .collect();
        format!("[{}]", items.join(", "))
    }

    fn id(&mut self) -> String {
        if self.random.gen_bool(0.5)
            && let Some(id) = self.known_ids.choose(&mut self.random)
        {
            return format!("\"{id}\"");
        }
        let awkward = AWKWARD_STRINGS
            .choose(&mut self.random)
            .copied()
            .unwrap_or_default();
        format!("\"{awkward}\"")
    }

    fn value(&mut self, ty: &apollo_compiler::ast::Type, depth: usize) -> String {
        if !ty.is_non_null() && self.random.gen_bool(0.1) {
            return "null".to_owned();
        }
        if ty.is_list() {
            let count = *[0_usize, 1, 2, 3, 101]
                .choose(&mut self.random)
                .unwrap_or(&1);
            let count = if depth > 1 { count.min(2) } else { count };
            let items: Vec<String> = (0..count)
                .map(|_| self.value(ty.item_type(), depth + 1))
                .collect();
            return format!("[{}]", items.join(", "));
        }
        let named = ty.inner_named_type();
        match named.as_str() {
            "Int" => AWKWARD_INTS
                .choose(&mut self.random)
                .copied()
                .unwrap_or_default()
                .to_string(),
            "Float" => ["0.0", "-1.5", "1e10", "3.14"]
                .choose(&mut self.random)
                .copied()
                .unwrap_or("0.0")
                .to_owned(),
            "Boolean" => self.random.gen_bool(0.5).to_string(),
            "ID" => self.id(),
            "String" => {
                if self.random.gen_bool(0.05) {
                    format!("\"{}\"", "long ".repeat(self.random.gen_range(60..3_000)))
                } else {
                    let text = AWKWARD_STRINGS
                        .choose(&mut self.random)
                        .copied()
                        .unwrap_or_default();
                    format!("\"{text}\"")
                }
            }
            _ => match self.schema.types.get(named) {
                Some(ExtendedType::Enum(enumeration)) => enumeration
                    .values
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .choose(&mut self.random)
                    .map_or_else(|| "null".to_owned(), ToString::to_string),
                Some(ExtendedType::InputObject(input)) if depth < 4 => {
                    let fields: Vec<_> = input
                        .fields
                        .iter()
                        .map(|(name, field)| (name.clone(), field.node.clone()))
                        .collect();
                    let mut parts = Vec::new();
                    for (name, field) in fields {
                        let required = field.ty.is_non_null() && field.default_value.is_none();
                        if required || self.random.gen_bool(0.5) {
                            parts.push(format!("{name}: {}", self.value(&field.ty, depth + 1)));
                        }
                    }
                    format!("{{ {} }}", parts.join(", "))
                }
                // Custom scalars (DateTime, _Any, …) take a string here.
                _ => {
                    let text = AWKWARD_STRINGS
                        .choose(&mut self.random)
                        .copied()
                        .unwrap_or_default();
                    format!("\"{text}\"")
                }
            },
        }
    }
}

/// What one fuzzing run saw.
#[derive(Debug, Default, Clone)]
pub struct FuzzReport {
    pub documents: u64,
    /// Answers by HTTP status.
    pub statuses: BTreeMap<u16, u64>,
    /// Error codes seen, by how often.
    pub codes: BTreeMap<String, u64>,
    /// Answers that were 5xx or carried INTERNAL_SERVER_ERROR, with the
    /// document (at most a few kept).
    pub failures: Vec<(String, String)>,
    pub failure_count: u64,
    /// Requests that took longer than the deadline (or never answered).
    pub over_deadline: u64,
    pub elapsed: Duration,
}

/// Sends `documents` generated documents to `url` (a subgraph's `/graphql`)
/// with `concurrency` in flight, as the bearer of `token` and, when given,
/// with the router secret, and reports what came back.
pub async fn fuzz_subgraph(
    url: &str,
    generator: &mut DocumentGenerator<'_>,
    documents: u64,
    concurrency: usize,
    headers: &[(String, String)],
    deadline: Duration,
) -> FuzzReport {
    use futures::StreamExt;
    let client = reqwest::Client::builder()
        .timeout(deadline)
        .build()
        .expect("an HTTP client");
    let started = Instant::now();
    let bodies: Vec<String> = (0..documents).map(|_| generator.valid_document()).collect();
    let mut answers = futures::stream::iter(bodies.into_iter().map(|document| {
        let mut request = client
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/graphql-response+json")
            .body(serde_json::json!({ "query": document }).to_string());
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        async move {
            let outcome = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let body = response.text().await.unwrap_or_default();
                    Ok((status, body))
                }
                Err(error) => Err(error),
            };
            (document, outcome)
        }
    }))
    .buffer_unordered(concurrency);
    let mut report = FuzzReport::default();
    while let Some((document, outcome)) = answers.next().await {
        report.documents += 1;
        match outcome {
            Err(error) => {
                if error.is_timeout() {
                    report.over_deadline += 1;
                }
                report.failure_count += 1;
                if report.failures.len() < 5 {
                    report
                        .failures
                        .push((document, format!("no answer: {error}")));
                }
            }
            Ok((status, body)) => {
                *report.statuses.entry(status).or_default() += 1;
                let parsed: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                let mut internal = status >= 500 || parsed.is_null();
                for error in parsed["errors"].as_array().into_iter().flatten() {
                    let code = error["extensions"]["code"]
                        .as_str()
                        .unwrap_or("(no code)")
                        .to_owned();
                    internal |= code == "INTERNAL_SERVER_ERROR" || code == "(no code)";
                    *report.codes.entry(code).or_default() += 1;
                }
                if internal {
                    report.failure_count += 1;
                    if report.failures.len() < 5 {
                        report
                            .failures
                            .push((document, format!("{status}: {body}")));
                    }
                }
            }
        }
    }
    report.elapsed = started.elapsed();
    report
}

/// Ids of the demo world's rows, a few of each kind.
pub fn known_demo_ids(world: &talentgraph_demo_world::DemoWorld) -> Vec<String> {
    (0..5)
        .flat_map(|index| {
            [
                world.user_id(index),
                world.organization_id(index),
                world.job_id(index),
                world.application_id(index),
                world.internship_id(index),
                world.internship_application_id(index),
                world.invoice_id(index),
                world.skill_id(index),
            ]
        })
        .map(|id| id.to_string())
        .collect()
}

/// Fuzzes every subgraph of a running stack directly (not through the
/// router), `documents` each, as the demo admin and with the router secret
/// (so representations are trusted and every field is reachable).
pub async fn fuzz_stack(
    stack: &crate::Stack,
    documents: u64,
    seed: u64,
    deadline: Duration,
) -> Vec<(&'static str, FuzzReport)> {
    let token = stack.token(crate::DemoAccount::Admin).to_owned();
    let headers = vec![
        ("authorization".to_owned(), format!("Bearer {token}")),
        (
            "x-talentgraph-router".to_owned(),
            crate::ROUTER_SECRET.to_owned(),
        ),
    ];
    let mut reports = Vec::new();
    for (index, subgraph) in stack.subgraphs.iter().enumerate() {
        let input = stack
            .subgraph_inputs()
            .iter()
            .find(|input| input.name == subgraph.name)
            .expect("the subgraph's SDL");
        let schema =
            schema_registry::compose::subgraph_schema(&input.name, &input.routing_url, &input.sdl)
                .unwrap_or_else(|error| panic!("{}'s schema: {error}", subgraph.name));
        let mut generator = DocumentGenerator::new(
            &schema,
            seed.wrapping_add(index as u64),
            known_demo_ids(&crate::WORLD),
        );
        let report = fuzz_subgraph(
            &subgraph.url("/graphql"),
            &mut generator,
            documents,
            8,
            &headers,
            deadline,
        )
        .await;
        reports.push((subgraph.name, report));
    }
    reports
}
