//! Runs a study's runs, reusing finished ones, in one process or several, on one machine or in
//! shards on many, then writes the report (for shards: after [`merge`]).
//!
//! Three ways to split the runs, all of the same kind ([`Shard`]: run `j` belongs to shard
//! `j % count`):
//!
//! - **workers** (`--jobs`): a study starts copies of its command, each with its share of the
//!   runs, into the study's own folder and under its lock ([`run_worker`]). A worker ends when
//!   the study that started it ends, however it ends: its standard input is a pipe from the
//!   study, which the system closes when the study exits or is killed ([`exit_when_parent_ends`]);
//! - **shards** (`--shard i/n`): an independent part of a study, in a folder of its own, on any
//!   machine ([`run_shard`]); it may use workers itself;
//! - **merge** (`--merge DIR...`): the report of a study from the folders of its shards, after
//!   checking that they hold the same study on the same data and every run once ([`merge`]).
//!
//! Every folder records the study it holds in `study.json` ([`Manifest`]).

use crate::design::StudyPlan;
use crate::error::{Result, StudyError};
use crate::report::write_report;
use crate::summary::{Summary, summarize};
use imdb_data::atomic::DirLock;
use imdb_data::{EncodeOptions, Imdb, ImdbLoader, Split};
use imdb_train::{
    BackendKind, DEFAULT_CHECKPOINT_SECONDS, ExperimentConfig, InputKind, Results, RunOptions,
    TrainError, run_experiment,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// How to run a study's runs.
#[derive(Clone, Debug)]
pub struct StudyOptions {
    /// Where runs (and, for a whole study, figures and the report) go.
    pub out_dir: PathBuf,
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

/// What every folder a study runs into says about it: `study.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// The whole study (not only this folder's part).
    pub plan: StudyPlan,
    /// The part of it this folder holds: `0/1` for a whole study.
    pub shard: Shard,
    /// The checksum of the data of each variant this folder ran.
    pub data_checksums: Vec<(String, String)>,
}

impl Manifest {
    /// The manifest's file name in a study's folder.
    pub const FILE: &'static str = "study.json";

    /// Reads `dir`'s manifest.
    ///
    /// # Errors
    /// [`StudyError::Io`] if it cannot be read (a folder no study ran into has none);
    /// [`StudyError::Data`] if it is not a manifest ([`imdb_data::DataError::MalformedJson`]) or
    /// holds a key a manifest does not have ([`imdb_data::DataError::UnknownField`], naming it and
    /// the closest key).
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(Self::FILE);
        let bytes = std::fs::read(&path).map_err(|e| StudyError::io(&path, e))?;
        Ok(imdb_data::json::from_slice(&bytes, &path)?)
    }

    fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(Self::FILE);
        let json = serde_json::to_string_pretty(self).expect("manifests always serialise");
        imdb_data::atomic::write(&path, json.as_bytes()).map_err(|e| StudyError::io(&path, e))
    }
}

/// What to do with a run's folder.
enum State {
    /// `results.json` of this very config and data: reuse it.
    Finished(Box<Results>),
    /// Interrupted with this config and data: continue from its checkpoints.
    Interrupted,
    /// Nothing usable: start from scratch.
    Fresh,
}

/// Runs every run of `plan` on the data `loader` loads (once per distinct encoding), each with
/// [`run_experiment`] in [`run_dir`], then writes the report, figures and `summary.json` into
/// `opts.out_dir` ([`write_report`]). One run at a time, in this process; [`run_study_parallel`]
/// spreads the runs over several.
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
/// [`StudyError::Invalid`] for a plan that cannot run ([`StudyPlan::check`]); data that cannot be
/// loaded; [`StudyError::Run`] naming the variant and seed of a failed run; a report file that
/// cannot be written.
pub fn run_study(
    plan: &StudyPlan,
    loader: &ImdbLoader,
    opts: &StudyOptions,
) -> Result<StudyOutcome> {
    let _lock = DirLock::acquire(&opts.out_dir)?;
    let runs = run_part(plan, loader, opts, Shard::WHOLE, None)?;
    let summary = summarize(plan.design, &by_variant(&runs));
    write_report(&summary, &opts.out_dir)?;
    Ok(StudyOutcome { runs, summary })
}

