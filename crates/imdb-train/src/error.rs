//! The one error type of this crate.

use std::path::PathBuf;

/// Result with [`TrainError`].
pub type Result<T, E = TrainError> = std::result::Result<T, E>;

/// Everything that can stop an experiment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// An experiment setting is out of range; nothing was started.
    #[error("invalid experiment setting {field} = {value}: {reason}")]
    InvalidConfig {
        /// The setting, e.g. `batch_size`.
        field: &'static str,
        /// The value given.
        value: String,
        /// The accepted range.
        reason: &'static str,
    },
    /// The experiment and the data it was given disagree; nothing was started.
    #[error("the experiment's {setting} is {config}, but the data's is {data}: {hint}")]
    DataMismatch {
        /// What disagrees, e.g. `model.input` against the data's width.
        setting: &'static str,
        /// The experiment's side.
        config: String,
        /// The data's side.
        data: String,
        /// How to make them agree.
        hint: &'static str,
    },
    /// A run would need more memory than the machine has available; nothing was started.
    #[error(
        "{setting} needs about {} for training (weights, gradients, optimizer state{}), but {} is available: lower it",
        gib(*needed), if *dense_batches { ", dense batches" } else { "" }, gib(*available)
    )]
    OutOfMemory {
        /// What makes the run this large, with its value (e.g. `model.input = 1000000`).
        setting: String,
        /// The estimate, in bytes.
        needed: u64,
        /// Whether dense input batches are part of it.
        dense_batches: bool,
        /// The memory available, in bytes (`MemAvailable` of `/proc/meminfo`).
        available: u64,
    },
    /// The model configuration is invalid.
    #[error(transparent)]
    Model(#[from] imdb_model::ModelError),
    /// The data could not be loaded.
    #[error(transparent)]
    Data(#[from] imdb_data::DataError),
    /// The model directory could not be written.
    #[error(transparent)]
    Bundle(#[from] imdb_bundle::BundleError),
    /// The loss became NaN or infinite.
    #[error(
        "the {split} loss is {value} at epoch {epoch}: training diverged (lower the learning rate?)"
    )]
    NonFiniteLoss {
        /// `train` or `valid`.
        split: &'static str,
        /// The first epoch with a non-finite loss (1-based).
        epoch: usize,
        /// The value (NaN or ±inf).
        value: f64,
    },
    /// Training stopped early (interrupted, or Burn reported an error).
    #[error("training stopped after {completed} of {expected} epochs: {reason}")]
    Interrupted {
        /// Epochs with metrics on disk.
        completed: usize,
        /// Epochs asked for.
        expected: usize,
        /// Why, as far as Burn says.
        reason: String,
    },
    /// `--resume` was asked for but there is nothing compatible to resume.
    #[error("{path}: cannot resume: {reason}")]
    Resume {
        /// The output directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Another run holds the output directory (its lock file `.lock`); nothing was started.
    #[error("{dir} is in use by another run ({holder}); wait for it or choose another --out")]
    OutputInUse {
        /// The output directory.
        dir: PathBuf,
        /// Who holds it, as its lock file says (`process N`).
        holder: String,
    },
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A plot could not be drawn.
    #[error("{path}: cannot draw the plot: {message}")]
    Plot {
        /// The image file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A device was asked for that this build does not have.
    #[error("device {name:?} is not available: {reason}")]
    Device {
        /// The name asked for.
        name: String,
        /// Why not (e.g. the cargo feature to enable).
        reason: String,
    },
}

/// `bytes` in GiB, for messages.
fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

impl TrainError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.into(),
            source,
        }
    }
}
