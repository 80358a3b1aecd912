use burn::config::Config;
use burn::tensor::Tensor;

use super::{device, values};
use crate::{Loss, bce_with_logits, mse_on_sigmoid};

const LOGITS: [f32; 6] = [-3.0, -0.5, 0.0, 0.5, 2.0, 4.0];
const TARGETS: [f32; 6] = [0.0, 1.0, 0.0, 1.0, 1.0, 0.0];

fn column(v: &[f32]) -> Tensor<2> {
    Tensor::<1>::from_floats(v, &device()).reshape([v.len(), 1])
}

fn scalar(t: Tensor<1>) -> f32 {
    assert_eq!(t.dims(), [1]);
    values(t)[0]
}

// Golden values: Keras 3.15.1, KERAS_BACKEND=jax, float32
//   logits = np.array([-3, -0.5, 0, 0.5, 2, 4], "float32").reshape(-1, 1)
//   y = np.array([0, 1, 0, 1, 1, 0], "float32").reshape(-1, 1)
//   p = keras.ops.sigmoid(logits)
//   keras.losses.BinaryCrossentropy()(y, p)                    -> 1.0558274984359741
//   keras.losses.BinaryCrossentropy(from_logits=True)(y, logits) -> 1.0558278560638428
//   keras.losses.MeanSquaredError()(y, p)                      -> 0.2934670150279999
// Tolerance 1e-6 absolute: the two Keras BCE paths differ by 4e-7 in f32.

#[test]
fn bce_matches_keras_binary_crossentropy() {
    let got = scalar(bce_with_logits(column(&LOGITS), column(&TARGETS)));
    assert!((got - 1.055_827_5).abs() < 1e-6, "{got}");
    assert_eq!(
        got,
        scalar(Loss::Bce.compute(column(&LOGITS), column(&TARGETS)))
    );
}

#[test]
fn mse_matches_keras_mean_squared_error_on_the_sigmoid() {
    let got = scalar(mse_on_sigmoid(column(&LOGITS), column(&TARGETS)));
    assert!((got - 0.293_467).abs() < 1e-6, "{got}");
    assert_eq!(
        got,
        scalar(Loss::Mse.compute(column(&LOGITS), column(&TARGETS)))
    );
}

#[test]
fn bce_stays_exact_where_keras_clips() {
    // Keras 3.15.1 (jax), yb = [[0], [1], [1]], big = [[20], [-20], [30]]:
    //   keras.losses.BinaryCrossentropy()(yb, keras.ops.sigmoid(big))      -> 10.6868257522583
    //   keras.losses.BinaryCrossentropy(from_logits=True)(yb, big)         -> 13.333333015441895
    // The probability path clips p to [1e-7, 1 - 1e-7] and caps each term near 16; from logits,
    // the exact mean is (20 + 20 + ln(1 + e^-30)) / 3.
    let got = scalar(bce_with_logits(
        column(&[20.0, -20.0, 30.0]),
        column(&[0.0, 1.0, 1.0]),
    ));
    assert!((got - 13.333_333).abs() < 1e-5, "{got}");
    assert!(
        (got - 10.686_826).abs() > 1.0,
        "we must not clip like Keras"
    );

    // No overflow or NaN far out, where a naive ln(sigmoid) would give -inf.
    let far = scalar(bce_with_logits(column(&[1e4, -1e4]), column(&[0.0, 1.0])));
    assert_eq!(far, 1e4);
}

#[test]
fn bce_gradient_is_sigmoid_minus_target_over_n() {
    let device = device().autodiff();
    let logits = Tensor::<1>::from_floats(LOGITS, &device)
        .reshape([6, 1])
        .require_grad();
    let targets = Tensor::<1>::from_floats(TARGETS, &device).reshape([6, 1]);
    let grads = bce_with_logits(logits.clone(), targets).backward();
    let grad = values(logits.grad(&grads).expect("logits are tracked"));
    for ((g, x), y) in grad.iter().zip(LOGITS).zip(TARGETS) {
        // d/dx mean(softplus(x) - x·y) = (sigmoid(x) - y) / N, in f64
        let expected = ((1.0 / (1.0 + (-x as f64).exp())) - y as f64) / 6.0;
        assert!((*g as f64 - expected).abs() < 1e-6, "{g} vs {expected}");
    }
}

