//! Word n-grams as extra vocabulary terms: the "bag of bigrams" (and trigrams) that lifts a
//! multi-hot MLP past 90% on IMDB.
//!
//! With `ngrams = 2` every pair of consecutive words is a term of its own, spelled `"w1 w2"`;
//! with `ngrams = 3` every run of three words too, `"w1 w2 w3"`. All terms are ranked together by
//! their count in the training reviews (ties in spelling order, compared word by word, so a word
//! comes before the pairs it starts, as for words alone), so rank 1 is the most frequent term of
//! any kind and Keras's index layout is unchanged: `0` padding, `1` start, `2` out of vocabulary,
//! then `rank + index_from`. `num_words` is then the number of features, e.g. 20,000–1,000,000.
//!
//! A review's sequence interleaves the kinds in reading order, each word followed by the n-grams
//! it ends: `w1, w2, "w1 w2", w3, "w2 w3", "w1 w2 w3", …`. Only the multi-hot *set* matters to
//! the model; the order keeps a sequence readable and makes [`WordIndex::term_ranks_of`] on raw
//! text reproduce the training encoding.
//!
//! Memory: counting holds a key (8 bytes) per n-gram occurrence of the training reviews while they
//! are sorted, then a count and key (16 bytes) per distinct n-gram; measured on the full data in
//! `docs/results/nbsvm.md` (`ngrams = 3`: the peak of the first, uncached load).

use crate::error::{DataError, Result};
use crate::split::Split;
use crate::vocab::{UNRANKED, WordIndex};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::cmp::Reverse;

/// A term packed in one integer: the ids of its words (1-based), [`ID_BITS`] bits each, the
/// first word in the highest bits and `0` after the last one. Packed unigram ranks name a term;
/// packed positions in spelling order sort terms by spelling, word by word, as integers (a word
/// before the n-grams it starts, since `0` is below every id). Counting and ranking millions of
/// n-grams this way costs sorts of integers instead of hash-map probes and string compares.
type Key = u64;

/// Bits per word in a [`Key`].
const ID_BITS: u32 = 21;

/// The largest unigram index whose n-grams can be counted: ranks must fit in 21 bits
/// (two million words; IMDB's training reviews have 81,442).
pub const MAX_NGRAM_VOCABULARY: usize = (1 << ID_BITS) - 1;

/// The longest n-gram a term can be.
pub const MAX_NGRAMS: u8 = 3;

/// The key of the word `id` alone.
fn word_key(id: u32) -> Key {
    Key::from(id) << (2 * ID_BITS)
}

/// The word of a one-word key, `None` for an n-gram.
fn word_of(key: Key) -> Option<u32> {
    (key & ((1 << (2 * ID_BITS)) - 1) == 0).then_some((key >> (2 * ID_BITS)) as u32)
}

/// The three word ids of `key`, first word first (`0` after the last word).
fn ids(key: Key) -> [u32; 3] {
    let mask = (1 << ID_BITS) - 1;
    [2, 1, 0].map(|field| ((key >> (ID_BITS * field)) & mask) as u32)
}

/// `key` with each of its word ids replaced by `map[id]`; `map[0]` must be `0` (no word).
fn remap(key: Key, map: &[u32]) -> Key {
    ids(key)
        .iter()
        .fold(0, |out, &id| (out << ID_BITS) | Key::from(map[id as usize]))
}

