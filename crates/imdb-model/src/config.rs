//! Hyper-parameters of the MLP and their validation.

use burn::config::Config;
use burn::module::Param;
use burn::nn::{DropoutConfig, Initializer, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

// Not the crate's `Result` alias: `#[derive(Config)]` expands to code naming the std `Result`.
use crate::error::ModelError;
use crate::mlp::Mlp;

/// Non-linearity applied after every hidden layer (named apart from Burn's own
/// `burn::nn::Activation` module, which this is not).
///
/// Serialised in lower case (`"relu"`, `"tanh"`) so a saved config reads like the Keras source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum HiddenActivation {
    /// `max(x, 0)`.
    Relu,
    /// Hyperbolic tangent.
    Tanh,
}

impl HiddenActivation {
    /// Applies the function element-wise.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            HiddenActivation::Relu => burn::tensor::activation::relu(x),
            HiddenActivation::Tanh => burn::tensor::activation::tanh(x),
        }
    }

    // `#[inline]` on the element-wise forms here and in `Loss`: the CPU step of `imdb-train`
    // calls them once per element, from another crate, where a plain `pub fn` stays a call.

    /// The same function on one `f32`, for code that computes a layer itself (such as the CPU
    /// training step of `imdb-train`): `apply` and this agree element by element.
    #[inline]
    pub fn value(self, z: f32) -> f32 {
        match self {
            HiddenActivation::Relu => z.max(0.0),
            HiddenActivation::Tanh => z.tanh(),
        }
    }

    /// `∂loss/∂z` from the function's output `a = value(z)` and `grad = ∂loss/∂a`: the chain
    /// rule through one element, written with the output because both derivatives are cheapest
    /// there (ReLU passes `grad` where `a > 0`, tanh multiplies it by `1 − a²`).
    #[inline]
    pub fn backward(self, a: f32, grad: f32) -> f32 {
        match self {
            HiddenActivation::Relu => {
                if a > 0.0 {
                    grad
                } else {
                    0.0
                }
            }
            HiddenActivation::Tanh => grad * (1.0 - a * a),
        }
    }
}

/// How the weights of every `Linear` (hidden and output) are drawn.
///
/// Serialised as `"keras"` / `"burn"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum WeightInit {
    /// Keras `Dense` defaults: Glorot (Xavier) uniform kernels, limit `sqrt(6 / (fan_in + fan_out))`,
    /// and zero biases.
    Keras,
    /// Burn `LinearConfig` default: Kaiming uniform with gain `1/sqrt(3)` for kernel **and** bias,
    /// i.e. `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`.
    Burn,
}

/// A fixed weight per input feature, multiplied into the input before the first layer.
///
/// Serialised as `"per_feature"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InputWeights {
    /// One weight per input (all 1 at initialisation), not trained: set it with
    /// [`Mlp::with_input_weights`] (NBSVM's log-count ratios, say). Saved with the model, so
    /// a loaded model weighs its input as the trained one did.
    PerFeature,
}

/// Configuration of [`Mlp`]: `input → hidden[0] → … → hidden[n-1] → 1` logit.
///
/// The input width is required, as in Burn's `LinearConfig::new(d_input, d_output)`; the rest
/// defaults to the Keras IMDB baseline (two ReLU layers of 16, Keras initialisation, no dropout,
/// no L2), so `MlpConfig::new(10_000)` is the seed notebook's network. Saved and loaded as JSON
/// with [`Config::save`]/[`Config::load`] so inference can rebuild the exact model.
#[derive(Config, Debug, PartialEq)]
pub struct MlpConfig {
    /// Width of the input vector (the vocabulary size of the multi-hot encoding).
    pub input: usize,
    /// Units of each hidden layer, in order; `[16, 16, 16]` is three layers of 16.
    #[config(default = "vec![16, 16]")]
    pub hidden: Vec<usize>,
    /// Non-linearity after every hidden layer.
    #[config(default = "HiddenActivation::Relu")]
    pub activation: HiddenActivation,
    /// Dropout rate applied after the activation of every hidden layer (Keras `Dropout(rate)`).
    pub dropout: Option<f64>,
    /// Keras `kernel_regularizer=l2(λ)` on every hidden kernel: [`Mlp::l2_penalty`] is `λ·Σ‖W‖²`.
    /// Biases and the output layer are not regularised, as in the Keras IMDB example.
    pub l2: Option<f64>,
    /// Initialisation scheme of all weights.
    #[config(default = "WeightInit::Keras")]
    pub initializer: WeightInit,
    /// Multiply input `i` by a fixed weight `s_i` before the first layer (`None`, the default
    /// and the seed's: the input as it is). The first layer then computes `(x ⊙ s)·W₀ + b₀`, on
    /// dense and sparse input alike.
    pub input_weights: Option<InputWeights>,
}