#[test]
fn loss_serialises_as_lowercase_names() {
    // A config holding a `Loss`, as a training config would.
    #[derive(Config, Debug)]
    struct Holder {
        loss: Loss,
    }
    let json = burn::config::config_to_json(&Holder::new(Loss::Bce));
    assert!(json.contains(r#""loss": "bce""#), "{json}");
    let back = Holder::load_binary(br#"{"loss": "mse"}"#).expect("parse");
    assert_eq!(back.loss, Loss::Mse);
    assert!(Holder::load_binary(br#"{"loss": "Mse"}"#).is_err());
}

/// The element-wise forms agree with the tensor forms: `Loss::value`'s mean with `compute`, and
/// `Loss::derivative / n` with Burn's autodiff gradient of `compute`, over logits from −30 to 30
/// (both sides of Keras's clipping range) and hard and soft targets. Tolerances: the mean within
/// 1e-6 relative (f32 sums in another order); each example's derivative within 1e-6 relative
/// plus 2e-7 absolute, because Burn differentiates `(1 − y)·x − ln σ(x)` as `(1 − y) − σ(−x)`,
/// which loses the digits of a tiny `σ(x)` to cancellation against 1 (f32's epsilon there is
/// 1.2e-7), where `σ(x) − y` keeps them.
#[test]
fn the_scalar_forms_equal_the_tensor_forms() {
    let logits: Vec<f32> = (-30..=30).map(|k| k as f32 * 1.0 + 0.25).collect();
    let n = logits.len();
    for loss in [Loss::Bce, Loss::Mse] {
        for y in [0.0f32, 1.0, 0.3] {
            let targets = vec![y; n];
            let device = device().autodiff();
            let x = Tensor::<1>::from_floats(logits.as_slice(), &device)
                .reshape([n, 1])
                .require_grad();
            let t = Tensor::<1>::from_floats(targets.as_slice(), &device).reshape([n, 1]);
            let total = loss.compute(x.clone(), t);
            let grads = total.backward();
            let grad = values(x.grad(&grads).unwrap().reshape([n]));
            let mean: f64 = logits
                .iter()
                .map(|&x| f64::from(loss.value(x, y)))
                .sum::<f64>()
                / n as f64;
            let want = f64::from(values(total)[0]);
            assert!(
                (mean - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{loss:?} y={y}"
            );
            for (&x, g) in logits.iter().zip(grad) {
                let (ours, theirs) = (loss.derivative(x, y), g * n as f32);
                assert!(
                    (ours - theirs).abs() <= 1e-6 * theirs.abs() + 2e-7,
                    "{loss:?} x={x} y={y}: {ours} vs {theirs}"
                );
            }
        }
    }
}

/// `HiddenActivation::value` is `apply` element by element, and `backward` is Burn's autodiff
/// gradient through `apply` (exactly: the same f32 operations).
#[test]
fn the_activations_scalar_forms_equal_the_tensor_forms() {
    use crate::HiddenActivation;
    let z: Vec<f32> = vec![-3.0, -0.5, -0.0, 0.0, 1e-8, 0.5, 2.0, 9.0];
    let upstream: Vec<f32> = vec![0.3, -1.0, 2.0, -0.25, 1.0, 4.0, -2.0, 0.5];
    for act in [HiddenActivation::Relu, HiddenActivation::Tanh] {
        let device = device().autodiff();
        let x = Tensor::<1>::from_floats(z.as_slice(), &device).require_grad();
        let a = act.apply(x.clone());
        let g = Tensor::<1>::from_floats(upstream.as_slice(), &device);
        let grads = (a.clone() * g).sum().backward();
        let want_grad = values(x.grad(&grads).unwrap());
        let a = values(a);
        for k in 0..z.len() {
            assert_eq!(act.value(z[k]), a[k], "{act:?} value at {}", z[k]);
            let ours = act.backward(a[k], upstream[k]);
            assert!(
                (ours - want_grad[k]).abs() <= 1e-7,
                "{act:?} backward at {}",
                z[k]
            );
        }
    }
}
