//! Turning review text into word tokens.
//!
//! The rule, applied identically to training data and to new text at prediction time:
//! 1. HTML tags are removed: a `<` followed by a letter or `/`, up to the next `>` (at most 64 bytes
//!    later). The reviews hold `<br />` line breaks and the odd `<i>`; neither is a word.
//! 2. Text is lower-cased (Unicode-aware).
//! 3. A word is a maximal run of alphanumeric characters. An apostrophe (`'` or `’`) between two
//!    alphanumeric characters stays inside the word (`don't`, `director's`); every other character,
//!    punctuation included, separates words.

/// Longest tag we strip, so a stray `<` in prose cannot swallow a whole review.
const MAX_TAG_BYTES: usize = 64;

/// Calls `f` with each token of `text`, in order, following the module's rule.
///
/// Tokens borrow from an internal lower-cased copy, so no allocation is made per token.
pub fn for_each_token(text: &str, mut f: impl FnMut(&str)) {
    let clean = lowercase_without_tags(text);
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
            f(&clean[s..i]);
        }
    }
    if let Some(s) = start {
        f(&clean[s..]);
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
    let mut rest = text;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let after = &rest[lt + 1..];
        let starts_tag = after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '/');
        // Search bytes: a 64-byte window may end inside a multi-byte character; '>' is ASCII.
        let window = &after.as_bytes()[..after.len().min(MAX_TAG_BYTES)];
        let close = window.iter().position(|&b| b == b'>');
        match close {
            Some(gt) if starts_tag => {
                out.push(' ');
                rest = &after[gt + 1..];
            }
            _ => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    if out.is_ascii() {
        out.make_ascii_lowercase();
        out
    } else {
        out.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::tokenize;

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
}
