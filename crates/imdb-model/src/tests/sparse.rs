use burn::tensor::{Device, Tensor, Tolerance};

use super::{Rng, device, values};
use crate::{
    HiddenActivation, InputWeights, Loss, Mlp, MlpConfig, ModelError, SparseBatch, WeightInit,
};

#[test]
fn csr_sorts_and_dedupes_each_row() {
    let rows: Vec<Vec<u32>> = vec![vec![5, 1, 5, 3, 1], vec![], vec![2, 2, 2], vec![0]];
    let csr = SparseBatch::from_rows(rows, 6).unwrap();
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
    let err = SparseBatch::from_rows(rows, 10).unwrap_err();
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
    let base = MlpConfig::new(width).with_initializer(WeightInit::Burn);
    vec![
        base.clone().with_hidden(vec![8]),
        base.clone().with_hidden(vec![16, 16]),
        base.clone()
            .with_hidden(vec![12, 6, 4])
            .with_activation(HiddenActivation::Tanh)
            .with_l2(Some(0.01)),
        // Keras init too: zero biases, Glorot kernels.
        base.clone()
            .with_hidden(vec![16, 16])
            .with_initializer(WeightInit::Keras),
        // Input weights (set by `model`): negative, zero and positive ones.
        base.with_hidden(vec![16, 16])
            .with_input_weights(Some(InputWeights::PerFeature)),
    ]
}

/// The model of `config` on `device`; with input weights, `s_i = 0.7·(i mod 7 − 3)`.
fn model(config: &MlpConfig, device: &Device) -> Mlp {
    let mlp = config.init(device);
    match config.input_weights {
        Some(InputWeights::PerFeature) => {
            let weights: Vec<f32> = (0..config.input)
                .map(|i| 0.7 * ((i % 7) as f32 - 3.0))
                .collect();
            mlp.with_input_weights(&weights).unwrap()
        }
        None => mlp,
    }
}

#[test]
fn input_weights_are_checked() {
    let device = device();
    let plain = MlpConfig::new(4).init(&device);
    assert_eq!(
        plain.with_input_weights(&[1.0; 4]).unwrap_err(),
        ModelError::NoInputWeights
    );
    let weighted = MlpConfig::new(4).with_input_weights(Some(InputWeights::PerFeature));
    for bad in [&[1.0f32; 3][..], &[1.0, f32::NAN, 1.0, 1.0]] {
        let err = weighted.init(&device).with_input_weights(bad).unwrap_err();
        assert_eq!(
            err,
            ModelError::InputWeights {
                expected: 4,
                len: bad.len()
            }
        );
    }
}

/// The input weights multiply the input: a weighted model on multi-hot rows equals an unweighted
/// one with the same layers on the weighted rows.
#[test]
fn input_weights_multiply_the_input() {
    let device = device();
    device.seed(8);
    let config = configs(20).pop().unwrap();
    let weighted = model(&config, &device);
    let plain = weighted.clone().with_input_weights(&[1.0; 20]).unwrap();
    let batch = SparseBatch::from_rows(random_rows(&mut Rng(4), 6, 20), 20).unwrap();
    let x = batch.to_dense(&device);
    let s: Vec<f32> = (0..20).map(|i| 0.7 * ((i % 7) as f32 - 3.0)).collect();
    let scaled = x.clone() * Tensor::<1>::from_floats(s.as_slice(), &device).unsqueeze_dim(0);
    weighted.forward(x).into_data().assert_approx_eq::<f32>(
        &plain.forward(scaled).into_data(),
        Tolerance::absolute(1e-6),
    );
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
        let model = model(&config, &device);
        for batch in [1, 5, 17] {
            let csr = SparseBatch::from_rows(random_rows(&mut rng, batch, 50), 50).unwrap();
            let dense = model.forward(csr.to_dense(&device));
            let sparse = model.forward(csr);
            assert_eq!(sparse.dims(), [batch, 1]);
            // Same sums in a different order: f32 rounding only.
            let dense = dense.into_data();
            dense.assert_approx_eq::<f32>(&sparse.into_data(), Tolerance::absolute(1e-5));
        }
    }
}

