//! Loading a model directory and classifying text with it.

use crate::explain::{self, Explanation};
use burn::tensor::Device;
use imdb_bundle::{BundleError, ModelBundle, Result, files};
use imdb_data::{EncodeOptions, WordIndex};
use imdb_model::{Mlp, Occlusion, SparseBatch};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Reviews per forward pass of [`SentimentClassifier::predict`] unless changed with
/// [`SentimentClassifier::with_batch_size`].
pub const DEFAULT_BATCH_SIZE: usize = 512;
/// Words explained per review unless changed with [`SentimentClassifier::with_top_k`].
pub const DEFAULT_TOP_K: usize = 5;

/// The decision, from the probability of positive: `Positive` when it is above 0.5 (logit > 0),
/// the threshold of Keras's binary accuracy and of training's accuracy metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// Probability of positive above 0.5.
    Positive,
    /// Probability of positive 0.5 or below.
    Negative,
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Label::Positive => "positive",
            Label::Negative => "negative",
        })
    }
}

/// How much one word moved a review's logit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WordEffect {
    /// The word (or word pair "w1 w2", for an `ngrams = 2` model), as the tokenizer wrote it
    /// (lower case).
    pub word: String,
    /// `logit(review) − logit(review without this word)`: positive values pushed towards
    /// positive.
    pub effect: f64,
}

/// The classification of one review.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Probability that the review is positive, in `[0, 1]`.
    pub probability: f64,
    /// The decision (see [`Label`]).
    pub label: Label,
    /// The model's logit; `probability = sigmoid(logit)`.
    pub logit: f64,
    /// The words whose removal changes the logit most, largest `|effect|` first (ties by word).
    /// Empty when the review has no word of the vocabulary.
    pub top_words: Vec<WordEffect>,
}

/// A trained model with the vocabulary and encoding it was trained with, ready to classify text.
///
/// Text goes through exactly the training pipeline: [`imdb_data::tokenize`]'s rule (tags
/// stripped, lower-cased), the training vocabulary ([`WordIndex::ranks_of`]), the training
/// options ([`EncodeOptions::encode_one`]: start character, `index_from`, `num_words` → OOV),
/// then a multi-hot row. Unknown words become the OOV index, as in training.
///
/// # Explanations
///
/// Each word present in a review and in the vocabulary gets its **occlusion effect**:
/// `logit(review) − logit(review without that word)`, every occurrence removed (a multi-hot row
/// only records presence). It is exact, not a gradient approximation, and cheap: removing word
/// `i` subtracts the kernel row `W₀[i]` from the first layer's pre-activation, so every
/// "without" row of a batch is one gather and one subtraction, and the rest of the network runs
/// once over all of them ([`Mlp::occlusion`]).
///
/// ```no_run
/// use burn::tensor::Device;
/// use imdb_predict::SentimentClassifier;
/// let classifier = SentimentClassifier::load("artifacts/baseline", &Device::flex())?;
/// for p in classifier.predict(&["A wonderful, moving film.", "Dull and far too long."]) {
///     println!("{:.3} {} {:?}", p.probability, p.label, p.top_words);
/// }
/// # Ok::<(), imdb_predict::BundleError>(())
/// ```
#[derive(Debug)]
pub struct SentimentClassifier {
    mlp: Mlp,
    word_index: WordIndex,
    encoding: EncodeOptions,
    top_k: usize,
    batch_size: usize,
}

