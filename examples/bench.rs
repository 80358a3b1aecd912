//! Benchmarks (not tests): data loading and the baseline protocol, median of several runs, for
//! every backend compiled in and both input representations.
//!
//! ```text
//! cargo run --example bench -- [--data PATH] [--runs 5] [--devices flex,ndarray]
//!     [--inputs sparse,dense] [--config FILE] [--epochs N] [--skip-train] [--json] [--check]
//! ```
//!
//! Each training measurement runs in a fresh child process (this binary with `--child`), so its
//! peak RSS is that run's alone and one run's caches do not warm the next. A child does what
//! `cargo run --example baseline` does after compiling: load the data from the cache,
//! both phases, artifacts and plots.
//!
//! `--check` exits non-zero when a target is missed: data cold ≤ 3 s, warm ≤ 0.3 s; with sparse
//! input on a CPU backend, phase 1 ≤ 0.35 s, the whole run ≤ 5 s, peak RSS ≤ 400 MB; sparse ≥ 15×
//! faster per epoch than dense where both were timed (the first-layer issue's targets).

use anyhow::{Context, Result, bail};
use burn_imdb::data::{DataSource, ImdbLoader};
use burn_imdb::train::InputKind;
use burn_imdb::train::{BackendKind, ExperimentConfig, RunOptions, run_experiment};
use clap::Parser;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Times data loading (cold and warm cache) and the baseline protocol per backend and input.
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
    /// An experiment config (JSON; default: the seed notebook's baseline), e.g.
    /// `assets/experiments/bigrams.json`.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Epochs of phase 1 (default: the config's); fewer for a quick smoke run.
    #[arg(long)]
    epochs: Option<usize>,
    /// Only time data loading.
    #[arg(long)]
    skip_train: bool,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Fail when a target is missed.
    #[arg(long)]
    check: bool,
    /// Internal: run one `BACKEND:INPUT` training with the cache in `--cache` and print its
    /// [`Run`] as JSON.
    #[arg(long, hide = true)]
    child: Option<String>,
    /// Internal: the warm cache directory a child loads from.
    #[arg(long, hide = true)]
    cache: Option<PathBuf>,
}

/// One training run, as a child reports it.
#[derive(Debug, Serialize, Deserialize)]
struct Run {
    fit_seconds: f64,
    retrain_seconds: f64,
    /// Data load from the warm cache + both phases + artifacts, inside the process.
    total_seconds: f64,
    test_accuracy: f64,
    peak_rss_mb: Option<f64>,
}

