//! The page in a real browser: headless Chromium loads `/?review=…`, runs the page's script
//! (under its Content-Security-Policy) and the rendered DOM must show the classifier's verdict
//! and every word tinted with the sign of its effect.
//!
//! Without Chromium the test prints `SKIPPED: …` and passes, unless `BURN_IMDB_REQUIRE_BROWSER=1`
//! (CI sets it, after installing Debian's `chromium`).

use crate::support::*;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The browser: `$BURN_IMDB_CHROMIUM`, else the first of the usual names on `PATH`.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("BURN_IMDB_CHROMIUM") {
        return Some(path.into());
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
    .find(|p| p.is_file())
}

/// The DOM of `url` once its script has run and its requests have been answered.
fn dump_dom(browser: &Path, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            // Without these Chromium phones home, and a closed network refuses it.
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Waits for the page's fetches and timers (virtual time stands still meanwhile).
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", browser.display()));
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish within 120 s: {}",
                err.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let dom = out.join().unwrap().unwrap();
    assert!(
        status.success() && dom.contains("</html>"),
        "chromium: {status}\n{}",
        err.join().unwrap()
    );
    dom
}

/// A tinted word as rendered: its attributes and its text.
#[derive(Debug)]
struct Token {
    term: String,
    sign: String,
    text: String,
}

/// The `<span class="tok …">` elements of the review, in order.
fn tokens(dom: &str) -> Vec<Token> {
    let text = dom
        .split(r#"<p id="text""#)
        .nth(1)
        .expect("the review's paragraph");
    let text = &text[..text.find("</p>").unwrap()];
    text.split("<span ")
        .skip(1)
        .map(|span| {
            let (tag, rest) = span.split_once('>').unwrap();
            Token {
                term: attribute(tag, "data-term"),
                sign: attribute(tag, "data-sign"),
                text: unescape(&rest[..rest.find("</span>").unwrap()]),
            }
        })
        .collect()
}

fn attribute(tag: &str, name: &str) -> String {
    let tag = format!(" {tag}");
    let key = format!(" {name}=\"");
    let start = tag
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in <span{tag}>"))
        + key.len();
    unescape(&tag[start..start + tag[start..].find('"').unwrap()])
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

#[test]
fn a_linked_review_is_rendered_with_its_verdict_and_tinted_words() {
    let Some(browser) = chromium() else {
        if std::env::var("BURN_IMDB_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
            panic!(
                "BURN_IMDB_REQUIRE_BROWSER=1 but no Chromium found (install Debian's `chromium`)"
            );
        }
        // Straight to stderr: the test harness captures `println!` of a passing test.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"SKIPPED: no Chromium on PATH (chromium, chromium-browser, google-chrome); set BURN_IMDB_CHROMIUM or install Debian's `chromium`\n",
        );
        return;
    };
    for (review, label) in [(POSITIVE, "positive"), (NEGATIVE, "negative")] {
        let explanation = &classifier().explain(&[review])[0];
        assert_eq!(explanation.prediction.label.to_string(), label);
        let words: Vec<_> = explanation.terms.iter().filter(|t| t.words == 1).collect();
        // `#live`: the page classifies the review again through the API, as typing does.
        for (fragment, source) in [("", "link"), ("#live", "api")] {
            let url = format!(
                "http://{}/?review={}{fragment}",
                server(),
                percent_encode(review)
            );
            let dom = dump_dom(&browser, &url);
            let context = format!("{label} review, {source}");
            assert!(
                dom.contains(&format!(r#"data-source="{source}""#)),
                "{context}: {dom}"
            );
            assert!(
                dom.contains(&format!(r#"<p id="verdict" data-label="{label}">"#)),
                "{context}: {dom}"
            );
            let tokens = tokens(&dom);
            assert_eq!(tokens.len(), words.len(), "{context}: {tokens:?}");
            for (token, word) in tokens.iter().zip(&words) {
                assert_eq!(token.term, word.term, "{context}");
                assert_eq!(token.text, &review[word.start..word.end], "{context}");
                let sign = match word.effect {
                    Some(e) if e > 0.0 => "positive",
                    Some(e) if e < 0.0 => "negative",
                    _ => "none",
                };
                assert_eq!(token.sign, sign, "{context}: {token:?}");
            }
            // The word that weighs most is tinted towards the verdict.
            let strongest = &explanation.prediction.top_words[0];
            let token = tokens.iter().find(|t| t.term == strongest.word).unwrap();
            assert_eq!(token.sign, label, "{context}: {strongest:?}");
        }
    }
}
