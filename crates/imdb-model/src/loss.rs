//! The two losses of the Keras IMDB study, computed from logits.
//!
//! # Compared with Keras
//!
//! The Keras model ends in `Dense(1, activation="sigmoid")` and its losses see probabilities `p`.
//!
//! - `binary_crossentropy` (JAX, NumPy and PyTorch backends) clips `p` to `[ε, 1 − ε]` with
//!   `ε = 1e-7` and returns the mean of `−(y·ln p + (1 − y)·ln(1 − p))`. [`bce_with_logits`]
//!   computes the same quantity from the logit `x`, as `max(x, 0) − x·y + ln(1 + e^−|x|)`, which
//!   never overflows and never takes `ln 0`. The two agree to float rounding while
//!   `|x| < ln((1 − ε)/ε) ≈ 16.1`; beyond that Keras's value is capped at `−ln ε ≈ 16.1` and
//!   its gradient is zero, while ours keeps growing linearly with a gradient of `±1`. (The
//!   TensorFlow backend recovers the logit behind a sigmoid and matches us exactly.)
//! - `mean_squared_error` on `p` has no clipping: [`mse_on_sigmoid`] is the mean of
//!   `(sigmoid(x) − y)²`, the same formula.
//!
//! **Neither includes regularisation.** [`Mlp::loss`](crate::Mlp::loss) is the one function that
//! adds the L2 term (when the model has one); call it, not these, to train with L2.

use burn::tensor::Tensor;
use burn::tensor::activation::{log_sigmoid, sigmoid};
use serde::{Deserialize, Serialize};

/// Which loss to train with. Serialised as `"bce"` / `"mse"`.
///
/// [`compute`](Self::compute) is the data term only; [`Mlp::loss`](crate::Mlp::loss) adds the
/// model's L2 penalty to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Loss {
    /// Binary cross-entropy, [`bce_with_logits`].
    Bce,
    /// Mean squared error of the probability, [`mse_on_sigmoid`].
    Mse,
}

impl Loss {
    /// The data term of this loss, **without** the L2 penalty; [`Mlp::loss`](crate::Mlp::loss) is
    /// the regularised total.
    ///
    /// # Shapes
    ///
    /// - `logits`, `targets`: the same shape, usually `[batch, 1]`; targets 0.0 / 1.0
    /// - returns: `[1]`, the mean over all elements
    ///
    /// # Panics
    ///
    /// If the shapes differ.
    pub fn compute<const D: usize>(self, logits: Tensor<D>, targets: Tensor<D>) -> Tensor<1> {
        match self {
            Loss::Bce => bce_with_logits(logits, targets),
            Loss::Mse => mse_on_sigmoid(logits, targets),
        }
    }

    /// One example's loss from its logit `x` and target `y`, in `f32`: the term whose mean
    /// [`compute`](Self::compute) takes, for code that computes the loss itself (the CPU
    /// training step of `imdb-train`). No L2 term.
    #[inline]
    pub fn value(self, x: f32, y: f32) -> f32 {
        match self {
            // (1 − y)·x − ln σ(x), with ln σ(x) = −(max(−x, 0) + ln(1 + e^−|x|)): no overflow.
            Loss::Bce => (1.0 - y) * x + ((-x).max(0.0) + (-x.abs()).exp().ln_1p()),
            Loss::Mse => (sigmoid_f32(x) - y).powi(2),
        }
    }

    /// `∂ value(x, y) / ∂x`: `σ(x) − y` for cross-entropy, `2(σ(x) − y)·σ(x)(1 − σ(x))` for MSE.
    #[inline]
    pub fn derivative(self, x: f32, y: f32) -> f32 {
        let p = sigmoid_f32(x);
        match self {
            Loss::Bce => p - y,
            Loss::Mse => 2.0 * (p - y) * p * (1.0 - p),
        }
    }
}

#[inline]
fn sigmoid_f32(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Mean binary cross-entropy of `sigmoid(logits)` against `targets`, computed stably from logits:
/// `mean(max(x, 0) − x·y + ln(1 + e^−|x|))`, evaluated as `mean((1 − y)·x − ln σ(x))`.
///
/// # Shapes
///
/// - `logits`, `targets`: the same shape, usually `[batch, 1]`; targets 0.0 / 1.0 (soft labels
///   in between also work)
/// - returns: `[1]`
///
/// # Panics
///
/// If the shapes differ: broadcasting `[batch, 1]` against `[1, batch]` would silently compare
/// every logit with every target.
pub fn bce_with_logits<const D: usize>(logits: Tensor<D>, targets: Tensor<D>) -> Tensor<1> {
    assert_same_shape(&logits, &targets);
    // (1 − y)·x − ln σ(x) is the same function. Written with `clamp_min` and `abs` its gradient
    // at x = 0 would be the subgradient 1 − y (or −y) instead of σ(0) − y = 0.5 − y; Burn's
    // `log_sigmoid` is overflow-free and has an exact backward everywhere.
    let x = logits;
    let one_minus_y = targets.neg().add_scalar(1.0);
    (one_minus_y * x.clone() - log_sigmoid(x)).mean()
}

/// Mean squared error between `sigmoid(logits)` and `targets` (Keras `loss="mse"` on a sigmoid
/// output).
///
/// # Shapes
///
/// - `logits`, `targets`: the same shape, usually `[batch, 1]`
/// - returns: `[1]`
///
/// # Panics
///
/// If the shapes differ (see [`bce_with_logits`]).
pub fn mse_on_sigmoid<const D: usize>(logits: Tensor<D>, targets: Tensor<D>) -> Tensor<1> {
    assert_same_shape(&logits, &targets);
    (sigmoid(logits) - targets).square().mean()
}

fn assert_same_shape<const D: usize>(logits: &Tensor<D>, targets: &Tensor<D>) {
    assert_eq!(
        logits.dims(),
        targets.dims(),
        "logits and targets must have the same shape"
    );
}
