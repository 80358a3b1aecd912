//! The whole study: every variant in the experiments folder over several seeds, then a report
//! with statistics, figures and the seed notebook's claims checked.
//!
//! ```text
//! cargo run --example study [-- --only tanh,dropout] [--seeds 5] [--out artifacts/study]
//!     [--data PATH] [--experiments assets/experiments] [--device flex] [--jobs N] [--quiet]
//! ```
//!
//! Runs go `--jobs` at a time (default: the number of CPUs, at most 4), each in a process of
//! its own: this one and copies of this program started with the hidden `--shard`, which do
//! their share of the runs under this study's folder lock.
//!
//! Started again with the same arguments, it reuses every finished run and continues an
//! interrupted one. Add a variant by dropping a config into the experiments folder (its `name`
//! must equal its file name).

use anyhow::Result;
use burn_imdb::data::{DataSource, ImdbLoader};
use burn_imdb::study::{
    Shard, StudyOptions, load_experiments, run_shard, run_study_parallel, select,
};
use burn_imdb::train::BackendKind;
use burn_imdb::train::InputKind;
use clap::Parser;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// Runs the study's variants over several seeds and writes report.md, report.html, summary.json
/// and the figures.
#[derive(Parser)]
struct Args {
    /// Only these variants (comma-separated); the baseline is always added, as everything is
    /// compared with it.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Seeds per variant: each config's seed and the next N - 1.
    #[arg(long, default_value_t = 5)]
    seeds: usize,
    /// Where runs, figures and the report go.
    #[arg(long, default_value = "artifacts/study")]
    out: PathBuf,
    /// The data: an archive, an aclImdb/ directory or Keras's imdb.npz (default: $BURN_IMDB_DATA,
    /// else the official archive from the cache or the network, else the embedded sample).
    #[arg(long)]
    data: Option<PathBuf>,
    /// The folder of experiment configs (JSON, one per variant).
    #[arg(long, default_value = "assets/experiments")]
    experiments: PathBuf,
    /// Backend: flex, ndarray or wgpu (default: $BURN_DEVICE, else wgpu if compiled in, else flex).
    #[arg(long)]
    device: Option<String>,
    /// How batches hold reviews: word ids (fast) or dense multi-hot rows.
    #[arg(long, default_value_t = InputKind::Sparse)]
    input: InputKind,
    /// Runs at a time, each in a process of its own (default: the number of CPUs, at most 4; each
    /// process holds the data of its runs, ~0.75 GB for the full study).
    #[arg(long)]
    jobs: Option<usize>,
    /// No progress bar and no per-run lines.
    #[arg(long)]
    quiet: bool,
    /// Internal: do this share of the runs (`INDEX/COUNT`) for the study that started this
    /// process, and exit.
    #[arg(long, hide = true)]
    shard: Option<Shard>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let configs = select(load_experiments(&args.experiments)?, &args.only)?;
    let backend = BackendKind::select(args.device.as_deref())?;
    // A worker's data messages would repeat the study's.
    let quiet_data = args.quiet || args.shard.is_some();
    let loader = ImdbLoader::new(DataSource::resolve(args.data.clone())).quiet(quiet_data);
    let opts = StudyOptions {
        out_dir: args.out.clone(),
        seeds: args.seeds,
        backend,
        input: args.input,
        quiet: args.quiet,
    };
    if let Some(shard) = args.shard {
        run_shard(&configs, &loader, &opts, shard)?;
        return Ok(());
    }
    // By default one run per CPU, but at most four: each process holds the data of its runs
    // (~0.75 GB for the full study's three encodings).
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(4)))
        .clamp(1, configs.len() * args.seeds.max(1));
    if !args.quiet {
        let names: Vec<&str> = configs.iter().map(|c| c.name.as_str()).collect();
        eprintln!(
            "study: {} × {} seed(s) on {backend}, {jobs} at a time, into {}",
            names.join(", "),
            args.seeds,
            args.out.display()
        );
    }
    let started = Instant::now();
    // A worker is this program with the same arguments and its shard.
    let worker = |shard: Shard| {
        let exe = std::env::current_exe().unwrap_or_else(|_| "study".into());
        let mut command = Command::new(exe);
        command
            .args(std::env::args_os().skip(1))
            .arg("--shard")
            .arg(shard.to_string());
        command
    };
    let outcome = run_study_parallel(&configs, &loader, &opts, jobs, worker)?;

    let s = &outcome.summary;
    println!(
        "{:<14} {:>5} {:>18} {:>10} {:>26}",
        "variant", "seeds", "test accuracy", "p", "verdict vs baseline"
    );
    for v in &s.variants {
        let (p, verdict) = match &v.vs_baseline {
            None => ("—".to_string(), "(reference)"),
            Some(c) => (
                c.test.map_or("—".into(), |t| format!("{:.4}", t.p)),
                c.verdict.label(),
            ),
        };
        println!(
            "{:<14} {:>5} {:>18} {:>10} {:>26}",
            v.name,
            v.runs.len(),
            format!(
                "{:.4} ± {:.4}",
                v.test_accuracy.mean,
                v.test_accuracy.std.unwrap_or(0.0)
            ),
            p,
            verdict
        );
    }
    let reused = outcome.runs.iter().filter(|r| r.reused).count();
    println!(
        "\n{} run(s) ({} reused) in {:.1} s; report: {}",
        outcome.runs.len(),
        reused,
        started.elapsed().as_secs_f64(),
        args.out.join("report.html").display()
    );
    Ok(())
}
