//! The embedded sample's quick model.

use crate::error::Result;
use imdb_data::{DataSource, ImdbLoader};
use imdb_train::{
    BackendKind, DEFAULT_CHECKPOINT_SECONDS, ExperimentConfig, InputKind, RunOptions,
    run_experiment,
};
use std::path::{Path, PathBuf};

/// Trains the baseline experiment on the sample of 5,000 reviews compiled into `imdb-data`
/// (seed 42, on Flex, about a second), as `cargo run --example baseline` does without data,
/// and returns its experiment directory, `dir/baseline` (the data's cache goes in
/// `dir/cache`). Its test accuracy is about 0.84, against about 0.89 on the full data.
///
/// # Errors
/// [`ServeError::Data`](crate::ServeError::Data) and
/// [`ServeError::Train`](crate::ServeError::Train) as training reports them.
pub fn train_sample_model(dir: &Path) -> Result<PathBuf> {
    let imdb = ImdbLoader::new(DataSource::Embedded)
        .cache_dir(dir.join("cache"))
        .load()?;
    let out = dir.join("baseline");
    let options = RunOptions {
        out_dir: out.clone(),
        backend: BackendKind::select(Some("flex"))?,
        input: InputKind::Sparse,
        resume: false,
        quiet: true,
        checkpoint_seconds: DEFAULT_CHECKPOINT_SECONDS,
    };
    run_experiment(&ExperimentConfig::new(), &imdb, &options)?;
    Ok(out)
}
