//! Text output: aligned columns for listings, `key: value` lines for one object. Times (unix
//! seconds in the API) are shown as UTC RFC 3339. `--json` bypasses all of this.

use serde_json::Value;

/// A cell of a JSON field: strings bare, `null`/absent as `-`, times formatted when `time`.
pub(super) fn cell(v: Option<&Value>, time: bool) -> String {
    match v {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if time => n.as_i64().map_or_else(|| n.to_string(), utc),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| cell(Some(x), false))
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    }
}

/// Prints rows under headers, columns padded to their widest cell.
pub(super) fn print(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  "));
            }
        }
        println!("{}", out.trim_end());
    };
    line(headers.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        line(row.clone());
    }
}

/// Rows of `items` (an array of objects): one column per `(header, field, is_time)`.
pub(super) fn print_list(items: Option<&Value>, columns: &[(&str, &str, bool)]) {
    let rows: Vec<Vec<String>> = items
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|item| {
                    columns
                        .iter()
                        .map(|(_, f, t)| cell(item.get(*f), *t))
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default();
    let headers: Vec<&str> = columns.iter().map(|(h, _, _)| *h).collect();
    print(&headers, &rows);
}

/// `field: value` lines of one object, in the given order.
pub(super) fn print_object(obj: &Value, fields: &[(&str, bool)]) {
    for (f, t) in fields {
        println!("{f}: {}", cell(obj.get(*f), *t));
    }
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (the civil-from-days algorithm, proleptic Gregorian).
pub(super) fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn unix_seconds_are_shown_as_utc() {
        assert_eq!(super::utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::utc(1_795_305_600), "2026-11-22T00:00:00Z");
        assert_eq!(super::utc(951_782_400), "2000-02-29T00:00:00Z");
    }
}
