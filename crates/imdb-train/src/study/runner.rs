//! Runs every variant over every seed, reusing finished runs, then writes the report.

use super::report::write_report;
use super::summary::{Summary, summarize};
use crate::backend::Backend;
use crate::batcher::InputKind;
use crate::config::ExperimentConfig;
use crate::error::{Result, TrainError};
use crate::protocol::{Results, RunOptions, lock_out_dir, run_experiment, write_atomic};
use imdb_data::{EncodeOptions, Imdb, ImdbLoader};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How to run a study.
#[derive(Clone, Debug)]
pub struct StudyOptions {
    /// Where runs, figures and the report go.
    pub out_dir: PathBuf,
    /// Seeds per variant: the config's seed, then the next `seeds - 1` integers.
    pub seeds: usize,
    /// The backend of every run.
    pub backend: Backend,
    /// How batches hold the reviews in every run.
    pub input: InputKind,
    /// No progress bar and no per-run lines.
    pub quiet: bool,
}

/// One run of the study.
#[derive(Clone, Debug)]
pub struct StudyRun {
    /// The variant.
    pub variant: String,
    /// The seed.
    pub seed: u64,
    /// Its artifacts: `<out>/<variant>/seed-<seed>/`.
    pub dir: PathBuf,
    /// Whether a finished run on disk was reused instead of running it again.
    pub reused: bool,
    /// What it found.
    pub results: Results,
}

/// What a study did and found.
#[derive(Clone, Debug)]
pub struct StudyOutcome {
    /// Every run, variant by variant, in seed order.
    pub runs: Vec<StudyRun>,
    /// The numbers of the report.
    pub summary: Summary,
}

/// The folder of one run.
pub fn run_dir(out: &Path, variant: &str, seed: u64) -> PathBuf {
    out.join(variant).join(format!("seed-{seed}"))
}

/// Written into a run's folder before it starts: the checksum of the data it trains on, so that
/// an interrupted run is only resumed on the same data.
const DATA_MARKER: &str = "data_checksum.txt";

/// What to do with a run's folder.
enum State {
    /// `results.json` of this very config and data: reuse it.
    Finished(Box<Results>),
    /// Interrupted with this config and data: continue from its checkpoints.
    Interrupted,
    /// Nothing usable: start from scratch.
    Fresh,
}

/// Runs every config of `configs` over `opts.seeds` seeds on the data `loader` loads (once per
/// distinct encoding), each run with [`run_experiment`] in [`run_dir`], then writes the report,
/// figures and `summary.json` into `opts.out_dir` ([`write_report`]).
///
/// A run whose folder holds a `results.json` of the same config (seed included) on data with the
/// same checksum is reused, not repeated. A run interrupted before its `results.json` continues
/// from its checkpoints if its `config.json` and data checksum match, and starts over otherwise.
/// So an interrupted study, started again with the same arguments, continues where it stopped.
///
/// The study holds `opts.out_dir/.lock` while it runs (and each run its own folder's), so a
/// second study on the same folder fails at once instead of deleting or rewriting what the first
/// is writing.
///
/// # Errors
/// [`TrainError::OutputInUse`] if another process holds `opts.out_dir`;
/// [`TrainError::Study`] for no configs, no seeds or duplicate names; an invalid config (before
/// any run); data that cannot be loaded; [`TrainError::Run`] naming the variant and seed of a
/// failed run; a report file that cannot be written.
pub fn run_study(
    configs: &[ExperimentConfig],
    loader: &ImdbLoader,
    opts: &StudyOptions,
) -> Result<StudyOutcome> {
    check(configs, opts)?;
    let _lock = lock_out_dir(&opts.out_dir)?;
    // Every encoding the variants need, from one read of the source.
    let mut encodings: Vec<EncodeOptions> = Vec::new();
    for c in configs {
        if !encodings.contains(&c.data) {
            encodings.push(c.data.clone());
        }
    }
    let datasets: Vec<(EncodeOptions, Imdb)> = encodings
        .iter()
        .cloned()
        .zip(loader.load_each(&encodings)?)
        .collect();

    let bar = progress_bar((configs.len() * opts.seeds) as u64, opts.quiet);
    let say = |line: String| match (opts.quiet, bar.is_hidden()) {
        (true, _) => {}
        (false, true) => eprintln!("{line}"),
        (false, false) => bar.println(line),
    };
    let mut runs = Vec::new();
    let mut by_variant = Vec::new();
    for base in configs {
        let imdb = &datasets
            .iter()
            .find(|(o, _)| *o == base.data)
            .expect("loaded above")
            .1;
        let mut results = Vec::new();
        for i in 0..opts.seeds as u64 {
            let config = base.clone().with_seed(base.seed + i);
            bar.set_message(format!("{} seed {}", config.name, config.seed));
            let run = run_one(&config, imdb, opts).map_err(|e| TrainError::Run {
                name: config.name.clone(),
                seed: config.seed,
                source: Box::new(e),
            })?;
            let r = &run.results;
            say(format!(
                "{} seed {}: test accuracy {:.4}, chosen epoch {} ({})",
                r.name,
                r.seed,
                r.test_accuracy,
                r.chosen_epoch,
                if run.reused {
                    "reused".to_string()
                } else {
                    format!("{:.1} s", r.fit_seconds + r.retrain_seconds)
                }
            ));
            bar.inc(1);
            results.push(r.clone());
            runs.push(run);
        }
        by_variant.push((base.name.clone(), results));
    }
    bar.finish_and_clear();

    let summary = summarize(&by_variant);
    write_report(&summary, &opts.out_dir)?;
    Ok(StudyOutcome { runs, summary })
}

