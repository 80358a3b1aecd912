//! The seed notebook's protocol as one call: fit with validation, choose the epoch, retrain on
//! all training reviews, evaluate on the test set, and write every artifact.

use crate::accuracy::BinaryAccuracyMetric;
use crate::backend_kind::BackendKind;
use crate::batcher::{InputKind, MultiHotBatcher};
use crate::checkpoint::{
    AtomicFileCheckpointer, CheckpointEvery, last_complete_checkpoint, read_checkpoint,
};
use crate::classifier::Classifier;
use crate::config::ExperimentConfig;
use crate::error::{Result, TrainError};
use crate::history::{EpochMetrics, SharedHistory, choose_epoch, to_csv};
use crate::loader::{ReviewLoader, Schedule};
use crate::metric_log::MemoryMetricLog;
use crate::monitor::{Divergence, EpochMonitor, ProgressRenderer};
use crate::plan::{ExecutionPlan, touched_fraction};
use crate::plot::plot_history;
use burn::module::Module;
use burn::tensor::Device;
use burn::train::metric::LossMetric;
use burn::train::{Learner, SupervisedTraining};
use imdb_bundle::ModelBundle;
use imdb_data::{Imdb, ImdbDataset};
use imdb_model::Mlp;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How to run an experiment (as opposed to what it is, which is the [`ExperimentConfig`]).
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Where the artifacts go.
    pub out_dir: PathBuf,
    /// The backend.
    pub backend: BackendKind,
    /// How batches hold reviews: word ids (the default, fast) or dense multi-hot rows (the seed
    /// notebook's representation; same numbers up to float rounding).
    pub input: InputKind,
    /// Continue an interrupted run in `out_dir` from its last checkpoints.
    pub resume: bool,
    /// Print nothing per epoch and draw no progress bar.
    pub quiet: bool,
    /// At most one checkpoint per this many seconds of a phase (0: one every epoch); the last
    /// epoch of each phase is always saved ([`crate::checkpoint::CheckpointEvery`]).
    /// [`DEFAULT_CHECKPOINT_SECONDS`] unless you trade speed for less work redone on `--resume`.
    pub checkpoint_seconds: f64,
}

/// [`RunOptions::checkpoint_seconds`] of the commands: a crash redoes at most about a second of
/// training, and a fast run (the baseline's epochs take 40 ms) does not spend a fifth of its
/// time saving checkpoints.
pub const DEFAULT_CHECKPOINT_SECONDS: f64 = 1.0;

/// Everything a run found, as written to `results.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Results {
    /// The experiment's name.
    pub name: String,
    /// Epochs of the retraining (chosen from the validation history).
    pub chosen_epoch: usize,
    /// Loss on the test reviews after retraining (L2 penalty included, as Keras reports it).
    pub test_loss: f64,
    /// Accuracy on the test reviews after retraining.
    pub test_accuracy: f64,
    /// Highest validation accuracy of phase 1.
    pub best_val_accuracy: f64,
    /// Lowest validation loss of phase 1.
    pub best_val_loss: f64,
    /// Wall time of phase 1 in this process, seconds.
    pub fit_seconds: f64,
    /// Wall time of phase 2 in this process, seconds.
    pub retrain_seconds: f64,
    /// The backend (`flex`, `ndarray`, `wgpu`).
    pub backend: String,
    /// How batches held the reviews (`sparse` or `dense`; results written before this field
    /// existed were dense).
    #[serde(default = "dense")]
    pub input: InputKind,
    /// Where the first layer and the optimizer ran ([`ExecutionPlan::choose`]); absent in
    /// results written before it existed.
    #[serde(default)]
    pub plan: Option<ExecutionPlan>,
    /// The experiment seed.
    pub seed: u64,
    /// Reviews used to train, validate and test.
    pub train_reviews: usize,
    /// Reviews in the validation split of phase 1.
    pub validation_reviews: usize,
    /// Why that many ([`crate::ValidationSplit::rule`]: set in the config, the seed's 10,000, or
    /// the seed's 40% of a smaller training set); empty in results written before it existed.
    #[serde(default)]
    pub validation_rule: String,
    /// Reviews in the test set.
    pub test_reviews: usize,
    /// Checksum of the data source.
    pub data_checksum: String,
    /// Phase 1's per-epoch metrics.
    pub history: Vec<EpochMetrics>,
    /// Phase 2's per-epoch metrics; its `val_*` columns are on the test set.
    pub retrain_history: Vec<EpochMetrics>,
}