/// The most parameters an [`MlpConfig`] may describe: 2³⁰ weights, 4 GiB of `f32` before any
/// gradient or optimizer state (which training needs several times over). A wider config is
/// refused by [`MlpConfig::validate`] instead of aborting the process when the weights are
/// allocated; the widest model of the study (200,000 features into 16 units) has 3.2 million.
pub const MAX_PARAMETERS: u64 = 1 << 30;

impl MlpConfig {
    /// The number of weights and biases of the network, `None` if it does not fit a `u64`.
    pub fn parameter_count(&self) -> Option<u64> {
        let widths = core::iter::once(self.input)
            .chain(self.hidden.iter().copied())
            .chain(core::iter::once(1));
        let widths: Vec<u64> = widths.map(|w| w as u64).collect();
        widths.windows(2).try_fold(0u64, |sum, w| {
            sum.checked_add(w[0].checked_mul(w[1])?.checked_add(w[1])?)
        })
    }

    /// Checks every field without allocating anything.
    ///
    /// # Errors
    ///
    /// The first violated rule, as the [`ModelError`] variant naming that field: `input` > 0, at
    /// least one hidden layer, no hidden layer of 0 units, dropout finite in `[0, 1)`, l2 finite
    /// and ≥ 0, at most [`MAX_PARAMETERS`] parameters.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.input == 0 {
            return Err(ModelError::ZeroInput);
        }
        if self.hidden.is_empty() {
            return Err(ModelError::NoHiddenLayers);
        }
        if let Some(layer) = self.hidden.iter().position(|&units| units == 0) {
            return Err(ModelError::ZeroHiddenUnits { layer });
        }
        if let Some(dropout) = self.dropout
            && !(dropout.is_finite() && (0.0..1.0).contains(&dropout))
        {
            return Err(ModelError::InvalidDropout { dropout });
        }
        if let Some(l2) = self.l2
            && !(l2.is_finite() && l2 >= 0.0)
        {
            return Err(ModelError::InvalidL2 { l2 });
        }
        match self.parameter_count() {
            Some(n) if n <= MAX_PARAMETERS => Ok(()),
            parameters => Err(ModelError::TooLarge {
                parameters,
                limit: MAX_PARAMETERS,
            }),
        }
    }

    /// Validates the config, then builds the model on `device`.
    ///
    /// Build on `device.autodiff()` to train. Weights are initialised lazily, on first use, from
    /// the device's RNG (seed it with `device.seed(n)` for reproducible weights).
    ///
    /// # Errors
    ///
    /// See [`validate`](Self::validate).
    pub fn try_init(&self, device: &Device) -> Result<Mlp, ModelError> {
        self.validate()?;
        let widths: Vec<usize> = core::iter::once(self.input)
            .chain(self.hidden.iter().copied())
            .collect();
        let hidden = widths
            .windows(2)
            .map(|w| self.linear(w[0], w[1], device))
            .collect();
        let last = *widths.last().expect("widths holds at least `input`");
        let output = self.linear(last, 1, device);
        let dropout = self.dropout.map(|p| DropoutConfig::new(p).init());
        // A constant of the model, saved with it: no gradient, so no optimizer moves it.
        let input_weights = self.input_weights.map(|InputWeights::PerFeature| {
            Param::from_tensor(Tensor::ones([self.input], device)).set_require_grad(false)
        });
        Ok(Mlp::from_parts(
            hidden,
            output,
            self.activation,
            dropout,
            self.l2,
            input_weights,
        ))
    }

    /// Like [`try_init`](Self::try_init), for configs known to be valid.
    ///
    /// # Panics
    ///
    /// With the [`ModelError`] message if the config is invalid.
    pub fn init(&self, device: &Device) -> Mlp {
        self.try_init(device)
            .unwrap_or_else(|err| panic!("invalid MlpConfig: {err}"))
    }

    fn linear(&self, d_input: usize, d_output: usize, device: &Device) -> Linear {
        match self.initializer {
            WeightInit::Burn => LinearConfig::new(d_input, d_output).init(device),
            WeightInit::Keras => {
                // Burn's Xavier uniform with gain 1 has Keras's Glorot limit sqrt(6/(fan_in+fan_out)).
                let mut linear = LinearConfig::new(d_input, d_output)
                    .with_bias(false)
                    .with_initializer(Initializer::XavierUniform { gain: 1.0 })
                    .init(device);
                linear.bias = Some(Initializer::Zeros.init([d_output], device));
                linear
            }
        }
    }
}
