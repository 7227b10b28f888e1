//! What a secret carries besides its value: a description, metadata (a JSON object of
//! strings), a rotation reminder, and the reason given for a rotation. Every limit on them and
//! every message about them is here.
//!
//! These fields are not secret, but they are the caller's text: an error about one names the
//! field and the limit, never its content (a caller may have pasted a value into the wrong
//! field).

use std::collections::BTreeMap;

use super::model::Annotations;

/// Longest description, in bytes.
pub const MAX_DESCRIPTION_LEN: usize = 1024;
/// Most metadata entries on one secret.
pub const MAX_METADATA_ENTRIES: usize = 32;
/// Longest metadata key, in bytes (keys are 1 to this many of `A-Z a-z 0-9 . _ : / -`).
pub const MAX_METADATA_KEY_LEN: usize = 64;
/// Longest metadata value, in bytes.
pub const MAX_METADATA_VALUE_LEN: usize = 512;
/// Longest rotation reason, in bytes.
pub const MAX_REASON_LEN: usize = 512;
/// Largest `rotation_days` (ten years); 0 removes the reminder.
pub const MAX_ROTATION_DAYS: u32 = 3650;

/// The message of a description that is too long.
pub fn description_too_long() -> String {
    format!("a description is at most {MAX_DESCRIPTION_LEN} bytes")
}

/// The message of a reason that is too long.
pub fn reason_too_long() -> String {
    format!("a reason is at most {MAX_REASON_LEN} bytes")
}

/// Checks the optional fields of a put; the error is a message for a 400 that quotes nothing.
pub fn check(notes: &Annotations, reason: Option<&str>) -> Result<(), String> {
    if notes
        .description
        .as_ref()
        .is_some_and(|d| d.len() > MAX_DESCRIPTION_LEN)
    {
        return Err(description_too_long());
    }
    if let Some(metadata) = &notes.metadata {
        check_metadata(metadata)?;
    }
    if notes.rotation_days.is_some_and(|d| d > MAX_ROTATION_DAYS) {
        return Err(format!(
            "rotation_days is 1 to {MAX_ROTATION_DAYS} (0 removes the reminder)"
        ));
    }
    if reason.is_some_and(|r| r.len() > MAX_REASON_LEN) {
        return Err(reason_too_long());
    }
    Ok(())
}

fn check_metadata(metadata: &BTreeMap<String, String>) -> Result<(), String> {
    if metadata.len() > MAX_METADATA_ENTRIES {
        return Err(format!(
            "metadata holds at most {MAX_METADATA_ENTRIES} entries"
        ));
    }
    let key_ok =
        |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'/' | b'-');
    for (key, value) in metadata {
        if key.is_empty() || key.len() > MAX_METADATA_KEY_LEN || !key.as_bytes().iter().all(key_ok)
        {
            return Err(format!(
                "a metadata key is 1 to {MAX_METADATA_KEY_LEN} characters of \
                 A-Z a-z 0-9 . _ : / -"
            ));
        }
        if value.len() > MAX_METADATA_VALUE_LEN {
            return Err(format!(
                "a metadata value is at most {MAX_METADATA_VALUE_LEN} bytes"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_refused_without_quoting_the_field() {
        let long = "Zq7marker".repeat(200);
        let cases = [
            Annotations {
                description: Some(long.clone()),
                ..Annotations::default()
            },
            Annotations {
                metadata: Some(BTreeMap::from([("team".to_owned(), long.clone())])),
                ..Annotations::default()
            },
            Annotations {
                metadata: Some(BTreeMap::from([("Zq7marker key".to_owned(), "x".into())])),
                ..Annotations::default()
            },
            Annotations {
                rotation_days: Some(MAX_ROTATION_DAYS + 1),
                ..Annotations::default()
            },
        ];
        for notes in &cases {
            let message = check(notes, None).expect_err("refused");
            assert!(!message.contains("Zq7marker"), "{message}");
        }
        let message = check(&Annotations::default(), Some(&long)).expect_err("refused");
        assert!(!message.contains("Zq7marker"), "{message}");
    }

    #[test]
    fn fields_within_the_limits_pass() {
        let notes = Annotations {
            description: Some("the payments API key".into()),
            metadata: Some(BTreeMap::from([(
                "team/owner".to_owned(),
                "payments".into(),
            )])),
            rotation_days: Some(90),
        };
        assert_eq!(check(&notes, Some("scheduled")), Ok(()));
    }
}
