#![doc = include_str!("../README.md")]
//!
//! ## What is where
//!
//! - [`SentimentClassifier`]: text → [`Prediction`] (probability of positive, [`Label`], the
//!   words with the largest occlusion effect on the logit), batched for throughput; loaded from
//!   a model directory ([`SentimentClassifier::load`]) or from a [`ModelBundle`] in memory
//!   ([`SentimentClassifier::from_bundle`]), whose format `imdb-bundle` defines.

mod classifier;

pub use classifier::{
    DEFAULT_BATCH_SIZE, DEFAULT_TOP_K, Label, Prediction, SentimentClassifier, WordEffect,
};
pub use imdb_bundle::{BundleError, BundleFiles, ModelBundle, Result};
