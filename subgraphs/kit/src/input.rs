//! Checks of text arguments that every subgraph's mutations share, each
//! failing with `BAD_USER_INPUT` that names the field as the client spelled
//! it.

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
