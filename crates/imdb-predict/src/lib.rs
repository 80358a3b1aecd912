#![doc = include_str!("../README.md")]
//!
//! ## What is where
//!
//! - [`SentimentClassifier`]: text → [`Prediction`] (probability of positive, [`Label`], the
//!   words with the largest occlusion effect on the logit), batched for throughput; loaded from
//!   a model directory ([`SentimentClassifier::load`]) or from a [`ModelBundle`] in memory
//!   ([`SentimentClassifier::from_bundle`]), whose format `imdb-bundle` defines.
//! - [`SentimentClassifier::explain`]: the same prediction with every term's effect and its
//!   place in the text ([`Explanation`], [`TermEffect`]), to mark the review itself.

mod classifier;
mod explain;

pub use classifier::{
    DEFAULT_BATCH_SIZE, DEFAULT_TOP_K, Label, Prediction, SentimentClassifier, WordEffect,
};
pub use explain::{Explanation, TermEffect};
pub use imdb_bundle::{BundleError, BundleFiles, ModelBundle, Result};