/// Runs the whole protocol for `config` on `imdb` and writes the artifacts into `opts.out_dir`:
/// `config.json`, `history.{csv,json}`, `results.json`, `model/` (config, weights, encoding
/// options and vocabulary: see [`imdb_bundle`]), `loss.{png,svg}`, `accuracy.{png,svg}`, plus Burn's logs and checkpoints in `fit/`
/// and `retrain/`.
///
/// A seed fixes every number of a run, with one condition: Burn keeps one random generator per
/// device for the whole process, which seeds weights (drawn on Flex) and dropout masks. Two runs
/// in parallel threads of one process interleave their draws; run them one after the other (as
/// the study does) or in separate processes.
///
/// # Errors
/// An invalid config (before any work), data that does not match it, a diverging loss (naming the
/// epoch), an interrupted training, or an artifact that cannot be written.
pub fn run_experiment(
    config: &ExperimentConfig,
    imdb: &Imdb,
    opts: &RunOptions,
) -> Result<Results> {
    config.validate()?;
    check_data(config, imdb)?;
    let out = &opts.out_dir;
    // Held until the run returns: a second run on the same directory fails at once.
    let _lock = lock_out_dir(out)?;
    prepare_out_dir(config, out, opts.resume)?;

    // A multi-hot row only sees which words occur: reduce each review to its sorted word set
    // once, instead of sorting (sparse) or rewriting repeats (dense) in every batch of every epoch.
    let train = imdb.train_dataset().word_sets();
    let split = config.validation_split(train.len())?;
    let (partial_train, validation) = train.split_validation(split.reviews)?;
    if !opts.quiet {
        eprintln!(
            "validation: the first {} of {} training reviews: {}",
            split.reviews,
            train.len(),
            split.rule
        );
    }
    // Decided once, for both phases.
    let plan = choose_plan(config, opts, &train);

    let started = Instant::now();
    let fit = Phase {
        name: "fit",
        dir: out.join("fit"),
        epochs: config.epochs,
        has_valid: true,
    };
    let (_, history) = fit.run(
        config,
        initial_model(config)?,
        plan,
        partial_train,
        validation.clone(),
        opts,
    )?;
    let fit_seconds = started.elapsed().as_secs_f64();

    let chosen_epoch = choose_epoch(&history, config.selection);
    let started = Instant::now();
    let retrain = Phase {
        name: "retrain",
        dir: out.join("retrain"),
        epochs: chosen_epoch,
        has_valid: false,
    };
    // Burn's Learner needs a validation loader: phase 2 gets the test set. Nothing in phase 2 is
    // chosen from it (the epoch count is fixed), so its last epoch is simply the test evaluation.
    let (model, retrain_history) = retrain.run(
        config,
        initial_model(config)?,
        plan,
        train,
        imdb.test_dataset().word_sets(),
        opts,
    )?;
    let retrain_seconds = started.elapsed().as_secs_f64();
    let last = retrain_history.last().expect("chosen_epoch >= 1");

    let results = Results {
        name: config.name.clone(),
        chosen_epoch,
        test_loss: last.val_loss,
        test_accuracy: last.val_accuracy,
        best_val_accuracy: history
            .iter()
            .map(|m| m.val_accuracy)
            .fold(f64::NEG_INFINITY, f64::max),
        best_val_loss: history
            .iter()
            .map(|m| m.val_loss)
            .fold(f64::INFINITY, f64::min),
        fit_seconds,
        retrain_seconds,
        backend: opts.backend.to_string(),
        input: plan.input(),
        plan: Some(plan),
        seed: config.seed,
        train_reviews: imdb.train.len(),
        validation_reviews: validation.len(),
        validation_rule: split.rule,
        test_reviews: imdb.test.len(),
        data_checksum: imdb.provenance.checksum.clone(),
        history,
        retrain_history,
    };
    write_artifacts(config, &model, imdb, &results, out)?;
    Ok(results)
}

fn dense() -> InputKind {
    InputKind::Dense
}

/// The experiment against the data it is given, before any work: the encoding options (the
/// vocabulary size, the n-gram option, ...) one by one, then the model's input width against the
/// width of the data's multi-hot rows.
///
/// # Errors
/// [`TrainError::DataMismatch`] naming the setting and both values.
pub fn check_data(config: &ExperimentConfig, imdb: &Imdb) -> Result<()> {
    if imdb.options != config.data {
        let (ours, theirs) = (
            serde_json::to_value(&config.data).expect("options serialise"),
            serde_json::to_value(&imdb.options).expect("options serialise"),
        );
        let differing: Vec<String> = ours
            .as_object()
            .expect("options are a JSON object")
            .iter()
            .filter(|(k, v)| theirs.get(k.as_str()) != Some(v))
            .map(|(k, v)| format!("{k} = {v} vs {}", theirs[k.as_str()]))
            .collect();
        return Err(TrainError::DataMismatch {
            setting: "data (encoding options)",
            config: format!("{ours}"),
            data: format!("{theirs} ({})", differing.join(", ")),
            hint: "load the data with the experiment's `data` options",
        });
    }
    check_width(config, imdb.vocabulary_width())
}

