//! Word bigrams as extra vocabulary terms: the "bag of bigrams" that lifts a multi-hot MLP past
//! 90% on IMDB.
//!
//! With `ngrams = 2` every pair of consecutive words is a term of its own, spelled `"w1 w2"`.
//! Unigrams and bigrams are ranked together by their count in the training reviews (ties in
//! alphabetical order, as for words alone), so rank 1 is the most frequent term of either kind
//! and Keras's index layout is unchanged: `0` padding, `1` start, `2` out of vocabulary, then
//! `rank + index_from`. `num_words` is then the number of features, e.g. 20,000–100,000.
//!
//! A review's sequence interleaves the two kinds in reading order: `w1, w2, "w1 w2", w3,
//! "w2 w3", …`. Only the multi-hot *set* matters to the model; the order just keeps a sequence
//! readable and makes [`WordIndex::term_ranks_of`] on raw text reproduce the training encoding.

use crate::error::{DataError, Result};
use crate::split::Split;
use crate::vocab::{UNRANKED, WordIndex};
use rustc_hash::FxHashMap;
use std::cmp::Ordering;

/// A term: one word rank, or two (a bigram); ranks are the unigram index's (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Term {
    Word(u32),
    Pair(u32, u32),
}

fn pair_key(a: u32, b: u32) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

/// Re-ranks unigram sequences into unigram + bigram sequences (see the module docs).
///
/// `index` is the unigram [`WordIndex`] the raw ranks of `train` and `test` refer to; only
/// `train` counts. `keep` bounds the new index to the most frequent terms (those `num_words`
/// can reach); terms beyond it become [`UNRANKED`], which encoding maps to the OOV character
/// anyway, so the result is the same as ranking every term, without a multi-million-entry index.
pub fn add_bigrams(
    index: &WordIndex,
    train: &Split,
    test: &Split,
    keep: Option<usize>,
) -> (WordIndex, Split, Split) {
    let mut word_counts = vec![0u64; index.len() + 1];
    let mut pair_counts: FxHashMap<u64, u64> = FxHashMap::default();
    for (ranks, _) in train.iter() {
        for (k, &r) in ranks.iter().enumerate() {
            if r != UNRANKED {
                word_counts[r as usize] += 1;
            }
            if k > 0 && r != UNRANKED && ranks[k - 1] != UNRANKED {
                *pair_counts.entry(pair_key(ranks[k - 1], r)).or_insert(0) += 1;
            }
        }
    }
    let mut terms: Vec<(u64, Term)> = (1..=index.len() as u32)
        .map(|r| (word_counts[r as usize], Term::Word(r)))
        .filter(|&(count, _)| count > 0)
        .chain(
            pair_counts
                .iter()
                .map(|(&key, &count)| (count, Term::Pair((key >> 32) as u32, key as u32))),
        )
        .collect();
    drop(pair_counts);
    // Most frequent first; ties by spelling, compared word by word (a word before the pairs it
    // starts).
    let words = |t: &Term| match *t {
        Term::Word(r) => [index.word(r), None],
        Term::Pair(a, b) => [index.word(a), index.word(b)],
    };
    let order = |a: &(u64, Term), b: &(u64, Term)| -> Ordering {
        b.0.cmp(&a.0).then_with(|| words(&a.1).cmp(&words(&b.1)))
    };
    if let Some(keep) = keep.filter(|&k| k < terms.len()) {
        if keep > 0 {
            terms.select_nth_unstable_by(keep - 1, order);
        }
        terms.truncate(keep);
    }
    terms.sort_unstable_by(order);

    let mut word_rank = vec![UNRANKED; index.len() + 1];
    let mut pair_rank: FxHashMap<u64, u32> = FxHashMap::default();
    let mut spelled = Vec::with_capacity(terms.len());
    for (i, &(_, term)) in terms.iter().enumerate() {
        let rank = i as u32 + 1;
        match term {
            Term::Word(r) => {
                word_rank[r as usize] = rank;
                spelled.push(
                    index
                        .word(r)
                        .expect("ranked words are in the index")
                        .to_owned(),
                );
            }
            Term::Pair(a, b) => {
                pair_rank.insert(pair_key(a, b), rank);
                let (a, b) = (index.word(a), index.word(b));
                spelled.push(format!("{} {}", a.expect("in index"), b.expect("in index")));
            }
        }
    }
    let rerank = |split: &Split| -> Split {
        let mut out = Split::new();
        let mut seq = Vec::new();
        for (ranks, label) in split.iter() {
            seq.clear();
            for (k, &r) in ranks.iter().enumerate() {
                let word = |r: u32| {
                    if r == UNRANKED {
                        UNRANKED
                    } else {
                        word_rank[r as usize]
                    }
                };
                seq.push(word(r));
                if k > 0 {
                    let prev = ranks[k - 1];
                    let pair = if r == UNRANKED || prev == UNRANKED {
                        UNRANKED
                    } else {
                        pair_rank
                            .get(&pair_key(prev, r))
                            .copied()
                            .unwrap_or(UNRANKED)
                    };
                    seq.push(pair);
                }
            }
            out.push(seq.iter().copied(), label);
        }
        out
    };
    let (train, test) = (rerank(train), rerank(test));
    (WordIndex::from_ranked(spelled), train, test)
}

/// `ngrams` must be 1 (words) or 2 (words and bigrams).
pub fn validate(ngrams: u8) -> Result<()> {
    if matches!(ngrams, 1 | 2) {
        Ok(())
    } else {
        Err(DataError::InvalidOption {
            name: "ngrams",
            value: ngrams.to_string(),
            reason: "must be 1 (words) or 2 (words and word pairs)",
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
        let (terms, train_seqs, test_seqs) = add_bigrams(&index, &raw_train, &raw_test, None);
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

    /// Training sequences and sequences made from raw text by the index (prediction) agree, with
    /// and without truncation to the most frequent terms.
    #[test]
    fn raw_text_gives_the_training_sequences() {
        let (train, test) = corpus();
        let (index, raw_train, raw_test) = rank_corpus(&train, &test);
        for keep in [None, Some(4), Some(2)] {
            let (terms, train_seqs, test_seqs) = add_bigrams(&index, &raw_train, &raw_test, keep);
            assert_eq!(terms.len(), keep.unwrap_or(10));
            for (reviews, seqs) in [(&train, &train_seqs), (&test, &test_seqs)] {
                for (i, review) in reviews.iter().enumerate() {
                    assert_eq!(terms.term_ranks_of(&review.text, 2), seqs.tokens(i));
                }
            }
        }
    }

    #[test]
    fn only_one_and_two_are_valid() {
        assert!(validate(1).is_ok() && validate(2).is_ok());
        for bad in [0, 3] {
            let err = validate(bad).unwrap_err().to_string();
            assert!(
                err.contains("ngrams") && err.contains(&bad.to_string()),
                "{err}"
            );
        }
    }
}
