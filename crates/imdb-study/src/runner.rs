//! Runs every variant over every seed, reusing finished runs, then writes the report.

use super::report::write_report;
use super::summary::{Summary, summarize};
use crate::error::{Result, StudyError};
use imdb_data::atomic::DirLock;
use imdb_data::{EncodeOptions, Imdb, ImdbLoader, Split};
use imdb_train::{
    BackendKind, DEFAULT_CHECKPOINT_SECONDS, ExperimentConfig, InputKind, Results, RunOptions,
    TrainError, run_experiment,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// How to run a study.
#[derive(Clone, Debug)]
pub struct StudyOptions {
    /// Where runs, figures and the report go.
    pub out_dir: PathBuf,
    /// Seeds per variant: the config's seed, then the next `seeds - 1` integers.
    pub seeds: usize,
    /// The backend of every run.
    pub backend: BackendKind,
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
/// figures and `summary.json` into `opts.out_dir` ([`write_report`]). One run at a time, in this
/// process; [`run_study_parallel`] spreads the runs over several.
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
/// [`imdb_data::DataError::DirectoryInUse`] if another process holds `opts.out_dir`;
/// [`StudyError::Invalid`] for no configs, no seeds or duplicate names; an invalid config (before
/// any run); data that cannot be loaded; [`StudyError::Run`] naming the variant and seed of a
/// failed run; a report file that cannot be written.
pub fn run_study(
    configs: &[ExperimentConfig],
    loader: &ImdbLoader,
    opts: &StudyOptions,
) -> Result<StudyOutcome> {
    run_study_parallel(configs, loader, opts, 1, |_| {
        unreachable!("one job starts no worker")
    })
}

/// Which of a study's runs one process does: run `j` (counting variant by variant, seed by seed,
/// from 0) belongs to shard `j % count`. Written `index/count`, as the study example's hidden
/// `--shard` flag takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: usize,
    /// How many shards the runs are spread over.
    pub count: usize,
}

impl Shard {
    fn has(self, run: usize) -> bool {
        run % self.count == self.index
    }

    /// This shard's runs of a study of `len`, in the order it does them: shard 0 in study
    /// order (the baseline first, the n-gram variants last), every other shard from the end. The
    /// study's wide-input runs then mostly overlap narrow ones instead of each other (two at
    /// once share the cache and memory bandwidth their `W₀` passes are bound by), and no shard is
    /// left with only long runs at the end. The order changes no number: each run seeds its
    /// own generator.
    fn runs(self, len: usize) -> Box<dyn Iterator<Item = usize>> {
        let mine = (0..len).filter(move |&j| self.has(j));
        match self.index {
            0 => Box::new(mine),
            _ => Box::new(mine.rev()),
        }
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("shard {s:?}: expected INDEX/COUNT with INDEX < COUNT, e.g. 1/2");
        let (index, count) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            index.parse().map_err(|_| bad())?,
            count.parse().map_err(|_| bad())?,
        );
        if index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// [`run_study`] with its runs spread over `jobs` processes: this one does shard `0/jobs` and
/// `worker(shard)` is started for each of the others, a command that must call [`run_shard`]
/// with that shard and the same configs and options (the study example starts itself with
/// `--shard`). Runs are whole processes because Burn keeps one random generator per device for
/// the whole process, which weight initialisation and dropout draw from: two runs in threads
/// of one process would interleave their draws. Each run is the same as in [`run_study`], so the
/// report is the same; what changes is the wall time where cores are idle (a run keeps about 1.2
/// cores busy: the training thread and the batch builder).
///
/// The study's folder lock is held throughout (the workers check that it is), and when every
/// process is done the runs are gathered, reused from disk as a restarted study would, for the
/// report. A worker that fails fails the study, after the others end; its messages are on the
/// shared standard error.
///
/// # Errors
/// As [`run_study`]; [`StudyError::Invalid`] when a worker cannot be started or exits unsuccessfully.
pub fn run_study_parallel(
    configs: &[ExperimentConfig],
    loader: &ImdbLoader,
    opts: &StudyOptions,
    jobs: usize,
    worker: impl Fn(Shard) -> Command,
) -> Result<StudyOutcome> {
    check(configs, opts)?;
    let jobs = jobs.max(1);
    let _lock = DirLock::acquire(&opts.out_dir)?;
    let all = study_runs(configs, opts.seeds);
    let datasets = load_encodings(loader, all.iter())?;
    // The runs on disk before this study started are the ones it reports as reused.
    let finished_before: Vec<bool> = all
        .iter()
        .map(|c| {
            let checksum = &dataset(&datasets, c).provenance.checksum;
            let dir = run_dir(&opts.out_dir, &c.name, c.seed);
            matches!(state_of(&dir, c, checksum), State::Finished(_))
        })
        .collect();
    let mut workers = Vec::new();
    for index in 1..jobs {
        let shard = Shard { index, count: jobs };
        let mut command = worker(shard);
        match command.stdin(Stdio::null()).spawn() {
            Ok(child) => workers.push((shard, child)),
            Err(e) => {
                stop(workers);
                return Err(StudyError::Worker {
                    shard: shard.to_string(),
                    message: format!("cannot start: {e}"),
                });
            }
        }
    }
    // After the workers start (they read the cache the load above warmed), not before.
    let datasets = as_word_sets(datasets);
    let own = Shard {
        index: 0,
        count: jobs,
    };
    // Several processes print: lines, not a progress bar, when there are workers.
    let bar = match jobs {
        1 => progress_bar(all.len() as u64, opts.quiet),
        _ => ProgressBar::hidden(),
    };
    let mine = run_runs(&all, own.runs(all.len()), &datasets, opts, &bar);
    let mine = match mine {
        Ok(runs) => runs,
        Err(e) => {
            stop(workers);
            return Err(e);
        }
    };
    let mut failed = None;
    for (shard, mut child) in workers {
        let outcome = match child.wait() {
            Ok(status) if status.success() => continue,
            Ok(status) => status.to_string(),
            Err(e) => e.to_string(),
        };
        failed.get_or_insert(StudyError::Worker {
            shard: shard.to_string(),
            message: outcome,
        });
    }
    if let Some(e) = failed {
        return Err(e);
    }
    // Everything is on disk now: gather it (a worker's runs are reused from their folders; the
    // workers printed their own lines).
    let silent = StudyOptions {
        quiet: true,
        ..opts.clone()
    };
    let others = (0..all.len()).filter(|&j| !own.has(j));
    let gathered = run_runs(&all, others, &datasets, &silent, &ProgressBar::hidden())?;
    let mut mine = mine.into_iter();
    let mut gathered = gathered.into_iter();
    let mut runs = Vec::with_capacity(all.len());
    for (j, reused) in finished_before.into_iter().enumerate() {
        let next = if own.has(j) {
            mine.next()
        } else {
            gathered.next()
        };
        let mut run = next.expect("one run per index");
        run.reused = reused;
        runs.push(run);
    }
    bar.finish_and_clear();
    let mut by_variant: Vec<(String, Vec<Results>)> = Vec::new();
    for run in &runs {
        match by_variant.last_mut() {
            Some((name, results)) if *name == run.variant => results.push(run.results.clone()),
            _ => by_variant.push((run.variant.clone(), vec![run.results.clone()])),
        }
    }
    let summary = summarize(&by_variant);
    write_report(&summary, &opts.out_dir)?;
    Ok(StudyOutcome { runs, summary })
}

/// A study worker's part of [`run_study_parallel`]: the runs of `shard`, nothing else (no
/// report). Returns them in study order (it does them in [`Shard`]'s order).
///
/// # Errors
/// [`StudyError::Invalid`] when no study holds `opts.out_dir` (a shard only runs under its
/// study's lock, so that a second study on the folder is still refused); otherwise as
/// [`run_study`].
pub fn run_shard(
    configs: &[ExperimentConfig],
    loader: &ImdbLoader,
    opts: &StudyOptions,
    shard: Shard,
) -> Result<Vec<StudyRun>> {
    check(configs, opts)?;
    let held = DirLock::is_held(&opts.out_dir)
        .map_err(|e| StudyError::io(opts.out_dir.join(DirLock::FILE), e))?;
    if !held {
        return Err(StudyError::Invalid {
            message: format!(
                "shard {shard} runs only under its study, and no study holds {}",
                opts.out_dir.display()
            ),
        });
    }
    let all = study_runs(configs, opts.seeds);
    let shard_runs = all.iter().enumerate().filter(|(j, _)| shard.has(*j));
    let datasets = as_word_sets(load_encodings(loader, shard_runs.map(|(_, c)| c))?);
    let mut runs = run_runs(
        &all,
        shard.runs(all.len()),
        &datasets,
        opts,
        &ProgressBar::hidden(),
    )?;
    // Done in the shard's order; returned in the study's.
    if shard.index != 0 {
        runs.reverse();
    }
    Ok(runs)
}

/// Every run of the study: each config with each of its seeds, variant by variant.
fn study_runs(configs: &[ExperimentConfig], seeds: usize) -> Vec<ExperimentConfig> {
    configs
        .iter()
        .flat_map(|base| (0..seeds as u64).map(|i| base.clone().with_seed(base.seed + i)))
        .collect()
}

/// Every encoding `runs` need, from one read of the source.
fn load_encodings<'a>(
    loader: &ImdbLoader,
    runs: impl Iterator<Item = &'a ExperimentConfig>,
) -> Result<Vec<(EncodeOptions, Imdb)>> {
    let mut encodings: Vec<EncodeOptions> = Vec::new();
    for c in runs {
        if !encodings.contains(&c.data) {
            encodings.push(c.data.clone());
        }
    }
    Ok(encodings
        .iter()
        .cloned()
        .zip(loader.load_each(&encodings)?)
        .collect())
}

/// `datasets` with every review reduced to its word set. Every run does that reduction (see
/// `run_experiment`); doing it once per encoding spares the other seeds and variants the work
/// (their `word_sets` then only checks). The multi-hot rows are the same.
fn as_word_sets(datasets: Vec<(EncodeOptions, Imdb)>) -> Vec<(EncodeOptions, Imdb)> {
    let sets = |split: &Split| Arc::new(split.word_sets(0..split.len()));
    datasets
        .into_iter()
        .map(|(options, mut imdb)| {
            (imdb.train, imdb.test) = (sets(&imdb.train), sets(&imdb.test));
            (options, imdb)
        })
        .collect()
}

fn dataset<'a>(datasets: &'a [(EncodeOptions, Imdb)], config: &ExperimentConfig) -> &'a Imdb {
    &datasets
        .iter()
        .find(|(o, _)| *o == config.data)
        .expect("every run's encoding is loaded")
        .1
}

