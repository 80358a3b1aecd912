//! The one error type of this crate.

use std::path::PathBuf;

/// Result with [`BundleError`].
pub type Result<T, E = BundleError> = std::result::Result<T, E>;

/// Everything that can go wrong while reading, building or writing a model bundle.
///
/// Each variant names the file at fault (for a bundle built from bytes, the file name those bytes
/// stand for), so the message alone says what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// A file the model directory must hold is not there.
    #[error("{path}: missing from the model directory ({why})")]
    MissingFile {
        /// The file that was looked for.
        path: PathBuf,
        /// What it is for, or how to get it.
        why: &'static str,
    },
    /// `manifest.json` names another format or a version this build cannot read.
    #[error(
        "{path}: model directory format {format:?} version {version}; this build reads {expected_format:?} version {expected_version} (retrain, or use the matching burn-imdb)"
    )]
    IncompatibleVersion {
        /// The manifest.
        path: PathBuf,
        /// The format it declares.
        format: String,
        /// The version it declares.
        version: u64,
        /// The format this build reads.
        expected_format: &'static str,
        /// The version this build reads.
        expected_version: u64,
    },
    /// A JSON file does not parse as what it should hold.
    #[error("{path}: malformed: {message}")]
    MalformedJson {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A JSON file holds a key that means nothing there (a typo, or a file of another layout).
    #[error("{path}: unknown field `{field}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownField {
        /// The file.
        path: PathBuf,
        /// The key's dotted path.
        field: String,
        /// The known key closest to it, when one is close enough to be what was meant.
        suggestion: Option<String>,
    },
    /// The model config parses but is invalid.
    #[error("{path}: invalid model config: {source}")]
    InvalidModel {
        /// The config file.
        path: PathBuf,
        /// Why.
        source: imdb_model::ModelError,
    },
    /// The encoding options parse but are invalid.
    #[error("{path}: invalid encoding options: {source}")]
    InvalidEncoding {
        /// The options file.
        path: PathBuf,
        /// Why.
        source: imdb_data::DataError,
    },
    /// The weights cannot be read, or do not fit the configured model.
    #[error("{path}: the weights do not load into the configured model: {message}")]
    Weights {
        /// The weights file.
        path: PathBuf,
        /// Burn's message.
        message: String,
    },
    /// Safetensors weights (feature `safetensors`) that cannot be written or read, or that do
    /// not fit the configured model.
    #[error("safetensors weights: {message}")]
    Safetensors {
        /// What is wrong (Burn's store's message, or the mismatch).
        message: String,
    },
    /// The vocabulary and encoding produce indices the model's input layer does not have.
    #[error(
        "{path}: the encoding produces indices below {vocabulary}, but the model's input is {input} wide"
    )]
    WidthMismatch {
        /// The model directory.
        path: PathBuf,
        /// One past the largest index the encoding can produce.
        vocabulary: usize,
        /// The model's input width.
        input: usize,
    },
    /// An I/O error on a named file or directory.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl BundleError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BundleError::Io {
            path: path.into(),
            source,
        }
    }
}
