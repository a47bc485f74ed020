//! Checks of the arguments that every subgraph's fields share (texts, ids
//! and idempotency keys), each failing with `BAD_USER_INPUT` that names
//! the field as the client spelled it.

use uuid::Uuid;

use crate::CommonError;

/// Trims `value` and checks its length in characters (not bytes, so a
/// name in any script gets the same room).
pub fn validate_text(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<String, CommonError> {
    let trimmed = value.trim();
    let length = trimmed.chars().count();
    if length < min || length > max {
        return Err(CommonError::invalid_input(
            field,
            format!("`{field}` must be {min} to {max} characters long."),
        ));
    }
    Ok(trimmed.to_owned())
}

/// [`validate_text`] for an optional argument: absent stays absent.
pub fn optional_text(
    field: &'static str,
    value: Option<&str>,
    min: usize,
    max: usize,
) -> Result<Option<String>, CommonError> {
    value
        .map(|value| validate_text(field, value, min, max))
        .transpose()
}

/// Parses a GraphQL `ID` as a UUID. Entity resolvers treat a malformed id
/// like an unknown one (a null), so one bad representation cannot fail a
/// whole `_entities` batch.
pub fn parse_id(id: &async_graphql::ID) -> Option<Uuid> {
    Uuid::parse_str(id.as_str()).ok()
}

/// Parses an `ID` argument of a root field or mutation, with a
/// `BAD_USER_INPUT` error naming the argument when it is not a UUID.
pub fn parse_id_argument(
    argument: &'static str,
    id: &async_graphql::ID,
) -> Result<Uuid, CommonError> {
    parse_id(id).ok_or_else(|| {
        CommonError::invalid_input(argument, format!("`{argument}` is not a valid id."))
    })
}

/// Parses an optional `ID` argument, such as a filter's
/// `organizationId`: absent stays `None`, malformed is `BAD_USER_INPUT`.
pub fn parse_optional_id_argument(
    argument: &'static str,
    id: Option<&async_graphql::ID>,
) -> Result<Option<Uuid>, CommonError> {
    id.map(|id| parse_id_argument(argument, id)).transpose()
}

/// A client's idempotency key (`idempotencyKey`), trimmed. Visible ASCII
/// only, 8 to 200 characters: keys are compared byte for byte, and a key
/// that looks the same in another encoding must not be another key.
/// Counting bytes of ASCII is counting characters, as the database's
/// `length` does.
pub fn validate_idempotency_key(key: &str) -> Result<&str, CommonError> {
    let key = key.trim();
    if !(8..=200).contains(&key.len()) || !key.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(CommonError::invalid_input(
            "idempotencyKey",
            "`idempotencyKey` must be 8 to 200 visible ASCII characters; a UUID is ideal.",
        ));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_measured_in_characters() {
        assert_eq!(
            validate_text("name", "  Zoë  ", 1, 3).ok().as_deref(),
            Some("Zoë")
        );
        assert!(validate_text("name", "   ", 1, 3).is_err());
        assert!(validate_text("name", "Zoëy", 1, 3).is_err());
        assert_eq!(optional_text("name", None, 1, 3).ok(), Some(None));
    }
}