#[test]
fn sparse_forward_handles_an_all_empty_batch() {
    let device = device();
    let model = configs(30)[1].init(&device);
    let csr = SparseBatch::from_rows(vec![Vec::<u32>::new(); 3], 30).unwrap();
    assert_eq!(csr.nnz(), 0);
    let dense = model.forward(csr.to_dense(&device));
    let sparse = model.forward(csr);
    dense
        .into_data()
        .assert_approx_eq::<f32>(&sparse.into_data(), Tolerance::absolute(1e-6));
}

/// Every parameter's gradient of `loss(forward(x))`, hidden layers first, output last.
fn gradients(model: &Mlp, loss: Tensor<1>) -> Vec<Option<Vec<f32>>> {
    param_gradients(model, loss.backward())
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
        let model = model(&config, &device);
        for loss_kind in [Loss::Bce, Loss::Mse] {
            let batch = 9;
            let csr = SparseBatch::from_rows(random_rows(&mut rng, batch, 40), 40).unwrap();
            let y = targets(batch, &device);

            let dense_logits = model.forward(csr.to_dense(&device));
            let dense = gradients(&model, model.loss(loss_kind, dense_logits, y.clone()));
            let sparse_logits = model.forward(csr.clone());
            let sparse = gradients(&model, model.loss(loss_kind, sparse_logits, y.clone()));

            assert_eq!(dense.len(), sparse.len());
            // The input weights are a constant: no gradient on either path.
            if let Some(weights) = &model.input_weights {
                let grads = model.forward(csr.clone()).sum().backward();
                assert!(weights.val().grad(&grads).is_none());
            }
            for (k, (d, s)) in dense.iter().zip(&sparse).enumerate() {
                let d = d.as_ref().expect("dense grad");
                let s = s.as_ref().expect("sparse grad");
                for (a, b) in d.iter().zip(s) {
                    assert!(
                        (a - b).abs() <= 1e-5,
                        "{config} {loss_kind:?} param {k}: {a} vs {b}"
                    );
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
    let csr = SparseBatch::from_rows(vec![Vec::<u32>::new(); 4], 30).unwrap();
    let y = targets(4, &device);
    let dense = gradients(
        &model,
        Loss::Bce.compute(model.forward(csr.to_dense(&device)), y.clone()),
    );
    let sparse = gradients(&model, Loss::Bce.compute(model.forward(csr), y));
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
    let model = MlpConfig::new(10).init(&device);
    let csr = SparseBatch::from_rows(vec![vec![1u32]], 11).unwrap();
    model.forward(csr);
}

/// Occlusion's "without" logits are the forward of each row with that one word removed, and its
/// logits are the forward's. Tolerance 1e-5: `z − W₀[i]` against a sum without `W₀[i]`, f32.
#[test]
fn occlusion_equals_the_forward_of_each_row_without_each_word() {
    let device = device();
    device.seed(3);
    let mut rng = Rng(99);
    for config in configs(30) {
        let model = model(&config, &device);
        let rows = random_rows(&mut rng, 7, 30);
        let batch = SparseBatch::from_rows(&rows, 30).unwrap();
        let occlusion = model.occlusion(&batch);
        let full = values(model.forward(batch.clone()));
        for (r, &logit) in full.iter().enumerate() {
            assert!((occlusion.logit(r) - logit).abs() <= 1e-5);
            let words = batch.row(r);
            assert_eq!(occlusion.without(r).len(), words.len());
            for (j, &word) in words.iter().enumerate() {
                let rest: Vec<u32> = words.iter().copied().filter(|&w| w != word).collect();
                let one = SparseBatch::from_rows([rest], 30).unwrap();
                let expected = values(model.forward(one))[0];
                let got = occlusion.without(r)[j];
                assert!(
                    (got - expected).abs() <= 1e-5,
                    "{config} row {r} word {word}: {got} vs {expected}"
                );
            }
        }
    }
}

#[test]
fn occlusion_of_an_all_empty_batch_has_logits_and_no_words() {
    let device = device();
    let model = configs(20)[1].init(&device);
    let batch = SparseBatch::from_rows(vec![Vec::<u32>::new(); 2], 20).unwrap();
    let occlusion = model.occlusion(&batch);
    let full = values(model.forward(batch));
    assert!((occlusion.logit(1) - full[1]).abs() <= 1e-6);
    assert!(occlusion.without(0).is_empty() && occlusion.without(1).is_empty());
}
