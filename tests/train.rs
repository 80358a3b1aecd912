//! The training protocol end to end on the embedded sample (and on the full data when
//! `BURN_IMDB_DATA` is set, as CI does).

use burn::config::Config;
use burn::module::Module;
use burn::tensor::Device;
use burn_imdb::data::{DataSource, Imdb, ImdbDataset, ImdbLoader, Split};
use burn_imdb::model::{InputWeights, MlpConfig};
use burn_imdb::train::{
    BackendKind, EpochSelection, ExperimentConfig, Results, RunOptions, TrainError, run_experiment,
};
use burn_imdb::train::{InputKind, Weighting, fit};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

/// Burn's random generator is one per device for the whole process: weight initialisation and
/// dropout masks of runs in parallel test threads would interleave draws and make "same seed,
/// same numbers" a matter of timing. Every test that trains in this process holds this lock.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn sample_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/imdb-sample/data/aclImdb_sample.tar.gz")
}

fn sample(cache: &Path) -> Imdb {
    ImdbLoader::new(DataSource::Embedded)
        .cache_dir(cache)
        .load()
        .unwrap()
}

/// A small, fast experiment on the 2,500 + 2,500 review sample.
fn small_config(name: &str) -> ExperimentConfig {
    ExperimentConfig::new()
        .with_name(name.into())
        .with_validation(Some(1_000))
        .with_epochs(3)
        .with_batch_size(128)
        .with_seed(7)
}

fn opts(out: &Path) -> RunOptions {
    RunOptions {
        out_dir: out.to_owned(),
        backend: BackendKind::select(Some("flex")).unwrap(),
        input: InputKind::Sparse,
        resume: false,
        quiet: true,
        checkpoint_seconds: burn_imdb::train::DEFAULT_CHECKPOINT_SECONDS,
    }
}

#[test]
fn a_short_run_learns_and_writes_every_artifact() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let imdb = sample(tmp.path());
    let out = tmp.path().join("run");
    let r = run_experiment(&small_config("smoke"), &imdb, &opts(&out)).unwrap();

    // Loss falls epoch over epoch on the training split, and the model beats chance on the test set.
    assert_eq!(r.history.len(), 3);
    assert!(r.history[2].loss < r.history[0].loss, "{:?}", r.history);
    assert!(r.test_accuracy > 0.7, "test accuracy {}", r.test_accuracy);
    assert!((1..=3).contains(&r.chosen_epoch));
    assert_eq!(r.retrain_history.len(), r.chosen_epoch);
    assert_eq!(
        (r.train_reviews, r.validation_reviews, r.test_reviews),
        (2_500, 1_000, 2_500)
    );

    for f in [
        "config.json",
        "history.csv",
        "history.json",
        "results.json",
        "loss.png",
        "loss.svg",
        "accuracy.png",
        "accuracy.svg",
        "model/manifest.json",
        "model/config.json",
        "model/model.bpk",
        "model/encoding.json",
        "model/word_index.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let csv = std::fs::read_to_string(out.join("history.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("epoch,loss,accuracy,val_loss,val_accuracy")
    );
    assert_eq!(lines.count(), 3);
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    for key in [
        "name",
        "chosen_epoch",
        "test_loss",
        "test_accuracy",
        "best_val_accuracy",
        "fit_seconds",
        "retrain_seconds",
        "backend",
        "seed",
        "history",
    ] {
        assert!(results.get(key).is_some(), "results.json lacks {key}");
    }
    assert_eq!(results["backend"], "flex");
    // No temp files left behind (`.lock` is the run's lock file, kept: see docs/guide/training.md).
    let stray: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with('.') && name != ".lock"
        })
        .collect();
    assert!(stray.is_empty(), "{stray:?}");

    // The saved model loads with the model crate alone and classifies like the trained one.
    let device = Device::flex();
    let mlp = MlpConfig::load(out.join("model/config.json"))
        .unwrap()
        .init(&device)
        .load_file(out.join("model/model"));
    let batcher = burn_imdb::train::MultiHotBatcher::new(10_000, InputKind::Dense);
    let test = imdb.test_dataset();
    let batch = batcher.batch_reviews((0..500).map(|i| test.review(i)), &device);
    let burn_imdb::model::MlpInput::Dense(x) = batch.inputs else {
        unreachable!("dense batcher")
    };
    let predicted = mlp.forward(x).greater_elem(0.0).int().squeeze_dim::<1>(1);
    let correct: i64 = predicted
        .equal(batch.targets)
        .int()
        .sum()
        .into_scalar::<i64>();
    assert!(
        correct as f64 / 500.0 > 0.7,
        "reloaded model: {correct}/500 correct"
    );
}

