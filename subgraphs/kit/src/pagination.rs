//! Cursor pagination shared by every list field.
//!
//! Lists are ordered newest first by `(timestamp, id)` and paged with a
//! keyset cursor, so page N costs the same as page 1 and rows inserted
//! while a client pages do not shift what it sees.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::errors::{ErrorCode, client_error};

/// No list field ever returns more than this many items in one page,
/// whatever the configuration says.
pub const HARD_MAX_PAGE_SIZE: u32 = 100;

/// The page size used when a client leaves out `first`.
pub const DEFAULT_PAGE_SIZE: u32 = 20;

/// Relay-style page information, identical in every subgraph and therefore
/// `@shareable` in the composed supergraph.
#[derive(Debug, Clone, PartialEq, Eq, async_graphql::SimpleObject)]
#[graphql(shareable)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

/// The longest cursor text: `v1|`, an `i64` of up to 20 characters with its
/// sign, `|`, and a hyphenated UUID of 36.
const CURSOR_TEXT_MAX_BYTES: usize = 3 + 20 + 1 + 36;

/// A position in a list ordered by `(at DESC, id DESC)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    pub fn new(at: DateTime<Utc>, id: Uuid) -> Self {
        Self { at, id }
    }

    /// The opaque form handed to clients: `v1|<microseconds>|<id>` in
    /// unpadded URL-safe base64.
    ///
    /// Every edge of every page gets one, so the text is assembled from its
    /// parts rather than through `format!`, whose formatting machinery was
    /// two thirds of the 2,200 instructions a cursor cost (counted under
    /// callgrind on an employer search).
    pub fn encode(&self) -> String {
        let mut micros = itoa::Buffer::new();
        let mut id = Uuid::encode_buffer();
        let parts = [
            "v1|",
            micros.format(self.at.timestamp_micros()),
            "|",
            self.id.hyphenated().encode_lower(&mut id),
        ];
        let mut raw = [0_u8; CURSOR_TEXT_MAX_BYTES];
        let mut length = 0;
        for part in parts {
            raw[length..length + part.len()].copy_from_slice(part.as_bytes());
            length += part.len();
        }
        URL_SAFE_NO_PAD.encode(&raw[..length])
    }

    /// Parses a cursor from a client, with an `INVALID_CURSOR` error when it
    /// was not made by [`Cursor::encode`].
    pub fn decode(encoded: &str) -> Result<Self, async_graphql::Error> {
        let invalid = || client_error(ErrorCode::InvalidCursor, "The `after` cursor is not valid.");
        let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let mut parts = text.split('|');
        let (Some("v1"), Some(micros), Some(id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let micros: i64 = micros.parse().map_err(|_| invalid())?;
        let at = DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
        let id = Uuid::parse_str(id).map_err(|_| invalid())?;
        Ok(Self { at, id })
    }
}

/// 9999-12-31T23:59:59Z: later than any stored timestamp and well inside
/// PostgreSQL's `timestamptz` range (chrono's own maximum is not).
fn end_of_time() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// Validated `first`/`after` arguments of one list field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageArgs {
    pub first: u32,
    pub after: Option<Cursor>,
}

impl PageArgs {
    /// Validates client arguments. The operation checks reject an oversized
    /// `first` before execution; this check repeats it so no code path can
    /// ask PostgreSQL for an unbounded page.
    pub fn new(first: Option<i32>, after: Option<&str>) -> Result<Self, async_graphql::Error> {
        let first = match first {
            None => DEFAULT_PAGE_SIZE,
            Some(value) if value < 0 => {
                return Err(client_error(
                    ErrorCode::BadUserInput,
                    "`first` must not be negative.",
                ));
            }
            Some(value) if value.unsigned_abs() > HARD_MAX_PAGE_SIZE => {
                return Err(client_error(
                    ErrorCode::PageSizeExceeded,
                    format!("`first` must not exceed {HARD_MAX_PAGE_SIZE}."),
                ));
            }
            Some(value) => value.unsigned_abs(),
        };
        let after = after.map(Cursor::decode).transpose()?;
        Ok(Self { first, after })
    }

    /// How many rows to fetch: one more than the page, to learn whether a
    /// next page exists without a second query.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.first) + 1
    }

    /// The cursor bounds as SQL parameters. Without a cursor the bound is
    /// "after the end of time", which keeps one statement shape for both.
    pub fn sql_bounds(&self) -> (DateTime<Utc>, Uuid) {
        match self.after {
            Some(cursor) => (cursor.at, cursor.id),
            None => (end_of_time(), Uuid::max()),
        }
    }

    /// Splits fetched rows (at most `fetch_limit`) into the page and its info.
    pub fn paginate<Row>(
        &self,
        mut rows: Vec<Row>,
        cursor_of: impl Fn(&Row) -> Cursor,
    ) -> (Vec<(String, Row)>, PageInfo) {
        let has_next_page = rows.len() > self.first as usize;
        rows.truncate(self.first as usize);
        let edges: Vec<(String, Row)> = rows
            .into_iter()
            .map(|row| (cursor_of(&row).encode(), row))
            .collect();
        let page_info = PageInfo {
            has_next_page,
            has_previous_page: self.after.is_some(),
            start_cursor: edges.first().map(|(cursor, _)| cursor.clone()),
            end_cursor: edges.last().map(|(cursor, _)| cursor.clone()),
        };
        (edges, page_info)
    }
}

/// The complexity of a list field: its children's complexity times the page
/// size it may return, so `jobs(first: 100) { ... }` costs 100 times more
/// than `job(id:) { ... }`.
pub fn list_complexity(first: Option<i32>, child_complexity: usize) -> usize {
    let page = first
        .map(|value| value.clamp(0, HARD_MAX_PAGE_SIZE as i32).unsigned_abs() as usize)
        .unwrap_or(DEFAULT_PAGE_SIZE as usize);
    1 + page.max(1) * child_complexity
}

