//! What people see while a model trains, and the divergence check.
//!
//! One line per epoch, as Keras prints it (`Epoch 3/20 - loss: 0.2665 - accuracy: 0.9125 -
//! val_loss: ...`), from the Learner's per-epoch hook, which is also where a NaN or infinite loss
//! stops training. On a terminal an indicatif bar shows the reviews of the current split while it
//! runs; elsewhere (CI, pipes, logs) there is no bar and nothing per batch. Burn's own renderers
//! are not used: its terminal dashboard is compiled out (see `Cargo.toml`) and its plain renderer
//! prints a debug line per batch.

use crate::history::EpochMetrics;
use burn::train::EarlyStoppingStrategy;
use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::MetricDefinition;
use burn::train::metric::store::EventStoreClient;
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};
use indicatif::ProgressBar;
use std::sync::{Arc, Mutex};

/// The first non-finite loss seen, as (split, epoch, value).
pub type Divergence = Arc<Mutex<Option<(&'static str, usize, f64)>>>;

/// The Learner's per-epoch hook: prints the epoch's metrics unless quiet, and stops training at
/// the first non-finite loss, recording it in `divergence`.
#[derive(Clone)]
pub struct EpochMonitor {
    label: String,
    total_epochs: usize,
    print: bool,
    has_valid: bool,
    bar: ProgressBar,
    divergence: Divergence,
}

impl EpochMonitor {
    /// A monitor for a run of `total_epochs`, printing lines prefixed by `label` when `print`;
    /// `has_valid` names the validation columns `val_*` (else the validation split is the test
    /// set). Lines are printed around `bar` (the [`ProgressRenderer`]'s), so they never tear it.
    pub fn new(
        label: &str,
        total_epochs: usize,
        print: bool,
        has_valid: bool,
        bar: ProgressBar,
        divergence: Divergence,
    ) -> Self {
        Self {
            label: label.to_owned(),
            total_epochs,
            print,
            has_valid,
            bar,
            divergence,
        }
    }
}

impl EarlyStoppingStrategy for EpochMonitor {
    fn should_stop(&mut self, epoch: usize, store: &EventStoreClient) -> bool {
        let EpochMetrics {
            loss,
            accuracy: acc,
            val_loss,
            val_accuracy: val_acc,
            ..
        } = EpochMetrics::from_store(store, epoch);
        if self.print {
            let v = if self.has_valid { "val" } else { "test" };
            let width = self.total_epochs.to_string().len();
            // `suspend` hides the bar while the line is printed; with no bar it just prints.
            self.bar.suspend(|| {
                println!(
                    "{} Epoch {epoch:>width$}/{} - loss: {loss:.4} - accuracy: {acc:.4} - {v}_loss: {val_loss:.4} - {v}_accuracy: {val_acc:.4}",
                    self.label, self.total_epochs
                )
            });
        }
        for (split, value) in [("train", loss), ("valid", val_loss)] {
            if !value.is_finite() {
                self.divergence
                    .lock()
                    .expect("monitor lock")
                    .get_or_insert((split, epoch, value));
                return true;
            }
        }
        false
    }
}

/// Burn's renderer slot, filled with one progress bar: the reviews of the split being trained on
/// or evaluated, drawn on stderr. Hidden when quiet or when stderr is not a terminal.
pub struct ProgressRenderer {
    bar: ProgressBar,
    /// Whether the bar is drawn at all: per-batch updates of a hidden bar are skipped.
    drawn: bool,
    label: String,
    epoch: usize,
    total_epochs: usize,
}

impl ProgressRenderer {
    /// A renderer for a run labelled `label` (e.g. `[baseline:fit]`).
    pub fn new(label: &str, quiet: bool) -> Self {
        let bar = imdb_data::progress::bar(
            Some(0),
            "{prefix} {msg} [{bar:30}] {pos}/{len} reviews",
            quiet,
        );
        Self {
            drawn: !bar.is_hidden(),
            bar,
            label: label.to_owned(),
            epoch: 1,
            total_epochs: 0,
        }
    }

    /// The bar, for the [`EpochMonitor`] to print around.
    pub fn bar(&self) -> ProgressBar {
        self.bar.clone()
    }
}

impl MetricsRendererTraining for ProgressRenderer {
    fn update_train(&mut self, _state: MetricState) {}
    fn update_valid(&mut self, _state: MetricState) {}
}

impl MetricsRendererEvaluation for ProgressRenderer {
    fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}
}

impl TrainingProgressLogger for ProgressRenderer {
    fn start(
        &mut self,
        total_epochs: usize,
        starting_epoch: usize,
        _total_items: Option<usize>,
        _label: Option<&str>,
    ) {
        self.total_epochs = total_epochs;
        self.epoch = starting_epoch.max(1);
    }
    fn update_epoch(&mut self, epoch: usize) {
        self.epoch = epoch;
    }
    fn start_split(&mut self, split: &str, total_items: usize) {
        self.bar.reset();
        self.bar.set_length(total_items as u64);
        self.bar.set_prefix(format!(
            "{} Epoch {}/{}",
            self.label, self.epoch, self.total_epochs
        ));
        self.bar.set_message(split.to_owned());
    }
    fn update_split(&mut self, items_processed: usize) {
        if self.drawn {
            self.bar.set_position(items_processed as u64);
        }
    }
    fn end_split(&mut self) {}
    fn end(&mut self) {
        self.bar.finish_and_clear();
    }
    fn log_event_training(&mut self, _event: String) {}
}

impl EvaluationProgressLogger for ProgressRenderer {
    fn start_global_progress(&mut self, _total_tests: usize) {}
    fn start_test(&mut self, _name: &str, _total_items: usize) {}
    fn update_test_progress(&mut self, _items_processed: usize) {}
    fn end_test(&mut self) {}
    fn end_global_progress(&mut self) {}
    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRenderer for ProgressRenderer {
    fn manual_close(&mut self) {
        self.bar.finish_and_clear();
    }
    fn register_metric(&mut self, _definition: MetricDefinition) {}
}
