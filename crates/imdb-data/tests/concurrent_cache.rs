//! Two real processes loading the same uncached data into one cache directory at once: both
//! succeed with identical data, the cache ends up holding one good file and no temp file, and a
//! third load reads it.
//!
//! The processes are this test binary run again (`--exact child_loads_into_the_cache
//! --ignored`), so the test needs nothing but itself.

use imdb_data::{DataSource, ImdbLoader};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

/// The cache directory a child loads into; set only for the children.
const CHILD_CACHE: &str = "BURN_IMDB_TEST_CHILD_CACHE";

/// SHA-256 of everything a load returns that a training run reads.
fn digest(imdb: &imdb_data::Imdb) -> String {
    let mut h = Sha256::new();
    for split in [&imdb.train, &imdb.test] {
        for i in 0..split.len() {
            for t in split.tokens(i) {
                h.update(t.to_le_bytes());
            }
            h.update([split.labels()[i], 0xFF]);
        }
    }
    if let Some(index) = &imdb.word_index {
        h.update(index.to_json_bytes());
    }
    format!("{:x}", h.finalize())
}

/// The start signal both children wait for, so that their loads overlap.
fn go_file(cache: &Path) -> PathBuf {
    cache.with_extension("go")
}

/// The body of each child process of [`two_processes_fill_one_cache_at_once`]; not a test of
/// its own (ignored, and without its variable it has nothing to do).
#[test]
#[ignore = "a child process of two_processes_fill_one_cache_at_once"]
fn child_loads_into_the_cache() {
    let Some(cache) = std::env::var_os(CHILD_CACHE).map(PathBuf::from) else {
        return;
    };
    let started = Instant::now();
    while !go_file(&cache).exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no start signal"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let imdb = ImdbLoader::new(DataSource::Embedded)
        .cache_dir(&cache)
        .quiet(true)
        .load()
        .unwrap();
    println!(
        "loaded {} cache_hit {}",
        digest(&imdb),
        imdb.provenance.cache_hit
    );
}

fn child(cache: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_loads_into_the_cache",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_CACHE, cache)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The digest a child printed, and whether its load was a cache hit.
fn reported(out: &Output) -> (String, bool) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("loaded "))
        .unwrap_or_else(|| panic!("no result in {stdout}"));
    let (digest, hit) = line.split_once(" cache_hit ").unwrap();
    (digest.to_string(), hit == "true")
}

/// Two children loading into a fresh cache at once: their digests and whether each hit the cache.
fn race(cache: &Path) -> [(String, bool); 2] {
    let (a, b) = (child(cache), child(cache));
    std::fs::write(go_file(cache), b"go").unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    [reported(&a), reported(&b)]
}

#[test]
fn two_processes_fill_one_cache_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    // Both must miss the cache for the race to be tested: a child that starts late (a loaded
    // machine) reads the other's file instead, which is right but proves nothing, so try again.
    let mut tries = 0;
    let (cache, digest_a) = loop {
        tries += 1;
        let cache = tmp.path().join(format!("cache-{tries}"));
        let [(digest_a, hit_a), (digest_b, hit_b)] = race(&cache);
        assert_eq!(
            digest_a, digest_b,
            "the two processes loaded different data"
        );
        if !hit_a && !hit_b {
            break (cache, digest_a);
        }
        assert!(tries < 5, "in {tries} tries the two loads never overlapped");
    };

    // One cache file, no temp file beside it, and it holds the same data.
    let names = common::files_under(&cache.join("encoded"));
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(
        names[0].starts_with("imdb-") && names[0].ends_with(".npz"),
        "{names:?}"
    );
    let third = ImdbLoader::new(DataSource::Embedded)
        .cache_dir(&cache)
        .quiet(true)
        .load()
        .unwrap();
    assert!(third.provenance.cache_hit);
    assert_eq!(digest(&third), digest_a);
}
