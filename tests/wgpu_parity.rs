//! The same model on the GPU backend (wgpu) as on the CPU (Flex): built only with
//! `--features wgpu`. CI runs it on Mesa's lavapipe (software Vulkan), which is ~200× slower than
//! Flex on this model, so the inputs are tiny.
#![cfg(feature = "wgpu")]

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, DeviceKind, Tensor, TensorData};
use burn_imdb::data::{DataSource, EncodeOptions, ImdbLoader};
use burn_imdb::model::{Loss, MlpConfig, SparseBatch};
use burn_imdb::train::{
    BackendKind, ExperimentConfig, InputKind, RmsPropKerasConfig, RunOptions, run_experiment,
};
use std::sync::Arc;

/// Burn's random generator is one per device for the whole process, and both tests draw weights
/// on Flex: without this lock, parallel test threads interleave their draws.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn gpu() -> Device {
    Device::wgpu(DeviceKind::DefaultDevice)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec().unwrap()
}

/// Every float parameter of a module, in visiting order.
fn parameters<M: Module>(model: &M) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.extend(values(param.val()));
        }
    }
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    collect.0
}

/// Forward, loss, backward and one Keras-RMSprop step from the same initial weights give the same
/// numbers on both backends, from dense rows and from word ids (Burn's `select` path on the
/// GPU). Tolerance 1e-6 absolute: f32 sums in a different order.
#[test]
fn one_training_step_matches_flex() {
    let _serial = serial();
    let host = Device::flex().autodiff();
    host.seed(42);
    let mlp = MlpConfig::new(50).init(&host);
    let x: Vec<f32> = (0..200).map(|i| f32::from((i * 7) % 3 == 0)).collect();
    let rows: Vec<Vec<u32>> = x
        .chunks(50)
        .map(|row| (0..50u32).filter(|&j| row[j as usize] == 1.0).collect())
        .collect();
    let y = vec![1.0f32, 0.0, 1.0, 0.0];
    let mut results = Vec::new();
    for device in [host.clone(), gpu().autodiff()] {
        for sparse in [false, true] {
            let model = mlp.clone().fork(&device);
            let logits = if sparse {
                model.forward(SparseBatch::from_rows(&rows, 50).unwrap())
            } else {
                model.forward(Tensor::<2>::from_data(
                    TensorData::new(x.clone(), [4, 50]),
                    &device,
                ))
            };
            let ys = Tensor::<2>::from_data(TensorData::new(y.clone(), [4, 1]), &device);
            let loss = model.loss(Loss::Bce, logits, ys);
            let loss_value = values(loss.clone());
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let model = RmsPropKerasConfig::new().init().step(1e-3, model, grads);
            results.push((device.clone(), sparse, loss_value, parameters(&model)));
        }
    }
    let (_, _, cpu_loss, cpu_w) = &results[0];
    for (device, sparse, loss, w) in &results[1..] {
        assert!(
            (cpu_loss[0] - loss[0]).abs() < 1e-6,
            "{device:?} sparse {sparse}: loss {cpu_loss:?} vs {loss:?}"
        );
        assert_eq!(cpu_w.len(), w.len());
        for (a, b) in cpu_w.iter().zip(w) {
            assert!(
                (a - b).abs() < 1e-6,
                "{device:?} sparse {sparse}: weights after one step: {a} vs {b}"
            );
        }
    }
}

/// The whole protocol runs on wgpu and learns. The first run in a process is not reproducible,
/// most likely because Burn's autotune is still choosing kernels then (measured on lavapipe, six
/// runs in one process: epoch-3 validation loss 0.624 in the first, 0.6693 in each of the next
/// five, bit-identical histories; Flex 0.6597; once in CI the first run gave 0.5976, which this
/// test then failed). So the run compared is the second, and the comparison with Flex stays loose
/// (kernels may differ between processes): validation loss within 0.05 of Flex's at every epoch,
/// accuracies within 0.15, and the training loss falling. A single step matches Flex to 1e-7 (see
/// above).
#[test]
fn protocol_runs_on_wgpu_and_tracks_flex() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let options = EncodeOptions::default().with_num_words(Some(1_000));
    let mut imdb = ImdbLoader::new(DataSource::Embedded)
        .options(options.clone())
        .cache_dir(tmp.path())
        .load()
        .unwrap();
    // 400 training reviews (300 train + 100 validation), 200 test reviews, 1,000 words.
    imdb.train = Arc::new(imdb.train.slice(0..400));
    imdb.test = Arc::new(imdb.test.slice(0..200));
    let config = ExperimentConfig::new()
        .with_name("parity".into())
        .with_data(options)
        .with_model(MlpConfig::new(1_000))
        .with_validation(Some(100))
        .with_epochs(3)
        .with_batch_size(64);
    let run = |backend: &str| {
        let opts = RunOptions {
            out_dir: tmp.path().join(backend),
            backend: BackendKind::select(Some(backend)).unwrap(),
            input: InputKind::Sparse,
            resume: false,
            quiet: true,
            checkpoint_seconds: burn_imdb::train::DEFAULT_CHECKPOINT_SECONDS,
        };
        run_experiment(&config, &imdb, &opts).unwrap()
    };
    let cpu = run("flex");
    run("wgpu"); // the first run in this process, see above
    let gpu = run("wgpu");
    assert_eq!(gpu.backend, "wgpu");
    assert!(
        gpu.history[2].loss < gpu.history[0].loss,
        "{:?}",
        gpu.history
    );
    for (c, g) in cpu.history.iter().zip(&gpu.history) {
        assert!(
            (c.val_loss - g.val_loss).abs() < 0.05,
            "epoch {}: val_loss {} vs {}",
            c.epoch,
            c.val_loss,
            g.val_loss
        );
        assert!(
            (c.val_accuracy - g.val_accuracy).abs() < 0.15,
            "epoch {}: val_accuracy {} vs {}",
            c.epoch,
            c.val_accuracy,
            g.val_accuracy
        );
    }
    assert!(
        (cpu.test_accuracy - gpu.test_accuracy).abs() < 0.15,
        "test accuracy {} vs {}",
        cpu.test_accuracy,
        gpu.test_accuracy
    );
}
