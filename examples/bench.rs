//! Benchmarks (not tests): data loading and the baseline protocol, median of several runs.
//!
//! ```text
//! cargo run --release --example bench -- [--data PATH] [--runs 5] [--devices flex,ndarray] [--skip-train] [--json] [--check]
//! ```
//!
//! `--check` exits non-zero when a target is missed (data: cold ≤ 3 s, warm ≤ 0.3 s).

use anyhow::{Result, bail};
use burn_imdb::data::{DataSource, ImdbLoader, InputKind};
use burn_imdb::train::{Backend, ExperimentConfig, RunOptions, run_experiment};
use clap::Parser;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

/// Times data loading (cold and warm cache) and the baseline protocol per backend.
#[derive(Parser)]
struct Args {
    /// The data (default: $BURN_IMDB_DATA, else the official archive or the embedded sample).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Runs per measurement; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Backends to time training on (default: every one compiled in).
    #[arg(long, value_delimiter = ',')]
    devices: Vec<String>,
    /// Input representations to time training with.
    #[arg(long, value_delimiter = ',', default_values_t = InputKind::ALL)]
    inputs: Vec<InputKind>,
    /// Only time data loading.
    #[arg(long)]
    skip_train: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// Fail when a target is missed.
    #[arg(long)]
    check: bool,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// Peak resident set size of this process so far, from /proc (Linux); None elsewhere.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let source = DataSource::resolve(args.data.clone());
    let config = ExperimentConfig::new();
    let load = |cache: &std::path::Path| {
        ImdbLoader::new(source.clone())
            .options(config.data.clone())
            .cache_dir(cache)
            .quiet(true)
            .load()
    };

    // Cold: a fresh cache directory each time, so the archive is read, tokenized and encoded.
    let mut cold = Vec::new();
    for _ in 0..args.runs {
        let cache = tempfile::tempdir()?;
        let started = Instant::now();
        load(cache.path())?;
        cold.push(started.elapsed().as_secs_f64());
    }
    let cache = tempfile::tempdir()?;
    let imdb = load(cache.path())?;
    let mut warm = Vec::new();
    for _ in 0..args.runs {
        let started = Instant::now();
        let again = load(cache.path())?;
        warm.push(started.elapsed().as_secs_f64());
        assert!(again.provenance.cache_hit);
    }
    let (cold, warm) = (median(cold), median(warm));
    if !args.json {
        println!(
            "data: {} reviews; load cold {cold:.3} s, warm {warm:.3} s (median of {})",
            imdb.train.len() + imdb.test.len(),
            args.runs
        );
    }

    let mut training = Vec::new();
    if !args.skip_train {
        let backends = if args.devices.is_empty() {
            Backend::compiled()
        } else {
            args.devices
                .iter()
                .map(|d| Backend::select(Some(d)))
                .collect::<Result<_, _>>()?
        };
        for (backend, input) in backends
            .iter()
            .flat_map(|&b| args.inputs.iter().map(move |&i| (b, i)))
        {
            let (mut fit, mut retrain, mut acc) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..args.runs {
                let out = tempfile::tempdir()?;
                let opts = RunOptions {
                    out_dir: out.path().to_owned(),
                    backend,
                    input,
                    resume: false,
                    quiet: true,
                };
                let r = run_experiment(&config, &imdb, &opts)?;
                fit.push(r.fit_seconds);
                retrain.push(r.retrain_seconds);
                acc.push(r.test_accuracy);
            }
            let (fit, retrain, acc) = (median(fit), median(retrain), median(acc));
            if !args.json {
                println!(
                    "{backend} {input}: 20-epoch fit with validation {fit:.2} s, retrain + test {retrain:.2} s, test accuracy {acc:.4} (median of {})",
                    args.runs
                );
            }
            training.push(json!({ "backend": backend.to_string(), "input": input, "fit_seconds": fit, "retrain_seconds": retrain, "test_accuracy": acc }));
        }
    }
    let rss = peak_rss_mb();
    if args.json {
        println!(
            "{}",
            json!({ "runs": args.runs, "load_cold_seconds": cold, "load_warm_seconds": warm, "training": training, "peak_rss_mb": rss })
        );
    } else if let Some(rss) = rss {
        println!("peak RSS {rss:.0} MB");
    }
    if args.check {
        if cold > 3.0 {
            bail!("data load cold {cold:.3} s > 3 s target");
        }
        if warm > 0.3 {
            bail!("data load warm {warm:.3} s > 0.3 s target");
        }
    }
    Ok(())
}