/// Re-ranks unigram sequences into sequences of words and their n-grams up to `n` words (see the
/// module docs).
///
/// `index` is the unigram [`WordIndex`] the raw ranks of `train` and `test` refer to; only
/// `train` counts. `keep` bounds the new index to the most frequent terms (those `num_words`
/// can reach); terms beyond it become [`UNRANKED`], which encoding maps to the OOV character
/// anyway, so the result is the same as ranking every term, without a multi-million-entry index.
/// A rank outside `index` counts as unranked, as does every n-gram containing it.
///
/// # Errors
/// [`DataError::InvalidOption`] if `index` has more than [`MAX_NGRAM_VOCABULARY`] words.
///
/// # Panics
/// If `n` is not 2 or 3 (options are validated before).
pub fn add_ngrams(
    index: &WordIndex,
    train: &Split,
    test: &Split,
    n: u8,
    keep: Option<usize>,
) -> Result<(WordIndex, Split, Split)> {
    assert!((2..=MAX_NGRAMS).contains(&n), "ngrams = {n}");
    check_vocabulary(index.len(), n)?;
    let n = usize::from(n);
    let vocabulary = index.len() as u32;
    let counted = count_terms(vocabulary, train, n);
    // Words in spelling (byte) order: `position[rank]` (1-based) and `rank_of_position` back,
    // both mapping 0 (no word) to 0. Words are distinct, so ties in count are ordered by
    // spelling exactly.
    let mut by_spelling: Vec<u32> = (1..=vocabulary).collect();
    by_spelling.par_sort_unstable_by_key(|&r| index.word(r));
    let mut position = vec![0u32; by_spelling.len() + 1];
    for (i, &r) in by_spelling.iter().enumerate() {
        position[r as usize] = i as u32 + 1;
    }
    let rank_of_position: Vec<u32> = std::iter::once(0).chain(by_spelling).collect();

    // Most frequent first; ties by spelling.
    let mut terms: Vec<(Reverse<u32>, Key)> = (1..=vocabulary)
        .filter(|&r| counted.words[r as usize] > 0)
        .map(|r| {
            (
                Reverse(counted.words[r as usize]),
                word_key(position[r as usize]),
            )
        })
        .chain(
            counted
                .ngrams
                .iter()
                .map(|&(count, key)| (Reverse(count), remap(key, &position))),
        )
        .collect();
    drop(counted);
    if let Some(keep) = keep.filter(|&k| k < terms.len()) {
        if keep > 0 {
            terms.select_nth_unstable(keep - 1);
        }
        terms.truncate(keep);
    }
    terms.par_sort_unstable();

    let mut word_rank = vec![UNRANKED; index.len() + 1];
    let mut rank_of: FxHashMap<Key, u32> = FxHashMap::default();
    rank_of.reserve(terms.len());
    let mut spelled = Vec::with_capacity(terms.len());
    for (i, &(_, spelling)) in terms.iter().enumerate() {
        let rank = i as u32 + 1;
        let key = remap(spelling, &rank_of_position);
        match word_of(key) {
            Some(w) => word_rank[w as usize] = rank,
            None => {
                rank_of.insert(key, rank);
            }
        }
        let words: Vec<&str> = ids(key).into_iter().filter_map(|r| index.word(r)).collect();
        spelled.push(words.join(" "));
    }
    let rerank = |split: &Split| -> Split {
        let mut out = Split::new();
        let mut seq = Vec::new();
        for (ranks, label) in split.iter() {
            seq.clear();
            for_each_term(ranks, n, vocabulary, |key| {
                seq.push(match key.map(|k| (k, word_of(k))) {
                    Some((_, Some(w))) => word_rank[w as usize],
                    Some((k, None)) => rank_of.get(&k).copied().unwrap_or(UNRANKED),
                    None => UNRANKED,
                })
            });
            out.push(seq.iter().copied(), label);
        }
        out
    };
    // Independent: one core each.
    let (train, test) = rayon::join(|| rerank(train), || rerank(test));
    Ok((WordIndex::from_ranked(spelled), train, test))
}

/// N-grams of a `vocabulary`-word index can be packed in a [`Key`].
fn check_vocabulary(vocabulary: usize, n: u8) -> Result<()> {
    if vocabulary <= MAX_NGRAM_VOCABULARY {
        Ok(())
    } else {
        Err(DataError::InvalidOption {
            name: "ngrams",
            value: format!("{n} (over a word index of {vocabulary} words)"),
            reason: "n-grams are counted over at most 2,097,151 distinct words",
        })
    }
}

/// How often each term occurs in the training reviews.
struct Counts {
    /// By unigram rank (`words[0]` unused).
    words: Vec<u32>,
    /// Every n-gram of two words or more that occurs, with its count, in key order.
    ngrams: Vec<(u32, Key)>,
}

/// Counts the terms up to `n` words of `train`'s sequences over a `vocabulary`-word index: words
/// in an array, n-grams by sorting their keys (on every core) and counting the runs of equal
/// ones. A sort streams through memory where a hash map of millions of n-grams waits on a cache
/// miss per occurrence.
fn count_terms(vocabulary: u32, train: &Split, n: usize) -> Counts {
    let mut words = vec![0u32; vocabulary as usize + 1];
    let mut keys: Vec<Key> = Vec::with_capacity(train.flat_tokens().len() * (n - 1));
    for (ranks, _) in train.iter() {
        for_each_term(ranks, n, vocabulary, |key| {
            match key.map(|k| (k, word_of(k))) {
                Some((_, Some(w))) => words[w as usize] += 1,
                Some((k, None)) => keys.push(k),
                None => {}
            }
        });
    }
    keys.par_sort_unstable();
    let ngrams = keys
        .chunk_by(|a, b| a == b)
        .map(|run| (u32::try_from(run.len()).unwrap_or(u32::MAX), run[0]))
        .collect();
    Counts { words, ngrams }
}

