//! The whole study: every variant of the seed notebook over many seeds, or every combination of
//! its choices (`--design factorial`), then a report with statistics, figures and the seed
//! notebook's claims checked.
//!
//! ```text
//! cargo run --example study [-- --design variants|factorial] [--only tanh,dropout]
//!     [--seeds N] [--seeds-of bigrams=5,...] [--out artifacts/study] [--data PATH]
//!     [--experiments DIR] [--device flex] [--jobs N] [--quiet]
//! cargo run --example study -- --shard 1/3 --out shard-1 ...   one shard of a study
//! cargo run --example study -- --merge shard-0 shard-1 shard-2 --out report
//! ```
//!
//! The variants are the library's (`imdb_study::study_variants()`), so the command works from any
//! directory; `--experiments DIR` reads the JSON configs of another folder instead.
//!
//! Runs go `--jobs` at a time (default: the number of CPUs, at most 4), in copies of this program
//! started with the hidden `--worker`, which do their share of the runs under this study's folder
//! lock, a fresh process every 100 runs, and end when this process ends.
//!
//! `--shard i/n` runs every n-th run (from the i-th) into `--out`, on any machine, with no report;
//! `--merge DIR...` checks that the folders hold the shards of one study and writes its report
//! into `--out`, the same as one process running every run but for the timings.
//!
//! Started again with the same arguments, it reuses every finished run and continues an
//! interrupted one.

use anyhow::{Result, bail};
use burn_imdb::data::{DataSource, ImdbLoader};
use burn_imdb::study::summary::Summary;
use burn_imdb::study::{
    Design, RUNS_PER_PROCESS, SeedPlan, Shard, StudyOptions, StudyPlan, WORKER_MORE,
    exit_when_parent_ends, factorial_cells, load_experiments, merge, run_shard, run_study_parallel,
    run_worker, select, study_variants,
};
use burn_imdb::train::BackendKind;
use burn_imdb::train::InputKind;
use clap::Parser;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// Runs the study's variants (or its factorial grid) over several seeds and writes report.md,
/// report.html, summary.json and the figures.
#[derive(Parser)]
struct Args {
    /// What to run: `variants` (each variant against the baseline) or `factorial` (every
    /// combination of layers, units, loss, activation and regulariser: 48 cells).
    #[arg(long, default_value = "variants")]
    design: Design,
    /// Only these variants (comma-separated); the baseline is always added, as everything is
    /// compared with it.
    #[arg(long, value_delimiter = ',', conflicts_with = "merge")]
    only: Vec<String>,
    /// Seeds per variant: each config's seed and the next N - 1 (default: 133 for the seed's
    /// variants and 10 for the n-gram ones, so that every comparison can detect 0.003 in test
    /// accuracy; 5 per cell of the factorial design).
    #[arg(long)]
    seeds: Option<usize>,
    /// Seeds of single variants, e.g. `bigrams=5,nb_trigrams=5`, over `--seeds` or the default.
    #[arg(long, value_delimiter = ',', value_parser = parse_seeds_of)]
    seeds_of: Vec<(String, usize)>,
    /// Where runs, figures and the report go (default: artifacts/study, or
    /// artifacts/study-factorial for the factorial design).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The data: an archive, an aclImdb/ directory or Keras's imdb.npz (default: $BURN_IMDB_DATA,
    /// else the official archive from the cache or the network, else the embedded sample).
    #[arg(long)]
    data: Option<PathBuf>,
    /// A folder of experiment configs (JSON, one per variant) to run instead of the built-in
    /// variants.
    #[arg(long, conflicts_with = "merge")]
    experiments: Option<PathBuf>,
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
    /// Run only this shard of the study (`INDEX/COUNT`: every COUNT-th run from the INDEX-th)
    /// into `--out`, with no report; `--merge` writes it from every shard's folder.
    #[arg(long, conflicts_with = "merge")]
    shard: Option<Shard>,
    /// Write the report of the study whose shards ran into these folders, into `--out`.
    #[arg(long, num_args = 1.., value_name = "DIR")]
    merge: Vec<PathBuf>,
    /// Internal: do this worker's share (`INDEX/COUNT`) of the runs for the study (or shard) that
    /// started this process, and exit; ends when the study ends (its standard input closes).
    #[arg(long, hide = true)]
    worker: Option<Shard>,
    /// Internal: the fresh runs a worker does before it ends and its study starts it again.
    #[arg(long, hide = true, default_value_t = RUNS_PER_PROCESS)]
    runs_per_process: usize,
}

