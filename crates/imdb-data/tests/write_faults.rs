//! Faults while writing: a write that fails part-way (the file-size limit, which fails a write as
//! a full disk does) or cannot start (a read-only directory) leaves the previous file in place or
//! nothing, no temp file beside it, and an error naming the path.
//!
//! Each fault is made in a child process (this test binary run again), so that the limit or the
//! lost privilege applies to it alone:
//! - `RLIMIT_FSIZE` from `sh -c 'ulimit -f'`, with SIGXFSZ ignored (`trap '' XFSZ`, which `exec`
//!   keeps), so that a write past the limit returns `EFBIG` instead of killing the process;
//! - a directory of mode 0555; run as root (as CI is), the child first drops `CAP_DAC_OVERRIDE`,
//!   without which root is held to file modes too.
#![cfg(target_os = "linux")]

use imdb_data::{DataSource, ImdbLoader};
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

/// What the child does, and in which directory; set only for the children.
const CHILD_ACTION: &str = "BURN_IMDB_TEST_FAULT";
const CHILD_DIR: &str = "BURN_IMDB_TEST_FAULT_DIR";

/// 1 MiB, far past the children's 64-block file-size limit (32 or 64 KiB: `ulimit -f` counts
/// 512-byte blocks in dash, 1024-byte ones in bash).
const BIG: usize = 1 << 20;

/// The body of each child process; not a test of its own (ignored, and without its variables
/// it has nothing to do). Prints `ok` or `error: ...` for the parent to check.
#[test]
#[ignore = "a child process of the tests below"]
fn child_writes() {
    let (Some(action), Some(dir)) = (
        std::env::var(CHILD_ACTION).ok(),
        std::env::var_os(CHILD_DIR).map(PathBuf::from),
    ) else {
        return;
    };
    let outcome = match action.as_str() {
        "atomic-write" => imdb_data::atomic::write(&dir.join("file.bin"), &vec![0xAB; BIG])
            .map_err(|e| format!("{}: {e}", dir.join("file.bin").display())),
        "read-only-write" => {
            drop_dac_override();
            imdb_data::atomic::write(&dir.join("file.bin"), b"new")
                .map_err(|e| format!("{}: {e}", dir.join("file.bin").display()))
        }
        "cache" => ImdbLoader::new(DataSource::Embedded)
            .cache_dir(dir.join("cache"))
            .quiet(true)
            .load()
            .map(drop)
            .map_err(|e| e.to_string()),
        other => panic!("unknown action {other}"),
    };
    match outcome {
        Ok(()) => println!("outcome: ok"),
        Err(e) => println!("outcome: error: {e}"),
    }
}

/// Root passes every permission check through `CAP_DAC_OVERRIDE` (and `CAP_DAC_READ_SEARCH`,
/// `CAP_FOWNER`); without them it is held to file modes like anyone. Capabilities belong to a
/// thread, and this thread does the write.
fn drop_dac_override() {
    use rustix::thread::{CapabilitySet, capabilities, set_capabilities};
    let mut sets = capabilities(None).unwrap();
    let dac = CapabilitySet::DAC_OVERRIDE | CapabilitySet::DAC_READ_SEARCH | CapabilitySet::FOWNER;
    sets.effective -= dac;
    sets.permitted -= dac;
    set_capabilities(None, sets).unwrap();
}

/// Runs [`child_writes`] for `action` in `dir`, under a file-size limit when `limit_size`, and
/// returns what it printed after `outcome: `.
fn run_child(action: &str, dir: &Path, limit_size: bool) -> String {
    let exe = std::env::current_exe().unwrap();
    let limit = if limit_size { "ulimit -f 64; " } else { "" };
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("trap '' XFSZ; {limit}exec \"$0\" \"$@\""))
        .arg(exe)
        .args(["--exact", "child_writes", "--ignored", "--nocapture"])
        .env(CHILD_ACTION, action)
        .env(CHILD_DIR, dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child {action} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("outcome: "))
        .unwrap_or_else(|| panic!("child {action} said nothing: {stdout}"))
        .to_string()
}

#[test]
fn a_write_cut_short_by_the_size_limit_keeps_the_previous_file() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("file.bin"), b"good").unwrap();
    let outcome = run_child("atomic-write", tmp.path(), true);
    assert!(outcome.starts_with("error: "), "{outcome}");
    assert!(outcome.contains("file.bin"), "{outcome}");
    assert!(outcome.contains("File too large"), "{outcome}");
    assert_eq!(std::fs::read(tmp.path().join("file.bin")).unwrap(), b"good");
    assert_eq!(
        common::files_under(tmp.path()),
        ["file.bin"],
        "a temp file was left"
    );
    // The same child without the limit writes it: the limit, not the test, made it fail.
    assert_eq!(run_child("atomic-write", tmp.path(), false), "ok");
    assert_eq!(
        std::fs::read(tmp.path().join("file.bin")).unwrap().len(),
        BIG
    );
}

#[test]
fn a_read_only_directory_keeps_the_previous_file() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("read-only");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("file.bin"), b"good").unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let outcome = run_child("read-only-write", &dir, false);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(outcome.starts_with("error: "), "{outcome}");
    assert!(outcome.contains("file.bin"), "{outcome}");
    assert!(outcome.contains("Permission denied"), "{outcome}");
    assert_eq!(std::fs::read(dir.join("file.bin")).unwrap(), b"good");
    assert_eq!(common::files_under(&dir), ["file.bin"]);
}

/// The encoded cache (a few MB for the sample) cut short: the load fails naming the cache file,
/// and no cache file or temp file is left for a later run to trust.
#[test]
fn a_cache_write_cut_short_leaves_no_cache_file() {
    let tmp = tempfile::tempdir().unwrap();
    let outcome = run_child("cache", tmp.path(), true);
    assert!(outcome.starts_with("error: "), "{outcome}");
    assert!(outcome.contains("File too large"), "{outcome}");
    assert!(outcome.contains("/cache/encoded/imdb-"), "{outcome}");
    assert!(!outcome.contains(".part"), "names the temp file: {outcome}");
    assert_eq!(common::files_under(tmp.path()), Vec::<String>::new());
    // Without the limit the same load writes the cache, and the next load reads it.
    assert_eq!(run_child("cache", tmp.path(), false), "ok");
    assert_eq!(common::files_under(&tmp.path().join("cache")).len(), 1);
}
