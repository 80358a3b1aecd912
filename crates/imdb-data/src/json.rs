//! Reading a user's JSON file strictly: every key must mean something.
//!
//! serde ignores keys a type does not have, so a misspelt `"dropuot": 0.5` in a config would
//! load, train for the default and exit 0 while its author believes dropout was on. [`from_slice`]
//! refuses any key the type does not read, naming the file, the key's full path and the closest
//! known key; a value of the wrong type is refused naming its path too. Optional keys may still
//! be left out (a file written before a field existed loads), which is what keeps old files
//! readable.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;

use crate::error::{DataError, Result};

/// Parses `bytes` (the content of `file`) as a `T`, refusing unknown keys.
///
/// # Errors
/// [`DataError::MalformedJson`] naming `file` for bytes that are not JSON or not a `T` (with the
/// path of the offending value and its line and column); [`DataError::UnknownField`] naming
/// `file`, the unknown key's dotted path and the closest key `T` has there.
pub fn from_slice<T: DeserializeOwned + Serialize>(bytes: &[u8], file: &Path) -> Result<T> {
    let malformed = |message: String| DataError::MalformedJson {
        path: file.to_owned(),
        message,
    };
    // First the types, with the path of a bad value (`model.dropout: invalid type: ...`).
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut reader).map_err(|e| {
        let at = e.path().to_string();
        let inner = e.into_inner();
        match at.as_str() {
            "." | "" => malformed(inner.to_string()),
            _ => malformed(format!("{at}: {inner}")),
        }
    })?;
    reader.end().map_err(|e| malformed(e.to_string()))?;
    // Then every key the type did not read.
    let tree: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    let mut unknown = Vec::new();
    let _: T = serde_ignored::deserialize(&tree, |path| unknown.push(path.to_string()))
        .map_err(|e| malformed(e.to_string()))?;
    let Some(field) = unknown.into_iter().next() else {
        return Ok(value);
    };
    let field = name_variants(&tree, &field);
    // The keys the type has there: those of the value read back, at the same place.
    let known = serde_json::to_value(&value)
        .ok()
        .and_then(|read| keys_at(&read, &field))
        .unwrap_or_default();
    let name = field.rsplit('.').next().unwrap_or(&field);
    Err(DataError::UnknownField {
        path: file.to_owned(),
        suggestion: closest(name, &known),
        field,
        known,
    })
}

/// `path` with each `?` (serde_ignored's name for an enum variant's level) replaced by the
/// variant's name as the file spells it: the one key of the object at that level.
fn name_variants(tree: &serde_json::Value, path: &str) -> String {
    let mut node = Some(tree);
    let mut named = Vec::new();
    for part in path.split('.') {
        let part = match (part, node) {
            ("?", Some(serde_json::Value::Object(map))) if map.len() == 1 => {
                map.keys().next().expect("one key").clone()
            }
            (part, _) => part.to_owned(),
        };
        node = node.and_then(|n| match n {
            serde_json::Value::Object(map) => map.get(&part),
            serde_json::Value::Array(items) => items.get(part.parse::<usize>().ok()?),
            _ => None,
        });
        named.push(part);
    }
    named.join(".")
}

/// The keys of the object that holds the key at the dotted `path`, if it is one.
fn keys_at(tree: &serde_json::Value, path: &str) -> Option<Vec<String>> {
    let mut node = tree;
    let mut parts: Vec<&str> = path.split('.').collect();
    parts.pop();
    for part in parts {
        node = match node {
            serde_json::Value::Object(map) => map.get(part)?,
            serde_json::Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match node {
        serde_json::Value::Object(map) => Some(map.keys().cloned().collect()),
        _ => None,
    }
}

/// The key of `known` closest to `name` by edit distance, if it is close enough to be a typo
/// of it (at most a third of its letters, and at least 2, differ).
fn closest(name: &str, known: &[String]) -> Option<String> {
    let name = name.to_lowercase();
    let limit = (name.chars().count() / 3).max(2);
    known
        .iter()
        .map(|k| (edit_distance(&name, &k.to_lowercase()), k))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, k)| k.clone())
}

/// Levenshtein distance, counting a swap of two neighbours as one edit (optimal string alignment),
/// since swapped letters are the commonest typo (`dropuot`).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Outer {
        name: String,
        #[serde(default)]
        inner: Inner,
        #[serde(default)]
        kind: Option<Kind>,
    }

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    struct Inner {
        dropout: Option<f64>,
        #[serde(default)]
        hidden: Vec<usize>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        NbLogCountRatio { alpha: f64 },
    }

    fn parse(json: &str) -> Result<Outer> {
        from_slice(json.as_bytes(), Path::new("exp.json"))
    }

    #[test]
    fn known_keys_load_and_missing_optional_ones_default() {
        let ok = parse(r#"{"name": "a", "inner": {"dropout": 0.5}}"#).unwrap();
        assert_eq!(ok.inner.dropout, Some(0.5));
        assert_eq!(parse(r#"{"name": "a"}"#).unwrap().inner, Inner::default());
    }

    #[test]
    fn an_unknown_key_is_named_with_its_path_and_the_closest_known_key() {
        for (json, field, suggestion) in [
            (
                r#"{"name": "a", "inner": {"dropuot": 0.5}}"#,
                "inner.dropuot",
                Some("dropout"),
            ),
            (r#"{"nmae": "a", "name": "a"}"#, "nmae", Some("name")),
            (
                r#"{"name": "a", "kind": {"nb_log_count_ratio": {"alpha": 1, "alpah": 2}}}"#,
                "kind.nb_log_count_ratio.alpah",
                Some("alpha"),
            ),
            (r#"{"name": "a", "learning": 1}"#, "learning", None),
        ] {
            match parse(json) {
                Err(DataError::UnknownField {
                    path,
                    field: f,
                    suggestion: s,
                    ..
                }) => {
                    assert_eq!(path, Path::new("exp.json"));
                    assert_eq!((f.as_str(), s.as_deref()), (field, suggestion), "{json}");
                }
                other => panic!("{json}: {other:?}"),
            }
        }
        let err = parse(r#"{"name": "a", "inner": {"dropuot": 0.5}}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "exp.json: unknown field `inner.dropuot`; did you mean `dropout`?"
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named_by_its_path() {
        let err = parse(r#"{"name": "a", "inner": {"hidden": [16, "x"]}}"#).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, DataError::MalformedJson { .. }), "{text}");
        assert!(text.contains("inner.hidden[1]"), "{text}");
        assert!(parse("{\"name\": ").is_err());
        assert!(parse(r#"{"name": "a"} trailing"#).is_err());
    }

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        assert_eq!(edit_distance("dropuot", "dropout"), 1);
        assert_eq!(edit_distance("epcohs", "epochs"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
