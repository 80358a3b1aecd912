#![doc = include_str!("../README.md")]
//!
//! ## Where things are
//!
//! - The text side (always built): [`tokenize`] (the tokenizer's rule), [`vocab`] ([`WordIndex`],
//!   ranked by frequency over the training split), [`encode`] ([`EncodeOptions`]: Keras's options
//!   and defaults, `seed` 113 with numpy's exact shuffle), [`ngrams`] (word pairs and triples as
//!   terms), [`split`] ([`Split`]: labelled sequences in one buffer), [`error`].
//! - `load`, `source`, `dataset`, `reviews` (feature `loader`): the loader, the sources, Burn's
//!   `Dataset`. Turning reviews into model inputs is the model's business: the batcher lives
//!   beside the training step in `imdb-train`, and the input type in `imdb-model`.
//! - `download` (feature `download`), `npz` (feature `npz`), `atomic` (feature `atomic`),
//!   `progress` (feature `progress`).
//!
//! A source a build was compiled without (a `.tar.gz` without `archive`, say) is an error,
//! [`DataError::NotCompiled`], naming the feature: never a silent fallback.
#![cfg_attr(docsrs, feature(doc_cfg))]

// The text side: always built.
pub mod encode;
pub mod error;
pub mod json;
pub mod ngrams;
pub mod numpy_rng;
pub mod split;
pub mod tokenize;
pub mod vocab;

#[cfg(feature = "atomic")]
pub mod atomic;
#[cfg(feature = "progress")]
pub mod progress;

#[cfg(feature = "loader")]
mod cache;
#[cfg(feature = "loader")]
pub mod dataset;
#[cfg(feature = "loader")]
mod digest;
#[cfg(feature = "loader")]
pub mod load;
#[cfg(feature = "loader")]
pub mod reviews;
#[cfg(feature = "loader")]
pub mod source;

#[cfg(feature = "download")]
pub mod download;
#[cfg(any(feature = "npz", feature = "cache"))]
mod npy;
#[cfg(feature = "npz")]
pub mod npz;
#[cfg(feature = "npz")]
mod pickle;
#[cfg(any(feature = "npz", feature = "cache"))]
mod zip_entry;

pub use encode::EncodeOptions;
pub use error::{DataError, Result};
pub use split::Split;
pub use vocab::WordIndex;

#[cfg(feature = "loader")]
pub use dataset::{ImdbDataset, ImdbItem};
#[cfg(feature = "loader")]
pub use load::{Imdb, ImdbLoader, Provenance, SourceKind};
#[cfg(feature = "loader")]
pub use source::{DataSource, Format};
