//! What happens when an epoch ends: its means go into the phase's history, then a checkpoint is
//! saved if the schedule says so.
//!
//! Burn's `Learner` calls two hooks at each epoch's end, on the training thread, once the
//! epoch's metrics are in its event store: the checkpointing strategy, then the early-stopping
//! strategy ([`super::divergence`]). The history must be recorded first, because a checkpoint
//! saves it beside Burn's records (a resumed run needs the epochs before it), and the
//! checkpointing strategy is the first and only place before the save. So [`EpochEnd`] fills
//! that slot and does the two things in order: [`History::record`] (the history's own code) and
//! [`SaveSchedule::at_end_of`] (the checkpoint timing's). Printing the epoch's line is the
//! renderer's job ([`super::progress`]).

use burn::train::checkpoint::{CheckpointingAction, CheckpointingStrategy};
use burn::train::metric::store::EventStoreClient;
use std::path::PathBuf;

use super::checkpoint::{SaveSchedule, history_path};
use crate::history::History;

/// Burn's checkpointing slot for a phase (see the module docs).
#[derive(Debug)]
pub(crate) struct EpochEnd {
    history: History,
    schedule: SaveSchedule,
    /// Where the checkpoints go.
    dir: PathBuf,
}

impl EpochEnd {
    /// Records each epoch into `history` and saves checkpoints into `dir` on `schedule`.
    pub(crate) fn new(history: History, schedule: SaveSchedule, dir: PathBuf) -> Self {
        Self {
            history,
            schedule,
            dir,
        }
    }
}

impl CheckpointingStrategy for EpochEnd {
    /// # Panics
    /// If the history of a checkpoint cannot be written: as Burn's checkpointer does for its own
    /// records, the run stops with a message naming the file.
    fn checkpointing(
        &mut self,
        epoch: usize,
        store: &EventStoreClient,
    ) -> Vec<CheckpointingAction> {
        let metrics = self.history.record(epoch, store);
        // A non-finite loss stops the run (`StopOnDivergence`); a checkpoint of it would only
        // diverge again when resumed, and JSON has no NaN.
        if !metrics.is_finite() {
            return Vec::new();
        }
        let actions = self.schedule.at_end_of(epoch);
        for action in &actions {
            // The history is written before Burn's records and deleted with them, so every
            // epoch whose model is kept has its history.
            let (path, result) = match action {
                CheckpointingAction::Save => {
                    let path = history_path(&self.dir, epoch);
                    let result = self.history.save(&path);
                    (path, result)
                }
                CheckpointingAction::Delete(old) => {
                    let path = history_path(&self.dir, *old);
                    let result = match std::fs::remove_file(&path) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                        _ => Ok(()),
                    };
                    (path, result)
                }
            };
            if let Err(e) = result {
                panic!("writing {}: {e}", path.display());
            }
        }
        actions
    }
}
