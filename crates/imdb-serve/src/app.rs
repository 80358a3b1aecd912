//! The model and what the server answers: the routes, the API's JSON and its refusals.

use crate::error::{Result, ServeError};
use crate::http::{Request, Response, query_param};
use crate::limits::{MAX_BODY_BYTES, MAX_HEAD_BYTES, MAX_REVIEW_CHARS, MAX_REVIEWS};
use crate::page::Page;
use burn::module::Module;
use burn::tensor::Device;
use imdb_data::EncodeOptions;
use imdb_model::MlpConfig;
use imdb_predict::{Explanation, ModelBundle, Prediction, SentimentClassifier, TermEffect};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Words (and n-grams) listed per review in the API's `top_words` and on the page.
pub const TOP_WORDS: usize = 10;

/// What `GET /api/model` says about the loaded model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelInfo {
    /// The model directory it was read from.
    pub directory: PathBuf,
    /// The experiment's name (`baseline`, or a study variant) when the model sits in an
    /// experiment directory with its `results.json`.
    pub variant: Option<String>,
    /// The experiment's test accuracy, from the same `results.json`.
    pub test_accuracy: Option<f64>,
    /// The network.
    pub network: MlpConfig,
    /// Trainable parameters.
    pub parameters: usize,
    /// How text becomes the model's input (Keras's `imdb.load_data` options).
    pub encoding: EncodeOptions,
    /// Terms of the training vocabulary (words, and pairs or triples for n-gram models), of
    /// which the model sees the `encoding.num_words` most frequent.
    pub vocabulary_size: usize,
    /// The model's input width.
    pub input_width: usize,
}

/// A loaded model and the server's answers; shared by every connection.
#[derive(Debug)]
pub struct App {
    classifier: SentimentClassifier,
    info: ModelInfo,
    page: Page,
}

/// The body of `POST /api/predict`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PredictRequest {
    reviews: Vec<String>,
}

/// One review's answer: the prediction's fields, then every term where the text has it.
#[derive(Serialize)]
pub(crate) struct ReviewResult<'a> {
    #[serde(flatten)]
    prediction: &'a Prediction,
    terms: &'a [TermEffect],
}

impl<'a> From<&'a Explanation> for ReviewResult<'a> {
    fn from(e: &'a Explanation) -> Self {
        Self {
            prediction: &e.prediction,
            terms: &e.terms,
        }
    }
}

/// The limits, as `GET /api/model` and the page report them.
#[derive(Clone, Copy, Debug, Serialize)]
pub(crate) struct Limits {
    max_body_bytes: usize,
    max_reviews: usize,
    max_review_chars: usize,
    max_head_bytes: usize,
}

pub(crate) const LIMITS: Limits = Limits {
    max_body_bytes: MAX_BODY_BYTES,
    max_reviews: MAX_REVIEWS,
    max_review_chars: MAX_REVIEW_CHARS,
    max_head_bytes: MAX_HEAD_BYTES,
};

impl App {
    /// Loads the model directory `path` (or an experiment directory holding `model/`) onto
    /// `device`.
    ///
    /// # Errors
    /// [`ServeError::NoModel`] if `path` does not exist (its message says how to make a model),
    /// [`ServeError::Model`] if it is not a readable model directory.
    pub fn load(path: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(ServeError::NoModel {
                path: path.to_owned(),
            });
        }
        let bundle = ModelBundle::read_dir(path)?;
        let classifier = SentimentClassifier::from_bundle(&bundle, device)?;
        // An experiment directory holds `model/` and `results.json`; a study variant's too.
        // Two fields are read, not the whole `imdb_train::Results`, so a results file of an
        // older or newer layout still names the model.
        let results: serde_json::Value = bundle
            .origin()
            .parent()
            .and_then(|experiment| std::fs::read(experiment.join("results.json")).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        let info = ModelInfo {
            directory: bundle.origin().to_owned(),
            variant: results["name"].as_str().map(str::to_owned),
            test_accuracy: results["test_accuracy"].as_f64(),
            ..ModelInfo::of(&classifier, bundle.config())
        };
        Ok(Self::new(classifier, info))
    }

    /// Serves `classifier`, described by `info` (see [`ModelInfo::of`]). It explains
    /// [`TOP_WORDS`] terms per review, whatever it was built with.
    pub fn new(classifier: SentimentClassifier, info: ModelInfo) -> Self {
        Self {
            classifier: classifier.with_top_k(TOP_WORDS),
            info,
            page: Page::new(),
        }
    }