/// `model.input` against the width `width` the data's word ids need.
fn check_width(config: &ExperimentConfig, width: usize) -> Result<()> {
    if config.model.input != width {
        return Err(TrainError::DataMismatch {
            setting: "model.input (the width of a multi-hot row)",
            config: config.model.input.to_string(),
            data: width.to_string(),
            hint: "set model.input to the data's width, or data.num_words to model.input",
        });
    }
    Ok(())
}

/// What [`fit`] returns: the trained model and its history.
#[derive(Debug)]
pub struct Fitted {
    /// The trained network, on the run's backend, without autodiff.
    pub mlp: Mlp,
    /// One entry per epoch: training loss and accuracy, and the validation set's.
    pub history: Vec<EpochMetrics>,
    /// Where the first layer and the optimizer ran.
    pub plan: ExecutionPlan,
}

/// Phase 1 alone, from a model you give: Keras's
/// `model.fit(x, y, validation_data=(x_val, y_val), epochs, batch_size, shuffle)`.
///
/// Trains `mlp` (its layers, activation, dropout and L2 are what train; `config.model` is only
/// checked against its input width; with a [`weighting`](ExperimentConfig::weighting), its input
/// weights are computed from `train`) for `config.epochs` epochs on `train` with the config's loss,
/// optimizer, batch size and order ([`ExperimentConfig::shuffle`]; the seed drives shuffling and
/// dropout), evaluating on `valid` after every epoch. Burn's logs and checkpoints go into
/// `opts.out_dir/fit/` (emptied first, unless `opts.resume`); nothing else is written. [`run_experiment`] runs this phase from a fresh
/// model; call `fit` to start from weights of your own (a pretrained model, or the same initial
/// weights in two frameworks, as the Keras-parity test does).
///
/// # Errors
/// An invalid config, a model whose input width is not `config.model.input`, a word id that does
/// not fit it ([`TrainError::DataMismatch`]), a diverging loss, an interrupted training.
pub fn fit(
    config: &ExperimentConfig,
    mlp: Mlp,
    train: &ImdbDataset,
    valid: &ImdbDataset,
    opts: &RunOptions,
) -> Result<Fitted> {
    config.validate()?;
    if mlp.input_size() != config.model.input {
        return Err(TrainError::InvalidConfig {
            field: "model.input",
            value: config.model.input.to_string(),
            reason: "differs from the input width of the model given to fit",
        });
    }
    // Every word id must fit the model's input: a wider one would stop the batching thread.
    let widest = [train, valid]
        .iter()
        .flat_map(|d| (0..d.len()).filter_map(|i| d.review(i).0.iter().max()))
        .max()
        .map_or(0, |&m| m as usize + 1);
    if widest > config.model.input {
        return Err(TrainError::DataMismatch {
            setting: "model.input (the width of a multi-hot row)",
            config: config.model.input.to_string(),
            data: format!("{widest} (its largest word id + 1)"),
            hint: "encode the data with data.num_words = model.input",
        });
    }
    let dir = opts.out_dir.join("fit");
    if !opts.resume && dir.exists() {
        // A stale checkpoint must not be mistaken for this run's by a later `--resume`.
        std::fs::remove_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
    }
    let train = train.word_sets();
    let plan = choose_plan(config, opts, &train);
    let phase = Phase {
        name: "fit",
        dir,
        epochs: config.epochs,
        has_valid: true,
    };
    let (model, history) = phase.run(config, mlp, plan, train, valid.word_sets(), opts)?;
    Ok(Fitted {
        mlp: model.mlp.valid(),
        history,
        plan,
    })
}

/// The run's [`ExecutionPlan`], from the backend, the input kind and how much of `W₀` the first
/// training batch touches; printed unless quiet.
fn choose_plan(config: &ExperimentConfig, opts: &RunOptions, train: &ImdbDataset) -> ExecutionPlan {
    let first_batch = (0..config.batch_size.min(train.len())).map(|i| train.review(i).0);
    let touched = touched_fraction(first_batch, config.model.input);
    let plan = ExecutionPlan::choose(opts.backend, opts.input, &config.model, touched);
    if !opts.quiet {
        eprintln!(
            "plan: {plan} ({} backend; a batch touches {:.0}% of W0's rows)",
            opts.backend,
            100.0 * touched
        );
    }
    plan
}

