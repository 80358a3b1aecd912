//! Where in a review each term is, and how much it moved the logit.

use crate::classifier::Prediction;
use imdb_data::tokenize::for_each_token_span;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// A review's classification with the effect of each of its terms, in text order
/// ([`SentimentClassifier::explain`](crate::SentimentClassifier::explain)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// What [`SentimentClassifier::predict`](crate::SentimentClassifier::predict) returns for
    /// the review.
    pub prediction: Prediction,
    /// Every term of the review, in the order the model reads them: each word, followed for an
    /// n-gram model by the pair (then the triple) of words it ends.
    pub terms: Vec<TermEffect>,
}

/// One occurrence of a term in a review: a word, or for an n-gram model a pair or triple of
/// consecutive words.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TermEffect {
    /// The term as the vocabulary spells it: lower-case words joined by single spaces.
    pub term: String,
    /// Words in the term: 1, or 2 and 3 for the pairs and triples of an n-gram model.
    pub words: usize,
    /// Byte offset in the review where the term's first word starts.
    pub start: usize,
    /// Byte offset in the review where the term's last word ends (exclusive), so
    /// `&review[start..end]` is the term as written, with what lies between its words.
    pub end: usize,
    /// The term's occlusion effect on the logit, as in [`WordEffect`](crate::WordEffect):
    /// the same at each of its occurrences, since the multi-hot row records presence only.
    /// `None` when the model has no column of its own for the term (a word outside the kept
    /// vocabulary, which it reads as the out-of-vocabulary marker).
    pub effect: Option<f64>,
}

/// The terms of `text` for a model of `ngrams`, given `ranks`, the vocabulary's ranks of those
/// terms in the same order ([`imdb_data::WordIndex::term_ranks_of`]), and `effect`, a term's
/// effect from its rank.
///
/// # Panics
/// If `ranks` is not one rank per term of `text`.
pub(crate) fn terms(
    text: &str,
    ngrams: u8,
    ranks: &[u32],
    effect: impl Fn(u32) -> Option<f64>,
) -> Vec<TermEffect> {
    let n = usize::from(ngrams.max(1));
    let mut terms = Vec::with_capacity(ranks.len());
    // The last `n` words read, oldest first: their text and span.
    let mut window: Vec<(String, Range<usize>)> = Vec::with_capacity(n);
    for_each_token_span(text, |token, span| {
        if window.len() == n {
            window.remove(0);
        }
        let end = span.end;
        window.push((token.to_owned(), span));
        // The word, then the n-grams ending at it, shortest first: `term_ranks_of`'s order.
        for len in 1..=window.len() {
            let words = &window[window.len() - len..];
            let term = words
                .iter()
                .map(|(w, _)| w.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let rank = ranks[terms.len()];
            terms.push(TermEffect {
                term,
                words: len,
                start: words[0].1.start,
                end,
                effect: effect(rank),
            });
        }
    });
    assert_eq!(terms.len(), ranks.len(), "one rank per term of the text");
    terms
}

#[cfg(test)]
mod tests {
    use crate::{ModelBundle, SentimentClassifier};
    use burn::tensor::Device;
    use imdb_data::tokenize::tokenize;
    use imdb_data::{EncodeOptions, WordIndex};
    use imdb_model::MlpConfig;

    /// Words and pairs by rank; with `num_words = 16` and `index_from = 3` the first 12 are kept
    /// and the rest read as the out-of-vocabulary marker.
    const VOCABULARY: [&str; 16] = [
        "the", "film", "was", "good", "not", "bad", "not good", "the film", "great", "acting",
        "boring", "film was", "plot", "awful", "was not", "it",
    ];

    const TEXTS: [&str; 6] = [
        "The film was not good, NOT good at all.",
        "<i>Great</i> acting; the plot? Awful!",
        "",
        "unknown words only",
        "It was boring. The film was bad, the film was not great.",
        "film",
    ];

    /// A random (seeded) untrained model over [`VOCABULARY`]: explanations do not need a good
    /// model, only a fixed one.
    fn classifier(ngrams: u8) -> SentimentClassifier {
        let device = Device::flex();
        device.seed(7);
        let words = VOCABULARY.iter().map(|w| (*w).to_owned()).collect();
        let encoding = EncodeOptions::default()
            .with_num_words(Some(16))
            .with_ngrams(ngrams);
        let config = MlpConfig::new(16);
        let mlp = config.init(&device);
        let bundle = ModelBundle::new(
            &config,
            &mlp,
            &encoding,
            Some(&WordIndex::from_ranked(words)),
        )
        .unwrap();
        SentimentClassifier::from_bundle(&bundle, &device)
            .unwrap()
            .with_top_k(20)
            .with_batch_size(4)
    }

    #[test]
    fn explanations_carry_the_predictions() {
        for ngrams in 1..=3 {
            let c = classifier(ngrams);
            let explanations = c.explain(&TEXTS);
            let predictions = c.predict(&TEXTS);
            assert_eq!(explanations.len(), TEXTS.len());
            for (e, p) in explanations.iter().zip(&predictions) {
                assert_eq!(&e.prediction, p);
            }
        }
    }

    #[test]
    fn terms_are_the_models_terms_where_the_text_has_them() {
        for ngrams in 1..=3 {
            let c = classifier(ngrams);
            for (text, e) in TEXTS.iter().zip(c.explain(&TEXTS)) {
                let ranks = c.word_index().term_ranks_of(text, ngrams);
                assert_eq!(e.terms.len(), ranks.len(), "{text:?}");
                for (t, &rank) in e.terms.iter().zip(&ranks) {
                    // The span reads back as the term, whatever lies between its words.
                    assert_eq!(tokenize(&text[t.start..t.end]).join(" "), t.term, "{t:?}");
                    assert_eq!(t.term.split(' ').count(), t.words, "{t:?}");
                    assert!(t.words <= usize::from(ngrams), "{t:?}");
                    // The rank the model read at this place is the term's own.
                    assert_eq!(c.word_index().rank(&t.term).unwrap_or(u32::MAX), rank);
                    // Kept terms (ranks 1..=12) have an effect, the others none.
                    assert_eq!(t.effect.is_some(), rank <= 12, "{t:?}");
                }
            }
        }
        let c = classifier(2);
        let e = &c.explain(&["Not good"])[0];
        let terms: Vec<_> = e
            .terms
            .iter()
            .map(|t| (t.term.as_str(), t.start, t.end))
            .collect();
        assert_eq!(terms, [("not", 0, 3), ("good", 4, 8), ("not good", 0, 8)]);
    }

    #[test]
    fn effects_are_the_occlusion_effects() {
        let c = classifier(1);
        for (text, e) in TEXTS.iter().zip(c.explain(&TEXTS)) {
            let logit = e.prediction.logit;
            for t in &e.terms {
                let Some(effect) = t.effect else { continue };
                // Every occurrence has the word's one effect, which predict reports too.
                if let Some(w) = e.prediction.top_words.iter().find(|w| w.word == t.term) {
                    assert_eq!(w.effect, effect, "{t:?}");
                }
                // And it is what removing the word from the text does to the logit.
                let without: Vec<String> = tokenize(text)
                    .into_iter()
                    .filter(|w| *w != t.term)
                    .collect();
                let rest = c.predict(&[&without.join(" ")])[0].logit;
                assert!(
                    (logit - rest - effect).abs() < 1e-5,
                    "{t:?}: {logit} - {rest}"
                );
            }
        }
    }
}
