//! The model directory: everything prediction needs, in one folder.
//!
//! | file | holds |
//! |---|---|
//! | `manifest.json` | `{"format": "burn-imdb-model", "version": 1}`: what reads it |
//! | `config.json` | the [`MlpConfig`] (Burn `Config` JSON) |
//! | `model.bpk` | the weights (Burn's burnpack) |
//! | `encoding.json` | the [`EncodeOptions`] the training data was encoded with |
//! | `word_index.json` | the training vocabulary, word → rank, in Keras's `imdb_word_index.json` format |
//!
//! `word_index.json` is absent when the training data had no vocabulary (Keras's `imdb.npz`
//! without its JSON): such a model scores encoded reviews but cannot read text.

use crate::error::{PredictError, Result};
use burn::config::Config;
use burn::module::Module;
use imdb_data::{EncodeOptions, WordIndex};
use imdb_model::{Mlp, MlpConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The `format` a model directory's manifest declares.
pub const FORMAT: &str = "burn-imdb-model";
/// The layout version this build writes and reads. Bump it when a file changes meaning
/// (the tokenizer's rule included), so old directories fail clearly instead of predicting wrongly.
pub const VERSION: u64 = 1;

/// File names inside a model directory.
pub mod files {
    /// The format and version.
    pub const MANIFEST: &str = "manifest.json";
    /// The model config.
    pub const CONFIG: &str = "config.json";
    /// The weights, without Burn's extension (Burn appends `.bpk`).
    pub const WEIGHTS_STEM: &str = "model";
    /// The weights as they appear on disk.
    pub const WEIGHTS: &str = "model.bpk";
    /// The encoding options.
    pub const ENCODING: &str = "encoding.json";
    /// The vocabulary.
    pub const WORD_INDEX: &str = "word_index.json";
}

/// The content of `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`] for directories this crate writes.
    pub format: String,
    /// The layout version ([`VERSION`] when written by this build).
    pub version: u64,
}

impl Manifest {
    /// The manifest this build writes.
    pub fn current() -> Self {
        Self {
            format: FORMAT.to_owned(),
            version: VERSION,
        }
    }
}

/// Writes a complete model directory into `dir` (which must exist): the files in the module docs.
///
/// `word_index` is `None` when the training data had no vocabulary; then no `word_index.json` is
/// written and [`SentimentClassifier::load`](crate::SentimentClassifier::load) refuses the
/// directory, naming the missing file. Callers wanting atomicity write into a temporary directory
/// and swap it in with `imdb_data::atomic::replace_dir` (as `imdb-train` does).
///
/// # Errors
/// [`PredictError::Io`] or [`PredictError::Weights`] naming the file that could not be written.
pub fn write_model_dir(
    dir: &Path,
    config: &MlpConfig,
    mlp: &Mlp,
    encoding: &EncodeOptions,
    word_index: Option<&WordIndex>,
) -> Result<()> {
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| PredictError::io(path, e))
    };
    let config_path = dir.join(files::CONFIG);
    config
        .save(&config_path)
        .map_err(|e| PredictError::io(config_path, e))?;
    mlp.clone()
        .save_file(dir.join(files::WEIGHTS_STEM))
        .map_err(|e| PredictError::Weights {
            path: dir.join(files::WEIGHTS),
            message: e.to_string(),
        })?;
    write(files::ENCODING, json(encoding).as_bytes())?;
    if let Some(index) = word_index {
        write(files::WORD_INDEX, &index.to_json_bytes())?;
    }
    // Last: a directory with a manifest is complete.
    write(files::MANIFEST, json(&Manifest::current()).as_bytes())
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("options and manifests always serialise")
}

/// The model directory for `path`: `path` itself when it holds a manifest (or is not an
/// experiment directory), else `path/model` (an experiment's artifacts directory).
pub fn resolve(path: &Path) -> PathBuf {
    let nested = path.join("model");
    if !path.join(files::MANIFEST).exists() && nested.is_dir() {
        nested
    } else {
        path.to_owned()
    }
}

/// Fails with [`PredictError::MissingFile`] unless `dir/name` is a file.
pub(crate) fn require(dir: &Path, name: &str, why: &'static str) -> Result<PathBuf> {
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(PredictError::MissingFile { path, why })
    }
}

/// Reads and checks the manifest of `dir`.
pub(crate) fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = require(
        dir,
        files::MANIFEST,
        "not a burn-imdb model directory, or one written before manifests existed: retrain it",
    )?;
    let manifest: Manifest = read_json(&path)?;
    if manifest.format != FORMAT || manifest.version != VERSION {
        return Err(PredictError::IncompatibleVersion {
            path,
            format: manifest.format,
            version: manifest.version,
            expected_format: FORMAT,
            expected_version: VERSION,
        });
    }
    Ok(manifest)
}

/// Reads `path` as JSON of type `T`.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| PredictError::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| PredictError::MalformedJson {
        path: path.to_owned(),
        message: e.to_string(),
    })
}
