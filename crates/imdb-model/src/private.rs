//! Not part of the API: the one hook through which `imdb-train` runs a training step itself.
//!
//! On a CPU backend, `imdb-train` computes the whole network of a sparse batch as host loops:
//! `x·W₀` as a gather-sum over the host buffer of `W₀`, the small dense layers after it, the
//! loss and every gradient, which it hands the optimizer directly (`W₀`'s as a row-sparse
//! gradient for a lazy optimizer when it can). Burn 0.22's autodiff has no sparse gradients
//! (every gradient is a dense tensor of its parameter's shape), so that cannot be an autodiff
//! operation of this crate without giving up what makes it fast; and a 16-unit layer is so small
//! that recording it in an autodiff graph costs more than computing it. The hook is hidden so
//! the model's public surface stays `forward`; its only caller is private to `imdb-train`'s
//! training step, which is tested against this crate's `forward` under Burn's autodiff.

use burn::nn::Linear;
use burn::tensor::Tensor;

use crate::{Activation, Mlp};

/// What a host implementation of [`Mlp::forward`] and [`Mlp::loss`] needs: the layers and the
/// settings that shape the computation.
#[doc(hidden)]
#[derive(Debug)]
pub struct Parts<'a> {
    /// The hidden layers, `W₀` first (`[input, hidden[0]]`, tracked on an autodiff device).
    pub hidden: &'a [Linear],
    /// The output layer, `[hidden[last], 1]`.
    pub output: &'a Linear,
    /// The hidden layers' activation.
    pub activation: Activation,
    /// The dropout probability after each hidden layer, when dropout is configured and not
    /// frozen (it then applies on an autodiff device, as `Dropout::forward` does).
    pub dropout: Option<f64>,
    /// The L2 factor on every hidden kernel ([`Mlp::l2_penalty`]).
    pub l2: Option<f64>,
    /// The input weights `s` (`[input]`, never tracked), when configured.
    pub input_weights: Option<Tensor<1>>,
}

/// The parts of `mlp` (see [`Parts`]).
#[doc(hidden)]
pub fn parts(mlp: &Mlp) -> Parts<'_> {
    Parts {
        hidden: &mlp.hidden,
        output: &mlp.output,
        activation: mlp.activation,
        dropout: mlp
            .dropout
            .as_ref()
            .filter(|d| d.training.is_enabled() && d.prob > 0.0)
            .map(|d| d.prob),
        l2: mlp.l2,
        input_weights: mlp.input_weights(),
    }
}
