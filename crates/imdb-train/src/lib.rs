#![doc = include_str!("../README.md")]
//!
//! ## What is where
//!
//! - [`ExperimentConfig`]: model, loss, Keras-exact RMSprop, batch size, epochs, validation size,
//!   epoch selection, seed and data encoding, as one JSON-able config, validated up front.
//! - [`run_experiment`]: fit 20 epochs on 15,000 reviews validating on 10,000 (on smaller data,
//!   the seed's 40%: [`ExperimentConfig::validation_split`]), choose the epoch
//!   with the lowest validation loss, retrain from scratch on all 25,000, evaluate on the test set,
//!   and write `history.{csv,json}`, `results.json`, the model, and the loss/accuracy plots.
//!   [`fit`] is phase 1 alone from a model you give (Keras's `model.fit`); with
//!   [`ExperimentConfig::shuffle`] off it trains as Keras's `shuffle=False` does, which is how
//!   `tests/keras_parity.rs` compares whole runs with Keras's.
//! - [`BackendKind`]: Flex (default), NdArray or Wgpu by cargo feature, overridable at run time.
//!   Batches hold word ids by default ([`RunOptions::input`], [`MultiHotBatcher`]); the
//!   [`ExecutionPlan`], decided once per run, says where the first layer and the optimizer run
//!   (on CPU backends: a host gather-sum, and a lazy RMSprop on the touched rows of `W₀`).
//!
//! - [`Weighting`]: NBSVM's log-count ratio as input weights, computed from each phase's
//!   training reviews and stored in the model (`ExperimentConfig::weighting`).
//! - The study (every variant of the seed over several seeds, with statistics, figures and a
//!   report) is the `imdb-study` crate, on this crate's public API.
//!
//! Runs are deterministic for a seed on the CPU and resumable after a crash (`RunOptions::resume`).

pub mod accuracy;
mod backend_kind;
pub mod batcher;
pub mod checkpoint;
pub mod classifier;
pub mod config;
pub mod error;
mod first_layer;
pub mod history;
mod host;
mod host_step;
pub mod loader;
mod metric_log;
pub mod monitor;
pub mod plan;
pub mod plot;
pub mod protocol;
pub mod rmsprop;
mod row_sparse;
pub mod weighting;

pub use backend_kind::BackendKind;
pub use batcher::{ImdbBatch, InputKind, MultiHotBatcher};
pub use classifier::Classifier;
pub use config::{EpochSelection, ExperimentConfig, RmsPropKerasConfig, ValidationSplit};
pub use error::{Result, TrainError};
pub use history::EpochMetrics;
pub use plan::ExecutionPlan;
pub use protocol::{
    DEFAULT_CHECKPOINT_SECONDS, Fitted, Results, RunOptions, check_data, fit, run_experiment,
};
pub use weighting::Weighting;
