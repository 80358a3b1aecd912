#![doc = include_str!("../README.md")]
//!
//! ## What is where
//!
//! - [`ExperimentConfig`]: model, loss, Keras-exact RMSprop ([`RmsPropKerasConfig`]), batch
//!   size, epochs, validation size, epoch selection, seed, input weighting ([`Weighting`]) and
//!   data encoding, as one JSON-able config, validated up front.
//! - [`run_experiment`]: fit 20 epochs on 15,000 reviews validating on 10,000 (on smaller data,
//!   the seed's 40%: [`ExperimentConfig::validation_split`]), choose the epoch with the lowest
//!   validation loss, retrain from scratch on all 25,000, evaluate on the test set, and write
//!   `history.{csv,json}`, `results.json` ([`Results`]), the model directory and the plots. A
//!   run is deterministic for a seed on the CPU, and resumable after a crash
//!   ([`RunOptions::resume`]).
//! - [`fit`]: phase 1 alone from a model you give (Keras's `model.fit`); with
//!   [`ExperimentConfig::shuffle`] off it trains as Keras's `shuffle=False` does, which is how
//!   `tests/keras_parity.rs` compares whole runs with Keras's.
//! - [`BackendKind`]: Flex (default), NdArray or Wgpu, compiled in by cargo feature and chosen at
//!   run time. Batches hold word ids by default ([`InputKind`], [`MultiHotBatcher`]); the
//!   [`ExecutionPlan`], decided once per run, says where the first layer and the optimizer run.
//! - [`plot`]: the notebook's figures, and the pieces other figures are drawn with.
//!
//! ## How a training step runs
//!
//! On a GPU, a step is the model's own `forward` under Burn's autodiff. On a CPU backend with
//! sparse batches it is the `cpu` module's loops over the tensors' memory: a gather-sum for the
//! first layer, the small layers, the loss and every gradient, then Keras's RMSprop as one loop
//! per parameter (and, for a first kernel whose batches touch few of its rows, only on those
//! rows). The module's docs walk through one step, file by file; every part is tested against
//! Burn's autodiff and Burn's tensor ops.

mod artifacts;
mod backend_kind;
mod config;
mod cpu;
mod data;
mod error;
mod history;
mod learner;
mod outcomes;
mod phase;
pub mod plot;
mod protocol;
mod rmsprop;
mod weighting;

pub use backend_kind::BackendKind;
pub use config::{EpochSelection, ExperimentConfig, RmsPropKerasConfig, ValidationSplit};
pub use cpu::plan::{ExecutionPlan, FirstLayer, OptimizerPath};
pub use data::{ImdbBatch, InputKind, MultiHotBatcher};
pub use error::{Result, TrainError};
pub use history::EpochMetrics;
pub use outcomes::ReviewOutcomes;
pub use protocol::{
    DEFAULT_CHECKPOINT_SECONDS, Fitted, Results, RunOptions, check_data, fit, run_experiment,
};
pub use weighting::Weighting;