/// A fresh model for a phase (phase 2 starts from scratch, as the notebook's retraining does).
/// Weights are drawn on the CPU and moved by [`Phase::run`], so a seed gives the same initial
/// model on every backend (each backend has its own random generator).
fn initial_model(config: &ExperimentConfig) -> Result<Mlp> {
    let host = Device::flex().autodiff();
    host.seed(config.seed);
    Ok(config.model.try_init(&host)?)
}

/// An exclusive advisory lock on `out/.lock` (the OS drops it when the process ends, even on
/// `kill -9`), holding the process id for the error a second run gets.
///
/// # Errors
/// [`TrainError::OutputInUse`] naming the directory and the holder's process id.
pub(crate) fn lock_out_dir(out: &Path) -> Result<std::fs::File> {
    use std::io::{Read, Seek, Write};
    std::fs::create_dir_all(out).map_err(|e| TrainError::io(out, e))?;
    let path = out.join(".lock");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| TrainError::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => {
            let pid = format!("process {}", std::process::id());
            file.set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| file.write_all(pid.as_bytes()))
                .map_err(|e| TrainError::io(&path, e))?;
            Ok(file)
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            Err(TrainError::OutputInUse {
                dir: out.to_owned(),
                holder: if holder.is_empty() {
                    "a process".into()
                } else {
                    holder
                },
            })
        }
        Err(std::fs::TryLockError::Error(e)) => Err(TrainError::io(&path, e)),
    }
}

/// Creates `out`; for a fresh run, removes the checkpoints of both phases that an earlier run left
/// there; for a resumed run, insists on the same config.
fn prepare_out_dir(config: &ExperimentConfig, out: &Path, resume: bool) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| TrainError::io(out, e))?;
    let config_path = out.join("config.json");
    let json = serde_json::to_string_pretty(config).expect("configs always serialise");
    if resume {
        let before = std::fs::read_to_string(&config_path).map_err(|e| TrainError::Resume {
            path: out.to_owned(),
            reason: format!("no config.json from an earlier run ({e})"),
        })?;
        if before != json {
            return Err(TrainError::Resume {
                path: out.to_owned(),
                reason: "config.json differs from this run's config".into(),
            });
        }
        return Ok(());
    }
    // The previous run's `model/` and `results.json` stay until this run replaces them
    // (atomically), so a run that fails leaves the last good model usable.
    for dir in ["fit", "retrain"] {
        let p = out.join(dir);
        if p.exists() {
            std::fs::remove_dir_all(&p).map_err(|e| TrainError::io(&p, e))?;
        }
    }
    write_atomic(&config_path, json.as_bytes())
}

/// One call of Burn's Learner.
struct Phase {
    name: &'static str,
    dir: PathBuf,
    epochs: usize,
    has_valid: bool,
}