/// The front door on the one source every machine has: the seed's default config, unchanged
/// (20 epochs, batch 512, default validation), runs to the end on the embedded sample, whose
/// 2,500 training reviews cannot spare the seed's 10,000 for validation. The default then keeps
/// the seed's proportion, 40%, and says so.
#[test]
fn the_default_config_runs_on_the_embedded_sample() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let imdb = sample(tmp.path());
    let r = run_experiment(
        &ExperimentConfig::new(),
        &imdb,
        &opts(&tmp.path().join("baseline")),
    )
    .unwrap();
    assert_eq!(r.history.len(), 20);
    assert_eq!((r.train_reviews, r.validation_reviews), (2_500, 1_000));
    assert!(r.validation_rule.contains("40%"), "{}", r.validation_rule);
    // 0.75: the bar the front-door issue sets for the sample; seed 42 gives ~0.83 (README).
    assert!(r.test_accuracy > 0.75, "test accuracy {}", r.test_accuracy);
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("baseline/results.json")).unwrap())
            .unwrap();
    assert_eq!(written["validation_reviews"], 1_000);
    assert_eq!(written["validation_rule"], r.validation_rule.as_str());
}

/// Every experiment shipped in `assets/experiments/` runs on the embedded sample with its own
/// encoding (two epochs each, to keep the test short; the README harness runs the whole study).
#[test]
fn every_shipped_experiment_runs_on_the_embedded_sample() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/experiments");
    let configs = burn_imdb::study::load_experiments(&dir).unwrap();
    assert!(configs.len() >= 8, "{} configs", configs.len());
    for config in configs {
        let imdb = ImdbLoader::new(DataSource::Embedded)
            .options(config.data.clone())
            .cache_dir(tmp.path())
            .quiet(true)
            .load()
            .unwrap();
        let config = config.with_epochs(2);
        let r = run_experiment(&config, &imdb, &opts(&tmp.path().join(&config.name)))
            .unwrap_or_else(|e| panic!("{}: {e}", config.name));
        eprintln!(
            "{}: test accuracy {:.4} after {} epoch(s)",
            config.name, r.test_accuracy, r.chosen_epoch
        );
        assert_eq!(r.validation_reviews, 1_000, "{}", config.name);
        // Two epochs of 3 steps each: above chance, far from trained.
        assert!(
            r.test_accuracy > 0.6,
            "{}: {}",
            config.name,
            r.test_accuracy
        );
    }
}

#[test]
fn same_seed_same_numbers() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let imdb = sample(tmp.path());
    let config = small_config("det").with_epochs(2);
    let a = run_experiment(&config, &imdb, &opts(&tmp.path().join("a"))).unwrap();
    let b = run_experiment(&config, &imdb, &opts(&tmp.path().join("b"))).unwrap();
    assert_eq!(a.history, b.history);
    assert_eq!(
        (a.test_loss, a.test_accuracy),
        (b.test_loss, b.test_accuracy)
    );
}

