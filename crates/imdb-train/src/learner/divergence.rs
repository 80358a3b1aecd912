//! Stopping a run whose loss is no longer a number: Burn's early-stopping slot.

use burn::train::EarlyStoppingStrategy;
use burn::train::metric::store::{Aggregate, EventStoreClient, Split};
use std::sync::{Arc, Mutex};

/// The first non-finite epoch loss seen, as (split, epoch, value).
pub(crate) type Divergence = Arc<Mutex<Option<(&'static str, usize, f64)>>>;

/// Stops training at the end of the first epoch whose training or evaluation loss is NaN or
/// infinite, and records it in the shared [`Divergence`] for the phase to report: going on
/// would only train on NaN, and a checkpoint of it could not be resumed.
#[derive(Clone, Default)]
pub(crate) struct StopOnDivergence {
    divergence: Divergence,
}

impl StopOnDivergence {
    /// A strategy recording into `divergence`.
    pub(crate) fn new(divergence: Divergence) -> Self {
        Self { divergence }
    }
}

impl EarlyStoppingStrategy for StopOnDivergence {
    fn should_stop(&mut self, epoch: usize, store: &EventStoreClient) -> bool {
        for (name, split) in [("train", Split::Train), ("valid", Split::Valid)] {
            let loss = store
                .find_metric("Loss", epoch, Aggregate::Mean, &split)
                .unwrap_or(f64::NAN);
            if !loss.is_finite() {
                self.divergence
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .get_or_insert((name, epoch, loss));
                return true;
            }
        }
        false
    }
}
