//! Progress bars, one rule for all of them: drawn on stderr only when it is a terminal and the
//! caller is not quiet, so CI logs, pipes and `--quiet` runs get no control characters. Used by
//! the download and by `imdb-train`'s per-epoch bar.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// A bar of `len` steps (a spinner when `None`) drawn with indicatif's `template`, or a hidden
/// bar (which costs nothing, so callers never branch on it; [`ProgressBar::is_hidden`] tells).
///
/// # Panics
/// If `template` is not a valid indicatif template: templates are constants of this workspace.
pub fn bar(len: Option<u64>, template: &str, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(template)
        .expect("a valid indicatif template")
        .progress_chars("=> ");
    ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr()).with_style(style)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_bars_are_hidden() {
        assert!(bar(Some(10), "{bar}", true).is_hidden());
        // The test harness captures stderr, so it is not a terminal either.
        if !std::io::stderr().is_terminal() {
            assert!(bar(None, "{spinner}", false).is_hidden());
        }
    }
}
