//! Not part of the API: the one hook through which `imdb-train` runs the first layer itself.
//!
//! On a CPU backend, `imdb-train` computes `x·W₀` as a gather-sum loop over the host buffer of
//! `W₀` and hands Burn's autodiff only the result; its training step then turns the result's
//! gradient into a row-sparse gradient of `W₀` for a lazy optimizer. Burn 0.22's autodiff has
//! no sparse gradients (every gradient is a dense tensor of its parameter's shape), so that
//! cannot be an autodiff operation of this crate without giving up what makes it fast. The hook
//! is hidden so the model's public surface stays `forward`; its only caller, and the code that
//! completes the gradient it leaves open, are private to `imdb-train`'s training step.

use burn::tensor::Tensor;

use crate::Mlp;

/// Logits with the first kernel product supplied by `kernel_product`: it gets `W₀`
/// (`[input, hidden[0]]`, tracked on an autodiff device) and the input weights `s` (`[input]`,
/// never tracked) when the model has them, and returns `(x ⊙ s)·W₀` (`[batch, hidden[0]]`); the
/// model adds `b₀` and runs the rest of the network.
///
/// Whatever `kernel_product` does outside Burn's graph is the caller's to differentiate.
#[doc(hidden)]
pub fn forward_with_kernel_product(
    mlp: &Mlp,
    kernel_product: impl FnOnce(Tensor<2>, Option<Tensor<1>>) -> Tensor<2>,
) -> Tensor<2> {
    let first = &mlp.hidden[0];
    let z = kernel_product(first.weight.val(), mlp.input_weights());
    let z = match &first.bias {
        Some(bias) => z + bias.val().unsqueeze_dim(0),
        None => z,
    };
    mlp.forward_from_first_preactivation(z)
}
