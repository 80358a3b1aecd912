//! A phase's history: each epoch's means, read from the Learner's event store when the epoch
//! ends, saved with each checkpoint, written as CSV and JSON, and the choice of the retraining
//! epoch.

use crate::config::EpochSelection;
use burn::train::metric::store::{Aggregate, EventStoreClient, Split};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::{Arc, Mutex};

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

impl EpochMetrics {
    /// Epoch `epoch`'s means from the Learner's event store (NaN for a metric it lacks).
    fn from_store(store: &EventStoreClient, epoch: usize) -> Self {
        let get = |name: &str, split: &Split| {
            store
                .find_metric(name, epoch, Aggregate::Mean, split)
                .unwrap_or(f64::NAN)
        };
        Self {
            epoch,
            loss: get("Loss", &Split::Train),
            accuracy: fraction(get("Accuracy", &Split::Train)),
            val_loss: get("Loss", &Split::Valid),
            val_accuracy: fraction(get("Accuracy", &Split::Valid)),
        }
    }

    /// Whether all four numbers are finite.
    pub(crate) fn is_finite(&self) -> bool {
        [self.loss, self.accuracy, self.val_loss, self.val_accuracy]
            .iter()
            .all(|v| v.is_finite())
    }
}

/// A phase's history so far, epochs `1..=n` in order. Clones share it: the epoch-end hook
/// records into it ([`crate::learner::epoch_end`]), the phase reads it when training ends.
#[derive(Clone, Debug, Default)]
pub(crate) struct History(Arc<Mutex<Vec<EpochMetrics>>>);

impl History {
    /// A history holding `epochs` already (a resumed phase's, from its checkpoint).
    pub(crate) fn starting_with(epochs: Vec<EpochMetrics>) -> Self {
        Self(Arc::new(Mutex::new(epochs)))
    }

    /// Records epoch `epoch`, whose means Burn's event store holds, and returns them.
    pub(crate) fn record(&self, epoch: usize, store: &EventStoreClient) -> EpochMetrics {
        let metrics = EpochMetrics::from_store(store, epoch);
        self.lock().push(metrics);
        metrics
    }

    /// Writes the history so far to `path` (as JSON, atomically): the history part of a
    /// checkpoint.
    pub(crate) fn save(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_string(&*self.lock()).expect("finite metrics serialise");
        imdb_data::atomic::write(path, json.as_bytes())
    }

    /// Reads a history saved with the checkpoint of epoch `epoch`: it must hold epochs
    /// `1..=epoch`.
    pub(crate) fn load(
        path: &Path,
        epoch: usize,
    ) -> std::result::Result<Vec<EpochMetrics>, String> {
        let json = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let history: Vec<EpochMetrics> = serde_json::from_str(&json).map_err(|e| e.to_string())?;
        let numbered = history.iter().enumerate().all(|(i, m)| m.epoch == i + 1);
        if history.len() != epoch || !numbered {
            return Err(format!(
                "does not hold the metrics of epochs 1 to {epoch} in order"
            ));
        }
        Ok(history)
    }

    /// Every epoch recorded, leaving the history empty.
    pub(crate) fn take(&self) -> Vec<EpochMetrics> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<EpochMetrics>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The accuracy metric reports percent, as Burn's does; Keras, and everything here, a fraction.
fn fraction(percent: f64) -> f64 {
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
