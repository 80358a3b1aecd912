use burn::tensor::{Device, Tensor, Tolerance};

use super::{Rng, device, values};
use crate::{Activation, Loss, Mlp, MlpConfig, ModelError, MultiHotCsr, WeightInit};

#[test]
fn csr_sorts_and_dedupes_each_row() {
    let rows: Vec<Vec<u32>> = vec![vec![5, 1, 5, 3, 1], vec![], vec![2, 2, 2], vec![0]];
    let csr = MultiHotCsr::from_rows(rows, 6).unwrap();
    assert_eq!(csr.batch_size(), 4);
    assert_eq!(csr.width(), 6);
    assert_eq!(csr.indices(), [1, 3, 5, 2, 0]);
    assert_eq!(csr.offsets(), [0, 3, 3, 4, 5]);
    assert_eq!(csr.row(0), [1, 3, 5]);
    assert!(csr.row(1).is_empty());
    assert_eq!(csr.nnz(), 5);
    assert_eq!(
        values(csr.to_dense(&device())),
        [
            0.0, 1.0, 0.0, 1.0, 0.0, 1.0, //
            0.0, 0.0, 0.0, 0.0, 0.0, 0.0, //
            0.0, 0.0, 1.0, 0.0, 0.0, 0.0, //
            1.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        ]
    );
}

#[test]
fn csr_rejects_ids_outside_the_width() {
    let rows: Vec<Vec<u32>> = vec![vec![1, 2], vec![3, 10, 12]];
    let err = MultiHotCsr::from_rows(rows, 10).unwrap_err();
    assert!(matches!(
        err,
        ModelError::IndexOutOfRange {
            row: 1,
            index: 10,
            width: 10
        }
    ));
}

/// `batch` rows over `width` words: some empty, the rest with repeats (as raw token lists have).
fn random_rows(rng: &mut Rng, batch: usize, width: usize) -> Vec<Vec<u32>> {
    (0..batch)
        .map(|r| {
            if r % 4 == 1 {
                return Vec::new();
            }
            let len = rng.below(3 * width as u64 / 2) as usize;
            let mut row: Vec<u32> = (0..len).map(|_| rng.below(width as u64) as u32).collect();
            // Guarantee a repeat in every non-empty row, not just by chance.
            if let Some(&first) = row.first() {
                row.push(first);
            }
            row
        })
        .collect()
}

fn configs(width: usize) -> Vec<MlpConfig> {
    // Burn's initializer draws non-zero biases, so a forgotten bias in the sparse path shows.
    let base = MlpConfig::new()
        .with_input(width)
        .with_initializer(WeightInit::Burn);
    vec![
        base.clone().with_hidden(vec![8]),
        base.clone().with_hidden(vec![16, 16]),
        base.clone()
            .with_hidden(vec![12, 6, 4])
            .with_activation(Activation::Tanh)
            .with_l2(Some(0.01)),
        // Keras init too: zero biases, Glorot kernels.
        base.with_hidden(vec![16, 16])
            .with_initializer(WeightInit::Keras),
    ]
}

fn targets(batch: usize, device: &Device) -> Tensor<2> {
    let y: Vec<f32> = (0..batch).map(|r| (r % 3 == 0) as u8 as f32).collect();
    Tensor::<1>::from_floats(y.as_slice(), device).reshape([batch, 1])
}

#[test]
fn sparse_forward_equals_dense_forward_on_multi_hot() {
    let device = device();
    device.seed(11);
    let mut rng = Rng(0xC0FFEE);
    for config in configs(50) {
        let model = config.init(&device);
        for batch in [1, 5, 17] {
            let csr = MultiHotCsr::from_rows(random_rows(&mut rng, batch, 50), 50).unwrap();
            let dense = model.forward(csr.to_dense(&device));
            let sparse = model.forward_sparse(csr.to_batch(&device));
            let (host, _inert) = model.forward_csr(csr);
            assert_eq!(sparse.dims(), [batch, 1]);
            assert_eq!(host.dims(), [batch, 1]);
            // Same sums in a different order: f32 rounding only.
            let dense = dense.into_data();
            dense.assert_approx_eq::<f32>(&sparse.into_data(), Tolerance::absolute(1e-5));
            dense.assert_approx_eq::<f32>(&host.into_data(), Tolerance::absolute(1e-5));
        }
    }
}

