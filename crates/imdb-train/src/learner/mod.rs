//! What this crate plugs into Burn's `Learner`, one job each:
//!
//! | piece | Burn's slot | when Burn calls it |
//! |---|---|---|
//! | [`classifier::Classifier`] | the model (`TrainStep`, `InferenceStep`) | every batch: the plan's step ([`crate::cpu`] on CPU backends) |
//! | [`accuracy::BinaryAccuracyMetric`] | a numeric metric | every batch: Keras's `p > 0.5` accuracy |
//! | [`outcome_log::OutcomeLog`] | a validation metric (phase 2) | every batch: which test reviews were right |
//! | [`metric_log::MemoryMetricLog`] | the metric logger | every batch: keeps the values in memory, not in files |
//! | [`progress::ProgressRenderer`] | the renderer | every batch (the bar) and every epoch's end (the Keras line) |
//! | [`epoch_end::EpochEnd`] | the checkpointing strategy | every epoch's end: records the history, then saves a checkpoint on its schedule ([`checkpoint`]) |
//! | [`divergence::StopOnDivergence`] | the early-stopping strategy | every epoch's end, after the checkpoint: stops at a NaN loss |
//! | [`checkpoint::AtomicFileCheckpointer`] | the checkpointers | when a checkpoint is saved or read: atomic files |

pub(crate) mod accuracy;
pub(crate) mod checkpoint;
pub(crate) mod classifier;
pub(crate) mod divergence;
pub(crate) mod epoch_end;
pub(crate) mod metric_log;
pub(crate) mod outcome_log;
pub(crate) mod progress;
