//! The seed notebook's baseline, end to end: 16-16-1 relu MLP, RMSprop, binary cross-entropy,
//! 20 epochs with validation, retrain for the best epoch, evaluate on the test set.
//!
//! ```text
//! cargo run --example baseline [-- --data PATH] [--out DIR] [--seed N] [--resume]
//!                                         [--input sparse|dense]
//! cargo run --example baseline --features wgpu      # on the GPU
//! ```

use anyhow::{Context, Result};
use burn_imdb::data::{DataSource, ImdbLoader};
use burn_imdb::train::InputKind;
use burn_imdb::train::{
    BackendKind, DEFAULT_CHECKPOINT_SECONDS, ExperimentConfig, RunOptions, run_experiment,
};
use clap::Parser;
use std::path::PathBuf;

/// Trains and evaluates an IMDB sentiment MLP with the Keras study's protocol.
#[derive(Parser)]
struct Args {
    /// The data: an archive, an aclImdb/ directory or Keras's imdb.npz (default: $BURN_IMDB_DATA,
    /// else the official archive from the cache or the network, else the embedded sample).
    #[arg(long)]
    data: Option<PathBuf>,
    /// An experiment config (JSON); default: the seed notebook's baseline.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where the artifacts go (default: artifacts/<experiment name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Override the config's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Override the config's number of epochs of phase 1.
    #[arg(long)]
    epochs: Option<usize>,
    /// Continue an interrupted run in the output directory.
    #[arg(long)]
    resume: bool,
    /// At most one checkpoint per this many seconds of a phase (0: every epoch); the last epoch
    /// of each phase is always saved, and `--resume` redoes what came after the newest one.
    #[arg(long, default_value_t = DEFAULT_CHECKPOINT_SECONDS, value_parser = non_negative)]
    checkpoint_seconds: f64,
    /// Backend: flex, ndarray or wgpu (default: $BURN_DEVICE, else wgpu if compiled in, else flex).
    #[arg(long)]
    device: Option<String>,
    /// How batches hold reviews: word ids (fast) or the notebook's dense multi-hot rows (same
    /// numbers up to float rounding, ~18x slower on a CPU).
    #[arg(long, default_value_t = InputKind::Sparse)]
    input: InputKind,
    /// No per-epoch lines and no progress bar.
    #[arg(long)]
    quiet: bool,
}

/// A number of seconds, zero or more (infinity: only the last epoch of each phase).
fn non_negative(text: &str) -> std::result::Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s >= 0.0 => Ok(s),
        _ => Err(format!("{text:?} is not a number of seconds >= 0")),
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let mut config = match &args.config {
        Some(path) => ExperimentConfig::from_file(path)
            .with_context(|| format!("reading {}", path.display()))?,
        None => ExperimentConfig::new(),
    };
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    if let Some(epochs) = args.epochs {
        config.epochs = epochs;
    }
    config.validate()?;
    let backend = BackendKind::select(args.device.as_deref())?;
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("artifacts").join(&config.name));

    let imdb = ImdbLoader::new(DataSource::resolve(args.data))
        .options(config.data.clone())
        .load()?;
    let p = &imdb.provenance;
    eprintln!(
        "data: {:?} {} ({} train / {} test reviews, {:.2} s, {})",
        p.kind,
        p.path
            .as_ref()
            .map_or("(embedded)".into(), |p| p.display().to_string()),
        imdb.train.len(),
        imdb.test.len(),
        p.load_seconds,
        if p.cache_hit {
            "cache hit"
        } else {
            "encoded and cached"
        }
    );
    eprintln!(
        "backend: {backend} ({} input); experiment: {} (seed {}); artifacts: {}",
        args.input,
        config.name,
        config.seed,
        out.display()
    );

    let opts = RunOptions {
        out_dir: out.clone(),
        backend,
        input: args.input,
        resume: args.resume,
        quiet: args.quiet,
        checkpoint_seconds: args.checkpoint_seconds,
    };
    let r = run_experiment(&config, &imdb, &opts)?;

    println!();
    println!("{:<28} {}", "experiment", r.name);
    println!("{:<28} {}", "backend", r.backend);
    println!(
        "{:<28} {:.4}",
        "best validation accuracy", r.best_val_accuracy
    );
    println!("{:<28} {:.4}", "lowest validation loss", r.best_val_loss);
    println!("{:<28} {}", "chosen epoch", r.chosen_epoch);
    println!("{:<28} {:.4}", "test accuracy", r.test_accuracy);
    println!("{:<28} {:.4}", "test loss", r.test_loss);
    println!(
        "{:<28} {:.2} s + {:.2} s",
        "fit + retrain time", r.fit_seconds, r.retrain_seconds
    );
    println!("{:<28} {}", "artifacts", out.display());
    Ok(())
}