impl Phase {
    /// Trains `mlp` (on any device: it is moved to the run's) for this phase's epochs.
    fn run(
        &self,
        config: &ExperimentConfig,
        mlp: Mlp,
        plan: ExecutionPlan,
        train: ImdbDataset,
        valid: ImdbDataset,
        opts: &RunOptions,
    ) -> Result<(Classifier, Vec<EpochMetrics>)> {
        let checkpoint_dir = self.dir.join("checkpoint");
        let done = if opts.resume {
            last_complete_checkpoint(&checkpoint_dir).min(self.epochs)
        } else {
            0
        };
        // The epochs before `done` come from the checkpoint, read before anything else is done.
        let before = match done {
            0 => Vec::new(),
            _ => {
                read_checkpoint(&checkpoint_dir, done).map_err(|(path, e)| TrainError::Resume {
                    path,
                    reason: format!(
                        "the checkpoint of epoch {done} cannot be read ({e}); run again without \
                         --resume to start over"
                    ),
                })?
            }
        };
        let history = SharedHistory::new(before.into());

        let device = opts.backend.device();
        let autodiff = device.clone().autodiff();
        // Input weights from this phase's training reviews only (never validation or test).
        let mlp = match config.weighting {
            Some(weighting) => {
                mlp.with_input_weights(&weighting.weights(&train, config.model.input))?
            }
            None => mlp,
        };
        // `train()`: a model built on a plain device (or a `valid()` one) is made trainable.
        let mlp = mlp.fork(&autodiff).train();
        let model = Classifier {
            mlp,
            loss: config.loss,
            plan,
        };
        let batcher = MultiHotBatcher::new(config.model.input, plan.input());
        let loader = |ds, batch_size, schedule, dev: &Device, first| {
            Arc::new(ReviewLoader::new(
                ds,
                batcher.clone(),
                batch_size,
                schedule,
                dev.clone(),
                first,
            ))
        };
        let schedule = Schedule::Training {
            seed: config.seed,
            shuffle: config.shuffles(),
        };
        let train_len = train.len();
        let train_loader = loader(train, config.batch_size, schedule, &autodiff, done);
        // Evaluation changes no weight: its batch size only changes the speed.
        let eval_batch = plan.eval_batch_size(config.batch_size);
        let valid_loader = loader(valid, eval_batch, Schedule::Evaluation, &device, 0);

        let divergence = Divergence::default();
        let label = format!("[{}:{}]", config.name, self.name);
        let renderer = ProgressRenderer::new(&label, opts.quiet);
        let mut training = SupervisedTraining::new(&self.dir, train_loader, valid_loader)
            .metrics((BinaryAccuracyMetric::default(), LossMetric::new()))
            .with_metric_logger(MemoryMetricLog::default())
            .with_custom_checkpointers(
                AtomicFileCheckpointer::new(&checkpoint_dir, "model"),
                AtomicFileCheckpointer::new(&checkpoint_dir, "optim"),
                AtomicFileCheckpointer::new(&checkpoint_dir, "scheduler"),
            )
            .with_checkpointing_strategy(CheckpointEvery::new(
                // Negative or NaN: every epoch; infinite: the last epoch only.
                Duration::try_from_secs_f64(opts.checkpoint_seconds.max(0.0))
                    .unwrap_or(Duration::MAX),
                self.epochs,
                &checkpoint_dir,
                history.clone(),
            ))
            .num_epochs(self.epochs)
            .early_stopping(EpochMonitor::new(
                &label,
                self.epochs,
                !opts.quiet,
                self.has_valid,
                renderer.bar(),
                divergence.clone(),
            ))
            // Burn would install a global tracing subscriber per run; a study runs many.
            .with_application_logger(None)
            .renderer(Box::new(renderer));
        if done > 0 {
            training = training.checkpoint(done);
        }
        let optim = plan.optimizer(&config.optimizer, train_len.div_ceil(config.batch_size));
        let result = training.launch(Learner::new(model, optim, config.optimizer.learning_rate));

        if let Some((split, epoch, value)) = *divergence.lock().expect("monitor lock") {
            return Err(TrainError::NonFiniteLoss {
                split,
                epoch,
                value,
            });
        }
        if result.error.is_some() || result.interrupted.is_some() {
            let reason = match (&result.error, &result.interrupted) {
                (Some(e), _) => e.to_string(),
                (None, Some(i)) => i.reason.clone().unwrap_or_else(|| "interrupted".into()),
                (None, None) => unreachable!(),
            };
            let completed = last_complete_checkpoint(&checkpoint_dir);
            return Err(TrainError::Interrupted {
                completed,
                expected: self.epochs,
                reason,
            });
        }
        let history = std::mem::take(&mut *history.lock().expect("history lock"));
        // Burn ends a phase early only when interrupted or stopped by the monitor (both above).
        assert_eq!(history.len(), self.epochs, "one history entry per epoch");
        Ok((result.model, history))
    }
}

fn write_artifacts(
    config: &ExperimentConfig,
    model: &Classifier,
    imdb: &Imdb,
    results: &Results,
    out: &Path,
) -> Result<()> {
    write_atomic(
        &out.join("history.csv"),
        to_csv(&results.history).as_bytes(),
    )?;
    write_atomic(
        &out.join("history.json"),
        to_json(&results.history).as_bytes(),
    )?;
    save_model(config, model, imdb, &out.join("model"))?;
    plot_history(&results.history, out, "Validation")?;
    // Last, so its presence means the run finished.
    write_atomic(&out.join("results.json"), to_json(results).as_bytes())
}

/// Writes the self-contained model directory ([`imdb_bundle`]: config, weights, the encoding
/// options and training vocabulary that prediction from text needs, a versioned manifest),
/// swapped in whole.
fn save_model(
    config: &ExperimentConfig,
    model: &Classifier,
    imdb: &Imdb,
    dir: &Path,
) -> Result<()> {
    // `run_experiment` checked that `imdb.options` equals `config.data`.
    ModelBundle::new(
        &config.model,
        &model.mlp,
        &imdb.options,
        imdb.word_index.as_ref(),
    )?
    .write_dir(dir)?;
    Ok(())
}

/// Writes `bytes` to `path` with [`imdb_data::atomic::write`]: the old file or the new one,
/// never half of one.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    imdb_data::atomic::write(path, bytes).map_err(|e| TrainError::io(path, e))
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("histories and results always serialise")
}
