//! `{{secrets.NAME}}` templates.
//!
//! A reference is `{{`, optional whitespace, `secrets.`, a valid secret name, optional
//! whitespace, `}}`; whitespace is space, tab, CR or LF. Everything else, including anything that
//! merely looks like a reference (`{{ secret.X }}`, `{{secrets.1X}}`, an unclosed `{{secrets.X`),
//! is literal text. There is no escape syntax. Rendering is a single pass: a value that itself
//! contains `{{secrets.…}}` is inserted as it is, never expanded, so a secret cannot pull another
//! into a place it was not asked for.

use std::collections::HashSet;

use crate::limits::MAX_NAME_LEN;
use crate::name::is_name_byte;

/// A piece of a parsed template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment<'t> {
    /// Literal text, to be copied as it is.
    Text(&'t str),
    /// A reference to a secret.
    Reference {
        /// The referenced name (always valid).
        name: &'t str,
        /// The whole reference as written, braces included.
        raw: &'t str,
    },
}

/// Splits a template into literal text and references, in order. Never fails: what is not a
/// reference is text. Adjacent text is yielded in as few pieces as possible.
pub fn segments(template: &str) -> Segments<'_> {
    Segments {
        template,
        pos: 0,
        pending: None,
    }
}

/// Iterator returned by [`segments`].
#[derive(Clone, Debug)]
pub struct Segments<'t> {
    template: &'t str,
    pos: usize,
    pending: Option<Segment<'t>>,
}

impl<'t> Iterator for Segments<'t> {
    type Item = Segment<'t>;

    fn next(&mut self) -> Option<Segment<'t>> {
        if let Some(pending) = self.pending.take() {
            return Some(pending);
        }
        let rest = &self.template[self.pos..];
        if rest.is_empty() {
            return None;
        }
        let mut search = 0;
        while let Some(offset) = rest[search..].find("{{") {
            let start = search + offset;
            if let Some((name, len)) = parse_reference(&rest[start..]) {
                let reference = Segment::Reference {
                    name,
                    raw: &rest[start..start + len],
                };
                self.pos += start + len;
                if start == 0 {
                    return Some(reference);
                }
                self.pending = Some(reference);
                return Some(Segment::Text(&rest[..start]));
            }
            search = start + 1;
        }
        self.pos = self.template.len();
        Some(Segment::Text(rest))
    }
}

const fn is_template_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Parses a reference at the start of `s` (which starts with `{{`): the name and the length of
/// the whole reference.
fn parse_reference(s: &str) -> Option<(&str, usize)> {
    let bytes = s.as_bytes();
    let mut i = 2;
    while bytes.get(i).copied().is_some_and(is_template_space) {
        i += 1;
    }
    i += bytes
        .get(i..)?
        .strip_prefix(b"secrets.")
        .map(|_| b"secrets.".len())?;
    let name_start = i;
    if !bytes.get(i)?.is_ascii_alphabetic() {
        return None;
    }
    while bytes.get(i).copied().is_some_and(is_name_byte) {
        i += 1;
    }
    if i - name_start > MAX_NAME_LEN {
        return None;
    }
    let name_end = i;
    while bytes.get(i).copied().is_some_and(is_template_space) {
        i += 1;
    }
    if !bytes.get(i..)?.starts_with(b"}}") {
        return None;
    }
    // All bytes up to here are ASCII, so these are char boundaries.
    Some((&s[name_start..name_end], i + 2))
}

/// Renders `template` into `out`, looking each referenced name up with `lookup`.
///
/// ```
/// use ax_protocol::template::render_into;
///
/// let mut out = String::new();
/// let mut missing = Vec::new();
/// let lookup = |name: &str| (name == "DB_HOST").then_some("db.internal");
/// render_into("{{ secrets.DB_HOST }}:{{secrets.DB_PORT}}", lookup, &mut out, &mut missing);
/// assert_eq!(out, "db.internal:{{secrets.DB_PORT}}");
/// assert_eq!(missing, ["DB_PORT"]);
/// ```
///
/// A reference whose name `lookup` does not know stays in the output exactly as written (so the
/// gap is visible rather than an empty credential), and its name is pushed to `missing` once, in
/// order of first appearance. `out` is appended to, not cleared: it may hold values, so the
/// caller decides where it lives and when it is wiped.
pub fn render_into<'t, 'v>(
    template: &'t str,
    lookup: impl FnMut(&str) -> Option<&'v str>,
    out: &mut String,
    missing: &mut Vec<&'t str>,
) {
    // No limit, so this cannot fail.
    let _ = render_bounded(template, lookup, out, missing, usize::MAX);
}

/// The rendered text would have grown past the caller's limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLong;

