//! Turning review text into word tokens.
//!
//! The rule, applied identically to training data and to new text at prediction time:
//! 1. HTML tags are removed: a `<` followed by a letter or `/`, up to the next `>` (at most 64 bytes
//!    later). The reviews hold `<br />` line breaks and the odd `<i>`; neither is a word.
//! 2. Text is lower-cased (Unicode-aware).
//! 3. A word is a maximal run of alphanumeric characters. An apostrophe (`'` or `’`) between two
//!    alphanumeric characters stays inside the word (`don't`, `director's`); every other character,
//!    punctuation included, separates words.

use std::ops::Range;

/// Longest tag we strip, so a stray `<` in prose cannot swallow a whole review.
const MAX_TAG_BYTES: usize = 64;

/// Calls `f` with each token of `text`, in order, following the module's rule.
///
/// Tokens borrow from an internal lower-cased copy, so no allocation is made per token.
pub fn for_each_token(text: &str, mut f: impl FnMut(&str)) {
    let clean = lowercase_without_tags(text);
    scan_tokens(&clean, |s, e| f(&clean[s..e]));
}

/// Calls `f` with each token of `text` and the byte range of `text` it was read from, in
/// order: exactly the tokens of [`for_each_token`], each with its place in the original text,
/// so that a caller can mark it there.
///
/// The range covers the original characters the token was lower-cased from, so it may differ
/// from the token in case and in length (`"DON'T"` is `don't` at `0..5`). Where lower-casing
/// turns one character into several and a token ends between them (`"İ"` is `i` plus a
/// combining dot, which is not alphanumeric), the range covers that whole character.
///
/// ```
/// use imdb_data::tokenize::for_each_token_span;
/// let text = "<i>Great</i> FILM!";
/// let mut spans = Vec::new();
/// for_each_token_span(text, |token, range| spans.push((token.to_owned(), &text[range])));
/// assert_eq!(spans, [("great".to_owned(), "Great"), ("film".to_owned(), "FILM")]);
/// ```
pub fn for_each_token_span(text: &str, mut f: impl FnMut(&str, Range<usize>)) {
    let clean = lowercase_without_tags(text);
    let origin = clean_origins(text);
    debug_assert_eq!(origin.len(), clean.len());
    scan_tokens(&clean, |s, e| {
        f(&clean[s..e], origin[s].start..origin[e - 1].end);
    });
}

/// Calls `f(start, end)` with the byte range of each token of the lower-cased, tag-free `clean`.
fn scan_tokens(clean: &str, mut f: impl FnMut(usize, usize)) {
    let mut chars = clean.char_indices().peekable();
    let mut start: Option<usize> = None;
    while let Some((i, c)) = chars.next() {
        if c.is_alphanumeric() {
            start.get_or_insert(i);
            continue;
        }
        let is_apostrophe = c == '\'' || c == '\u{2019}';
        let next_is_alnum = chars.peek().is_some_and(|&(_, n)| n.is_alphanumeric());
        if is_apostrophe && start.is_some() && next_is_alnum {
            continue;
        }
        if let Some(s) = start.take() {
            f(s, i);
        }
    }
    if let Some(s) = start {
        f(s, clean.len());
    }
}

/// The tokens of `text` as owned strings; see the module docs for the rule.
///
/// ```
/// use imdb_data::tokenize::tokenize;
/// assert_eq!(
///     tokenize("Don't miss it!<br /><br />A <i>10/10</i> film."),
///     ["don't", "miss", "it", "a", "10", "10", "film"]
/// );
/// ```
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_token(text, |t| out.push(t.to_owned()));
    out
}

fn lowercase_without_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    split_tags(text, |piece| match piece {
        Piece::Text(range) => out.push_str(&text[range]),
        Piece::Tag(_) => out.push(' '),
    });
    if out.is_ascii() {
        out.make_ascii_lowercase();
        out
    } else {
        out.to_lowercase()
    }
}

/// For each byte of `lowercase_without_tags(text)`, the range of `text` it comes from: the
/// character it was lower-cased from, or the tag a space replaced.
fn clean_origins(text: &str) -> Vec<Range<usize>> {
    let mut origin = Vec::with_capacity(text.len());
    split_tags(text, |piece| match piece {
        Piece::Text(range) => {
            for (i, c) in text[range.clone()].char_indices() {
                let at = range.start + i;
                // `str::to_lowercase` lower-cases character by character, except that a
                // capital sigma becomes σ or ς by context: both are two bytes, as σ is.
                let lower: usize = c.to_lowercase().map(char::len_utf8).sum();
                origin.extend(std::iter::repeat_n(at..at + c.len_utf8(), lower));
            }
        }
        Piece::Tag(range) => origin.push(range),
    });
    origin
}

/// A stretch of review text: words and punctuation, or an HTML tag.
enum Piece {
    Text(Range<usize>),
    Tag(Range<usize>),
}

