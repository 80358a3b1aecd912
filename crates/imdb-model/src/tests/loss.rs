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
