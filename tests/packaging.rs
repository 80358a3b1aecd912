//! What a crates.io and docs.rs user sees of each library crate, checked from the manifests so
//! that it cannot drift: the metadata is there, each README is the crate's front page (and so
//! its example is a doctest), every cargo feature is documented where docs.rs renders it, the
//! licence files ship with the crate, and nothing a crate compiles in lies outside it.
//!
//! `cargo package --workspace` (in `.ci/run`) then checks that each crate builds from what it
//! ships.

use std::path::{Path, PathBuf};

const CRATES: [&str; 7] = [
    "imdb-sample",
    "imdb-data",
    "imdb-model",
    "imdb-bundle",
    "imdb-predict",
    "imdb-train",
    "imdb-study",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `key = value` lines of one `[table]` of a manifest (enough for our own manifests: keys and
/// values on one line, arrays included, except where noted).
fn table(manifest: &str, name: &str) -> Vec<(String, String)> {
    let header = format!("[{name}]");
    manifest
        .lines()
        .skip_while(|l| l.trim() != header)
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

fn value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key || k == &format!("{key}.workspace"))
        .map(|(_, v)| v.as_str())
}

#[test]
fn every_library_crate_has_the_metadata_a_registry_user_expects() {
    let workspace = read(&root().join("Cargo.toml"));
    assert!(
        !workspace.contains("example.invalid"),
        "a placeholder repository URL"
    );
    for name in CRATES {
        let dir = root().join("crates").join(name);
        let manifest = read(&dir.join("Cargo.toml"));
        let package = table(&manifest, "package");
        for key in ["description", "readme", "keywords", "categories"] {
            assert!(value(&package, key).is_some(), "{name}: no `{key}`");
        }
        assert!(
            value(&package, "license").is_some() || value(&package, "license-file").is_some(),
            "{name}: no licence"
        );
        assert_eq!(value(&package, "readme"), Some("\"README.md\""), "{name}");
        let keywords = value(&package, "keywords").unwrap();
        assert!(
            keywords.matches('"').count() / 2 <= 5,
            "{name}: over 5 keywords"
        );
        assert!(
            manifest.contains("[lints]\nworkspace = true"),
            "{name}: workspace lints"
        );
        let readme = read(&dir.join("README.md"));
        assert!(
            readme.starts_with(&format!("# {name}\n")),
            "{name}: README title"
        );
        assert!(
            readme.contains("```rust\n"),
            "{name}: README has no example"
        );
        let lib = read(&dir.join("src/lib.rs"));
        assert!(
            lib.starts_with("#![doc = include_str!(\"../README.md\")]"),
            "{name}: the README is not the crate's front page (nor its example a doctest)"
        );
        for licence in ["LICENSE-MIT", "LICENSE-APACHE"] {
            assert!(dir.join(licence).is_file(), "{name}: no {licence}");
        }
    }
    for licence in ["LICENSE-MIT", "LICENSE-APACHE", "CHANGELOG.md"] {
        assert!(root().join(licence).is_file(), "no {licence} at the root");
    }
}

/// Each feature is named in the table docs.rs renders: the crate README's (its front page), or
/// for the root package the crate docs.
#[test]
fn every_feature_is_documented_where_docs_rs_renders_it() {
    let mut manifests: Vec<(PathBuf, PathBuf)> = CRATES
        .iter()
        .map(|name| {
            let dir = root().join("crates").join(name);
            (dir.join("Cargo.toml"), dir.join("README.md"))
        })
        .collect();
    manifests.push((root().join("Cargo.toml"), root().join("src/lib.rs")));
    for (manifest, docs) in manifests {
        let features = table(&read(&manifest), "features");
        let docs = read(&docs);
        for (feature, _) in features.iter().filter(|(f, _)| f != "default") {
            assert!(
                docs.contains(&format!("| `{feature}` |")),
                "{}: feature `{feature}` is not in the features table of its docs",
                manifest.display()
            );
        }
    }
}

/// Files compiled in (`include_bytes!`, `include_str!`) live inside the crate that includes
/// them, so the published crate has them.
#[test]
fn nothing_is_compiled_in_from_outside_its_crate() {
    for name in CRATES {
        let src = root().join("crates").join(name).join("src");
        let mut stack = vec![src];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = read(&path);
                for (i, line) in text.lines().enumerate() {
                    let code = line.trim_start();
                    if code.starts_with("//") {
                        continue;
                    }
                    for call in ["include_bytes!(\"", "include_str!(\""] {
                        if let Some(at) = code.find(call) {
                            let arg = &code[at + call.len()..];
                            let arg = &arg[..arg.find('"').unwrap()];
                            let target = path.parent().unwrap().join(arg);
                            let target = target.canonicalize().unwrap_or_else(|e| {
                                panic!("{}:{}: {arg}: {e}", path.display(), i + 1)
                            });
                            let krate = root().join("crates").join(name).canonicalize().unwrap();
                            assert!(
                                target.starts_with(&krate),
                                "{}:{}: {arg} is outside {name}",
                                path.display(),
                                i + 1
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn the_embedded_data_and_font_carry_their_own_terms() {
    let sample = read(&root().join("crates/imdb-sample/Cargo.toml"));
    assert!(sample.contains("license-file = \"LICENSE\""));
    let terms = read(&root().join("crates/imdb-sample/LICENSE"));
    assert!(terms.contains("NOT under MIT or Apache-2.0") && terms.contains("research"));
    let readme = read(&root().join("crates/imdb-sample/README.md"));
    assert!(readme.contains("for research use"));
    let train = read(&root().join("crates/imdb-train/Cargo.toml"));
    assert!(train.contains("license = \"(MIT OR Apache-2.0) AND Bitstream-Vera\""));
    let font_licence = read(&root().join("crates/imdb-train/assets/DejaVu-LICENSE.txt"));
    assert!(font_licence.contains("Bitstream Vera"));
}