/// Runs (or reuses) the runs `indices` of `all`, in that order, one line each.
fn run_runs(
    all: &[ExperimentConfig],
    indices: impl IntoIterator<Item = usize>,
    datasets: &[(EncodeOptions, Imdb)],
    opts: &StudyOptions,
    bar: &ProgressBar,
) -> Result<Vec<StudyRun>> {
    let say = |line: String| match (opts.quiet, bar.is_hidden()) {
        (true, _) => {}
        (false, true) => eprintln!("{line}"),
        (false, false) => bar.println(line),
    };
    let mut runs = Vec::new();
    for config in indices.into_iter().map(|j| &all[j]) {
        bar.set_message(format!("{} seed {}", config.name, config.seed));
        let run =
            run_one(config, dataset(datasets, config), opts).map_err(|e| StudyError::Run {
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
        runs.push(run);
    }
    Ok(runs)
}

/// Ends the workers of a study that has failed.
fn stop(workers: Vec<(Shard, Child)>) {
    for (_, mut child) in workers {
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn check(configs: &[ExperimentConfig], opts: &StudyOptions) -> Result<()> {
    let fail = |message: String| Err(StudyError::Invalid { message });
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
    let stored = std::fs::read_to_string(&path).map_err(|e| StudyError::io(&path, e))?;
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
    std::fs::create_dir_all(dir).map_err(|e| StudyError::io(dir, e))?;
    // A stale results.json of another config or data must not look like this run's.
    let stale = dir.join("results.json");
    if stale.exists() {
        std::fs::remove_file(&stale).map_err(|e| StudyError::io(&stale, e))?;
    }
    let marker = dir.join(DATA_MARKER);
    imdb_data::atomic::write(&marker, imdb.provenance.checksum.as_bytes())
        .map_err(|e| StudyError::io(&marker, e))?;
    Ok(run_experiment(
        config,
        imdb,
        &run_options(opts, dir, false),
    )?)
}

fn run_options(opts: &StudyOptions, dir: &Path, resume: bool) -> RunOptions {
    RunOptions {
        out_dir: dir.to_owned(),
        backend: opts.backend,
        input: opts.input,
        resume,
        // Per-epoch lines and progress bars would fight with the study's progress bar.
        quiet: true,
        checkpoint_seconds: DEFAULT_CHECKPOINT_SECONDS,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_print_and_split_the_runs() {
        let shard: Shard = "1/3".parse().unwrap();
        assert_eq!(shard, Shard { index: 1, count: 3 });
        assert_eq!(shard.to_string(), "1/3");
        assert_eq!(
            (0..8).filter(|&j| shard.has(j)).collect::<Vec<_>>(),
            [1, 4, 7]
        );
        for bad in ["3/3", "0/0", "1", "a/2", "1/b", "-1/2", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad:?} parsed");
        }
        // Every run in exactly one shard.
        let shards = (0..3).map(|index| Shard { index, count: 3 });
        let owners: Vec<usize> = (0..10)
            .map(|j| shards.clone().filter(|s| s.has(j)).count())
            .collect();
        assert!(owners.iter().all(|&n| n == 1));
        // Shard 0 in study order, the others from the end.
        let of = |index: usize| Shard { index, count: 3 }.runs(8).collect::<Vec<_>>();
        assert_eq!(of(0), [0, 3, 6]);
        assert_eq!(of(1), [7, 4, 1]);
        assert_eq!(of(2), [5, 2]);
    }
}
