//! The crate's error type.

use std::path::PathBuf;

/// What can go wrong starting a server; once it runs, a bad request is answered, not raised.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// There is no model at the path given.
    #[error(
        "no model at {}: train one first with `cargo run --example baseline` (the README's main \
         command, which writes artifacts/baseline/), or start with `--sample` for the embedded \
         sample's quick model",
        path.display()
    )]
    NoModel {
        /// The path that was given.
        path: PathBuf,
    },
    /// The model directory could not be read.
    #[error(transparent)]
    Model(#[from] imdb_predict::BundleError),
    /// The address could not be listened on.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The embedded sample could not be read.
    #[error(transparent)]
    Data(#[from] imdb_data::DataError),
    /// Training the sample's model failed.
    #[error(transparent)]
    Train(#[from] imdb_train::TrainError),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, ServeError>;
