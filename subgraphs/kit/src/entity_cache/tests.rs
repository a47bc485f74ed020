use super::*;

fn version(text: &str) -> Version {
    Some(text.to_owned())
}

#[test]
fn a_value_counts_only_under_the_epoch_and_version_it_was_filled_under() {
    let stored = stored_value(&version("e1"), &version("v1"), r#"{"a":"x|y"}"#);
    assert_eq!(
        current_payload(&stored, &version("e1"), &version("v1")).as_deref(),
        Some(r#"{"a":"x|y"}"#)
    );
    assert_eq!(
        current_payload(&stored, &version("e1"), &version("v2")),
        None
    );
    assert_eq!(
        current_payload(&stored, &version("e2"), &version("v1")),
        None
    );
    assert_eq!(current_payload(&stored, &None, &version("v1")), None);
}

#[test]
fn absent_versions_match_only_absent_versions() {
    let stored = stored_value(&None, &None, "{}");
    assert_eq!(
        current_payload(&stored, &None, &None).as_deref(),
        Some("{}")
    );
    assert_eq!(current_payload(&stored, &None, &version("v1")), None);
    assert_eq!(current_payload("not a stored value", &None, &None), None);
}

#[test]
fn versions_are_never_repeated_and_never_contain_the_separator() {
    let first = new_version();
    let second = new_version();
    assert_ne!(first, second);
    assert_eq!(first.len(), 32);
    assert!(!first.contains('|'));
}

#[test]
fn a_statement_shape_is_stable_and_tells_statements_apart() {
    // FNV-1a of the empty text is its offset basis: the hash is the
    // published one, not something that changes with the compiler.
    assert_eq!(statement_shape(""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(statement_shape("a"), 0xaf63_dc4c_8601_ec8c);
    assert_ne!(
        statement_shape("SELECT id FROM jobs"),
        statement_shape("SELECT id, title FROM jobs")
    );
}

#[test]
fn keys_are_bounded_whatever_the_entity() {
    // Keys are made of the subgraph's name, a static entity name, a hash
    // and a UUID: nothing a client sends reaches Redis.
    let settings = EntityCacheSettings {
        enabled: true,
        redis_url: Some("redis://127.0.0.1:1".to_owned()),
        redis_timeout: Duration::from_millis(10),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = runtime.enter();
    let cache = EntityCache::new("employer", &settings)
        .expect("a valid URL")
        .expect("enabled");
    let key = cache.value_key("Job", u64::MAX, Uuid::nil());
    assert_eq!(
        key,
        "tg:employer:e:Job:ffffffffffffffff:00000000-0000-0000-0000-000000000000"
    );
    let tag = cache.tag_key(CacheTag {
        entity: "Job",
        id: Uuid::nil(),
    });
    assert_eq!(
        tag,
        "tg:employer:t:Job:00000000-0000-0000-0000-000000000000"
    );
}