#[test]
fn sparse_forward_handles_an_all_empty_batch() {
    let device = device();
    let model = configs(30)[1].init(&device);
    let csr = MultiHotCsr::from_rows(vec![Vec::<u32>::new(); 3], 30).unwrap();
    assert_eq!(csr.nnz(), 0);
    let dense = model.forward(csr.to_dense(&device));
    let sparse = model.forward_sparse(csr.to_batch(&device));
    dense
        .into_data()
        .assert_approx_eq::<f32>(&sparse.into_data(), Tolerance::absolute(1e-6));
}

/// Every parameter's gradient of `loss(forward(x))`, hidden layers first, output last.
fn gradients(model: &Mlp, loss: Tensor<1>) -> Vec<Option<Vec<f32>>> {
    param_gradients(model, loss.backward())
}

/// As [`gradients`], for a loss computed with [`Mlp::forward_csr`].
fn gradients_with_tape(
    model: &Mlp,
    loss: Tensor<1>,
    tape: crate::FirstLayerTape,
) -> Vec<Option<Vec<f32>>> {
    let mut grads = loss.backward();
    tape.backward(&mut grads);
    param_gradients(model, grads)
}

fn param_gradients(model: &Mlp, grads: burn::tensor::Gradients) -> Vec<Option<Vec<f32>>> {
    let layers = model.hidden.iter().chain(core::iter::once(&model.output));
    layers
        .flat_map(|l| {
            let w = l.weight.val().grad(&grads).map(values);
            let b = l.bias.as_ref().unwrap().val().grad(&grads).map(values);
            [w, b]
        })
        .collect()
}

#[test]
fn sparse_and_dense_gradients_are_equal() {
    let device = device().autodiff();
    device.seed(5);
    let mut rng = Rng(42);
    for config in configs(40) {
        let model = config.init(&device);
        for loss_kind in [Loss::Bce, Loss::Mse] {
            let batch = 9;
            let csr = MultiHotCsr::from_rows(random_rows(&mut rng, batch, 40), 40).unwrap();
            let y = targets(batch, &device);

            let dense_logits = model.forward(csr.to_dense(&device));
            let dense = gradients(&model, model.loss(loss_kind, dense_logits, y.clone()));
            let sparse_logits = model.forward_sparse(csr.to_batch(&device));
            let sparse = gradients(&model, model.loss(loss_kind, sparse_logits, y.clone()));
            let (host_logits, tape) = model.forward_csr(csr.clone());
            let host = gradients_with_tape(&model, model.loss(loss_kind, host_logits, y), tape);

            assert_eq!(dense.len(), sparse.len());
            assert_eq!(dense.len(), host.len());
            for (k, ((d, s), h)) in dense.iter().zip(&sparse).zip(&host).enumerate() {
                let d = d.as_ref().expect("dense grad");
                for (path, other) in [("select", s), ("host", h)] {
                    let other = other.as_ref().unwrap_or_else(|| panic!("{path} grad"));
                    for (a, b) in d.iter().zip(other) {
                        assert!(
                            (a - b).abs() <= 1e-5,
                            "{config} {loss_kind:?} {path} param {k}: {a} vs {b}"
                        );
                    }
                }
            }
            // Without L2, words absent from the batch get exactly zero kernel gradient.
            if config.l2.is_some() {
                continue;
            }
            let first_w = dense[0].as_ref().unwrap();
            let units = config.hidden[0];
            let used: std::collections::BTreeSet<usize> =
                csr.indices().iter().map(|&i| i as usize).collect();
            for word in (0..40).filter(|w| !used.contains(w)) {
                assert!(
                    first_w[word * units..(word + 1) * units]
                        .iter()
                        .all(|&g| g == 0.0)
                );
            }
        }
    }
}