/// [`render_into`], stopping as soon as `out` would hold more than `max_len` bytes.
///
/// A short template can reference a 1 MiB value thousands of times, so the answer's size is
/// checked while it is produced, never after: `out` never grows past `max_len`, and the work
/// done is linear in the template plus at most `max_len` bytes copied. On [`TooLong`], `out`
/// holds a prefix of the rendering and `missing` the names missing so far; the caller discards
/// both.
///
/// ```
/// use ax_protocol::template::{TooLong, render_bounded};
///
/// let (mut out, mut missing) = (String::new(), Vec::new());
/// let lookup = |_: &str| Some("0123456789");
/// let result = render_bounded("{{secrets.A}}{{secrets.A}}", lookup, &mut out, &mut missing, 15);
/// assert_eq!(result, Err(TooLong));
/// assert!(out.len() <= 15);
/// ```
///
/// # Errors
///
/// [`TooLong`] when the whole rendering is longer than `max_len` bytes.
pub fn render_bounded<'t, 'v>(
    template: &'t str,
    mut lookup: impl FnMut(&str) -> Option<&'v str>,
    out: &mut String,
    missing: &mut Vec<&'t str>,
    max_len: usize,
) -> Result<(), TooLong> {
    let mut seen_missing = HashSet::new();
    let push = |out: &mut String, piece: &str| {
        if out.len().saturating_add(piece.len()) > max_len {
            return Err(TooLong);
        }
        out.push_str(piece);
        Ok(())
    };
    for segment in segments(template) {
        match segment {
            Segment::Text(text) => push(out, text)?,
            Segment::Reference { name, raw } => match lookup(name) {
                Some(value) => push(out, value)?,
                None => {
                    push(out, raw)?;
                    if seen_missing.insert(name) {
                        missing.push(name);
                    }
                }
            },
        }
    }
    Ok(())
}

/// Every name `template` references, each once, in order of first appearance.
///
/// A hash set keeps this linear: a template may hold tens of thousands of distinct references.
pub fn referenced_names(template: &str) -> Vec<&str> {
    let mut seen = HashSet::new();
    segments(template)
        .filter_map(|segment| match segment {
            Segment::Reference { name, .. } => Some(name),
            Segment::Text(_) => None,
        })
        .filter(|name| seen.insert(*name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(template: &str) -> Vec<Segment<'_>> {
        segments(template).collect()
    }

    fn render(template: &str) -> (String, Vec<&str>) {
        let mut out = String::new();
        let mut missing = Vec::new();
        let lookup = |name: &str| match name {
            "A" => Some("alpha"),
            "EMPTY" => Some(""),
            "LOOP" => Some("{{secrets.A}}"),
            _ => None,
        };
        render_into(template, lookup, &mut out, &mut missing);
        (out, missing)
    }

    #[test]
    fn finds_references_with_and_without_whitespace() {
        assert_eq!(
            parts("x{{secrets.A}}y{{ \t\r\nsecrets.B_2 \n}}"),
            [
                Segment::Text("x"),
                Segment::Reference {
                    name: "A",
                    raw: "{{secrets.A}}"
                },
                Segment::Text("y"),
                Segment::Reference {
                    name: "B_2",
                    raw: "{{ \t\r\nsecrets.B_2 \n}}"
                },
            ]
        );
    }

    #[test]
    fn leaves_near_misses_as_text() {
        for text in [
            "{{secret.A}}",
            "{{secrets.1A}}",
            "{{secrets.}}",
            "{{secrets.A",
            "{{secrets.A}",
            "{{ secrets . A }}",
            "{{secrets.A-B}}",
            "{ {secrets.A}}",
            "{{SECRETS.A}}",
            "{{secrets.Ä}}",
            "",
        ] {
            let expected: Vec<_> = if text.is_empty() {
                vec![]
            } else {
                vec![Segment::Text(text)]
            };
            assert_eq!(parts(text), expected, "{text:?}");
        }
        let long = format!("{{{{secrets.{}}}}}", "N".repeat(129));
        assert_eq!(parts(&long), [Segment::Text(&long)]);
        let max = format!("{{{{secrets.{}}}}}", "N".repeat(128));
        assert!(matches!(parts(&max)[..], [Segment::Reference { .. }]));
    }

    #[test]
    fn a_stray_brace_before_a_reference_stays_text() {
        assert_eq!(
            parts("{{{secrets.A}}}"),
            [
                Segment::Text("{"),
                Segment::Reference {
                    name: "A",
                    raw: "{{secrets.A}}"
                },
                Segment::Text("}"),
            ]
        );
    }

    #[test]
    fn renders_values_and_reports_missing_once() {
        let (out, missing) =
            render("k={{secrets.A}} e=[{{ secrets.EMPTY }}] m={{secrets.M}}{{secrets.M}}");
        assert_eq!(out, "k=alpha e=[] m={{secrets.M}}{{secrets.M}}");
        assert_eq!(missing, ["M"]);
    }

    #[test]
    fn does_not_expand_references_inside_values() {
        assert_eq!(render("{{secrets.LOOP}}").0, "{{secrets.A}}");
    }

    #[test]
    fn stops_rendering_at_the_limit() {
        let mut out = String::new();
        let mut missing = Vec::new();
        let lookup = |_: &str| Some("alpha");
        let template = "{{secrets.A}}".repeat(1000);
        assert_eq!(
            render_bounded(&template, lookup, &mut out, &mut missing, 4999),
            Err(TooLong)
        );
        assert!(out.len() <= 4999);
        out.clear();
        assert_eq!(
            render_bounded(&template, lookup, &mut out, &mut missing, 5000),
            Ok(())
        );
        assert_eq!(out.len(), 5000);
    }

    #[test]
    fn lists_each_referenced_name_once_in_order() {
        assert_eq!(
            referenced_names("{{secrets.B}}{{secrets.A}} {{ secrets.B }}{{secret.C}}"),
            ["B", "A"]
        );
    }

    #[test]
    fn keeps_unicode_text_intact() {
        assert_eq!(render("héllo {{secrets.A}} 🌍").0, "héllo alpha 🌍");
    }
}
