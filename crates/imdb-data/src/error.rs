//! The one error type of this crate.

use std::path::PathBuf;

/// Result with [`DataError`].
pub type Result<T, E = DataError> = std::result::Result<T, E>;

/// Everything that can go wrong while finding, reading, encoding or caching the IMDB data.
///
/// Each variant names the file, URL or value at fault so the message alone says what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// An I/O error on a named file or directory.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A path was given (argument or `BURN_IMDB_DATA`) but does not exist or cannot be read.
    #[error("data path {path} cannot be read: {source}")]
    SourceUnreadable {
        /// The path that was given.
        path: PathBuf,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// The file is neither a gzip'd tar archive, an `aclImdb/` directory nor a Keras `.npz`.
    #[error(
        "{path}: not a recognised IMDB source (expected a .tar.gz archive, an aclImdb/ directory or Keras's imdb.npz)"
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The gzip stream or the tar inside it is corrupt or truncated.
    #[error("{path}: corrupt or truncated archive: {source}")]
    CorruptArchive {
        /// The archive.
        path: PathBuf,
        /// The decoder's error.
        source: std::io::Error,
    },
    /// A `train|test/pos|neg` folder has no reviews at all.
    #[error("{path}: missing folder {folder}/ (no reviews found there)")]
    MissingFolder {
        /// The archive or directory.
        path: PathBuf,
        /// The folder, e.g. `train/pos`.
        folder: String,
    },
    /// A folder has a different number of reviews than expected.
    #[error("{path}: {folder}/ holds {found} reviews, expected {expected}")]
    WrongCount {
        /// The archive or directory.
        path: PathBuf,
        /// The folder, e.g. `train/pos`.
        folder: String,
        /// How many the layout requires.
        expected: usize,
        /// How many were found.
        found: usize,
    },
    /// The `counts.json` manifest that declares folder sizes is malformed.
    #[error("{path}: malformed counts.json: {message}")]
    MalformedCounts {
        /// The archive or directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A review is not valid UTF-8.
    #[error("{path}: review {entry} is not valid UTF-8 (byte {valid_up_to})")]
    InvalidUtf8 {
        /// The archive or directory.
        path: PathBuf,
        /// The review's path inside it.
        entry: String,
        /// Offset of the first invalid byte.
        valid_up_to: usize,
    },
    /// A downloaded file does not have the pinned SHA-256. The temporary file has been deleted.
    #[error("{url}: SHA-256 mismatch: expected {expected}, got {got} (the download was discarded)")]
    ChecksumMismatch {
        /// Where it came from.
        url: String,
        /// The pinned digest.
        expected: String,
        /// The digest of what arrived.
        got: String,
    },
    /// The server answered with an HTTP error status.
    #[error("{url}: HTTP status {status}")]
    HttpStatus {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The connection failed, timed out or was cut before the whole file arrived.
    #[error("{url}: download failed: {message}")]
    Network {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A `.npz` file is malformed: not a zip, a missing key, a bad `.npy` header or an unexpected dtype or shape.
    #[error("{path}: malformed npz: {message}")]
    MalformedNpz {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the array.
        message: String,
    },
    /// A pickled object array holds something numpy does not write for a list-of-ints array
    /// (an unknown opcode or a global outside numpy's `_reconstruct`/`ndarray`/`dtype`). Nothing was executed.
    #[error("{path}: refused pickle content in {array}: {message}")]
    HostilePickle {
        /// The file.
        path: PathBuf,
        /// The array (`x_train`, `x_test`).
        array: String,
        /// The refused opcode or global.
        message: String,
    },
    /// An encoding option is out of range.
    #[error("invalid option {name} = {value}: {reason}")]
    InvalidOption {
        /// The option's name, e.g. `num_words`.
        name: &'static str,
        /// The value given.
        value: String,
        /// The accepted range.
        reason: &'static str,
    },
    /// A validation split that does not fit the training reviews.
    #[error(
        "invalid validation split: {validation} of {reviews} training reviews (it must be at least 1 and leave at least 1 to train on)"
    )]
    ValidationSplit {
        /// The validation reviews asked for.
        validation: usize,
        /// The training reviews there are.
        reviews: usize,
    },
    /// A JSON file is not JSON, or not what it should hold (the message names the value's path
    /// and position).
    #[error("{path}: {message}")]
    MalformedJson {
        /// The file.
        path: PathBuf,
        /// What is wrong, where.
        message: String,
    },
    /// A JSON file holds a key that means nothing there (a typo would otherwise be ignored and
    /// the default used in silence).
    #[error("{path}: unknown field `{field}`{}", hint(.suggestion, .known))]
    UnknownField {
        /// The file.
        path: PathBuf,
        /// The key's dotted path, e.g. `model.dropuot`.
        field: String,
        /// The known key closest to it, when one is close enough to be what was meant.
        suggestion: Option<String>,
        /// The keys known at that place.
        known: Vec<String>,
    },
    /// A word index (Keras's `imdb_word_index.json` format: `{"word": rank, ...}`, ranks exactly
    /// `1..=n`) does not parse; `path` names the file, or the in-memory part it stands for.
    #[error("{path}: malformed word index: {message}")]
    MalformedWordIndex {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Another process holds a directory's lock (`atomic::DirLock`, feature `atomic`); nothing
    /// was written there.
    #[error("{dir} is in use by another run ({holder}); wait for it or choose another directory")]
    DirectoryInUse {
        /// The directory.
        dir: PathBuf,
        /// Who holds it, as its lock file says (`process N`).
        holder: String,
    },
    /// The source needs a part of this crate that this build was compiled without (e.g. a
    /// `.tar.gz` archive without the `archive` feature): turn the feature on.
    #[error("{what} needs imdb-data's `{feature}` feature, which this build does not have")]
    NotCompiled {
        /// The cargo feature of `imdb-data` that reads it.
        feature: &'static str,
        /// What was asked for, e.g. `the .tar.gz archive data/aclImdb_v1.tar.gz`.
        what: String,
    },
    /// A cache file is unreadable or inconsistent (it is ignored and rebuilt, never trusted).
    #[error("{path}: corrupt cache file: {message}")]
    CorruptCache {
        /// The cache file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// "; did you mean `x`?", or the known keys when none is close.
fn hint(suggestion: &Option<String>, known: &[String]) -> String {
    match (suggestion, known) {
        (Some(s), _) => format!("; did you mean `{s}`?"),
        (None, []) => String::new(),
        (None, known) => format!("; known here: {}", known.join(", ")),
    }
}

impl DataError {
    /// Wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
}