#[test]
fn all_empty_batch_gives_no_first_kernel_gradient_but_equal_others() {
    let device = device().autodiff();
    let model = configs(30)[2].init(&device);
    let csr = MultiHotCsr::from_rows(vec![Vec::<u32>::new(); 4], 30).unwrap();
    let y = targets(4, &device);
    let dense = gradients(
        &model,
        Loss::Bce.compute(model.forward(csr.to_dense(&device)), y.clone()),
    );
    let sparse = gradients(
        &model,
        Loss::Bce.compute(model.forward_sparse(csr.to_batch(&device)), y),
    );
    // The dense path multiplies by an all-zero input; the sparse path never touches W0.
    assert!(dense[0].as_ref().unwrap().iter().all(|&g| g == 0.0));
    assert!(sparse[0].is_none());
    for (d, s) in dense.iter().zip(&sparse).skip(1) {
        for (a, b) in d.as_ref().unwrap().iter().zip(s.as_ref().unwrap()) {
            assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
        }
    }
}

#[test]
#[should_panic(expected = "sparse batch width must equal the model's input size")]
fn sparse_forward_rejects_a_batch_of_another_width() {
    let device = device();
    let model = MlpConfig::new().with_input(10).init(&device);
    let csr = MultiHotCsr::from_rows(vec![vec![1u32]], 11).unwrap();
    model.forward_sparse(csr.to_batch(&device));
}

/// The tape's kernel gradient reaches an optimizer: one SGD step through
/// `GradientsParams` moves `W₀` exactly as the dense path does.
#[test]
fn host_first_layer_gradient_reaches_gradients_params() {
    use burn::optim::{GradientsParams, SgdConfig};
    let device = device().autodiff();
    device.seed(9);
    let mut rng = Rng(7);
    let config = configs(30)[2].clone(); // L2 on: the graph's W₀ gradient must be kept and added
    let model = config.init(&device);
    let csr = MultiHotCsr::from_rows(random_rows(&mut rng, 6, 30), 30).unwrap();
    let y = targets(6, &device);

    let step = |grads: burn::tensor::Gradients| {
        let grads = GradientsParams::from_grads(grads, &model);
        assert_eq!(grads.len(), 2 * (config.hidden.len() + 1), "every W and b");
        let mut sgd = SgdConfig::new().init();
        let stepped = sgd.step(0.1, model.clone(), grads);
        values(stepped.hidden[0].weight.val())
    };
    let dense = step(
        model
            .loss(Loss::Bce, model.forward(csr.to_dense(&device)), y.clone())
            .backward(),
    );
    let (logits, tape) = model.forward_csr(csr);
    let mut grads = model.loss(Loss::Bce, logits, y).backward();
    tape.backward(&mut grads);
    let host = step(grads);
    for (a, b) in dense.iter().zip(&host) {
        assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
    }
}

#[test]
fn host_forward_on_an_inference_model_has_an_inert_tape() {
    use burn::module::Module;
    let device = device().autodiff();
    let model = configs(20)[0].init(&device).valid();
    let csr = MultiHotCsr::from_rows(vec![vec![1u32, 4], vec![]], 20).unwrap();
    let (logits, tape) = model.forward_csr(csr);
    assert!(!logits.is_tracked());
    // Gradients of something else: the inert tape must leave them alone, not panic.
    let x = Tensor::<1>::ones([2], &device).require_grad();
    let mut grads = x.clone().sum().backward();
    tape.backward(&mut grads);
    assert_eq!(values(x.grad(&grads).unwrap()), [1.0, 1.0]);
}
