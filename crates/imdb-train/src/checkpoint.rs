//! Checkpoints that are never half-written: Burn's file checkpointer writes in place, so a run
//! killed mid-write would leave a truncated `model-N.bpk` that `--resume` then trusts. Ours writes
//! with [`imdb_data::atomic::AtomicFile`]: a temp file beside it, synced and renamed into place.

use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError};
use std::path::{Path, PathBuf};

/// A checkpointer for one kind of record (`model`, `optim`, `scheduler`) in one directory.
#[derive(Clone, Debug)]
pub struct AtomicFileCheckpointer {
    dir: PathBuf,
    name: &'static str,
}

impl AtomicFileCheckpointer {
    /// Checkpoints named `<name>-<epoch>.bpk` in `dir` (Burn's own naming).
    pub fn new(dir: &Path, name: &'static str) -> Self {
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

/// Reads the model, optimizer and scheduler checkpoints of `epoch` in `dir` as a resumed run
/// will. Burn's Learner panics on a checkpoint it cannot read; this turns that into an error
/// naming the file, before the Learner starts.
///
/// # Errors
/// The first file that cannot be read, and why.
pub fn check_checkpoint(dir: &Path, epoch: usize) -> Result<(), (PathBuf, CheckpointerError)> {
    use burn::optim::OptimizerRecord;
    use burn::optim::lr_scheduler::LrSchedulerRecord;
    use burn::store::ModuleRecord;
    let path = |name: &str| dir.join(format!("{name}-{epoch}.bpk"));
    let named = |name: &'static str| move |e| (path(name), e);
    <ModuleRecord as Checkpoint>::load(path("model")).map_err(named("model"))?;
    <OptimizerRecord as Checkpoint>::load(path("optim")).map_err(named("optim"))?;
    <LrSchedulerRecord as Checkpoint>::load(path("scheduler")).map_err(named("scheduler"))?;
    Ok(())
}

/// The last epoch whose model, optimizer and scheduler checkpoints are all in `dir` (0 if none).
pub fn last_complete_checkpoint(dir: &Path) -> usize {
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
        .filter(|e| {
            ["optim", "scheduler"]
                .iter()
                .all(|n| dir.join(format!("{n}-{e}.bpk")).is_file())
        })
        .max()
        .unwrap_or(0)
}