/// Declares a GraphQL enum stored in PostgreSQL as `text` (guarded by a
/// `CHECK` constraint in the migration), with `as_str` for binding. It
/// decodes straight from a `text` column's bytes (`sqlx::Decode`), so a row
/// field of the enum's type needs no attribute and reading it allocates no
/// `String` on the way.
///
/// Plain text instead of a PostgreSQL enum type keeps migrations simple
/// (adding a value is a `CHECK` change) and avoids sqlx's per-connection
/// type lookup for custom types.
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$variant_meta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
        pub enum $name {
            $($(#[$variant_meta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored form.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl TryFrom<&str> for $name {
            type Error = String;

            fn try_from(text: &str) -> Result<Self, String> {
                match text {
                    $($text => Ok(Self::$variant),)+
                    other => Err(format!("unknown {} value {other:?}", stringify!($name))),
                }
            }
        }

        impl $crate::reexports::sqlx::Type<$crate::reexports::sqlx::Postgres> for $name {
            fn type_info() -> $crate::reexports::sqlx::postgres::PgTypeInfo {
                <&str as $crate::reexports::sqlx::Type<$crate::reexports::sqlx::Postgres>>::type_info()
            }

            fn compatible(column: &$crate::reexports::sqlx::postgres::PgTypeInfo) -> bool {
                <&str as $crate::reexports::sqlx::Type<$crate::reexports::sqlx::Postgres>>::compatible(column)
            }
        }

        impl<'r> $crate::reexports::sqlx::Decode<'r, $crate::reexports::sqlx::Postgres> for $name {
            fn decode(
                value: $crate::reexports::sqlx::postgres::PgValueRef<'r>,
            ) -> Result<Self, $crate::reexports::sqlx::error::BoxDynError> {
                let text = <&str as $crate::reexports::sqlx::Decode<'r, $crate::reexports::sqlx::Postgres>>::decode(value)?;
                Ok(Self::try_from(text)?)
            }
        }

        // The stored form in JSON too: rows that hold the enum travel
        // through the entity cache.
        impl $crate::reexports::serde::Serialize for $name {
            fn serialize<S: $crate::reexports::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::reexports::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::reexports::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str> as $crate::reexports::serde::Deserialize<'de>>::deserialize(deserializer)?;
                Self::try_from(text.as_ref()).map_err(<D::Error as $crate::reexports::serde::de::Error>::custom)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cursors round-trip and garbage is rejected with INVALID_CURSOR.
    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let cursor = Cursor::new(
            DateTime::from_timestamp_micros(1_700_000_000_123_456).expect("valid time"),
            Uuid::from_u128(42),
        );
        assert_eq!(Cursor::decode(&cursor.encode()).expect("decodes"), cursor);
        for garbage in ["", "!!!", "djF8eHx5", &URL_SAFE_NO_PAD.encode("v2|1|x")] {
            let error = Cursor::decode(garbage).expect_err("must be rejected");
            let code = error
                .extensions
                .as_ref()
                .and_then(|extensions| extensions.get("code").cloned());
            assert_eq!(code, Some(async_graphql::Value::from("INVALID_CURSOR")));
        }
    }

    /// The cursor text is the one every earlier release handed out, so the
    /// cursors clients hold stay valid, down to the extremes of its parts.
    #[test]
    fn cursors_keep_their_text_for_every_timestamp() {
        let times = [
            DateTime::from_timestamp_micros(1_700_000_000_123_456).expect("valid time"),
            DateTime::<Utc>::UNIX_EPOCH,
            DateTime::from_timestamp_micros(-1).expect("valid time"),
            DateTime::<Utc>::MIN_UTC,
            // Cursors hold microseconds, as PostgreSQL's timestamps do.
            DateTime::from_timestamp_micros(DateTime::<Utc>::MAX_UTC.timestamp_micros())
                .expect("valid time"),
            end_of_time(),
        ];
        for at in times {
            for id in [
                Uuid::nil(),
                Uuid::max(),
                Uuid::from_u128(0x0b5c_7a3e_2f1d_4e8a_9c6b_1a2b_3c4d_5e6f),
            ] {
                let cursor = Cursor::new(at, id);
                let text = format!("v1|{}|{}", at.timestamp_micros(), id);
                assert_eq!(cursor.encode(), URL_SAFE_NO_PAD.encode(text), "{at} {id}");
                assert_eq!(Cursor::decode(&cursor.encode()).expect("decodes"), cursor);
            }
        }
        // The longest text fits the buffer exactly.
        assert_eq!(
            format!("v1|{}|{}", i64::MIN, Uuid::max()).len(),
            CURSOR_TEXT_MAX_BYTES
        );
    }

    /// first is bounded, defaulted, and a page reports whether more exist.
    #[test]
    fn page_args_bound_first_and_detect_next_page() {
        assert_eq!(
            PageArgs::new(None, None).expect("valid").first,
            DEFAULT_PAGE_SIZE
        );
        assert!(PageArgs::new(Some(101), None).is_err());
        assert!(PageArgs::new(Some(-1), None).is_err());
        let page = PageArgs::new(Some(2), None).expect("valid");
        let rows = vec![1_u128, 2, 3];
        let (edges, info) = page.paginate(rows, |row| {
            Cursor::new(DateTime::<Utc>::MIN_UTC, Uuid::from_u128(*row))
        });
        assert_eq!(edges.len(), 2);
        assert!(info.has_next_page);
        assert!(!info.has_previous_page);
    }
}