/// Sparse and dense batches describe the same multi-hot matrix, so a run must give the same
/// numbers with either: the first layer sums the same kernel rows in another order (f32
/// rounding, ~1e-7 relative), which can only move a loss in its last digits. Tolerance: 1e-4 on
/// every loss, identical chosen epoch, accuracies within one review of each other.
fn assert_same_numbers(sparse: &Results, dense: &Results, reviews: (usize, usize)) {
    let (val, test) = (1.0 / reviews.0 as f64, 1.0 / reviews.1 as f64);
    let worst = |f: fn(&burn_imdb::train::EpochMetrics) -> f64| {
        let pairs = sparse.history.iter().zip(&dense.history);
        pairs.map(|(s, d)| (f(s) - f(d)).abs()).fold(0.0, f64::max)
    };
    eprintln!(
        "sparse vs dense: max |Δ| train loss {:.1e}, val loss {:.1e}; test loss {:.1e}, test accuracy {:.1e}",
        worst(|m| m.loss),
        worst(|m| m.val_loss),
        (sparse.test_loss - dense.test_loss).abs(),
        (sparse.test_accuracy - dense.test_accuracy).abs()
    );
    assert_eq!(sparse.chosen_epoch, dense.chosen_epoch);
    assert_eq!(sparse.history.len(), dense.history.len());
    for (s, d) in sparse.history.iter().zip(&dense.history) {
        assert!((s.loss - d.loss).abs() <= 1e-4, "{s:?} vs {d:?}");
        assert!((s.val_loss - d.val_loss).abs() <= 1e-4, "{s:?} vs {d:?}");
        assert!(
            (s.val_accuracy - d.val_accuracy).abs() <= val + 1e-12,
            "{s:?} vs {d:?}"
        );
    }
    let (s, d) = (sparse.test_loss, dense.test_loss);
    assert!((s - d).abs() <= 1e-4, "test loss {s} vs {d}");
    assert!((sparse.test_accuracy - dense.test_accuracy).abs() <= test + 1e-12);
    assert_eq!(
        (sparse.input, dense.input),
        (InputKind::Sparse, InputKind::Dense)
    );
}

#[test]
fn sparse_and_dense_inputs_give_the_same_numbers() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let imdb = sample(tmp.path());
    // Dropout and L2 on: the dropout masks and the L2 gradient of W0 must match too.
    let mut config = small_config("paths");
    config.model = config.model.with_dropout(Some(0.5)).with_l2(Some(0.002));
    let run = |input, dir: &str| {
        let opts = RunOptions {
            input,
            ..opts(&tmp.path().join(dir))
        };
        run_experiment(&config, &imdb, &opts).unwrap()
    };
    let (sparse, dense) = (run(InputKind::Sparse, "s"), run(InputKind::Dense, "d"));
    assert_same_numbers(&sparse, &dense, (1_000, 2_500));
}

#[test]
fn divergence_stops_with_the_epoch_named() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let imdb = sample(tmp.path());
    let mut config = small_config("nan").with_epochs(5);
    config.optimizer.learning_rate = 1e30;
    match run_experiment(&config, &imdb, &opts(&tmp.path().join("nan"))) {
        Err(TrainError::NonFiniteLoss { epoch, .. }) => assert!((1..=5).contains(&epoch)),
        other => panic!("expected NonFiniteLoss, got {other:?}"),
    }
}

#[test]
fn invalid_config_fails_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let imdb = sample(tmp.path());
    let out = tmp.path().join("never");
    let err =
        run_experiment(&small_config("bad").with_batch_size(0), &imdb, &opts(&out)).unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::InvalidConfig {
                field: "batch_size",
                ..
            }
        ),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written for an invalid config");
}

fn baseline(config: &Path, out: &Path, resume: bool, cache: &Path) -> Command {
    let mut cmd = Command::new(common::example_exe("baseline"));
    cmd.arg("--data")
        .arg(sample_path())
        .arg("--config")
        .arg(config)
        .arg("--out")
        .arg(out)
        .arg("--device")
        .arg("flex");
    if resume {
        cmd.arg("--resume");
    }
    cmd.env("BURN_IMDB_CACHE", cache)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn results(out: &Path) -> Results {
    serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap()
}

/// kill -9 in the middle of phase 1, then `--resume`: same history and test result as a run that
/// was never interrupted.
#[test]
fn resume_after_kill_matches_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let config_path = tmp.path().join("resume.json");
    // Small batches make each epoch take long enough to kill the run in the middle.
    let config = small_config("resume")
        .with_epochs(8)
        .with_batch_size(16)
        .with_selection(EpochSelection::Fixed(2));
    config.save(&config_path).unwrap();

    let full = tmp.path().join("full");
    assert!(
        baseline(&config_path, &full, false, &cache)
            .status()
            .unwrap()
            .success()
    );

    let cut = tmp.path().join("cut");
    // A checkpoint every epoch, so the kill lands after a mid-phase one.
    let mut child = baseline(&config_path, &cut, false, &cache)
        .args(["--checkpoint-seconds", "0"])
        .spawn()
        .unwrap();
    let marker = cut.join("fit/checkpoint/model-3.bpk");
    common::wait_while_running(
        &mut child,
        Duration::from_secs(120),
        "the epoch-3 checkpoint",
        || marker.exists(),
    );
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    assert!(!cut.join("results.json").exists(), "killed before the end");

    assert!(
        baseline(&config_path, &cut, true, &cache)
            .status()
            .unwrap()
            .success()
    );
    let (a, b) = (results(&full), results(&cut));
    assert_eq!(a.history, b.history);
    assert_eq!(a.retrain_history, b.retrain_history);
    assert_eq!(
        (a.test_loss, a.test_accuracy),
        (b.test_loss, b.test_accuracy)
    );
}

