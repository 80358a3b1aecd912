//! What a run leaves in its output directory, every file written whole: the config, the
//! histories, the results, the model directory and the plots.

use imdb_bundle::ModelBundle;
use imdb_data::Imdb;
use imdb_data::atomic::DirLock;
use imdb_model::Mlp;
use serde::Serialize;
use std::path::Path;

use crate::config::ExperimentConfig;
use crate::error::{Result, TrainError};
use crate::history::to_csv;
use crate::plot::plot_history;
use crate::protocol::Results;

/// The lock of the output directory `out` (see [`DirLock`]), held while a run writes there.
///
/// # Errors
/// [`TrainError::OutputInUse`] naming the directory and the holder's process id.
pub(crate) fn lock_out_dir(out: &Path) -> Result<DirLock> {
    DirLock::acquire(out).map_err(|e| match e {
        imdb_data::DataError::DirectoryInUse { dir, holder } => {
            TrainError::OutputInUse { dir, holder }
        }
        other => other.into(),
    })
}

/// Creates `out`; for a fresh run, removes the checkpoints of both phases that an earlier run left
/// there; for a resumed run, insists on the same config.
pub(crate) fn prepare_out_dir(config: &ExperimentConfig, out: &Path, resume: bool) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| TrainError::io(out, e))?;
    let config_path = out.join("config.json");
    let json = serde_json::to_string_pretty(config).expect("configs always serialise");
    if resume {
        let before = std::fs::read_to_string(&config_path).map_err(|e| TrainError::Resume {
            path: out.to_owned(),
            reason: format!("no config.json from an earlier run ({e})"),
        })?;
        if before != json {
            return Err(TrainError::Resume {
                path: out.to_owned(),
                reason: "config.json differs from this run's config".into(),
            });
        }
        return Ok(());
    }
    // The previous run's `model/` and `results.json` stay until this run replaces them
    // (atomically), so a run that fails leaves the last good model usable.
    for dir in ["fit", "retrain"] {
        let p = out.join(dir);
        if p.exists() {
            std::fs::remove_dir_all(&p).map_err(|e| TrainError::io(&p, e))?;
        }
    }
    write_atomic(&config_path, json.as_bytes())
}

/// Writes `history.{csv,json}`, the model directory `model/` ([`imdb_bundle`]: config,
/// weights, the encoding options and training vocabulary prediction from text needs), the
/// plots, and last `results.json`, whose presence means the run finished.
pub(crate) fn write_artifacts(
    config: &ExperimentConfig,
    mlp: &Mlp,
    imdb: &Imdb,
    results: &Results,
    out: &Path,
) -> Result<()> {
    write_atomic(
        &out.join("history.csv"),
        to_csv(&results.history).as_bytes(),
    )?;
    write_atomic(
        &out.join("history.json"),
        to_json(&results.history).as_bytes(),
    )?;
    // `run_experiment` checked that `imdb.options` equals `config.data`.
    ModelBundle::new(&config.model, mlp, &imdb.options, imdb.word_index.as_ref())?
        .write_dir(&out.join("model"))?;
    plot_history(&results.history, out, "Validation")?;
    write_atomic(&out.join("results.json"), to_json(results).as_bytes())
}

/// Writes `bytes` to `path` with [`imdb_data::atomic::write`]: the old file or the new one,
/// never half of one.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    imdb_data::atomic::write(path, bytes).map_err(|e| TrainError::io(path, e))
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("histories and results always serialise")
}