/// A part of a study's runs: run `j` (counting variant by variant, seed by seed, from 0) belongs
/// to shard `j % count`. Written `index/count`, as `--shard` and `--worker` take it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: usize,
    /// How many shards the runs are spread over.
    pub count: usize,
}

impl Shard {
    /// The whole study: shard `0/1`.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Whether run `run` is this shard's.
    pub fn has(self, run: usize) -> bool {
        run % self.count == self.index
    }

    /// This shard's runs of `len`, in the order it does them: shard 0 in study order (the
    /// baseline first, the n-gram variants last), every other shard from the end. The study's
    /// wide-input runs then mostly overlap narrow ones instead of each other (two at once share
    /// the cache and memory bandwidth their `W₀` passes are bound by), and no shard is left with
    /// only long runs at the end. The order changes no number: each run seeds its own generator.
    fn order(self, len: usize) -> Box<dyn Iterator<Item = usize>> {
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

/// [`run_study`] with its runs in `jobs` worker processes: `worker(w)` is started for each
/// `w = 0/jobs .. jobs-1/jobs`, a command that must call [`exit_when_parent_ends`] and then
/// [`run_worker`] with that worker, the same plan and options and the whole study as its scope,
/// and exit with [`WORKER_MORE`] when it was not complete (the study example starts itself with
/// `--worker`); this process loads the data, records the study, starts each worker again while
/// it ends with [`WORKER_MORE`] (a fresh process every [`RUNS_PER_PROCESS`] runs), and writes the
/// report. Runs are whole processes because Burn keeps one random generator per device for the
/// whole process, which weight initialisation and dropout draw from: two runs in threads of one
/// process would interleave their draws. Each run is the same as in [`run_study`], so the report
/// is the same; what changes is the wall time where cores are idle (a run keeps about 1.2 cores
/// busy: the training thread and the batch builder) and the memory.
///
/// Each worker's standard input is a pipe from this process, which the system closes when this
/// process ends, however it ends (a kill included): a worker that watches it ends too, so a
/// study started again right away finds no run folder still locked.
///
/// The study's folder lock is held throughout (the workers check that it is), and when every
/// worker is done the runs are gathered from disk for the report. A worker that fails fails the
/// study, after the others end; its messages are on the shared standard error.
///
/// # Errors
/// As [`run_study`]; [`StudyError::Worker`] when a worker cannot be started or exits
/// unsuccessfully.
pub fn run_study_parallel(
    plan: &StudyPlan,
    loader: &ImdbLoader,
    opts: &StudyOptions,
    jobs: usize,
    worker: impl Fn(Shard) -> Command,
) -> Result<StudyOutcome> {
    let _lock = DirLock::acquire(&opts.out_dir)?;
    let runs = run_part(plan, loader, opts, Shard::WHOLE, Some((jobs, &worker)))?;
    let summary = summarize(plan.design, &by_variant(&runs));
    write_report(&summary, &opts.out_dir)?;
    Ok(StudyOutcome { runs, summary })
}

/// One shard of a study, into `opts.out_dir` (its own folder, locked while it runs, on any
/// machine): the runs `j` with `j % shard.count == shard.index`, spread over `jobs` processes as
/// in [`run_study_parallel`], and the folder's `study.json`. No report: [`merge`] writes the
/// study's from the folders of all its shards. Started again, a shard reuses and resumes its runs
/// as a study does. Returns its runs in study order.
///
/// # Errors
/// As [`run_study_parallel`].
pub fn run_shard(
    plan: &StudyPlan,
    loader: &ImdbLoader,
    opts: &StudyOptions,
    shard: Shard,
    jobs: usize,
    worker: impl Fn(Shard) -> Command,
) -> Result<Vec<StudyRun>> {
    let _lock = DirLock::acquire(&opts.out_dir)?;
    run_part(plan, loader, opts, shard, Some((jobs, &worker)))
}

/// A worker's part of [`run_study_parallel`] or [`run_shard`]: of the runs of `scope` (the whole
/// study, or the shard that started the worker), those of `worker`, nothing else (no report, no
/// manifest), at most `limit` fresh ones (a study's workers: [`RUNS_PER_PROCESS`]). Returns them
/// in study order (it does them in [`Shard`]'s order) and whether its share is complete.
///
/// # Errors
/// [`StudyError::Invalid`] when no study holds `opts.out_dir` (a worker only runs under the lock
/// of the study or shard that started it, so that a second study on the folder is still
/// refused); otherwise as [`run_study`].
pub fn run_worker(
    plan: &StudyPlan,
    loader: &ImdbLoader,
    opts: &StudyOptions,
    scope: Shard,
    worker: Shard,
    limit: usize,
) -> Result<WorkerOutcome> {
    plan.check()?;
    let held = DirLock::is_held(&opts.out_dir)
        .map_err(|e| StudyError::io(opts.out_dir.join(DirLock::FILE), e))?;
    if !held {
        return Err(StudyError::Invalid {
            message: format!(
                "worker {worker} runs only under its study, and no study holds {}",
                opts.out_dir.display()
            ),
        });
    }
    let all = plan.runs();
    let part: Vec<usize> = (0..all.len()).filter(|&j| scope.has(j)).collect();
    let mine = part
        .iter()
        .enumerate()
        .filter(|(p, _)| worker.has(*p))
        .map(|(_, &j)| &all[j]);
    let datasets = as_word_sets(load_encodings(loader, mine)?);
    let order = worker.order(part.len()).map(|p| part[p]);
    let hidden = ProgressBar::hidden();
    let (mut runs, complete) = run_runs(&all, order, &datasets, opts, &hidden, Some(limit.max(1)))?;
    // Done in the worker's order; returned in the study's.
    if worker.index != 0 {
        runs.reverse();
    }
    Ok(WorkerOutcome { runs, complete })
}

/// Ends this process when its standard input reaches its end or fails: a study worker's standard
/// input is a pipe from the study that started it, and the system closes that pipe when the study
/// ends, however it ends (killed included). Without this a worker of a killed study would go on
/// with its runs, holding their folders' locks, and a study started again would find them in use.
///
/// A thread of its own waits on the pipe (the study never writes to it), so the runs go on
/// undisturbed until then. Portable (a closed pipe reads as its end on every system), needs no
/// `unsafe` and no signal, and cannot miss a study that ended before the worker started watching:
/// the pipe is then already closed. The exit status is 1; what the worker had not finished is
/// continued by the next study, as after any interruption.
pub fn exit_when_parent_ends() {
    use std::io::Read;
    std::thread::spawn(|| {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0; 64];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        std::process::exit(1);
    });
}

/// A worker process ends after this many fresh runs, and its study starts it again for the rest
/// of its share ([`WORKER_MORE`]). Burn 0.22's autodiff keeps a little of every training step
/// for the life of the process (heaptrack: `burn_autodiff::runtime::graph::GraphLocator`,
/// ~6 MB a full-data run), and a process that did 500 runs of the default study held 3.6 GB; a
/// fresh process every 100 runs stays near 1 GB, for a second of data loading from the cache.
pub const RUNS_PER_PROCESS: usize = 100;

/// The exit status of a worker that ended after [`RUNS_PER_PROCESS`] fresh runs with runs of its
/// share left: its study starts it again (`EX_TEMPFAIL`).
pub const WORKER_MORE: i32 = 75;

/// What a worker did: its runs, and whether its share is complete or it stopped at
/// [`RUNS_PER_PROCESS`] fresh runs (then it should exit with [`WORKER_MORE`]).
#[derive(Clone, Debug)]
pub struct WorkerOutcome {
    /// The runs it did or reused, in study order.
    pub runs: Vec<StudyRun>,
    /// Whether every run of its share is finished.
    pub complete: bool,
}

/// The runs of `scope` in the locked `opts.out_dir`, in study order: in this process, or with
/// `workers`, in `jobs` worker processes that this one starts (again, while they end with
/// [`WORKER_MORE`]) and waits for, then gathers from disk.
fn run_part(
    plan: &StudyPlan,
    loader: &ImdbLoader,
    opts: &StudyOptions,
    scope: Shard,
    workers: Option<(usize, &dyn Fn(Shard) -> Command)>,
) -> Result<Vec<StudyRun>> {
    plan.check()?;
    let all = plan.runs();
    let part: Vec<usize> = (0..all.len()).filter(|&j| scope.has(j)).collect();
    let datasets = load_encodings(loader, part.iter().map(|&j| &all[j]))?;
    let mut data_checksums: Vec<(String, String)> = Vec::new();
    for &j in &part {
        let c = &all[j];
        if !data_checksums.iter().any(|(name, _)| *name == c.name) {
            let checksum = dataset(&datasets, c).provenance.checksum.clone();
            data_checksums.push((c.name.clone(), checksum));
        }
    }
    Manifest {
        plan: plan.clone(),
        shard: scope,
        data_checksums: data_checksums.clone(),
    }
    .write(&opts.out_dir)?;
    // The runs on disk before this study started are the ones it reports as reused.
    let finished_before: Vec<bool> = part
        .iter()
        .map(|&j| {
            let c = &all[j];
            let checksum = &dataset(&datasets, c).provenance.checksum;
            let dir = run_dir(&opts.out_dir, &c.name, c.seed);
            matches!(state_of(&dir, c, checksum), State::Finished(_))
        })
        .collect();
    let mut runs = match workers {
        None => {
            let datasets = as_word_sets(datasets);
            let bar = progress_bar(part.len() as u64, opts.quiet);
            let (runs, _) = run_runs(&all, part.iter().copied(), &datasets, opts, &bar, None)?;
            bar.finish_and_clear();
            runs
        }
        Some((jobs, worker)) => {
            // The workers load their own data (from the cache the load above warmed).
            drop(datasets);
            supervise(jobs.clamp(1, part.len().max(1)), worker)?;
            gather(&all, &part, &opts.out_dir, &data_checksums)?
        }
    };
    for (run, reused) in runs.iter_mut().zip(finished_before) {
        run.reused = reused;
    }
    Ok(runs)
}

/// Starts workers `0/jobs` to `jobs-1/jobs`, starts again each that ends with [`WORKER_MORE`],
/// and waits until every one has finished its share. A worker that fails fails the study, after
/// the others end; its messages are on the shared standard error.
fn supervise(jobs: usize, worker: &dyn Fn(Shard) -> Command) -> Result<()> {
    let start = |shard: Shard| -> Result<(Shard, Child, ChildStdin)> {
        // The pipe the worker watches: it ends when this process does.
        let mut child =
            worker(shard)
                .stdin(Stdio::piped())
                .spawn()
                .map_err(|e| StudyError::Worker {
                    shard: shard.to_string(),
                    message: format!("cannot start: {e}"),
                })?;
        let pipe = child.stdin.take().expect("stdin was piped");
        Ok((shard, child, pipe))
    };
    let mut live: Vec<(Shard, Child, ChildStdin)> = Vec::new();
    for index in 0..jobs {
        match start(Shard { index, count: jobs }) {
            Ok(w) => live.push(w),
            Err(e) => {
                stop(live);
                return Err(e);
            }
        }
    }
    let mut failed = None;
    while !live.is_empty() {
        let mut still = Vec::with_capacity(live.len());
        for (shard, mut child, pipe) in live {
            let status = match child.try_wait() {
                Ok(None) => {
                    still.push((shard, child, pipe));
                    continue;
                }
                Ok(Some(status)) => status,
                Err(e) => {
                    failed.get_or_insert(StudyError::Worker {
                        shard: shard.to_string(),
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            drop(pipe);
            if status.success() {
                continue;
            }
            if status.code() == Some(WORKER_MORE) && failed.is_none() {
                match start(shard) {
                    Ok(w) => still.push(w),
                    Err(e) => {
                        failed.get_or_insert(e);
                    }
                }
                continue;
            }
            failed.get_or_insert(StudyError::Worker {
                shard: shard.to_string(),
                message: status.to_string(),
            });
        }
        live = still;
        if !live.is_empty() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    failed.map_or(Ok(()), Err)
}

/// The finished runs `part` of `all` from `dir`, each on the data of its variant's checksum in
/// `checksums`.
///
/// # Errors
/// [`StudyError::Merge`] naming a run that is missing or not finished.
fn gather(
    all: &[ExperimentConfig],
    part: &[usize],
    dir: &Path,
    checksums: &[(String, String)],
) -> Result<Vec<StudyRun>> {
    part.iter()
        .map(|&j| {
            let config = &all[j];
            let run = run_dir(dir, &config.name, config.seed);
            let checksum = checksums
                .iter()
                .find(|(n, _)| *n == config.name)
                .map(|(_, c)| c.as_str())
                .unwrap_or_default();
            match state_of(&run, config, checksum) {
                State::Finished(results) => Ok(StudyRun {
                    variant: config.name.clone(),
                    seed: config.seed,
                    dir: run,
                    reused: true,
                    results: *results,
                }),
                _ => Err(StudyError::Merge {
                    message: format!(
                        "{}: no finished run of this study's {} seed {} on its data",
                        run.display(),
                        config.name,
                        config.seed
                    ),
                }),
            }
        })
        .collect()
}

/// The report of a study from the folders its shards ran into ([`run_shard`]; a whole study's
/// folder is its only shard, `0/1`), written into `out` as [`run_study`] writes it: the same
/// `summary.json`, figures and report as one process running every run, but for the timings.
///
/// Checks first that the folders belong together: the same study (design, configs, seeds) in
/// every `study.json`, every shard of it exactly once, no shard still running (its folder
/// locked), each run finished with its config, and every run of a variant on data with one
/// checksum, the one its shard recorded.
///
/// # Errors
/// [`StudyError::Merge`] saying what does not fit; [`StudyError::Io`] for a folder or file that
/// cannot be read; [`imdb_data::DataError::DirectoryInUse`] if another process holds `out`.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<StudyOutcome> {
    let fail = |message: String| Err(StudyError::Merge { message });
    if dirs.is_empty() {
        return fail("no folders to merge".into());
    }
    let mut manifests = Vec::new();
    for dir in dirs {
        let held = DirLock::is_held(dir).map_err(|e| StudyError::io(dir.join(DirLock::FILE), e))?;
        if held {
            return fail(format!(
                "{} is in use: its shard is still running",
                dir.display()
            ));
        }
        manifests.push(Manifest::read(dir)?);
    }
    let plan = manifests[0].plan.clone();
    let plan_json = serde_json::to_value(&plan).expect("plans always serialise");
    let count = manifests[0].shard.count;
    let mut owner: Vec<Option<usize>> = vec![None; count];
    for (i, (dir, m)) in dirs.iter().zip(&manifests).enumerate() {
        if serde_json::to_value(&m.plan).expect("plans always serialise") != plan_json {
            return fail(format!(
                "{} holds another study than {} (design, configs or seeds differ)",
                dir.display(),
                dirs[0].display()
            ));
        }
        if m.shard.count != count {
            return fail(format!(
                "{} is shard {} but {} is shard {}: not the same split",
                dir.display(),
                m.shard,
                dirs[0].display(),
                manifests[0].shard
            ));
        }
        if let Some(other) = owner[m.shard.index].replace(i) {
            return fail(format!(
                "{} and {} are both shard {}",
                dirs[other].display(),
                dir.display(),
                m.shard
            ));
        }
    }
    let missing: Vec<String> = (0..count)
        .filter(|&i| owner[i].is_none())
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return fail(format!("shard(s) {} missing", missing.join(", ")));
    }
    // One checksum per variant over every shard.
    let mut checksums: Vec<(String, String)> = Vec::new();
    for (dir, m) in dirs.iter().zip(&manifests) {
        for (name, checksum) in &m.data_checksums {
            match checksums.iter().find(|(n, _)| n == name) {
                Some((_, c)) if c != checksum => {
                    return fail(format!(
                        "{name} ran on other data in {} (checksum {checksum}, elsewhere {c})",
                        dir.display()
                    ));
                }
                Some(_) => {}
                None => checksums.push((name.clone(), checksum.clone())),
            }
        }
    }
    let all = plan.runs();
    let mut runs: Vec<(usize, StudyRun)> = Vec::new();
    for (i, dir) in owner.iter().enumerate() {
        let dir = &dirs[dir.expect("every shard found")];
        let shard = Shard { index: i, count };
        let part: Vec<usize> = (0..all.len()).filter(|&j| shard.has(j)).collect();
        runs.extend(
            part.iter()
                .copied()
                .zip(gather(&all, &part, dir, &checksums)?),
        );
    }
    runs.sort_by_key(|(j, _)| *j);
    let runs: Vec<StudyRun> = runs.into_iter().map(|(_, run)| run).collect();
    let _lock = DirLock::acquire(out)?;
    let summary = summarize(plan.design, &by_variant(&runs));
    write_report(&summary, out)?;
    Ok(StudyOutcome { runs, summary })
}

/// The runs' results grouped by variant, in order.
fn by_variant(runs: &[StudyRun]) -> Vec<(String, Vec<Results>)> {
    let mut by_variant: Vec<(String, Vec<Results>)> = Vec::new();
    for run in runs {
        match by_variant.last_mut() {
            Some((name, results)) if *name == run.variant => results.push(run.results.clone()),
            _ => by_variant.push((run.variant.clone(), vec![run.results.clone()])),
        }
    }
    by_variant
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

/// Runs (or reuses) the runs `indices` of `all`, in that order, one line each (for a reused run
/// only in this process's own study, not in a worker, which may be started again many times).
/// With a `limit`, stops before a fresh run beyond it; the flag says whether every run was done.
fn run_runs(
    all: &[ExperimentConfig],
    indices: impl IntoIterator<Item = usize>,
    datasets: &[(EncodeOptions, Imdb)],
    opts: &StudyOptions,
    bar: &ProgressBar,
    limit: Option<usize>,
) -> Result<(Vec<StudyRun>, bool)> {
    let say = |line: String| match (opts.quiet, bar.is_hidden()) {
        (true, _) => {}
        (false, true) => eprintln!("{line}"),
        (false, false) => bar.println(line),
    };
    let mut runs = Vec::new();
    let mut fresh = 0;
    for config in indices.into_iter().map(|j| &all[j]) {
        let imdb = dataset(datasets, config);
        let finished = matches!(
            state_of(
                &run_dir(&opts.out_dir, &config.name, config.seed),
                config,
                &imdb.provenance.checksum
            ),
            State::Finished(_)
        );
        if !finished && limit.is_some_and(|limit| fresh == limit) {
            return Ok((runs, false));
        }
        fresh += usize::from(!finished);
        bar.set_message(format!("{} seed {}", config.name, config.seed));
        let run = run_one(config, imdb, opts).map_err(|e| StudyError::Run {
            name: config.name.clone(),
            seed: config.seed,
            source: Box::new(e),
        })?;
        let r = &run.results;
        if !run.reused || limit.is_none() {
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
        }
        bar.inc(1);
        runs.push(run);
    }
    Ok((runs, true))
}

/// Ends the workers of a study that has failed.
fn stop(workers: Vec<(Shard, Child, ChildStdin)>) {
    for (_, mut child, pipe) in workers {
        drop(pipe);
        let _ = child.kill();
        let _ = child.wait();
    }
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
    remove_checkpoints(&dir)?;
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

/// Removes a finished run's checkpoints (`fit/checkpoint/`, `retrain/checkpoint/`): they only
/// serve to continue an interrupted run, and they are half of a run's folder (2.5 of 4.8 MB on
/// the full data, so 2.4 GB of the default study's 951 runs). Burn's logs, the model and the
/// results stay.
fn remove_checkpoints(run: &Path) -> Result<()> {
    for phase in ["fit", "retrain"] {
        let dir = run.join(phase).join("checkpoint");
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(StudyError::io(&dir, e));
            }
            _ => {}
        }
    }
    Ok(())
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
        let of = |index: usize| Shard { index, count: 3 }.order(8).collect::<Vec<_>>();
        assert_eq!(of(0), [0, 3, 6]);
        assert_eq!(of(1), [7, 4, 1]);
        assert_eq!(of(2), [5, 2]);
        assert!(Shard::WHOLE.has(5));
    }
}