/// Calls `f` with the consecutive pieces of `text`, each a byte range, tags as the module's rule
/// defines them.
fn split_tags(text: &str, mut f: impl FnMut(Piece)) {
    let mut rest = 0;
    while let Some(lt) = text[rest..].find('<').map(|i| rest + i) {
        let after = &text[lt + 1..];
        let starts_tag = after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '/');
        // Search bytes: a 64-byte window may end inside a multi-byte character; '>' is ASCII.
        let window = &after.as_bytes()[..after.len().min(MAX_TAG_BYTES)];
        let close = window.iter().position(|&b| b == b'>');
        match close {
            Some(gt) if starts_tag => {
                f(Piece::Text(rest..lt));
                rest = lt + 1 + gt + 1;
                f(Piece::Tag(lt..rest));
            }
            _ => {
                f(Piece::Text(rest..lt + 1));
                rest = lt + 1;
            }
        }
    }
    f(Piece::Text(rest..text.len()));
}

#[cfg(test)]
mod tests {
    use super::{for_each_token_span, tokenize};
    use std::ops::Range;

    fn spans(text: &str) -> Vec<(String, Range<usize>)> {
        let mut out = Vec::new();
        for_each_token_span(text, |t, r| out.push((t.to_owned(), r)));
        out
    }

    /// The span function yields `tokenize`'s tokens, with ranges in order, on character
    /// boundaries, that read back as the token once lower-cased.
    fn assert_spans_agree(text: &str) {
        let spans = spans(text);
        let tokens: Vec<&str> = spans.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(tokens, tokenize(text), "{text:?}");
        let mut end = 0;
        for (token, range) in &spans {
            assert!(
                end <= range.start && range.start < range.end,
                "{text:?}: {range:?}"
            );
            end = range.end;
            assert_eq!(
                &text[range.clone()].to_lowercase(),
                token,
                "{text:?}: {range:?}"
            );
        }
    }

    #[test]
    fn strips_line_breaks_and_tags() {
        assert_eq!(tokenize("Great.<br /><br />Really"), ["great", "really"]);
        assert_eq!(tokenize("<I>Jaws</I> rocks"), ["jaws", "rocks"]);
        assert_eq!(tokenize("a<br/>b<BR>c"), ["a", "b", "c"]);
    }

    #[test]
    fn lone_angle_brackets_are_not_tags() {
        assert_eq!(tokenize("1 < 2 and 3 > 2"), ["1", "2", "and", "3", "2"]);
        assert_eq!(tokenize("<3 this"), ["3", "this"]);
        // An unterminated "tag" does not swallow the rest of the review.
        let long = format!("<b{} end", "x ".repeat(100));
        assert_eq!(tokenize(&long).last().unwrap(), "end");
        // The 64-byte window may cut a multi-byte character: no panic.
        let wide = format!("<b{}> é", "é".repeat(40));
        assert_eq!(tokenize(&wide).last().unwrap(), "é");
    }

    #[test]
    fn lowercases_unicode() {
        assert_eq!(tokenize("ÉCOLE Straße ÀÖ"), ["école", "straße", "àö"]);
    }

    #[test]
    fn apostrophes_inside_words_only() {
        assert_eq!(
            tokenize("'Don't' say 'director's cut' it’s rock'n'roll '"),
            ["don't", "say", "director's", "cut", "it’s", "rock'n'roll"]
        );
        assert_eq!(tokenize("dogs' toys"), ["dogs", "toys"]);
    }

    #[test]
    fn punctuation_separates() {
        assert_eq!(
            tokenize("well-made, (very) good...10/10!!"),
            ["well", "made", "very", "good", "10", "10"]
        );
        assert!(tokenize("").is_empty());
        assert!(tokenize(" .,;!? ").is_empty());
    }

    #[test]
    fn spans_point_into_the_original_text() {
        assert_eq!(
            spans("<i>Don't</i> MISS it!<br /><br />10/10"),
            [
                ("don't".to_owned(), 3..8),
                ("miss".to_owned(), 13..17),
                ("it".to_owned(), 18..20),
                ("10".to_owned(), 33..35),
                ("10".to_owned(), 36..38),
            ]
        );
        for text in [
            "",
            " .,;!? ",
            "Great.<br /><br />Really",
            "a<br/>b<BR>c",
            "1 < 2 and 3 > 2 <3 this",
            "'Don't' say 'director's cut' it’s rock'n'roll '",
            "ÉCOLE Straße ÀÖ",
            "ΟΔΥΣΣΕΥΣ ΣΑΣ: Σ",
            &format!("<b{}> é", "é".repeat(40)),
        ] {
            assert_spans_agree(text);
        }
    }

    #[test]
    fn spans_cover_characters_that_lower_case_to_several() {
        // "İ" lower-cases to "i" and a combining dot, which is not alphanumeric: the token is
        // "i", and its range is the whole "İ".
        assert_eq!(tokenize("İ"), ["i"]);
        assert_eq!(
            spans("xİ y"),
            [("xi".to_owned(), 0..3), ("y".to_owned(), 4..5)]
        );
    }

    #[test]
    #[cfg(feature = "sample")]
    fn spans_agree_with_tokenize_on_every_embedded_review() {
        let reviews = crate::reviews::read_tar_gz(
            crate::source::EMBEDDED_SAMPLE,
            std::path::Path::new("(embedded)"),
        )
        .unwrap();
        for review in reviews.train.iter().chain(&reviews.test) {
            assert_spans_agree(&review.text);
        }
    }
}
