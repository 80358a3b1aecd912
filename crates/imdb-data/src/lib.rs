//! The IMDB movie-review dataset for Burn.
#![forbid(unsafe_code)]

pub mod error;

pub use error::{DataError, Result};