/// Checkpoints: every epoch when asked (the newest two kept), else at most one a second and the
/// last epoch of each phase. A phase of three short epochs on the sample saves only its last.
#[test]
fn checkpoints_are_throttled_and_the_newest_two_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let imdb = sample(tmp.path());
    let config = small_config("ckpt").with_epochs(4);
    let listing = |out: &Path| common::files_under(&out.join("fit/checkpoint"));
    let every = tmp.path().join("every");
    let r = run_experiment(
        &config,
        &imdb,
        &RunOptions {
            checkpoint_seconds: 0.0,
            ..opts(&every)
        },
    )
    .unwrap();
    let expected = |epochs: &[usize]| {
        let mut names: Vec<String> = epochs
            .iter()
            .flat_map(|e| {
                ["model", "optim", "scheduler"]
                    .map(|k| format!("{k}-{e}.bpk"))
                    .into_iter()
                    .chain([format!("history-{e}.json")])
            })
            .collect();
        names.sort();
        names
    };
    assert_eq!(listing(&every), expected(&[3, 4]));
    // An hour between checkpoints: only the last epoch.
    let last = tmp.path().join("last");
    let s = run_experiment(
        &config,
        &imdb,
        &RunOptions {
            checkpoint_seconds: 3600.0,
            ..opts(&last)
        },
    )
    .unwrap();
    assert_eq!(listing(&last), expected(&[4]));
    assert_eq!(r.history, s.history, "checkpoints change no number");
    assert_eq!(r.test_loss, s.test_loss);
}