/// Calls `f` with every term of a unigram sequence in reading order: each word, then the pair and
/// the triple (up to `n` words) it ends, as the [`Key`] of their ranks; `None` for a term with a
/// word outside `1..=vocabulary` (unranked).
fn for_each_term(ranks: &[u32], n: usize, vocabulary: u32, mut f: impl FnMut(Option<Key>)) {
    for k in 0..ranks.len() {
        // The key of `ranks[k + 1 - len..=k]`, grown backwards one word at a time.
        let mut key: Key = 0;
        let mut ranked = true;
        for len in 1..=n.min(k + 1) {
            let w = ranks[k + 1 - len];
            ranked &= (1..=vocabulary).contains(&w);
            key = (key >> ID_BITS) | word_key(w & ((1 << ID_BITS) - 1));
            f(ranked.then_some(key));
        }
    }
}

/// `ngrams` must be 1 (words), 2 (words and pairs) or 3 (words, pairs and triples).
pub fn validate(ngrams: u8) -> Result<()> {
    if (1..=MAX_NGRAMS).contains(&ngrams) {
        Ok(())
    } else {
        Err(DataError::InvalidOption {
            name: "ngrams",
            value: ngrams.to_string(),
            reason: "must be 1 (words), 2 (and word pairs) or 3 (and word triples)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{RawReview, rank_corpus};

    fn reviews(texts: &[&str]) -> Vec<RawReview> {
        texts
            .iter()
            .map(|t| RawReview {
                text: (*t).to_owned(),
                label: 1,
            })
            .collect()
    }

    fn corpus() -> (Vec<RawReview>, Vec<RawReview>) {
        let train = reviews(&["good movie", "good good movie", "bad movie", "a good plot"]);
        let test = reviews(&["good plot", "unseen good movie"]);
        (train, test)
    }

    /// Counts in training: good 4, movie 3, "good movie" 2, then a, bad, plot, "a good",
    /// "bad movie", "good good", "good plot" once each, in alphabetical order.
    #[test]
    fn terms_are_ranked_together_by_count_then_spelling() {
        let (train, test) = corpus();
        let (index, raw_train, raw_test) = rank_corpus(&train, &test);
        let (terms, train_seqs, test_seqs) =
            add_ngrams(&index, &raw_train, &raw_test, 2, None).unwrap();
        let spelled: Vec<&str> = terms.words().iter().map(String::as_str).collect();
        assert_eq!(
            spelled,
            [
                "good",
                "movie",
                "good movie",
                "a",
                "a good",
                "bad",
                "bad movie",
                "good good",
                "good plot",
                "plot"
            ]
        );
        // "good good movie": good, good, "good good", movie, "good movie".
        assert_eq!(train_seqs.tokens(1), [1, 1, 8, 2, 3]);
        // Test words and pairs unseen in training are unranked.
        assert_eq!(test_seqs.tokens(1), [UNRANKED, 1, UNRANKED, 2, 3]);
    }

    /// Counting by sorting keys gives every n-gram the count of a plain hash map of its ranks,
    /// on a corpus of 300 random reviews with repeats (a small vocabulary), unranked tokens, ranks
    /// outside the index and empty reviews; and a key is the ranks it packs, in order.
    #[test]
    fn sorted_keys_count_what_a_hash_map_counts() {
        use std::collections::HashMap;
        let vocabulary = 40u32;
        // A fixed linear congruential generator: the same corpus every run.
        let mut state = 12345u64;
        let mut next = |m: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) % m
        };
        let mut train = Split::new();
        for _ in 0..300 {
            let len = next(30) as usize;
            let tokens: Vec<u32> = (0..len)
                .map(|_| match next(50) {
                    0 => UNRANKED,
                    1 => vocabulary + 1 + next(3) as u32,
                    _ => 1 + next(u64::from(vocabulary)) as u32,
                })
                .collect();
            train.push(tokens, 1);
        }
        for n in [2, 3] {
            let mut words = vec![0u32; vocabulary as usize + 1];
            let mut grams: HashMap<Vec<u32>, u32> = HashMap::new();
            for (ranks, _) in train.iter() {
                for k in 0..ranks.len() {
                    for len in 1..=n.min(k + 1) {
                        let gram = &ranks[k + 1 - len..=k];
                        if gram.iter().any(|&w| w == 0 || w > vocabulary) {
                            continue;
                        }
                        match gram {
                            [w] => words[*w as usize] += 1,
                            _ => *grams.entry(gram.to_vec()).or_insert(0) += 1,
                        }
                    }
                }
            }
            let counted = count_terms(vocabulary, &train, n);
            assert_eq!(counted.words, words, "n = {n}");
            let unpack =
                |key: Key| -> Vec<u32> { ids(key).into_iter().filter(|&r| r != 0).collect() };
            let mut expected: Vec<(Vec<u32>, u32)> = grams.into_iter().collect();
            expected.sort_unstable();
            let got: Vec<(Vec<u32>, u32)> = counted
                .ngrams
                .iter()
                .map(|&(count, key)| (unpack(key), count))
                .collect();
            assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "keys sorted");
            assert!(
                expected.len() > 100,
                "the corpus has repeats and singletons"
            );
            assert_eq!(got.len(), expected.len(), "n = {n}");
            let mut got = got;
            got.sort_unstable();
            assert_eq!(got, expected, "n = {n}");
        }
    }

    /// A word index too large to pack is refused with a typed error naming the option.
    #[test]
    fn a_vocabulary_too_large_to_pack_is_refused() {
        assert!(check_vocabulary(MAX_NGRAM_VOCABULARY, 2).is_ok());
        let err = check_vocabulary(MAX_NGRAM_VOCABULARY + 1, 3).unwrap_err();
        assert!(matches!(
            err,
            DataError::InvalidOption { name: "ngrams", .. }
        ));
        assert!(err.to_string().contains("2097152 words"), "{err}");
    }

    /// With triples, counted by hand: good 4, movie 3, "good movie" 2, then every term seen once in
    /// spelling order, a word before the pairs and triples it starts.
    #[test]
    fn triples_are_ranked_with_the_rest_and_follow_the_word_they_end() {
        let (train, test) = corpus();
        let (index, raw_train, raw_test) = rank_corpus(&train, &test);
        let (terms, train_seqs, test_seqs) =
            add_ngrams(&index, &raw_train, &raw_test, 3, None).unwrap();
        let spelled: Vec<&str> = terms.words().iter().map(String::as_str).collect();
        assert_eq!(
            spelled,
            [
                "good",
                "movie",
                "good movie",
                "a",
                "a good",
                "a good plot",
                "bad",
                "bad movie",
                "good good",
                "good good movie",
                "good plot",
                "plot"
            ]
        );
        // "good good movie": good, good, "good good", movie, "good movie", "good good movie".
        assert_eq!(train_seqs.tokens(1), [1, 1, 9, 2, 3, 10]);
        // "a good plot": a, good, "a good", plot, "good plot", "a good plot".
        assert_eq!(train_seqs.tokens(3), [4, 1, 5, 12, 11, 6]);
        // "unseen good movie": an n-gram with an unseen word is unranked.
        assert_eq!(test_seqs.tokens(1), [UNRANKED, 1, UNRANKED, 2, 3, UNRANKED]);
    }

    /// Training sequences and sequences made from raw text by the index (prediction) agree, with
    /// and without truncation to the most frequent terms.
    #[test]
    fn raw_text_gives_the_training_sequences() {
        let (train, test) = corpus();
        let (index, raw_train, raw_test) = rank_corpus(&train, &test);
        for (n, all) in [(2, 10), (3, 12)] {
            for keep in [None, Some(4), Some(2)] {
                let (terms, train_seqs, test_seqs) =
                    add_ngrams(&index, &raw_train, &raw_test, n, keep).unwrap();
                assert_eq!(terms.len(), keep.unwrap_or(all));
                for (reviews, seqs) in [(&train, &train_seqs), (&test, &test_seqs)] {
                    for (i, review) in reviews.iter().enumerate() {
                        assert_eq!(terms.term_ranks_of(&review.text, n), seqs.tokens(i));
                    }
                }
            }
        }
    }

    #[test]
    fn only_one_to_three_are_valid() {
        assert!((1..=3).all(|n| validate(n).is_ok()));
        for bad in [0, 4] {
            let err = validate(bad).unwrap_err().to_string();
            assert!(
                err.contains("ngrams") && err.contains(&bad.to_string()),
                "{err}"
            );
        }
    }
}
