//! The page: one static HTML file with its style and script inline (no other resource, so it
//! works offline), and the state it starts from, written into it by the server.

use crate::app::{LIMITS, Limits, ModelInfo, ReviewResult, TOP_WORDS};
use crate::http::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use sha2::{Digest, Sha256};

const TEMPLATE: &str = include_str!("page.html");
/// Where the template takes the initial state, inside a `<script type="application/json">`.
const PLACEHOLDER: &str = "__INITIAL_STATE__";

/// The template, split around its placeholder, and its Content-Security-Policy.
#[derive(Debug)]
pub(crate) struct Page {
    before: &'static str,
    after: &'static str,
    csp: String,
}

/// What the page's script starts from: the model, and for a `/?review=` link the review with
/// its result (or why there is none), so the link shows the classified review at once.
#[derive(Serialize)]
struct State<'a> {
    model: &'a ModelInfo,
    top_words: usize,
    limits: Limits,
    review: Option<&'a str>,
    result: Option<ReviewResult<'a>>,
    error: Option<&'a str>,
}

impl Page {
    pub fn new() -> Self {
        let (before, after) = TEMPLATE
            .split_once(PLACEHOLDER)
            .expect("page.html holds the placeholder");
        assert!(!after.contains(PLACEHOLDER), "one placeholder in page.html");
        // Only the page's own script and style may run: a review is text, never markup, and
        // this keeps it so even if a bug let some through.
        let csp = format!(
            "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; \
             img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            inline_hash(TEMPLATE, "script"),
            inline_hash(TEMPLATE, "style"),
        );
        Self { before, after, csp }
    }

    /// The page with `review` and its `result` (or the `error` refusing it) already in place.
    pub fn render(
        &self,
        status: u16,
        model: &ModelInfo,
        review: Option<&str>,
        result: Option<ReviewResult<'_>>,
        error: Option<&str>,
    ) -> Response {
        let state = State {
            model,
            top_words: TOP_WORDS,
            limits: LIMITS,
            review,
            result,
            error,
        };
        let json = serde_json::to_string(&state).expect("the state serializes");
        // Inside a script element, `</script>` or `<!--` in a review would end or change it.
        // JSON has `<` only inside strings, where `\u003c` means the same character.
        let json = json.replace('<', "\\u003c");
        let mut html = String::with_capacity(self.before.len() + json.len() + self.after.len());
        html.push_str(self.before);
        html.push_str(&json);
        html.push_str(self.after);
        Response::html(status, html).with_header("Content-Security-Policy", self.csp.clone())
    }
}

/// The CSP source `'sha256-…'` of the first `<tag>` element (without attributes) of `html`.
fn inline_hash(html: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = html.find(&open).expect("the page has the element") + open.len();
    let len = html[start..]
        .find(&format!("</{tag}>"))
        .expect("the element is closed");
    let digest = Sha256::digest(&html.as_bytes()[start..start + len]);
    format!("'sha256-{}'", BASE64.encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_has_one_script_one_style_and_nothing_from_outside() {
        for tag in ["<script>", "<style>"] {
            assert_eq!(TEMPLATE.matches(tag).count(), 1, "{tag}");
        }
        for outside in ["http://", "https://", "src=", "@import", "url("] {
            assert!(!TEMPLATE.contains(outside), "{outside}");
        }
        // The policy allows the one style element by its hash, not style attributes.
        assert!(!TEMPLATE.contains(" style="));
        let page = Page::new();
        assert!(
            page.csp
                .starts_with("default-src 'none'; script-src 'sha256-")
        );
    }
}
