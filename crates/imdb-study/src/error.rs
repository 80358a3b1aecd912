//! The one error type of this crate.

use std::path::PathBuf;

/// Result with [`StudyError`].
pub type Result<T, E = StudyError> = std::result::Result<T, E>;

/// Everything that can stop a study.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StudyError {
    /// The study cannot run as asked (no variants, duplicate or unknown names, no seeds).
    #[error("cannot run the study: {message}")]
    Invalid {
        /// Why.
        message: String,
    },
    /// An experiment config file cannot be used.
    #[error("{path}: {message}")]
    ExperimentFile {
        /// The JSON file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// One run of the study failed.
    #[error("variant {name}, seed {seed}: {source}")]
    Run {
        /// The variant.
        name: String,
        /// The seed.
        seed: u64,
        /// What stopped it.
        source: Box<StudyError>,
    },
    /// Shard folders that cannot be merged into one study's report.
    #[error("cannot merge: {message}")]
    Merge {
        /// What does not fit.
        message: String,
    },
    /// The statistics cannot be computed from these runs (an unbalanced factorial grid).
    #[error("statistics: {message}")]
    Stats {
        /// Why.
        message: String,
    },
    /// A worker process could not be started or did not finish its share.
    #[error("study worker {shard}: {message}")]
    Worker {
        /// The worker's shard, `INDEX/COUNT`.
        shard: String,
        /// What happened.
        message: String,
    },
    /// Training refused a config or failed outside a run (a figure, an artifact).
    #[error(transparent)]
    Train(#[from] imdb_train::TrainError),
    /// The data could not be loaded, or another study holds the folder.
    #[error(transparent)]
    Data(#[from] imdb_data::DataError),
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl StudyError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StudyError::Io {
            path: path.into(),
            source,
        }
    }
}