impl SentimentClassifier {
    /// Loads the model directory `dir` (or an experiment directory holding `model/`) onto
    /// `device`.
    ///
    /// # Errors
    /// As [`ModelBundle::read_dir`] and [`from_bundle`](Self::from_bundle):
    /// [`BundleError::MissingFile`] naming the file (`word_index.json` is missing for models
    /// trained on Keras's `imdb.npz` without its vocabulary), [`BundleError::IncompatibleVersion`],
    /// [`BundleError::MalformedJson`], [`BundleError::InvalidModel`],
    /// [`BundleError::InvalidEncoding`], [`BundleError::Weights`] (unreadable, or shapes that do
    /// not fit the config) and [`BundleError::WidthMismatch`] (vocabulary and model disagree).
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        Self::from_bundle(&ModelBundle::read_dir(dir)?, device)
    }

    /// The classifier of a model bundle, on `device`: from a directory, or from bytes a program
    /// carries ([`ModelBundle::from_files`] with `include_bytes!`), so it needs no file at run
    /// time. The result classifies exactly as [`load`](Self::load) of the same files does
    /// (burn-imdb's `tests/predict.rs` checks it on a trained model).
    ///
    /// A program that carries its model (the files of `artifacts/baseline/model/` copied into
    /// its `model/` folder); `ignore`d here only because those files are not in this crate:
    ///
    /// ```ignore
    /// use burn::tensor::Device;
    /// use imdb_predict::{BundleFiles, ModelBundle, SentimentClassifier};
    ///
    /// let bundle = ModelBundle::from_files(BundleFiles {
    ///     manifest: include_bytes!("../model/manifest.json"),
    ///     config: include_bytes!("../model/config.json"),
    ///     weights: include_bytes!("../model/model.bpk"),
    ///     encoding: include_bytes!("../model/encoding.json"),
    ///     word_index: Some(include_bytes!("../model/word_index.json")),
    /// })?;
    /// let classifier = SentimentClassifier::from_bundle(&bundle, &Device::flex())?;
    /// let verdict = &classifier.predict(&["A wonderful, moving film."])[0];
    /// println!("{} ({:.3})", verdict.label, verdict.probability);
    /// # Ok::<(), imdb_predict::BundleError>(())
    /// ```
    ///
    /// # Errors
    /// [`BundleError::MissingFile`] for a bundle without a vocabulary (it cannot read text), and
    /// [`BundleError::Weights`] as [`ModelBundle::model`].
    pub fn from_bundle(bundle: &ModelBundle, device: &Device) -> Result<Self> {
        let word_index = bundle
            .word_index()
            .ok_or_else(|| BundleError::MissingFile {
                path: bundle.origin().join(files::WORD_INDEX),
                why: "the training vocabulary; a model trained on Keras's imdb.npz without imdb_word_index.json cannot read text",
            })?
            .clone();
        Ok(Self {
            mlp: bundle.model(device)?,
            word_index,
            encoding: bundle.encoding().clone(),
            top_k: DEFAULT_TOP_K,
            batch_size: DEFAULT_BATCH_SIZE,
        })
    }

    /// Explains each prediction with its `k` most influential words (0: no explanation, which
    /// skips that work).
    pub fn with_top_k(mut self, k: usize) -> Self {
        self.top_k = k;
        self
    }

    /// Reviews per forward pass (at least 1).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// The model.
    pub fn model(&self) -> &Mlp {
        &self.mlp
    }

    /// The training vocabulary.
    pub fn word_index(&self) -> &WordIndex {
        &self.word_index
    }

    /// The training encoding options.
    pub fn encoding(&self) -> &EncodeOptions {
        &self.encoding
    }

    /// The model's input indices for `text`: tokenized, ranked and encoded as in training.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        self.encoding
            .encode_one(&self.word_index.term_ranks_of(text, self.encoding.ngrams))
    }

    /// Classifies every text, in order, [`batch size`](Self::with_batch_size) reviews per forward.
    ///
    /// Any text gives a result: an empty text or one without a known word is classified from the
    /// start character (and OOV index) alone, with no explanation words.
    pub fn predict(&self, texts: &[&str]) -> Vec<Prediction> {
        texts
            .chunks(self.batch_size)
            .flat_map(|chunk| self.predict_batch(chunk))
            .collect()
    }

    /// Classifies every text as [`predict`](Self::predict) does, and gives the effect of each
    /// of its terms where the text has it, so a caller can mark the review itself (see
    /// [`Explanation`]). Each explanation's `prediction` is what `predict` returns for that text.
    ///
    /// ```no_run
    /// use burn::tensor::Device;
    /// use imdb_predict::SentimentClassifier;
    /// let classifier = SentimentClassifier::load("artifacts/baseline", &Device::flex())?;
    /// let review = "A wonderful, moving film.";
    /// for term in &classifier.explain(&[review])[0].terms {
    ///     println!("{:?} {:?}", &review[term.start..term.end], term.effect);
    /// }
    /// # Ok::<(), imdb_predict::BundleError>(())
    /// ```
    pub fn explain(&self, texts: &[&str]) -> Vec<Explanation> {
        // Without the start marker, encoding one rank gives that term's column alone.
        let one_term = EncodeOptions {
            start_char: None,
            ..self.encoding.clone()
        };
        texts
            .chunks(self.batch_size)
            .flat_map(|chunk| {
                let (csr, occlusion) = self.occlude(chunk);
                chunk
                    .iter()
                    .enumerate()
                    .map(|(r, text)| {
                        let logit = f64::from(occlusion.logit(r));
                        let effect = |rank: u32| {
                            let column = *one_term.encode_one(&[rank]).first()?;
                            self.word_of(column as usize)?;
                            let j = csr.row(r).binary_search(&column).ok()?;
                            Some(logit - f64::from(occlusion.without(r)[j]))
                        };
                        let ranks = self.word_index.term_ranks_of(text, self.encoding.ngrams);
                        Explanation {
                            prediction: self.prediction(&csr, &occlusion, r),
                            terms: explain::terms(text, self.encoding.ngrams, &ranks, effect),
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn predict_batch(&self, texts: &[&str]) -> Vec<Prediction> {
        if texts.is_empty() {
            return Vec::new();
        }
        let (csr, occlusion) = self.occlude(texts);
        (0..csr.batch_size())
            .map(|r| self.prediction(&csr, &occlusion, r))
            .collect()
    }

    /// The multi-hot rows of `texts` and the logits of each with and without each of its terms.
    fn occlude(&self, texts: &[&str]) -> (SparseBatch, Occlusion) {
        let width = self.mlp.input_size();
        let encoded: Vec<Vec<u32>> = texts.par_iter().map(|t| self.encode(t)).collect();
        let csr = SparseBatch::from_rows(&encoded, width)
            .expect("load checked that every encoded index is below the model's width");
        let occlusion = self.mlp.occlusion(&csr);
        (csr, occlusion)
    }

    /// The prediction of row `r` of an occluded batch.
    fn prediction(&self, csr: &SparseBatch, occlusion: &Occlusion, r: usize) -> Prediction {
        let logit = occlusion.logit(r);
        // Vocabulary words only, not the start and OOV markers (which may share a
        // column with a word under unusual options).
        let mut top_words: Vec<WordEffect> = if self.top_k == 0 {
            Vec::new()
        } else {
            csr.row(r)
                .iter()
                .zip(occlusion.without(r))
                .filter_map(|(&c, &without)| {
                    Some(WordEffect {
                        word: self.word_of(c as usize)?.to_owned(),
                        effect: f64::from(logit) - f64::from(without),
                    })
                })
                .collect()
        };
        top_words.sort_by(|a, b| {
            b.effect
                .abs()
                .total_cmp(&a.effect.abs())
                .then_with(|| a.word.cmp(&b.word))
        });
        top_words.truncate(self.top_k);
        let logit = f64::from(logit);
        Prediction {
            probability: sigmoid(logit),
            label: if logit > 0.0 {
                Label::Positive
            } else {
                Label::Negative
            },
            logit,
            top_words,
        }
    }

    /// The vocabulary word of model column `column`, if it is one.
    fn word_of(&self, column: usize) -> Option<&str> {
        let c = u32::try_from(column).ok()?;
        if Some(c) == self.encoding.start_char || Some(c) == self.encoding.oov_char {
            return None;
        }
        self.word_index
            .word(c.checked_sub(self.encoding.index_from)?)
    }
}

fn sigmoid(x: f64) -> f64 {
    // Either branch keeps exp's argument ≤ 0, so neither overflows.
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}