/// CI's real-data check (skipped without `BURN_IMDB_DATA`): the seed model reaches ≥ 0.86 test
/// accuracy in at most 4 epochs.
#[test]
fn full_data_reaches_086_in_four_epochs_with_either_input() {
    let _serial = serial();
    let Some(path) = std::env::var_os("BURN_IMDB_DATA").filter(|p| !p.is_empty()) else {
        // Straight to stderr: the test harness captures `eprintln!` of a passing test.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"SKIPPED: set BURN_IMDB_DATA to the IMDB archive to run the full-data training test\n",
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let imdb = ImdbLoader::new(DataSource::Path(path.into()))
        .cache_dir(tmp.path())
        .load()
        .unwrap();
    let config = ExperimentConfig::new()
        .with_name("ci".into())
        .with_epochs(4);
    let r = run_experiment(&config, &imdb, &opts(&tmp.path().join("ci"))).unwrap();
    let dense = RunOptions {
        input: InputKind::Dense,
        ..opts(&tmp.path().join("ci-dense"))
    };
    let d = run_experiment(&config, &imdb, &dense).unwrap();
    assert_same_numbers(&r, &d, (10_000, 25_000));
    // On the full data the default validation is the seed's, unchanged.
    assert_eq!(
        (r.validation_reviews, r.validation_rule.as_str()),
        (10_000, "the seed's 10,000")
    );
    assert!(r.chosen_epoch <= 4);
    assert!(
        r.test_accuracy >= 0.86,
        "test accuracy {} after {} epochs",
        r.test_accuracy,
        r.chosen_epoch
    );
    assert!(
        r.best_val_accuracy >= 0.86,
        "best validation accuracy {}",
        r.best_val_accuracy
    );
}

/// The input weights of `mlp` (its one float parameter as wide as its input).
fn input_weights(mlp: &burn_imdb::model::Mlp) -> Vec<f32> {
    struct Find(usize, Option<Vec<f32>>);
    impl burn::module::ModuleVisitor for Find {
        fn visit_float<const D: usize>(
            &mut self,
            param: &burn::module::Param<burn::tensor::Tensor<D>>,
        ) {
            let value = param.val();
            if D == 1 && value.dims()[0] == self.0 {
                self.1 = Some(value.into_data().try_into_vec::<f32>().unwrap());
            }
        }
    }
    let mut find = Find(mlp.input_size(), None);
    mlp.visit(&mut find);
    find.1.expect("a model with input weights")
}

/// `dataset` with review `i` replaced: its label flipped and three more words.
fn with_review_changed(dataset: &ImdbDataset, i: usize) -> ImdbDataset {
    let split: Split = (0..dataset.len())
        .map(|r| {
            let (ids, label) = dataset.review(r);
            if r == i {
                let ids = ids.iter().copied().chain([40, 41, 42]).collect();
                (ids, 1 - label)
            } else {
                (ids.to_vec(), label)
            }
        })
        .collect();
    ImdbDataset::new(std::sync::Arc::new(split))
}

/// NB weights come from the reviews a phase trains on: changing a validation review changes no
/// weight, changing a training review does, and the trained model holds exactly the weights
/// computed from its training part (a constant: no optimizer step moved them).
#[test]
fn input_weights_come_from_the_training_part_only() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let imdb = sample(tmp.path());
    let weighting = Weighting::NbLogCountRatio { alpha: 1.0 };
    let mut config = small_config("nb")
        .with_epochs(2)
        .with_weighting(Some(weighting));
    config.model = config
        .model
        .with_input_weights(Some(InputWeights::PerFeature));
    let (train, valid) = imdb.train_dataset().split_validation(1_000).unwrap();
    let trained = |train: &ImdbDataset, valid: &ImdbDataset| {
        let mlp = config.model.init(&Device::flex());
        let fitted = fit(&config, mlp, train, valid, &opts(&tmp.path().join("run"))).unwrap();
        assert!(fitted.history[1].loss < fitted.history[0].loss, "it trains");
        input_weights(&fitted.mlp)
    };
    let weights = trained(&train, &valid);
    assert_eq!(weights, weighting.weights(&train, config.model.input));
    assert!(weights.iter().any(|&w| w > 1.0) && weights.iter().any(|&w| w < -1.0));
    assert_eq!(trained(&train, &with_review_changed(&valid, 0)), weights);
    assert_ne!(trained(&with_review_changed(&train, 0), &valid), weights);
}

/// An experiment that does not fit its data is refused before any work, naming both sides:
/// `num_words` unset (every word kept) under a 10,000-wide model, which used to stop the batching
/// thread mid-epoch; data encoded with other options than the experiment's; and `fit` given word
/// ids beyond the model's input.
#[test]
fn an_experiment_that_does_not_fit_its_data_is_refused_before_any_work() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("never");
    let every_word = burn_imdb::data::EncodeOptions::keras().with_num_words(None);
    let imdb = ImdbLoader::new(DataSource::Embedded)
        .cache_dir(tmp.path().join("cache"))
        .options(every_word.clone())
        .load()
        .unwrap();
    let width = imdb.vocabulary_width();
    assert!(width > 10_000, "the sample has {width} distinct terms");
    let config = small_config("wide").with_data(every_word);
    let err = run_experiment(&config, &imdb, &opts(&out)).unwrap_err();
    let TrainError::DataMismatch {
        setting,
        config: ours,
        data,
        ..
    } = &err
    else {
        panic!("expected DataMismatch, got {err}")
    };
    assert!(setting.starts_with("model.input"), "{setting}");
    assert_eq!(
        (ours.as_str(), data.as_str()),
        ("10000", width.to_string().as_str())
    );
    assert!(err.to_string().contains(&width.to_string()), "{err}");
    assert!(!out.exists(), "nothing is written");

    // Data encoded with other options: the differing option is named with both values.
    let sample = sample(&tmp.path().join("cache"));
    let pairs =
        small_config("pairs").with_data(burn_imdb::data::EncodeOptions::keras().with_ngrams(2));
    let err = run_experiment(&pairs, &sample, &opts(&out)).unwrap_err();
    assert!(matches!(err, TrainError::DataMismatch { .. }), "{err}");
    assert!(err.to_string().contains("ngrams = 2 vs 1"), "{err}");
    assert!(!out.exists());

    // `fit` on reviews whose ids need a wider input than the model's.
    let (train, valid) = imdb.train_dataset().split_validation(1_000).unwrap();
    let narrow = small_config("narrow");
    let mlp = narrow.model.init(&Device::flex());
    let err = fit(&narrow, mlp, &train, &valid, &opts(&out)).unwrap_err();
    assert!(
        matches!(&err, TrainError::DataMismatch { config, .. } if config == "10000"),
        "{err}"
    );
    assert!(!out.join("fit").exists());
}

