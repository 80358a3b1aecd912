//! The whole study: every variant in the experiments folder over several seeds, then a report
//! with statistics, figures and the seed notebook's claims checked.
//!
//! ```text
//! cargo run --example study [-- --only tanh,dropout] [--seeds 5] [--out artifacts/study]
//!     [--data PATH] [--experiments assets/experiments] [--device flex] [--quiet]
//! ```
//!
//! Started again with the same arguments, it reuses every finished run and continues an
//! interrupted one. Add a variant by dropping a config into the experiments folder (its `name`
//! must equal its file name).

use anyhow::Result;
use burn_imdb::data::{DataSource, ImdbLoader};
use burn_imdb::train::Backend;
use burn_imdb::train::InputKind;
use burn_imdb::train::study::{StudyOptions, load_experiments, run_study, select};
use clap::Parser;
use std::path::PathBuf;
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
    /// No progress bar and no per-run lines.
    #[arg(long)]
    quiet: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let configs = select(load_experiments(&args.experiments)?, &args.only)?;
    let backend = Backend::select(args.device.as_deref())?;
    let loader = ImdbLoader::new(DataSource::resolve(args.data)).quiet(args.quiet);
    if !args.quiet {
        let names: Vec<&str> = configs.iter().map(|c| c.name.as_str()).collect();
        eprintln!(
            "study: {} × {} seed(s) on {backend}, into {}",
            names.join(", "),
            args.seeds,
            args.out.display()
        );
    }
    let opts = StudyOptions {
        out_dir: args.out.clone(),
        seeds: args.seeds,
        backend,
        input: args.input,
        quiet: args.quiet,
    };
    let started = Instant::now();
    let outcome = run_study(&configs, &loader, &opts)?;

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
