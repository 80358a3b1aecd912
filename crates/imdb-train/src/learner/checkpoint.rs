//! Checkpoints that are never half-written: Burn's file checkpointer writes in place, so a run
//! killed mid-write would leave a truncated `model-N.bpk` that `--resume` then trusts. Ours writes
//! with [`imdb_data::atomic::AtomicFile`]: a temp file beside it, synced and renamed into place.

use crate::history::{EpochMetrics, History};
use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError, CheckpointingAction};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A checkpointer for one kind of record (`model`, `optim`, `scheduler`) in one directory.
#[derive(Clone, Debug)]
pub(crate) struct AtomicFileCheckpointer {
    dir: PathBuf,
    name: &'static str,
}

impl AtomicFileCheckpointer {
    /// Checkpoints named `<name>-<epoch>.bpk` in `dir` (Burn's own naming).
    pub(crate) fn new(dir: &Path, name: &'static str) -> Self {
        Self {
            dir: dir.to_owned(),
            name,
        }
    }

    fn path(&self, epoch: usize) -> PathBuf {
        self.dir.join(format!("{}-{epoch}.bpk", self.name))
    }
}

impl<R: Checkpoint> Checkpointer<R> for AtomicFileCheckpointer {
    /// Errors name the checkpoint, not the temp file it was being written to (deleted on
    /// failure).
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        let dest = self.path(epoch);
        let named = |e: &dyn std::fmt::Display, kind| {
            CheckpointerError::IOError(std::io::Error::new(
                kind,
                format!("writing {}: {e}", dest.display()),
            ))
        };
        let file = imdb_data::atomic::AtomicFile::new(&dest).map_err(|e| named(&e, e.kind()))?;
        record
            .save(file.path().to_owned())
            .map_err(|e| named(&e, std::io::ErrorKind::Other))?;
        file.commit().map_err(|e| named(&e, e.kind()))
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        match std::fs::remove_file(self.path(epoch)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(CheckpointerError::IOError(e))
            }
            _ => Ok(()),
        }
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        R::load(self.path(epoch))
    }
}

/// Where the history of the epochs up to `epoch` is saved beside Burn's records of that epoch.
pub(crate) fn history_path(dir: &Path, epoch: usize) -> PathBuf {
    dir.join(format!("history-{epoch}.json"))
}

/// Which epochs a phase saves a checkpoint at, and which older ones it deletes.
///
/// A checkpoint is saved at the first epoch that ends at least `interval` after the previous save
/// (or the phase's start), and always at the phase's last epoch; the two newest are kept, so a
/// resumed run always finds a complete one. Burn's default saves every epoch (and the one with the
/// best validation loss, which this protocol never reads), and each save is three files synced
/// with their directory: for a run whose epochs take tens of milliseconds, a large share of its
/// time. An interrupted run resumed from an older checkpoint recomputes the epochs after it, and
/// since shuffling and dropout depend only on (seed, epoch) it ends with the same floats; at most
/// `interval` plus an epoch of work is redone.
#[derive(Debug)]
pub(crate) struct SaveSchedule {
    interval: Duration,
    last_epoch: usize,
    since: Instant,
    kept: VecDeque<usize>,
}

impl SaveSchedule {
    /// A schedule saving at most once per `interval` (zero: every epoch) and at `last_epoch`.
    pub(crate) fn new(interval: Duration, last_epoch: usize) -> Self {
        Self {
            interval,
            last_epoch,
            since: Instant::now(),
            kept: VecDeque::new(),
        }
    }

    /// What to do when `epoch` ends (the metrics play no part).
    pub(crate) fn at_end_of(&mut self, epoch: usize) -> Vec<CheckpointingAction> {
        if epoch < self.last_epoch && self.since.elapsed() < self.interval {
            return Vec::new();
        }
        self.since = Instant::now();
        self.kept.push_back(epoch);
        // Saved before anything is deleted: a kill between the two leaves three checkpoints.
        let mut actions = vec![CheckpointingAction::Save];
        if self.kept.len() > 2 {
            let oldest = self.kept.pop_front().expect("more than two kept");
            actions.push(CheckpointingAction::Delete(oldest));
        }
        actions
    }
}

/// Reads every record of the checkpoint of `epoch` in `dir`, so that `--resume` can refuse a
/// damaged one with an error instead of Burn's Learner panicking on it, and returns the history
/// saved with it (epochs `1..=epoch`).
///
/// # Errors
/// The file that cannot be read, and why.
pub(crate) fn read_checkpoint(
    dir: &Path,
    epoch: usize,
) -> Result<Vec<EpochMetrics>, (PathBuf, String)> {
    use burn::optim::OptimizerRecord;
    use burn::optim::lr_scheduler::LrSchedulerRecord;
    use burn::store::ModuleRecord;
    let path = |name: &str| dir.join(format!("{name}-{epoch}.bpk"));
    let named = |name: &'static str| move |e: CheckpointerError| (path(name), e.to_string());
    <ModuleRecord as Checkpoint>::load(path("model")).map_err(named("model"))?;
    <OptimizerRecord as Checkpoint>::load(path("optim")).map_err(named("optim"))?;
    <LrSchedulerRecord as Checkpoint>::load(path("scheduler")).map_err(named("scheduler"))?;
    let path = history_path(dir, epoch);
    History::load(&path, epoch).map_err(|e| (path, e))
}

/// The last epoch whose model, optimizer, scheduler and history are all in `dir` (0 if none).
pub(crate) fn last_complete_checkpoint(dir: &Path) -> usize {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return 0;
    };
    let epochs: Vec<usize> = listing
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_prefix("model-")?
                .strip_suffix(".bpk")?
                .parse()
                .ok()
        })
        .collect();
    epochs
        .into_iter()
        .filter(|&e| {
            ["optim", "scheduler"]
                .iter()
                .all(|n| dir.join(format!("{n}-{e}.bpk")).is_file())
                && history_path(dir, e).is_file()
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use CheckpointingAction::{Delete, Save};

    #[test]
    fn saves_every_epoch_at_zero_and_keeps_the_newest_two() {
        let mut every = SaveSchedule::new(Duration::ZERO, 5);
        let actions: Vec<_> = (1..=5).map(|e| every.at_end_of(e)).collect();
        assert_eq!(
            actions,
            [
                vec![Save],
                vec![Save],
                vec![Save, Delete(1)],
                vec![Save, Delete(2)],
                vec![Save, Delete(3)],
            ]
        );
    }

    #[test]
    fn a_long_interval_saves_only_the_last_epoch() {
        let mut hourly = SaveSchedule::new(Duration::from_secs(3600), 4);
        let actions: Vec<_> = (1..=4).map(|e| hourly.at_end_of(e)).collect();
        assert_eq!(actions, [vec![], vec![], vec![], vec![Save]]);
        // Resumed at epoch 3 of the same phase: a fresh strategy still saves the last one.
        let mut resumed = SaveSchedule::new(Duration::from_secs(3600), 4);
        assert_eq!(resumed.at_end_of(4), [Save]);
    }

    #[test]
    fn an_elapsed_interval_saves_at_the_next_epoch_end() {
        let mut every = SaveSchedule::new(Duration::from_millis(30), 10);
        assert_eq!(every.at_end_of(1), []);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(every.at_end_of(2), [Save]);
        assert_eq!(every.at_end_of(3), [], "the interval starts again");
    }
}
