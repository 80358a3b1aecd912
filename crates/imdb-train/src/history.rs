//! Per-epoch metrics: read back from the Learner's logs, written as CSV and JSON, and the
//! choice of the retraining epoch.

use crate::config::EpochSelection;
use crate::error::{Result, TrainError};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One epoch's metrics, as Keras's `history.history` has them (accuracy as a fraction).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's reviews (L2 penalty included).
    pub loss: f64,
    /// Training accuracy.
    pub accuracy: f64,
    /// Validation loss.
    pub val_loss: f64,
    /// Validation accuracy.
    pub val_accuracy: f64,
}

/// Reads the metrics Burn's `FileMetricLogger` wrote under `dir` for epochs `1..=epochs`.
///
/// # Errors
/// [`TrainError::Metrics`] if a metric of an epoch is missing.
pub fn read_learner_history(dir: &Path, epochs: usize) -> Result<Vec<EpochMetrics>> {
    let err = |message: String| TrainError::Metrics {
        path: dir.to_owned(),
        message,
    };
    let summary = burn::train::LearnerSummary::new(dir, &["Loss", "Accuracy"]).map_err(err)?;
    let series = |list: &[burn::train::MetricSummary], name: &str| -> Result<Vec<f64>> {
        let m = list
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| err(format!("no {name} metric")))?;
        (1..=epochs)
            .map(|e| {
                m.entries
                    .iter()
                    .find(|x| x.step == e)
                    .map(|x| x.value)
                    .ok_or_else(|| err(format!("no {name} value for epoch {e}")))
            })
            .collect()
    };
    let loss = series(&summary.metrics.train, "Loss")?;
    let acc = series(&summary.metrics.train, "Accuracy")?;
    let val_loss = series(&summary.metrics.valid, "Loss")?;
    let val_acc = series(&summary.metrics.valid, "Accuracy")?;
    Ok((0..epochs)
        .map(|i| EpochMetrics {
            epoch: i + 1,
            loss: loss[i],
            accuracy: fraction(acc[i]),
            val_loss: val_loss[i],
            val_accuracy: fraction(val_acc[i]),
        })
        .collect())
}

/// Burn's `AccuracyMetric` reports percent; Keras, and everything here, a fraction.
pub(crate) fn fraction(percent: f64) -> f64 {
    percent / 100.0
}

/// The epoch `selection` picks from `history` (1-based). Ties go to the earliest epoch.
///
/// # Panics
/// If `history` is empty.
pub fn choose_epoch(history: &[EpochMetrics], selection: EpochSelection) -> usize {
    assert!(
        !history.is_empty(),
        "cannot choose an epoch from an empty history"
    );
    let best_by = |key: &dyn Fn(&EpochMetrics) -> f64| {
        history
            .iter()
            .fold(
                &history[0],
                |best, m| if key(m) < key(best) { m } else { best },
            )
            .epoch
    };
    match selection {
        EpochSelection::LowestValLoss => best_by(&|m| m.val_loss),
        EpochSelection::HighestValAccuracy => best_by(&|m| -m.val_accuracy),
        EpochSelection::Fixed(n) => n,
    }
}

/// The history as CSV with a header `epoch,loss,accuracy,val_loss,val_accuracy`.
pub fn to_csv(history: &[EpochMetrics]) -> String {
    let mut out = String::from("epoch,loss,accuracy,val_loss,val_accuracy\n");
    for m in history {
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            m.epoch, m.loss, m.accuracy, m.val_loss, m.val_accuracy
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(vals: &[(f64, f64)]) -> Vec<EpochMetrics> {
        vals.iter()
            .enumerate()
            .map(|(i, &(val_loss, val_accuracy))| EpochMetrics {
                epoch: i + 1,
                loss: 0.0,
                accuracy: 0.0,
                val_loss,
                val_accuracy,
            })
            .collect()
    }

    #[test]
    fn selection_rules() {
        let hist = h(&[
            (0.40, 0.85),
            (0.30, 0.88),
            (0.28, 0.87),
            (0.28, 0.89),
            (0.35, 0.89),
        ]);
        assert_eq!(
            choose_epoch(&hist, EpochSelection::LowestValLoss),
            3,
            "ties go to the earliest"
        );
        assert_eq!(choose_epoch(&hist, EpochSelection::HighestValAccuracy), 4);
        assert_eq!(choose_epoch(&hist, EpochSelection::Fixed(2)), 2);
        // NaN never wins.
        let hist = h(&[(0.5, 0.8), (f64::NAN, f64::NAN), (0.4, 0.7)]);
        assert_eq!(choose_epoch(&hist, EpochSelection::LowestValLoss), 3);
        assert_eq!(choose_epoch(&hist, EpochSelection::HighestValAccuracy), 1);
    }

    #[test]
    fn csv_has_the_keras_columns() {
        let csv = to_csv(&h(&[(0.25, 0.875)]));
        assert_eq!(
            csv,
            "epoch,loss,accuracy,val_loss,val_accuracy\n1,0,0,0.25,0.875\n"
        );
    }
}
