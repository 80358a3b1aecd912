//! Helpers for the integration tests that run the example binaries as real processes.
// Each test file uses its own part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The example binary `name` (built by `cargo test` next to the test binaries).
pub fn example_exe(name: &str) -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let exe = deps
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        exe.is_file(),
        "{} missing: run `cargo test` (which builds the examples)",
        exe.display()
    );
    exe
}

/// Starts `first`, waits until it holds `out/.lock`, then runs `second` on the same directory:
/// the second must fail at once, naming `out` and the first's process, while the first is still
/// running; the first must then finish successfully.
pub fn a_second_process_is_refused(mut first: Command, mut second: Command, out: &Path) {
    let mut first = first
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lock = out.join(".lock");
    wait_while_running(&mut first, Duration::from_secs(60), "its lock", || {
        std::fs::read_to_string(&lock).is_ok_and(|s| s.starts_with("process"))
    });
    let second = second
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let still_running = first.try_wait().unwrap().is_none();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "the second process must fail");
    assert!(stderr.contains("in use by another run"), "{stderr}");
    assert!(
        stderr.contains(&format!("process {}", first.id())),
        "{stderr}"
    );
    assert!(stderr.contains(&out.display().to_string()), "{stderr}");
    assert!(
        still_running,
        "the first process was still going when the second gave up"
    );
    assert!(first.wait().unwrap().success());
}

/// Polls `ready` until it holds while `child` runs; fails the test if `child` ends first or
/// `limit` passes, naming `what` it was waiting for.
pub fn wait_while_running(
    child: &mut Child,
    limit: Duration,
    what: &str,
    ready: impl Fn() -> bool,
) {
    let started = Instant::now();
    while !ready() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the process ended before {what}"
        );
        assert!(started.elapsed() < limit, "no {what} after {limit:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

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
