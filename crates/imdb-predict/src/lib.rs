//! Classify new reviews from text with a trained burn-imdb model, and say which words decided.
//!
//! - [`model_dir`]: the self-contained model directory (config, weights, encoding options,
//!   vocabulary, versioned manifest) that training writes and [`SentimentClassifier::load`] reads.
//! - [`SentimentClassifier`]: text → [`Prediction`] (probability of positive, [`Label`], the
//!   words with the largest occlusion effect on the logit), batched for throughput.
//!
//! The crate needs `burn` without its training stack, so other programs can embed prediction
//! without burn-train; pick the backend with the [`Device`](burn::tensor::Device) you load onto.

mod classifier;
mod error;
pub mod model_dir;

pub use classifier::{
    DEFAULT_BATCH_SIZE, DEFAULT_TOP_K, Label, Prediction, SentimentClassifier, WordEffect,
};
pub use error::{PredictError, Result};
pub use model_dir::write_model_dir;
