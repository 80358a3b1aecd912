//! The word index: words ranked by how often they occur in the training reviews.

use crate::error::{DataError, Result};
use crate::split::Split;
use crate::tokenize::for_each_token;
use rustc_hash::FxHashMap;
use std::path::Path;

/// Rank given to a word that never occurs in the training split. Larger than any `num_words`, so
/// encoding turns it into the out-of-vocabulary character (or drops it), as Keras does.
pub const UNRANKED: u32 = u32::MAX;

/// Word → rank, 1 being the most frequent word of the training split (Keras's `imdb.get_word_index()`).
///
/// Ties in frequency are broken by the word's byte order, so the ranking is deterministic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WordIndex {
    /// `words[r - 1]` is the word of rank `r`.
    words: Vec<String>,
    ranks: FxHashMap<String, u32>,
}

impl WordIndex {
    /// A word index from words already in rank order (the first is rank 1).
    pub fn from_ranked(words: Vec<String>) -> Self {
        let ranks = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as u32 + 1))
            .collect();
        Self { words, ranks }
    }

    /// The rank of `word`, if it occurs in the training split.
    pub fn rank(&self, word: &str) -> Option<u32> {
        self.ranks.get(word).copied()
    }

    /// The word of rank `rank` (1-based).
    pub fn word(&self, rank: u32) -> Option<&str> {
        let i = usize::try_from(rank).ok()?.checked_sub(1)?;
        self.words.get(i).map(String::as_str)
    }

    /// Number of distinct words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Words in rank order.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The ranks of the tokens of `text` (unknown words get [`UNRANKED`]), like one row of Keras's
    /// raw `imdb.npz` data.
    pub fn ranks_of(&self, text: &str) -> Vec<u32> {
        self.term_ranks_of(text, 1)
    }

    /// The ranks of the terms of `text` for an index built with
    /// [`EncodeOptions::ngrams`](crate::EncodeOptions::ngrams) = `ngrams`: with 2, each word is
    /// followed by the pair it ends (`w1, w2, "w1 w2", w3, "w2 w3", …`), with 3 also by the triple
    /// it ends (`…, w3, "w2 w3", "w1 w2 w3", …`), as training sequences are. Unknown terms get
    /// [`UNRANKED`].
    pub fn term_ranks_of(&self, text: &str, ngrams: u8) -> Vec<u32> {
        let mut out = Vec::new();
        // The last `ngrams - 1` tokens before this one, oldest first.
        let mut before: Vec<String> = Vec::new();
        let mut gram = String::new();
        for_each_token(text, |t| {
            out.push(self.rank(t).unwrap_or(UNRANKED));
            // Pairs, then triples: the n-grams ending at `t`, shortest first.
            for len in 2..=usize::from(ngrams).min(before.len() + 1) {
                gram.clear();
                for w in &before[before.len() + 1 - len..] {
                    gram.push_str(w);
                    gram.push(' ');
                }
                gram.push_str(t);
                out.push(self.rank(&gram).unwrap_or(UNRANKED));
            }
            if ngrams >= 2 {
                if before.len() + 1 == usize::from(ngrams) {
                    before.remove(0);
                }
                before.push(t.to_owned());
            }
        });
        out
    }

    /// Reads Keras's `imdb_word_index.json` format: one JSON object `{"word": rank, ...}`.
    ///
    /// # Errors
    /// [`DataError::Io`] if the file cannot be read, [`DataError::MalformedWordIndex`] naming it
    /// if it is not such an object or the ranks are not exactly `1..=n`.
    pub fn load_json(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        Self::from_json(&bytes, path)
    }

    /// [`load_json`](Self::load_json) from bytes already in memory; `name` is what an error
    /// calls them (a file name, or where the bytes came from).
    ///
    /// # Errors
    /// [`DataError::MalformedWordIndex`] naming `name`.
    pub fn from_json(bytes: &[u8], name: &Path) -> Result<Self> {
        Self::from_json_bytes(bytes).map_err(|message| DataError::MalformedWordIndex {
            path: name.to_owned(),
            message,
        })
    }

    pub(crate) fn from_json_bytes(bytes: &[u8]) -> std::result::Result<Self, String> {
        let map: FxHashMap<String, u32> = serde_json::from_slice(bytes)
            .map_err(|e| format!("not a word → rank JSON object: {e}"))?;
        let n = map.len();
        let mut words = vec![None; n];
        for (word, rank) in map {
            let slot = (rank as usize)
                .checked_sub(1)
                .and_then(|i| words.get_mut(i))
                .ok_or_else(|| format!("rank {rank} of {word:?} is outside 1..={n}"))?;
            if slot.replace(word).is_some() {
                return Err(format!("rank {rank} is used twice"));
            }
        }
        Ok(Self::from_ranked(
            words.into_iter().map(Option::unwrap).collect(),
        ))
    }

    /// The index as Keras's JSON format (see [`WordIndex::load_json`]).
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let map: std::collections::BTreeMap<&str, u32> = self
            .words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.as_str(), i as u32 + 1))
            .collect();
        serde_json::to_vec(&map).expect("a map of strings to integers always serialises")
    }
}