fn parse_seeds_of(s: &str) -> Result<(String, usize), String> {
    let (name, n) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected VARIANT=SEEDS"))?;
    let n = n
        .parse()
        .map_err(|_| format!("{s:?}: SEEDS must be a number"))?;
    Ok((name.to_string(), n))
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.worker.is_some() {
        // Before anything else: a worker of a study that is already gone stops at once.
        exit_when_parent_ends();
    }
    let out = args.out.clone().unwrap_or_else(|| match args.design {
        Design::Factorial => "artifacts/study-factorial".into(),
        _ => "artifacts/study".into(),
    });
    if !args.merge.is_empty() {
        let started = Instant::now();
        let outcome = merge(&args.merge, &out)?;
        print_summary(&outcome.summary);
        println!(
            "\n{} run(s) from {} folder(s) merged in {:.1} s; report: {}",
            outcome.runs.len(),
            args.merge.len(),
            started.elapsed().as_secs_f64(),
            out.join("report.html").display()
        );
        return Ok(());
    }
    let configs = match (args.design, &args.experiments) {
        (Design::Factorial, Some(_)) => {
            bail!("--experiments runs variants; the factorial design runs its own grid")
        }
        (Design::Factorial, None) if !args.only.is_empty() => {
            bail!("--only picks variants; the factorial design runs all of its 48 cells")
        }
        (Design::Factorial, None) => factorial_cells(),
        (_, Some(dir)) => select(load_experiments(dir)?, &args.only)?,
        (_, None) => select(study_variants(), &args.only)?,
    };
    let mut seeds = match args.seeds {
        Some(n) => SeedPlan::uniform(n),
        None => SeedPlan::default_for(args.design),
    };
    for (name, n) in &args.seeds_of {
        if !configs.iter().any(|c| c.name == *name) {
            bail!("--seeds-of {name}={n}: no variant named {name:?} in this study");
        }
        seeds = seeds.with(name, *n);
    }
    let plan = StudyPlan::new(args.design, configs, seeds);
    let backend = BackendKind::select(args.device.as_deref())?;
    // A worker's data messages would repeat the study's.
    let quiet_data = args.quiet || args.worker.is_some();
    let loader = ImdbLoader::new(DataSource::resolve(args.data.clone())).quiet(quiet_data);
    let opts = StudyOptions {
        out_dir: out.clone(),
        backend,
        input: args.input,
        quiet: args.quiet,
    };
    let scope = args.shard.unwrap_or(Shard::WHOLE);
    if let Some(worker) = args.worker {
        // A worker ends after RUNS_PER_PROCESS fresh runs; its study starts it again.
        let limit = args.runs_per_process;
        if !run_worker(&plan, &loader, &opts, scope, worker, limit)?.complete {
            std::process::exit(WORKER_MORE);
        }
        return Ok(());
    }
    // By default one run per CPU, but at most four: each process holds the data of its runs
    // (~0.75 GB for the full study's three encodings).
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(4)))
        .max(1);
    if !args.quiet {
        let names: Vec<&str> = plan.configs.iter().map(|c| c.name.as_str()).collect();
        let part = match args.shard {
            Some(s) => format!("shard {s} of "),
            None => String::new(),
        };
        eprintln!(
            "study: {part}{} run(s) of {} on {backend}, {jobs} at a time, into {}",
            plan.runs().len(),
            match names.len() {
                1..=10 => names.join(", "),
                n => format!("{n} configs"),
            },
            out.display()
        );
    }
    let started = Instant::now();
    // A worker is this program with the same arguments and its share.
    let worker = |w: Shard| {
        let exe = std::env::current_exe().unwrap_or_else(|_| "study".into());
        let mut command = Command::new(exe);
        command
            .args(std::env::args_os().skip(1))
            .arg("--worker")
            .arg(w.to_string());
        command
    };
    if let Some(shard) = args.shard {
        let runs = run_shard(&plan, &loader, &opts, shard, jobs, worker)?;
        let reused = runs.iter().filter(|r| r.reused).count();
        println!(
            "shard {shard}: {} run(s) ({reused} reused) in {:.1} s into {}; merge every shard's \
             folder with --merge for the report",
            runs.len(),
            started.elapsed().as_secs_f64(),
            out.display()
        );
        return Ok(());
    }
    let outcome = run_study_parallel(&plan, &loader, &opts, jobs, worker)?;
    print_summary(&outcome.summary);
    let reused = outcome.runs.iter().filter(|r| r.reused).count();
    println!(
        "\n{} run(s) ({} reused) in {:.1} s; report: {}",
        outcome.runs.len(),
        reused,
        started.elapsed().as_secs_f64(),
        out.join("report.html").display()
    );
    Ok(())
}

/// The study's headline numbers on standard output.
fn print_summary(s: &Summary) {
    if let Some(f) = &s.factorial {
        match &f.fit {
            Some(fit) => {
                println!(
                    "{:<22} {:>4} {:>10} {:>10} {:>10}",
                    "term", "df", "F", "p", "Holm p"
                );
                for r in &fit.anova.terms {
                    println!(
                        "{:<22} {:>4} {:>10.2} {:>10.4} {:>10.4}",
                        r.term, r.df, r.f, r.p, r.p_holm
                    );
                }
                println!();
                for e in &f.effects {
                    println!(
                        "{:<12} {:>8} vs {:<5} {:+.4} [{:+.4}, {:+.4}]",
                        e.factor, e.level, e.baseline, e.estimate, e.ci95[0], e.ci95[1]
                    );
                }
            }
            None => println!(
                "no factorial analysis: {}",
                f.error.as_deref().unwrap_or("unknown")
            ),
        }
        return;
    }
    println!(
        "{:<14} {:>5} {:>18} {:>9} {:>9} {:>9} {:>8}  verdict vs baseline",
        "variant", "seeds", "test accuracy", "Δ", "Holm p", "boot. p", "MDD"
    );
    for v in &s.variants {
        let dash = || "—".to_string();
        let (diff, p, boot, mdd, verdict) = match &v.vs_baseline {
            None => (dash(), dash(), dash(), dash(), "(reference)".to_string()),
            Some(c) => (
                c.test
                    .as_ref()
                    .map_or_else(dash, |t| format!("{:+.4}", t.diff)),
                c.p_holm.map_or_else(dash, |p| format!("{p:.4}")),
                c.bootstrap
                    .as_ref()
                    .map_or_else(dash, |b| format!("{:.4}", b.p_holm)),
                c.mdd.map_or_else(dash, |d| format!("{d:.4}")),
                c.verdict_label(),
            ),
        };
        println!(
            "{:<14} {:>5} {:>18} {:>9} {:>9} {:>9} {:>8}  {verdict}",
            v.name,
            v.runs.len(),
            format!(
                "{:.4} ± {:.4}",
                v.test_accuracy.mean,
                v.test_accuracy.std.unwrap_or(0.0)
            ),
            diff,
            p,
            boot,
            mdd,
        );
    }
}
