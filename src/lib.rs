//! IMDB sentiment classification on Burn: the Keras study of a multi-hot MLP, reproduced and extended.
//!
//! The workspace's crates, re-exported:
//! - [`data`]: the IMDB loader (every common source, Keras-compatible encoding, cache);
//! - [`model`]: a configurable MLP with optional dropout and Keras-style L2, usable from any Burn project;
//! - [`bundle`]: a trained model with its encoding and vocabulary, as a model directory or bytes;
//! - [`train`]: the seed notebook's protocol on Burn's `Learner`, artifacts and plots;
//! - [`study`]: every variant over many seeds, with statistics, figures and a report;
//! - [`predict`]: classify new text with a trained model and explain each decision.
//!
//! This package is the application around them (examples, integration tests, CI, tools) and is
//! not published; the crates above are. It turns on every data source of `imdb-data` and the
//! `write` and `safetensors` features of `imdb-bundle`.
//!
//! # Features
//!
//! The backend the examples and tests are built with, forwarded to `imdb-train`:
//!
//! | feature | default | backend |
//! |---|---|---|
//! | `flex` | yes | Burn's pure-Rust CPU backend (the fastest CPU backend here) |
//! | `ndarray` | no | burn-ndarray's CPU backend (deprecated in Burn 0.22, kept for comparison) |
//! | `wgpu` | no | the GPU through wgpu (Vulkan, Metal, DX12) |

pub use imdb_bundle as bundle;
pub use imdb_data as data;
pub use imdb_model as model;
pub use imdb_predict as predict;
pub use imdb_study as study;
pub use imdb_train as train;

/// The README's Rust snippets, compiled by `cargo test` (the prediction one is `no_run`: it
/// needs a trained model directory), so the front page cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeSnippets;

/// The book's embedding page, whose complete examples `cargo test` compiles and runs.
#[cfg(doctest)]
#[doc = include_str!("../docs/guide/embedding.md")]
pub struct EmbeddingGuide;