/// Medians over the runs of one backend and input.
#[derive(Debug, Serialize)]
struct Measurement {
    backend: String,
    input: InputKind,
    runs: usize,
    epochs: usize,
    fit_seconds: f64,
    fit_seconds_per_epoch: f64,
    retrain_seconds: f64,
    total_seconds: f64,
    test_accuracy: f64,
    peak_rss_mb: Option<f64>,
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

fn config(args: &Args) -> Result<ExperimentConfig> {
    let mut config = match &args.config {
        Some(path) => ExperimentConfig::from_file(path)?,
        None => ExperimentConfig::new(),
    };
    if let Some(epochs) = args.epochs {
        config.epochs = epochs;
    }
    Ok(config)
}

fn loader(args: &Args, cache: &Path) -> Result<ImdbLoader> {
    Ok(ImdbLoader::new(DataSource::resolve(args.data.clone()))
        .options(config(args)?.data)
        .cache_dir(cache)
        .quiet(true))
}

/// The child: one run, timed from the warm data load to the last artifact.
fn child(args: &Args, which: &str) -> Result<()> {
    let (backend, input) = which
        .split_once(':')
        .with_context(|| format!("--child wants BACKEND:INPUT, got {which:?}"))?;
    let backend = BackendKind::select(Some(backend))?;
    let input: InputKind = input.parse().map_err(anyhow::Error::msg)?;
    let cache = args.cache.as_deref().context("--child needs --cache")?;
    let started = Instant::now();
    let imdb = loader(args, cache)?.load()?;
    let out = tempfile::tempdir()?;
    let opts = RunOptions {
        out_dir: out.path().to_owned(),
        backend,
        input,
        resume: false,
        quiet: true,
        checkpoint_seconds: burn_imdb::train::DEFAULT_CHECKPOINT_SECONDS,
    };
    let r = run_experiment(&config(args)?, &imdb, &opts)?;
    let run = Run {
        fit_seconds: r.fit_seconds,
        retrain_seconds: r.retrain_seconds,
        total_seconds: started.elapsed().as_secs_f64(),
        test_accuracy: r.test_accuracy,
        peak_rss_mb: peak_rss_mb(),
    };
    println!("{}", serde_json::to_string(&run)?);
    Ok(())
}

fn spawn_child(args: &Args, backend: BackendKind, input: InputKind, cache: &Path) -> Result<Run> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("--child")
        .arg(format!("{backend}:{input}"))
        .arg("--cache")
        .arg(cache);
    if let Some(data) = &args.data {
        cmd.arg("--data").arg(data);
    }
    if let Some(epochs) = args.epochs {
        cmd.arg("--epochs").arg(epochs.to_string());
    }
    if let Some(config) = &args.config {
        cmd.arg("--config").arg(config);
    }
    let out = cmd.output()?;
    if !out.status.success() {
        bail!(
            "{backend} {input} run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8(out.stdout)?;
    let line = stdout.lines().last().context("child printed nothing")?;
    Ok(serde_json::from_str(line)?)
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(which) = &args.child {
        return child(&args, which);
    }

    // Cold: a fresh cache directory each time, so the archive is read, tokenized and encoded.
    let mut cold = Vec::new();
    for _ in 0..args.runs {
        let cache = tempfile::tempdir()?;
        let started = Instant::now();
        loader(&args, cache.path())?.load()?;
        cold.push(started.elapsed().as_secs_f64());
    }
    let cache = tempfile::tempdir()?;
    let imdb = loader(&args, cache.path())?.load()?;
    let mut warm = Vec::new();
    for _ in 0..args.runs {
        let started = Instant::now();
        let again = loader(&args, cache.path())?.load()?;
        warm.push(started.elapsed().as_secs_f64());
        assert!(again.provenance.cache_hit);
    }
    let (cold, warm) = (median(cold), median(warm));
    let reviews = imdb.train.len() + imdb.test.len();
    drop(imdb);
    if !args.json {
        println!(
            "data: {reviews} reviews; load cold {cold:.3} s, warm {warm:.3} s (median of {})",
            args.runs
        );
    }

    let mut training = Vec::new();
    if !args.skip_train {
        let backends = if args.devices.is_empty() {
            BackendKind::compiled()
        } else {
            args.devices
                .iter()
                .map(|d| BackendKind::select(Some(d)))
                .collect::<Result<_, _>>()?
        };
        let epochs = config(&args)?.epochs;
        if !args.json {
            println!(
                "{:<8} {:<7} {:>9} {:>10} {:>14} {:>10} {:>9} {:>8}",
                "backend",
                "input",
                "fit (s)",
                "per epoch",
                "retrain+test",
                "whole run",
                "test acc",
                "peak RSS"
            );
        }
        // Runs alternate between the measurements (run 1 of each, then run 2 of each, ...), so
        // that a machine slower for a while slows every measurement alike.
        let combos: Vec<(BackendKind, InputKind)> = backends
            .iter()
            .flat_map(|&b| args.inputs.iter().map(move |&i| (b, i)))
            .collect();
        let mut all_runs: Vec<Vec<Run>> = combos.iter().map(|_| Vec::new()).collect();
        for _ in 0..args.runs {
            for (runs, &(backend, input)) in all_runs.iter_mut().zip(&combos) {
                runs.push(spawn_child(&args, backend, input, cache.path())?);
            }
        }
        for (runs, &(backend, input)) in all_runs.iter().zip(&combos) {
            let pick = |f: fn(&Run) -> f64| median(runs.iter().map(f).collect());
            let rss = runs.iter().filter_map(|r| r.peak_rss_mb).reduce(f64::max);
            let m = Measurement {
                backend: backend.to_string(),
                input,
                runs: args.runs,
                epochs,
                fit_seconds: pick(|r| r.fit_seconds),
                fit_seconds_per_epoch: pick(|r| r.fit_seconds) / epochs as f64,
                retrain_seconds: pick(|r| r.retrain_seconds),
                total_seconds: pick(|r| r.total_seconds),
                test_accuracy: pick(|r| r.test_accuracy),
                peak_rss_mb: rss,
            };
            if !args.json {
                println!(
                    "{:<8} {:<7} {:>9.2} {:>9.3}s {:>13.2}s {:>9.2}s {:>9.4} {:>6.0} MB",
                    m.backend,
                    m.input,
                    m.fit_seconds,
                    m.fit_seconds_per_epoch,
                    m.retrain_seconds,
                    m.total_seconds,
                    m.test_accuracy,
                    m.peak_rss_mb.unwrap_or(f64::NAN)
                );
            }
            training.push(m);
        }
    }
    // Sparse vs dense per backend, from the medians.
    let speedups: Vec<_> = training
        .iter()
        .filter(|m| m.input == InputKind::Sparse)
        .filter_map(|s| {
            let d = training
                .iter()
                .find(|d| d.backend == s.backend && d.input == InputKind::Dense)?;
            Some((s.backend.clone(), d.fit_seconds / s.fit_seconds))
        })
        .collect();
    if args.json {
        println!(
            "{}",
            json!({
                "runs": args.runs,
                "load_cold_seconds": cold,
                "load_warm_seconds": warm,
                "training": training,
                "sparse_speedup": speedups.iter().map(|(b, x)| json!({"backend": b, "fit_ratio": x})).collect::<Vec<_>>(),
            })
        );
    } else {
        for (backend, x) in &speedups {
            println!("{backend}: sparse phase 1 is {x:.1}x faster than dense");
        }
    }

    if args.check {
        let mut missed = Vec::new();
        if cold > 3.0 {
            missed.push(format!("data load cold {cold:.3} s > 3 s"));
        }
        if warm > 0.3 {
            missed.push(format!("data load warm {warm:.3} s > 0.3 s"));
        }
        let full_protocol = config(&args)?.epochs == 20 && args.config.is_none();
        for m in &training {
            let cpu = matches!(m.backend.as_str(), "flex" | "ndarray");
            if !(cpu && m.input == InputKind::Sparse) {
                continue;
            }
            if full_protocol && m.fit_seconds > 0.35 {
                missed.push(format!(
                    "{}: phase 1 {:.2} s > 0.35 s",
                    m.backend, m.fit_seconds
                ));
            }
            if full_protocol && m.total_seconds > 5.0 {
                missed.push(format!(
                    "{}: whole run {:.2} s > 5 s",
                    m.backend, m.total_seconds
                ));
            }
            if m.peak_rss_mb.is_some_and(|mb| mb > 400.0) {
                missed.push(format!(
                    "{}: peak RSS {:?} MB > 400",
                    m.backend, m.peak_rss_mb
                ));
            }
        }
        for (backend, x) in &speedups {
            if matches!(backend.as_str(), "flex" | "ndarray") && *x < 15.0 {
                missed.push(format!("{backend}: sparse only {x:.1}x faster than dense"));
            }
        }
        if !missed.is_empty() {
            bail!("targets missed: {}", missed.join("; "));
        }
    }
    Ok(())
}
