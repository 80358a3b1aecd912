use burn::module::Module;
use burn::tensor::{Tensor, Tolerance};

use super::{device, matrix, set_weights, values};
use crate::{HiddenActivation, Loss, MlpConfig, bce_with_logits};

const W0: &[&[f32]] = &[&[1.0, -1.0], &[2.0, 0.0], &[0.0, 1.0]];
const B0: &[f32] = &[0.5, -0.5];
const W1: &[&[f32]] = &[&[0.5, -1.0], &[1.5, 2.0]];
const B1: &[f32] = &[0.1, -0.2];
const WOUT_1: &[&[f32]] = &[&[1.0], &[-3.0]];
const BOUT: &[f32] = &[0.25];
const X: &[&[f32]] = &[&[1.0, 0.0, 1.0], &[0.0, 1.0, 1.0], &[0.0, 0.0, 0.0]];

#[test]
fn relu_forward_with_fixed_weights_by_hand() {
    let device = device();
    let model = MlpConfig::new(3).with_hidden(vec![2]).init(&device);
    let model = set_weights(model, &[(W0, B0), (WOUT_1, BOUT)], &device);
    let logits = model.forward(matrix(X, &device));
    assert_eq!(logits.dims(), [3, 1]);
    // row 0: x·W0 + b0 = [1+0, -1+1] + [0.5, -0.5] = [1.5, -0.5]; relu [1.5, 0]; 1.5 - 0 + 0.25
    // row 1: [2+0, 0+1] + b0 = [2.5, 0.5]; relu same; 2.5 - 1.5 + 0.25
    // row 2: b0 = [0.5, -0.5]; relu [0.5, 0]; 0.5 + 0.25
    let expected = [1.75f32, 1.25, 0.75];
    // Exact in f32: every intermediate is a small dyadic rational.
    assert_eq!(values(logits), expected);
}

#[test]
fn tanh_two_layer_forward_matches_keras() {
    let device = device();
    let model = MlpConfig::new(3)
        .with_hidden(vec![2, 2])
        .with_activation(HiddenActivation::Tanh)
        .init(&device);
    let model = set_weights(model, &[(W0, B0), (W1, B1), (WOUT_1, BOUT)], &device);
    let logits = model.forward(matrix(X, &device));
    // Keras 3.15.1, KERAS_BACKEND=jax:
    //   m = keras.Sequential([keras.Input((3,)), layers.Dense(2, activation="tanh"),
    //                         layers.Dense(2, activation="tanh"), layers.Dense(1)])
    //   m.set_weights([W0, B0, W1, B1, WOUT, BOUT])   # the constants above, float32
    //   m.predict(X).ravel()
    //   -> [3.0084545612335205, 1.8777635097503662, 2.661686658859253]
    let keras = [3.008_454_6f32, 1.877_763_5, 2.661_686_7];
    let expected = Tensor::<1>::from_floats(keras, &device).reshape([3, 1]);
    // f32 tanh implementations differ in the last ulps.
    logits
        .into_data()
        .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::absolute(1e-5));
}

#[test]
fn predict_proba_is_the_sigmoid_of_the_logits() {
    let device = device();
    let model = MlpConfig::new(3).with_hidden(vec![2]).init(&device);
    let model = set_weights(model, &[(W0, B0), (WOUT_1, BOUT)], &device);
    let probs = values(model.predict_proba(matrix(X, &device)));
    // 1 / (1 + exp(-[1.75, 1.25, 0.75])) (numpy, float64)
    let expected = [0.851_952_8f32, 0.777_299_9, 0.679_178_7];
    for (p, e) in probs.iter().zip(expected) {
        assert!((p - e).abs() < 1e-6, "{p} vs {e}");
    }
}

#[test]
fn l2_penalty_sums_hidden_kernels_only() {
    let device = device();
    let model = MlpConfig::new(3)
        .with_hidden(vec![2, 2])
        .with_l2(Some(0.01))
        .init(&device);
    let model = set_weights(model, &[(W0, B0), (W1, B1), (WOUT_1, BOUT)], &device);
    let penalty = model.l2_penalty();
    assert_eq!(penalty.dims(), [1]);
    // ΣW0² = 1+1+4+0+0+1 = 7, ΣW1² = 0.25+1+2.25+4 = 7.5; biases and WOUT (1+9) excluded.
    // 0.01 · 14.5 = 0.145. Keras: keras.regularizers.L2(0.01)(W0) -> 0.07000000029802322,
    // and a Dense's regularisation loss is the sum of these per-kernel terms.
    let got = values(penalty)[0];
    assert!((got - 0.145).abs() < 1e-6, "{got}");
}

#[test]
fn l2_penalty_is_a_zero_of_shape_one_without_l2() {
    let device = device();
    let model = MlpConfig::new(3).with_hidden(vec![2]).init(&device);
    let penalty = model.l2_penalty();
    assert_eq!(penalty.dims(), [1]);
    assert_eq!(values(penalty), [0.0]);
}

#[test]
fn model_loss_adds_the_penalty_to_the_data_term() {
    let device = device();
    let targets = matrix(&[&[1.0], &[0.0], &[1.0]], &device);
    let layers = [(W0, B0), (WOUT_1, BOUT)];
    let plain = MlpConfig::new(3).with_hidden(vec![2]);
    let model = set_weights(plain.init(&device), &layers, &device);
    let model_l2 = set_weights(plain.with_l2(Some(0.5)).init(&device), &layers, &device);

    for loss in [Loss::Bce, Loss::Mse] {
        let logits = model.forward(matrix(X, &device));
        let data = values(loss.compute(logits.clone(), targets.clone()))[0];
        let without = values(model.loss(loss, logits.clone(), targets.clone()))[0];
        assert_eq!(without, data, "{loss:?}: no l2 means no extra term");
        let with = values(model_l2.loss(loss, logits, targets.clone()))[0];
        // 0.5 · ΣW0² = 0.5 · 7
        assert!(
            (with - data - 3.5).abs() < 1e-5,
            "{loss:?}: {with} - {data}"
        );
    }
}

#[test]
fn dropout_is_active_only_when_training_on_autodiff() {
    let device = device().autodiff();
    device.seed(3);
    let config = MlpConfig::new(20).with_hidden(vec![64]);
    let model = config.clone().with_dropout(Some(0.5)).init(&device);
    let x = Tensor::<2>::ones([4, 20], &device);

    let a = values(model.forward(x.clone()));
    let b = values(model.forward(x.clone()));
    assert_ne!(a, b, "two training forwards share one dropout mask");

    // valid() switches dropout off: deterministic, and what the same weights give without it.
    let valid = model.valid();
    let x = x.inner();
    let c = values(valid.forward(x.clone()));
    assert_eq!(c, values(valid.forward(x.clone())));
    let mut no_dropout = valid.clone();
    no_dropout.dropout = None;
    assert_eq!(c, values(no_dropout.forward(x)));
}

#[test]
#[should_panic(expected = "same shape")]
fn losses_refuse_mismatched_shapes() {
    let device = device();
    let logits = Tensor::<2>::zeros([4, 1], &device);
    let targets = Tensor::<2>::zeros([1, 4], &device);
    bce_with_logits(logits, targets);
}
