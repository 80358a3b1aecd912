//! The same training on the GPU backend (wgpu) as on the CPU (Flex): built only with
//! `--features wgpu`. CI runs it on Mesa's lavapipe (software Vulkan), which is ~200× slower than
//! Flex on this model, so the inputs are tiny: 400 training reviews, 1,000-word vocabulary.
#![cfg(feature = "wgpu")]

use burn_imdb::data::{DataSource, EncodeOptions, Imdb, ImdbLoader};
use burn_imdb::model::MlpConfig;
use burn_imdb::train::{Backend, ExperimentConfig, Results, RunOptions, run_experiment};
use std::sync::Arc;

fn run(backend: &str, imdb: &Imdb, config: &ExperimentConfig, out: &std::path::Path) -> Results {
    let opts = RunOptions {
        out_dir: out.join(backend),
        backend: Backend::select(Some(backend)).unwrap(),
        resume: false,
        quiet: true,
    };
    run_experiment(config, imdb, &opts).unwrap()
}

#[test]
fn wgpu_trains_like_flex() {
    let tmp = tempfile::tempdir().unwrap();
    let options = EncodeOptions::default().with_num_words(Some(1_000));
    let mut imdb = ImdbLoader::new(DataSource::Embedded)
        .options(options.clone())
        .cache_dir(tmp.path())
        .load()
        .unwrap();
    imdb.train = Arc::new(imdb.train.slice(0..400));
    imdb.test = Arc::new(imdb.test.slice(0..200));
    let config = ExperimentConfig::new()
        .with_name("parity".into())
        .with_data(options)
        .with_model(MlpConfig::new().with_input(1_000))
        .with_validation(100)
        .with_epochs(3)
        .with_batch_size(64);

    let cpu = run("flex", &imdb, &config, tmp.path());
    let gpu = run("wgpu", &imdb, &config, tmp.path());
    assert_eq!(gpu.backend, "wgpu");
    // Same initial weights and batches; only the order of float additions differs between the
    // backends, so losses agree to ~1e-5 in practice. Tolerances: 1e-3 on losses, and one
    // validation review (1/100) or two test reviews (2/200) on accuracies, for predictions that sit
    // on the 0.5 threshold.
    for (c, g) in cpu.history.iter().zip(&gpu.history) {
        assert!(
            (c.loss - g.loss).abs() < 1e-3,
            "epoch {}: loss {} vs {}",
            c.epoch,
            c.loss,
            g.loss
        );
        assert!(
            (c.val_loss - g.val_loss).abs() < 1e-3,
            "epoch {}: val_loss {} vs {}",
            c.epoch,
            c.val_loss,
            g.val_loss
        );
        assert!(
            (c.val_accuracy - g.val_accuracy).abs() <= 0.01 + 1e-9,
            "epoch {}: val_accuracy",
            c.epoch
        );
    }
    assert_eq!(cpu.chosen_epoch, gpu.chosen_epoch);
    assert!(
        (cpu.test_loss - gpu.test_loss).abs() < 1e-3,
        "test loss {} vs {}",
        cpu.test_loss,
        gpu.test_loss
    );
    assert!((cpu.test_accuracy - gpu.test_accuracy).abs() <= 0.01 + 1e-9);
}