/// A review's text and label, as read from the archive or directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawReview {
    /// The review text, `<br />` tags and all.
    pub text: String,
    /// 0 = negative, 1 = positive.
    pub label: u8,
}

/// Tokenizes every review, ranks the words by frequency over `train` only and returns the index
/// plus both splits as Keras-style raw rank sequences (words unseen in training get [`UNRANKED`]).
pub fn rank_corpus(train: &[RawReview], test: &[RawReview]) -> (WordIndex, Split, Split) {
    // Intern words as they come (ids in first-seen order) and count them, the training and the
    // test reviews at the same time (one core each), each split with its own ids; then rank the
    // training words. The ranks do not depend on the ids: the order is by count, then spelling.
    let intern = |split: &[RawReview]| {
        let mut ids: FxHashMap<String, u32> = FxHashMap::default();
        let mut counts: Vec<u64> = Vec::new();
        let mut out = Split::new();
        let mut seq = Vec::new();
        for review in split {
            seq.clear();
            for_each_token(&review.text, |t| {
                let id = match ids.get(t) {
                    Some(&id) => id,
                    None => {
                        let id = ids.len() as u32;
                        ids.insert(t.to_owned(), id);
                        counts.push(0);
                        id
                    }
                };
                counts[id as usize] += 1;
                seq.push(id);
            });
            out.push(seq.iter().copied(), review.label);
        }
        (ids, counts, out)
    };
    let ((ids, counts, train_ids), (test_words, _, test_ids)) =
        rayon::join(|| intern(train), || intern(test));

    let mut by_id: Vec<&str> = vec![""; ids.len()];
    for (w, &id) in &ids {
        by_id[id as usize] = w;
    }
    let mut ranked: Vec<u32> = (0..by_id.len() as u32)
        .filter(|&id| counts[id as usize] > 0)
        .collect();
    ranked.sort_unstable_by(|&a, &b| {
        counts[b as usize]
            .cmp(&counts[a as usize])
            .then_with(|| by_id[a as usize].cmp(by_id[b as usize]))
    });
    let mut rank_of_id = vec![UNRANKED; by_id.len()];
    for (r, &id) in ranked.iter().enumerate() {
        rank_of_id[id as usize] = r as u32 + 1;
    }
    // A test word's rank is its training word's; a word only seen in testing has none.
    let mut rank_of_test_id = vec![UNRANKED; test_words.len()];
    for (w, &id) in &test_words {
        if let Some(&train_id) = ids.get(w) {
            rank_of_test_id[id as usize] = rank_of_id[train_id as usize];
        }
    }
    let to_ranks = |s: &Split, rank_of: &[u32]| -> Split {
        s.iter()
            .map(|(t, l)| (t.iter().map(|&id| rank_of[id as usize]).collect(), l))
            .collect()
    };
    let index = WordIndex::from_ranked(
        ranked
            .iter()
            .map(|&id| by_id[id as usize].to_owned())
            .collect(),
    );
    let (train, test) = rayon::join(
        || to_ranks(&train_ids, &rank_of_id),
        || to_ranks(&test_ids, &rank_of_test_id),
    );
    (index, train, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(text: &str, label: u8) -> RawReview {
        RawReview {
            text: text.to_owned(),
            label,
        }
    }

    #[test]
    fn ranks_by_training_frequency_with_deterministic_ties() {
        let train = [review("b a a c", 1), review("c a b d", 0)];
        let test = [review("zzz a", 1)];
        let (index, tr, te) = rank_corpus(&train, &test);
        // a: 3, b: 2, c: 2, d: 1 → ties b/c broken alphabetically.
        assert_eq!(index.words(), ["a", "b", "c", "d"]);
        assert_eq!(tr.tokens(0), [2, 1, 1, 3]);
        assert_eq!(tr.tokens(1), [3, 1, 2, 4]);
        assert_eq!(tr.labels(), [1, 0]);
        // Test-only words have no rank: the vocabulary comes from training only.
        assert_eq!(te.tokens(0), [UNRANKED, 1]);
        assert_eq!(index.rank("zzz"), None);
        assert_eq!(index.word(1), Some("a"));
        assert_eq!(index.word(0), None);
        assert_eq!(index.word(5), None);
    }

    #[test]
    fn json_round_trip_and_rejects_gaps() {
        let index = WordIndex::from_ranked(vec!["the".into(), "and".into()]);
        let back = WordIndex::from_json_bytes(&index.to_json_bytes()).unwrap();
        assert_eq!(back, index);
        assert!(WordIndex::from_json_bytes(br#"{"the": 1, "and": 3}"#).is_err());
        assert!(WordIndex::from_json_bytes(br#"{"the": 1, "and": 1}"#).is_err());
        assert!(WordIndex::from_json_bytes(b"[1, 2]").is_err());
    }

    #[test]
    fn ranks_of_new_text() {
        let index = WordIndex::from_ranked(vec!["good".into(), "film".into()]);
        assert_eq!(index.ranks_of("Good FILM, bad film"), [1, 2, UNRANKED, 2]);
    }
}
