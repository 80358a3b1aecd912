//! The same seed gives the same run on every CPU backend: built with `--features ndarray` (CI
//! builds it together with the wgpu test, one build of Burn with both features).
#![cfg(feature = "ndarray")]

use burn_imdb::data::{DataSource, ImdbLoader};
use burn_imdb::study::study_variants;
use burn_imdb::train::{BackendKind, InputKind, Results, RunOptions, run_experiment};
use std::path::Path;
use std::sync::Arc;

/// Burn keeps one random generator per device for the process: runs in parallel test threads
/// would interleave their draws.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn run(
    config: &burn_imdb::train::ExperimentConfig,
    imdb: &burn_imdb::data::Imdb,
    out: &Path,
    backend: &str,
) -> Results {
    let opts = RunOptions {
        out_dir: out.join(backend),
        backend: BackendKind::select(Some(backend)).unwrap(),
        input: InputKind::Sparse,
        resume: false,
        quiet: true,
        checkpoint_seconds: f64::INFINITY,
    };
    run_experiment(config, imdb, &opts).unwrap()
}

/// What must agree: every epoch's four numbers within 1e-5 (they come out equal: the runs share
/// their initial weights, dropout masks and loss averaging, see `imdb-train`'s backend docs),
/// the chosen epoch, the test accuracy, and each test review's outcome.
fn assert_same_run(flex: &Results, ndarray: &Results, what: &str) {
    for (a, b) in flex
        .history
        .iter()
        .chain(&flex.retrain_history)
        .zip(ndarray.history.iter().chain(&ndarray.retrain_history))
    {
        for (x, y, metric) in [
            (a.loss, b.loss, "loss"),
            (a.accuracy, b.accuracy, "accuracy"),
            (a.val_loss, b.val_loss, "val_loss"),
            (a.val_accuracy, b.val_accuracy, "val_accuracy"),
        ] {
            assert!(
                (x - y).abs() <= 1e-5,
                "{what}, epoch {}: {metric} {x} on flex, {y} on ndarray",
                a.epoch
            );
        }
    }
    assert_eq!(flex.chosen_epoch, ndarray.chosen_epoch, "{what}");
    assert_eq!(flex.test_accuracy, ndarray.test_accuracy, "{what}");
    assert_eq!(flex.test_outcomes, ndarray.test_outcomes, "{what}");
    assert_eq!(ndarray.backend, "ndarray");
}

/// The seed-42 baseline on the full data: the same history on Flex and on NdArray.
#[test]
fn the_seed_42_baseline_is_the_same_on_flex_and_ndarray() {
    let Some(data) = std::env::var_os("BURN_IMDB_DATA") else {
        // Straight to stderr: the test harness captures `eprintln!` of a passing test.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"SKIPPED: set BURN_IMDB_DATA to the full IMDB data to run this test\n",
        );
        return;
    };
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let imdb = ImdbLoader::new(DataSource::Path(data.into()))
        .cache_dir(tmp.path())
        .quiet(true)
        .load()
        .unwrap();
    let config = burn_imdb::train::ExperimentConfig::new();
    let flex = run(&config, &imdb, tmp.path(), "flex");
    let ndarray = run(&config, &imdb, tmp.path(), "ndarray");
    assert_same_run(&flex, &ndarray, "baseline");
    assert_eq!(flex.chosen_epoch, 4);
}

/// Every shipped variant's kind of step (dropout masks, L2's dense gradient, three layers, 32
/// units, MSE, tanh, n-grams, input weights) on a slice of the embedded sample: the same run on
/// both CPU backends.
#[test]
fn every_variant_is_the_same_on_flex_and_ndarray() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    for config in study_variants() {
        // A smaller vocabulary and fewer epochs: every kind of step, in seconds.
        let width = 2_000;
        let data = config.data.clone().with_num_words(Some(width));
        let mut config = config
            .with_epochs(3)
            .with_validation(Some(300))
            .with_data(data);
        config.model.input = width;
        let mut imdb = ImdbLoader::new(DataSource::Embedded)
            .options(config.data.clone())
            .cache_dir(tmp.path().join("cache"))
            .quiet(true)
            .load()
            .unwrap();
        imdb.train = Arc::new(imdb.train.slice(0..1_000));
        imdb.test = Arc::new(imdb.test.slice(0..500));
        let out = tmp.path().join(&config.name);
        let (flex, ndarray) = (
            run(&config, &imdb, &out, "flex"),
            run(&config, &imdb, &out, "ndarray"),
        );
        assert_same_run(&flex, &ndarray, &config.name);
    }
}