    /// The loaded model's description.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Answers one request.
    pub(crate) fn handle(&self, request: &Request) -> Response {
        let path = request.path();
        let (allowed, handler): (&str, fn(&Self, &Request) -> Response) = match path {
            "/" => ("GET, HEAD", Self::page),
            "/api/model" => ("GET, HEAD", Self::model),
            "/api/predict" => ("POST", Self::predict),
            _ => {
                return Response::error(
                    404,
                    format!(
                        "no such page: {path}; there is the page at /, POST /api/predict and \
                         GET /api/model"
                    ),
                );
            }
        };
        if !allowed.split(", ").any(|m| m == request.method) {
            return Response::error(
                405,
                format!("{} {path} is not served; use {allowed}", request.method),
            )
            .with_header("Allow", allowed);
        }
        handler(self, request)
    }

    fn predict(&self, request: &Request) -> Response {
        let is_json = request
            .header("content-type")
            .and_then(|t| t.split(';').next())
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Response::error(
                415,
                "send the reviews as JSON with Content-Type: application/json",
            );
        }
        let body: PredictRequest = match serde_json::from_slice(&request.body) {
            Ok(body) => body,
            Err(e) => {
                return Response::error(400, format!("expected {{\"reviews\": [\"…\", …]}}: {e}"));
            }
        };
        if body.reviews.len() > MAX_REVIEWS {
            return Response::error(
                413,
                format!(
                    "{} reviews in one request; the limit is {MAX_REVIEWS}",
                    body.reviews.len()
                ),
            );
        }
        for (i, review) in body.reviews.iter().enumerate() {
            if let Some(chars) = too_long(review) {
                return Response::error(
                    413,
                    format!("review {i} has {chars} characters; the limit is {MAX_REVIEW_CHARS}"),
                );
            }
        }
        let texts: Vec<&str> = body.reviews.iter().map(String::as_str).collect();
        let explanations = self.classifier.explain(&texts);
        #[derive(Serialize)]
        struct Answer<'a> {
            predictions: Vec<ReviewResult<'a>>,
        }
        Response::json(
            200,
            &Answer {
                predictions: explanations.iter().map(ReviewResult::from).collect(),
            },
        )
    }

    fn model(&self, _: &Request) -> Response {
        #[derive(Serialize)]
        struct Answer<'a> {
            #[serde(flatten)]
            info: &'a ModelInfo,
            top_words: usize,
            limits: Limits,
        }
        Response::json(
            200,
            &Answer {
                info: &self.info,
                top_words: TOP_WORDS,
                limits: LIMITS,
            },
        )
    }

    fn page(&self, request: &Request) -> Response {
        let review = request
            .query()
            .and_then(|q| query_param(q, "review"))
            .filter(|r| !r.is_empty());
        let Some(review) = review else {
            return self.page.render(200, &self.info, None, None, None);
        };
        if let Some(chars) = too_long(&review) {
            let error =
                format!("the review has {chars} characters; the limit is {MAX_REVIEW_CHARS}");
            return self
                .page
                .render(413, &self.info, Some(&review), None, Some(&error));
        }
        let explanation = &self.classifier.explain(&[&review])[0];
        self.page.render(
            200,
            &self.info,
            Some(&review),
            Some(ReviewResult::from(explanation)),
            None,
        )
    }
}

/// The length of `review` in characters if it is over [`MAX_REVIEW_CHARS`].
fn too_long(review: &str) -> Option<usize> {
    // Bytes bound characters from above: most reviews skip the count.
    if review.len() <= MAX_REVIEW_CHARS {
        return None;
    }
    Some(review.chars().count()).filter(|&chars| chars > MAX_REVIEW_CHARS)
}

impl ModelInfo {
    /// The description of `classifier`, built from `config`, outside any experiment directory.
    pub fn of(classifier: &SentimentClassifier, config: &MlpConfig) -> Self {
        Self {
            directory: PathBuf::from("(in memory)"),
            variant: None,
            test_accuracy: None,
            network: config.clone(),
            parameters: classifier.model().num_params(),
            encoding: classifier.encoding().clone(),
            vocabulary_size: classifier.word_index().len(),
            input_width: classifier.model().input_size(),
        }
    }
}
