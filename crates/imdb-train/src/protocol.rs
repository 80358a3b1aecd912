//! The seed notebook's protocol as one call: fit with validation, choose the epoch, retrain on
//! all training reviews, evaluate on the test set, and write every artifact.

use burn::module::Module;
use burn::tensor::Device;
use imdb_data::{Imdb, ImdbDataset};
use imdb_model::Mlp;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;

use crate::artifacts::{lock_out_dir, prepare_out_dir, write_artifacts};
use crate::backend_kind::BackendKind;
use crate::config::ExperimentConfig;
use crate::cpu::plan::{ExecutionPlan, touched_fraction};
use crate::data::InputKind;
use crate::error::{Result, TrainError};
use crate::history::{EpochMetrics, choose_epoch};
use crate::outcomes::ReviewOutcomes;
use crate::phase::Phase;

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
    /// epoch of each phase is always saved. [`DEFAULT_CHECKPOINT_SECONDS`] unless you trade
    /// speed for less work redone on `--resume`.
    pub checkpoint_seconds: f64,
}

/// [`RunOptions::checkpoint_seconds`] of the commands: a crash redoes at most about a second of
/// training, and a fast run (the baseline's epochs take tens of milliseconds) does not spend a
/// large share of its time saving checkpoints.
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
    /// How batches held the reviews (`sparse` or `dense`).
    #[serde(default = "dense")]
    pub input: InputKind,
    /// Where the first layer and the optimizer ran, decided once per run.
    #[serde(default)]
    pub plan: Option<ExecutionPlan>,
    /// The experiment seed.
    pub seed: u64,
    /// Reviews used to train, validate and test.
    pub train_reviews: usize,
    /// Reviews in the validation split of phase 1.
    pub validation_reviews: usize,
    /// Why that many ([`crate::ValidationSplit::rule`]: set in the config, the seed's 10,000, or
    /// the seed's 40% of a smaller training set).
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
    /// Which test reviews the retrained model classified correctly, in the test set's order
    /// (`test_accuracy` is their share): what lets a study resample the test reviews.
    #[serde(default)]
    pub test_outcomes: Option<ReviewOutcomes>,
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
    check_memory(config, opts.input)?;
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
    let history = fit
        .run(
            config,
            initial_model(config)?,
            plan,
            partial_train,
            validation.clone(),
            opts,
        )?
        .history;
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
    let retrained = retrain.run(
        config,
        initial_model(config)?,
        plan,
        train,
        imdb.test_dataset().word_sets(),
        opts,
    )?;
    let retrain_seconds = started.elapsed().as_secs_f64();
    let retrain_history = retrained.history;
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
        test_outcomes: retrained.test_outcomes,
    };
    write_artifacts(config, &retrained.model.mlp, imdb, &results, out)?;
    Ok(results)
}

fn dense() -> InputKind {
    InputKind::Dense
}

/// The memory a run of `config` needs beyond its data, estimated before any work: the weights
/// five times over (the model, the Learner's copy, a gradient, the optimizer's velocity, the
/// next weights), and with dense input a training and an evaluation batch of dense rows.
fn memory_estimate(config: &ExperimentConfig, input: InputKind) -> u64 {
    let weights = config
        .model
        .parameter_count()
        .unwrap_or(u64::MAX)
        .saturating_mul(4);
    let dense_rows = match input {
        InputKind::Dense => (config.batch_size as u64)
            .saturating_mul(config.model.input as u64)
            .saturating_mul(4 * 2),
        InputKind::Sparse => 0,
    };
    weights.saturating_mul(5).saturating_add(dense_rows)
}

/// Refuses a run whose [`memory_estimate`] is above the memory the machine has available
/// (Linux's `MemAvailable`; where it cannot be read, nothing is refused), naming the setting
/// that makes it large, instead of aborting in the allocator.
///
/// # Errors
/// [`TrainError::OutOfMemory`].
fn check_memory(config: &ExperimentConfig, input: InputKind) -> Result<()> {
    let needed = memory_estimate(config, input);
    let Some(available) = available_memory() else {
        return Ok(());
    };
    if needed <= available {
        return Ok(());
    }
    let model = &config.model;
    Err(TrainError::OutOfMemory {
        setting: format!(
            "model.input = {} with hidden layers {:?}{}",
            model.input,
            model.hidden,
            match input {
                InputKind::Dense => format!(" and batch_size = {}", config.batch_size),
                InputKind::Sparse => String::new(),
            }
        ),
        needed,
        dense_batches: input == InputKind::Dense,
        available,
    })
}

/// `MemAvailable` of `/proc/meminfo`, in bytes.
fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
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
    check_memory(config, opts.input)?;
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
    let fitted = phase.run(config, mlp, plan, train, valid.word_sets(), opts)?;
    Ok(Fitted {
        mlp: fitted.model.mlp.valid(),
        history: fitted.history,
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

/// A fresh model for a phase (phase 2 starts from scratch, as the notebook's retraining does),
/// built on Flex with its generator seeded with the run's seed: [`Phase::run`] draws the weights
/// there before moving the model to the run's device, so a seed gives the same initial model on
/// every backend.
fn initial_model(config: &ExperimentConfig) -> Result<Mlp> {
    let host = Device::flex().autodiff();
    host.seed(config.seed);
    Ok(config.model.try_init(&host)?)
}