fn check(configs: &[ExperimentConfig], opts: &StudyOptions) -> Result<()> {
    let fail = |message: String| Err(TrainError::Study { message });
    if configs.is_empty() {
        return fail("no variants to run".into());
    }
    if opts.seeds == 0 {
        return fail("at least one seed is needed".into());
    }
    for (i, c) in configs.iter().enumerate() {
        c.validate()?;
        if configs[..i].iter().any(|o| o.name == c.name) {
            return fail(format!("two variants are named {:?}", c.name));
        }
        if c.seed.checked_add(opts.seeds as u64 - 1).is_none() {
            return fail(format!(
                "{}: seed {} + {} seeds overflows",
                c.name, c.seed, opts.seeds
            ));
        }
    }
    Ok(())
}

fn run_one(config: &ExperimentConfig, imdb: &Imdb, opts: &StudyOptions) -> Result<StudyRun> {
    let dir = run_dir(&opts.out_dir, &config.name, config.seed);
    let checksum = &imdb.provenance.checksum;
    let state = state_of(&dir, config, checksum);
    let results = match state {
        State::Finished(results) => {
            return Ok(StudyRun {
                variant: config.name.clone(),
                seed: config.seed,
                dir,
                reused: true,
                results: *results,
            });
        }
        State::Interrupted => {
            let resumed = run_experiment(config, imdb, &run_options(opts, &dir, true));
            match resumed {
                // Checkpoints that cannot be resumed from are no reason to fail the study.
                Err(TrainError::Resume { .. }) => fresh_run(config, imdb, opts, &dir)?,
                other => other?,
            }
        }
        State::Fresh => fresh_run(config, imdb, opts, &dir)?,
    };
    // Summarise what is on disk, as a later reuse of this run will: serde_json's default float
    // parser may be one ulp off, and a rerun must give exactly the same summary.
    let path = dir.join("results.json");
    let stored = std::fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
    let results = serde_json::from_str(&stored).unwrap_or(results);
    Ok(StudyRun {
        variant: config.name.clone(),
        seed: config.seed,
        dir,
        reused: false,
        results,
    })
}

fn fresh_run(
    config: &ExperimentConfig,
    imdb: &Imdb,
    opts: &StudyOptions,
    dir: &Path,
) -> Result<Results> {
    std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
    // A stale results.json of another config or data must not look like this run's.
    let stale = dir.join("results.json");
    if stale.exists() {
        std::fs::remove_file(&stale).map_err(|e| TrainError::io(&stale, e))?;
    }
    write_atomic(&dir.join(DATA_MARKER), imdb.provenance.checksum.as_bytes())?;
    run_experiment(config, imdb, &run_options(opts, dir, false))
}

fn run_options(opts: &StudyOptions, dir: &Path, resume: bool) -> RunOptions {
    RunOptions {
        out_dir: dir.to_owned(),
        backend: opts.backend,
        input: opts.input,
        resume,
        // Per-epoch lines and progress bars would fight with the study's progress bar.
        quiet: true,
        checkpoint_seconds: crate::protocol::DEFAULT_CHECKPOINT_SECONDS,
    }
}

fn state_of(dir: &Path, config: &ExperimentConfig, checksum: &str) -> State {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let json = serde_json::to_string_pretty(config).expect("configs always serialise");
    if read("config.json").as_deref() != Some(json.as_str()) {
        return State::Fresh;
    }
    let results = read("results.json").and_then(|s| serde_json::from_str::<Results>(&s).ok());
    match results {
        Some(r) if r.data_checksum == checksum => State::Finished(Box::new(r)),
        Some(_) => State::Fresh,
        None if read(DATA_MARKER).as_deref() == Some(checksum) => State::Interrupted,
        None => State::Fresh,
    }
}

fn progress_bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr()).with_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} runs (eta {eta}) {msg}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(500));
    bar
}
