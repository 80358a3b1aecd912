//! What people see while a model trains: Burn's renderer slot, filled with one progress bar and
//! one line per epoch as Keras prints it (`Epoch 3/20 - loss: 0.2665 - accuracy: 0.9125 -
//! val_loss: ...`).
//!
//! On a terminal an indicatif bar shows the reviews of the current split while it runs;
//! elsewhere (CI, pipes, logs) there is no bar and nothing per batch. Burn's own renderers are
//! not used: its terminal dashboard is compiled out (see `Cargo.toml`) and its plain renderer
//! prints a debug line per batch.
//!
//! The epoch line's numbers are each metric's epoch value as the metric computed it at the end of
//! its split (Burn hands the renderer every metric update, the epoch's last included): the very
//! values the run's history records from Burn's event store.

use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};
use indicatif::ProgressBar;
use std::collections::HashMap;

/// The renderer of one phase: a progress bar, and unless quiet, one Keras line per epoch.
pub(crate) struct ProgressRenderer {
    bar: ProgressBar,
    /// Whether the bar is drawn at all: per-batch updates of a hidden bar are skipped.
    drawn: bool,
    label: String,
    /// The epoch running now (for the bar's prefix).
    epoch: usize,
    total_epochs: usize,
    /// `None` when quiet.
    lines: Option<EpochLines>,
}

/// What a Keras line needs: the metrics' names, and the epoch values of the current epoch.
struct EpochLines {
    /// `val` in phase 1; `test` in phase 2, whose evaluation split is the test set.
    evaluation: &'static str,
    names: HashMap<MetricId, String>,
    /// `(is the evaluation split, metric name)` → the epoch's value.
    values: HashMap<(bool, String), f64>,
}

impl ProgressRenderer {
    /// A renderer for a run labelled `label` (e.g. `[baseline:fit]`), printing nothing when
    /// `quiet`; `has_valid` names the evaluation columns `val_*` (else `test_*`: the evaluation
    /// split of phase 2 is the test set).
    pub(crate) fn new(label: &str, quiet: bool, has_valid: bool) -> Self {
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
            lines: (!quiet).then(|| EpochLines {
                evaluation: if has_valid { "val" } else { "test" },
                names: HashMap::new(),
                values: HashMap::new(),
            }),
        }
    }

    /// Keeps a metric's epoch value (an update holding `Final`) for the epoch's line.
    fn keep(&mut self, evaluation: bool, state: MetricState) {
        let Some(lines) = &mut self.lines else {
            return;
        };
        if let MetricState::Numeric(entry, Some(NumericEntry::Final(value))) = state
            && let Some(name) = lines.names.get(&entry.metric_id)
        {
            lines.values.insert((evaluation, name.clone()), value);
        }
    }

    /// Prints epoch `epoch`'s line, around the bar so it never tears it.
    fn print_line(&mut self, epoch: usize) {
        let Some(lines) = &mut self.lines else {
            return;
        };
        // Accuracy is logged in percent, as Burn's metric does; Keras prints a fraction.
        let mut get = |evaluation, name: &str, scale: f64| {
            lines
                .values
                .remove(&(evaluation, name.to_owned()))
                .map_or(f64::NAN, |v| v / scale)
        };
        let (loss, accuracy) = (get(false, "Loss", 1.0), get(false, "Accuracy", 100.0));
        let (e_loss, e_accuracy) = (get(true, "Loss", 1.0), get(true, "Accuracy", 100.0));
        let (v, width) = (lines.evaluation, self.total_epochs.to_string().len());
        let line = format!(
            "{} Epoch {epoch:>width$}/{} - loss: {loss:.4} - accuracy: {accuracy:.4} - {v}_loss: {e_loss:.4} - {v}_accuracy: {e_accuracy:.4}",
            self.label, self.total_epochs
        );
        // `suspend` hides the bar while the line is printed; with no bar it just prints.
        self.bar.suspend(|| println!("{line}"));
    }
}

impl MetricsRendererTraining for ProgressRenderer {
    fn update_train(&mut self, state: MetricState) {
        self.keep(false, state);
    }
    fn update_valid(&mut self, state: MetricState) {
        self.keep(true, state);
    }
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
    /// Burn calls this when epoch `epoch` has ended, after both splits' epoch values.
    fn update_epoch(&mut self, epoch: usize) {
        self.print_line(epoch);
        self.epoch = epoch + 1;
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
    fn register_metric(&mut self, definition: MetricDefinition) {
        if let Some(lines) = &mut self.lines {
            lines
                .names
                .insert(definition.metric_id, definition.name.to_string());
        }
    }
}
