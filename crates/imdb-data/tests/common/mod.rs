//! Helpers shared by imdb-data's integration tests.
// Each test file uses its own part of this module.
#![allow(dead_code)]

use std::path::Path;

/// Every file under `dir`, as paths relative to it, sorted: what a writer left behind.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}
