//! The IMDB movie-review dataset for Burn, encoded exactly as Keras's `imdb.load_data` does.
//!
//! - **Sources** ([`DataSource`]): the official Stanford archive (downloaded once into the cache and
//!   checked against its SHA-256), a local copy (the archive, an unpacked `aclImdb/` directory, a
//!   labelled-only tarball or Keras's `imdb.npz`), or a 10% sample compiled into the crate.
//! - **Encoding** ([`EncodeOptions`]): Keras's options and defaults (`num_words`, `skip_top`, `maxlen`,
//!   `seed` 113 with numpy's exact shuffle, `start_char` 1, `oov_char` 2, `index_from` 3); the word
//!   index is ranked by frequency over the training split ([`tokenize`] documents the tokenizer);
//!   `ngrams = 2` adds word pairs as terms ([`ngrams`]).
//! - **Cache**: the encoded data is cached per source checksum and options; a second load reads it.
//! - **Burn**: [`ImdbDataset`] implements Burn's `Dataset` (reviews as token ids and labels).
//!   Turning them into model inputs is the model's business: the batcher lives beside the
//!   training step in `imdb-train`, and the input type in `imdb-model`.
//!
//! ```
//! use imdb_data::{DataSource, ImdbLoader};
//! let cache = tempfile::tempdir().unwrap();
//! let imdb = ImdbLoader::new(DataSource::Embedded).cache_dir(cache.path()).load().unwrap();
//! let (train, validation) = imdb.seed_split(1_000).unwrap();
//! assert_eq!((validation.len(), train.len()), (1_000, 1_500));
//! println!("{}", imdb.decode(imdb.train.tokens(0)).unwrap());
//! ```
//!
//! The data: Maas et al., *Learning Word Vectors for Sentiment Analysis*, ACL 2011.

pub mod atomic;
mod cache;
pub mod dataset;
pub mod download;
pub mod encode;
pub mod error;
pub mod json;
pub mod load;
pub mod ngrams;
mod npy;
pub mod npz;
pub mod numpy_rng;
mod pickle;
pub mod progress;
pub mod reviews;
pub mod source;
pub mod split;
pub mod tokenize;
pub mod vocab;
mod zip_entry;

pub use dataset::{ImdbDataset, ImdbItem};
pub use encode::EncodeOptions;
pub use error::{DataError, Result};
pub use load::{Imdb, ImdbLoader, Provenance, SourceKind};
pub use source::{DataSource, Format};
pub use split::Split;
pub use vocab::WordIndex;