/// `--resume` on a truncated checkpoint record or history is an error naming the file and how to
/// start over; on main, Burn panicked ("Can load model checkpoint.") inside the Learner.
#[test]
fn resuming_from_a_damaged_checkpoint_names_the_file() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let imdb = sample(tmp.path());
    let config = small_config("damaged").with_epochs(2);
    for file in ["model-2.bpk", "history-2.json"] {
        let out = tmp.path().join(file);
        run_experiment(&config, &imdb, &opts(&out)).unwrap();
        let damaged = out.join("fit/checkpoint").join(file);
        let bytes = std::fs::read(&damaged).unwrap();
        std::fs::write(&damaged, &bytes[..bytes.len() / 2]).unwrap();
        let resumed = RunOptions {
            resume: true,
            ..opts(&out)
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_experiment(&config, &imdb, &resumed)
        }));
        let err = result.expect("no panic").unwrap_err();
        let text = err.to_string();
        assert!(text.contains(file), "{text}");
        assert!(text.contains("without --resume"), "{text}");
    }
}

/// Two real processes on one output directory: the second fails at once, naming the directory
/// and the first's process id, and the first finishes unharmed. (On main both ran and
/// interleaved their checkpoints and logs.)
#[test]
fn a_second_run_on_the_same_output_directory_fails_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let config_path = tmp.path().join("busy.json");
    // Small batches: long enough for the second process to meet the first.
    small_config("busy")
        .with_epochs(6)
        .with_batch_size(16)
        .save(&config_path)
        .unwrap();
    let out = tmp.path().join("busy");
    common::a_second_process_is_refused(
        baseline(&config_path, &out, false, &cache),
        baseline(&config_path, &out, false, &cache),
        &out,
    );
    assert_eq!(results(&out).history.len(), 6);
}

/// A rerun whose writes fail part-way (the file-size limit, which fails a write as a full disk
/// does; SIGXFSZ ignored so the write returns `EFBIG` instead of killing the process) fails with
/// an error naming the file, leaves no temp file, and leaves the previous run's model and results
/// as they were. (On main the rerun deleted `model/` first.)
#[cfg(target_os = "linux")]
#[test]
fn a_rerun_that_runs_out_of_space_keeps_the_last_good_model() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let config_path = tmp.path().join("full.json");
    small_config("full").save(&config_path).unwrap();
    let out = tmp.path().join("full");
    assert!(
        baseline(&config_path, &out, false, &cache)
            .status()
            .unwrap()
            .success()
    );
    let read = |p: &str| std::fs::read(out.join(p)).unwrap();
    let (model, results) = (read("model/model.bpk"), read("results.json"));

    let plain = baseline(&config_path, &out, false, &cache);
    let mut limited = Command::new("sh");
    limited
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 64; exec \"$0\" \"$@\"")
        .arg(plain.get_program())
        .args(plain.get_args())
        .env("BURN_IMDB_CACHE", &cache)
        .stdout(Stdio::null());
    let rerun = limited.output().unwrap();
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    assert!(!rerun.status.success(), "the rerun must fail: {stderr}");
    assert!(stderr.contains("File too large"), "{stderr}");
    // The first checkpoint (model or optimizer, whichever Burn writes first) is named.
    let checkpoints = out.join("fit/checkpoint");
    assert!(
        stderr.contains(&format!("writing {}/", checkpoints.display())),
        "{stderr}"
    );
    assert_eq!(read("model/model.bpk"), model);
    assert_eq!(read("results.json"), results);
    let left: Vec<String> = common::files_under(&out)
        .into_iter()
        // Atomic files' temp names, and the model directory's temp folder.
        .filter(|f| f.contains(".part") || f.starts_with(".model-"))
        .collect();
    assert!(left.is_empty(), "temp files left: {left:?}");
}
