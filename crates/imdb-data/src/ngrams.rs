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
//! Memory: the counts of every distinct n-gram of the training reviews are held at once (16 bytes
//! each in the hash map, plus its spare capacity); measured on the full data in the README
//! (`ngrams = 3`: the peak of the first, uncached load).

use crate::error::{DataError, Result};
use crate::split::Split;
use crate::vocab::{UNRANKED, WordIndex};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::cmp::Ordering;

/// A term: the unigram ranks (1-based) of its words, `0` after the last one (`[w, 0, 0]` is a
/// word, `[a, b, 0]` a pair, `[a, b, c]` a triple).
type Term = [u32; 3];

/// The longest n-gram a term can be.
pub const MAX_NGRAMS: u8 = 3;

/// Re-ranks unigram sequences into sequences of words and their n-grams up to `n` words (see the
/// module docs).
///
/// `index` is the unigram [`WordIndex`] the raw ranks of `train` and `test` refer to; only
/// `train` counts. `keep` bounds the new index to the most frequent terms (those `num_words`
/// can reach); terms beyond it become [`UNRANKED`], which encoding maps to the OOV character
/// anyway, so the result is the same as ranking every term, without a multi-million-entry index.
///
/// # Panics
/// If `n` is not 2 or 3 (options are validated before).
pub fn add_ngrams(
    index: &WordIndex,
    train: &Split,
    test: &Split,
    n: u8,
    keep: Option<usize>,
) -> (WordIndex, Split, Split) {
    assert!((2..=MAX_NGRAMS).contains(&n), "ngrams = {n}");
    let n = usize::from(n);
    let counted = count_terms(
        index.len(),
        train,
        n,
        rayon::current_num_threads().clamp(1, 8),
    );
    let mut terms: Vec<(u32, Term)> = (1..=index.len() as u32)
        .map(|r| (counted.words[r as usize], [r, 0, 0]))
        .filter(|&(count, _)| count > 0)
        .chain(
            counted
                .ngrams
                .iter()
                .flat_map(|counts| counts.iter().map(|(&term, &count)| (count, term))),
        )
        .collect();
    drop(counted);
    // Most frequent first; ties by spelling, compared word by word (a word before the n-grams it
    // starts: `None` sorts first).
    let words = |t: &Term| t.map(|r| if r == 0 { None } else { index.word(r) });
    let order = |a: &(u32, Term), b: &(u32, Term)| -> Ordering {
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
    let mut rank_of: FxHashMap<Term, u32> = FxHashMap::default();
    let mut spelled = Vec::with_capacity(terms.len());
    for (i, &(_, term)) in terms.iter().enumerate() {
        let rank = i as u32 + 1;
        match term {
            [w, 0, 0] => word_rank[w as usize] = rank,
            _ => {
                rank_of.insert(term, rank);
            }
        }
        let spelling: Vec<&str> = words(&term).into_iter().flatten().collect();
        spelled.push(spelling.join(" "));
    }
    let rerank = |split: &Split| -> Split {
        let mut out = Split::new();
        let mut seq = Vec::new();
        for (ranks, label) in split.iter() {
            seq.clear();
            for_each_term(ranks, n, |term| {
                seq.push(match term {
                    Some([w, 0, 0]) => word_rank[w as usize],
                    Some(term) => rank_of.get(&term).copied().unwrap_or(UNRANKED),
                    None => UNRANKED,
                })
            });
            out.push(seq.iter().copied(), label);
        }
        out
    };
    // Independent: one core each.
    let (train, test) = rayon::join(|| rerank(train), || rerank(test));
    (WordIndex::from_ranked(spelled), train, test)
}

/// How often each term occurs in the training reviews.
struct Counts {
    /// By unigram rank (`words[0]` unused).
    words: Vec<u32>,
    /// The n-grams of two words or more, in maps that share no term.
    ngrams: Vec<FxHashMap<Term, u32>>,
}

/// Counts the terms up to `n` words of `train`'s sequences over a `vocabulary`-word index. The
/// n-grams go to `parts` maps by a hash of the term ([`part_of`]), each counted on a core of its
/// own: the maps share no term, so nothing is merged, and each is a `parts`-th of the whole (the
/// hash-map probes are what the count waits on). Words are counted in an array, with part 0.
fn count_terms(vocabulary: usize, train: &Split, n: usize, parts: usize) -> Counts {
    let counted: Vec<(Vec<u32>, FxHashMap<Term, u32>)> = (0..parts)
        .into_par_iter()
        .map(|part| {
            let mut words = vec![0u32; if part == 0 { vocabulary + 1 } else { 0 }];
            let mut counts: FxHashMap<Term, u32> = FxHashMap::default();
            for (ranks, _) in train.iter() {
                for_each_term(ranks, n, |term| match term {
                    Some([w, 0, 0]) if part == 0 => words[w as usize] += 1,
                    Some([_, 0, 0]) | None => {}
                    Some(term) if part_of(&term, parts) == part => {
                        *counts.entry(term).or_insert(0) += 1;
                    }
                    Some(_) => {}
                });
            }
            (words, counts)
        })
        .collect();
    let mut counted = counted.into_iter();
    let (words, first) = counted.next().expect("at least one part");
    Counts {
        words,
        ngrams: std::iter::once(first)
            .chain(counted.map(|(_, c)| c))
            .collect(),
    }
}

/// Which of `parts` counting maps holds `term` (a multiplicative hash of its words: any fixed
/// function of the term gives the same counts).
fn part_of(term: &Term, parts: usize) -> usize {
    let mixed = term.iter().fold(0u64, |h, &r| {
        (h ^ u64::from(r)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    });
    ((mixed >> 32) % parts as u64) as usize
}

/// Calls `f` with every term of a unigram sequence in reading order: each word, then the pair and
/// the triple (up to `n` words) it ends; `None` for a term with an unranked word.
fn for_each_term(ranks: &[u32], n: usize, mut f: impl FnMut(Option<Term>)) {
    for k in 0..ranks.len() {
        for len in 1..=n.min(k + 1) {
            let gram = &ranks[k + 1 - len..=k];
            f((!gram.contains(&UNRANKED)).then(|| {
                let mut term = [0; 3];
                term[..len].copy_from_slice(gram);
                term
            }));
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
        let (terms, train_seqs, test_seqs) = add_ngrams(&index, &raw_train, &raw_test, 2, None);
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

    /// Counting in several maps (one a core) gives every term the count one map gives it, and
    /// puts each term in exactly one map.
    #[test]
    fn counting_in_parts_gives_the_counts_of_one_map() {
        let (train, test) = corpus();
        let (index, raw_train, _) = rank_corpus(&train, &test);
        let flat = |c: Counts| {
            let mut all: Vec<(Term, u32)> = c
                .ngrams
                .iter()
                .flat_map(|m| m.iter().map(|(&t, &n)| (t, n)))
                .collect();
            all.sort_unstable();
            (c.words, all)
        };
        let one = flat(count_terms(index.len(), &raw_train, 3, 1));
        // "good movie" twice, every other pair and triple once.
        assert!(one.1.contains(&([1, 2, 0], 2)), "{one:?}");
        assert_eq!(one.0[1..], [4, 3, 1, 1, 1], "good, movie, a, bad, plot");
        for parts in 2..=5 {
            // A term split over two maps would appear twice, each with part of its count.
            assert_eq!(
                flat(count_terms(index.len(), &raw_train, 3, parts)),
                one,
                "{parts} parts"
            );
        }
    }

    /// With triples, counted by hand: good 4, movie 3, "good movie" 2, then every term seen once in
    /// spelling order, a word before the pairs and triples it starts.
    #[test]
    fn triples_are_ranked_with_the_rest_and_follow_the_word_they_end() {
        let (train, test) = corpus();
        let (index, raw_train, raw_test) = rank_corpus(&train, &test);
        let (terms, train_seqs, test_seqs) = add_ngrams(&index, &raw_train, &raw_test, 3, None);
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
                    add_ngrams(&index, &raw_train, &raw_test, n, keep);
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
