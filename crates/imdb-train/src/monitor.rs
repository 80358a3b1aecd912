//! What people see while a model trains, and the divergence check.
//!
//! On a terminal Burn's TUI shows the run. Elsewhere (CI, pipes, logs) Burn's plain renderer
//! prints a debug line per batch, so we silence it and print one line per epoch ourselves from the
//! Learner's per-epoch hook, which is also where a NaN or infinite loss stops training.

use burn::train::EarlyStoppingStrategy;
use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::MetricDefinition;
use burn::train::metric::store::{Aggregate, EventStoreClient, Split};
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};
use std::sync::{Arc, Mutex};

/// The first non-finite loss seen, as (split, epoch, value).
pub type Divergence = Arc<Mutex<Option<(&'static str, usize, f64)>>>;

/// The Learner's per-epoch hook: prints the epoch's metrics (unless the TUI shows them) and stops
/// training at the first non-finite loss, recording it in `divergence`.
#[derive(Clone)]
pub struct EpochMonitor {
    label: String,
    total_epochs: usize,
    print: bool,
    has_valid: bool,
    divergence: Divergence,
}

impl EpochMonitor {
    /// A monitor for a run of `total_epochs`, printing lines prefixed by `label` when `print`;
    /// `has_valid` names the validation columns `val_*` (else the validation split is the test set).
    pub fn new(
        label: &str,
        total_epochs: usize,
        print: bool,
        has_valid: bool,
        divergence: Divergence,
    ) -> Self {
        Self {
            label: label.to_owned(),
            total_epochs,
            print,
            has_valid,
            divergence,
        }
    }
}

impl EarlyStoppingStrategy for EpochMonitor {
    fn should_stop(&mut self, epoch: usize, store: &EventStoreClient) -> bool {
        let get = |name: &str, split: &Split| {
            store
                .find_metric(name, epoch, Aggregate::Mean, split)
                .unwrap_or(f64::NAN)
        };
        let (loss, acc) = (
            get("Loss", &Split::Train),
            get("Accuracy", &Split::Train) / 100.0,
        );
        let (val_loss, val_acc) = (
            get("Loss", &Split::Valid),
            get("Accuracy", &Split::Valid) / 100.0,
        );
        if self.print {
            let v = if self.has_valid { "val" } else { "test" };
            println!(
                "{} epoch {epoch:>2}/{}: loss {loss:.4} accuracy {acc:.4} {v}_loss {val_loss:.4} {v}_accuracy {val_acc:.4}",
                self.label, self.total_epochs
            );
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

/// A renderer that shows nothing (the [`EpochMonitor`] prints instead).
pub struct SilentRenderer;

impl MetricsRendererTraining for SilentRenderer {
    fn update_train(&mut self, _state: MetricState) {}
    fn update_valid(&mut self, _state: MetricState) {}
}

impl MetricsRendererEvaluation for SilentRenderer {
    fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}
}

impl TrainingProgressLogger for SilentRenderer {
    fn start(
        &mut self,
        _total_epochs: usize,
        _starting_epoch: usize,
        _total_items: Option<usize>,
        _label: Option<&str>,
    ) {
    }
    fn update_epoch(&mut self, _epoch: usize) {}
    fn start_split(&mut self, _split: &str, _total_items: usize) {}
    fn update_split(&mut self, _items_processed: usize) {}
    fn end_split(&mut self) {}
    fn end(&mut self) {}
    fn log_event_training(&mut self, _event: String) {}
}

impl EvaluationProgressLogger for SilentRenderer {
    fn start_global_progress(&mut self, _total_tests: usize) {}
    fn start_test(&mut self, _name: &str, _total_items: usize) {}
    fn update_test_progress(&mut self, _items_processed: usize) {}
    fn end_test(&mut self) {}
    fn end_global_progress(&mut self) {}
    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRenderer for SilentRenderer {
    fn manual_close(&mut self) {}
    fn register_metric(&mut self, _definition: MetricDefinition) {}
}
