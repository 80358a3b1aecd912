//! The first layer as one host kernel with its own backward: the fast path on CPU backends.
//!
//! [`Mlp::forward_sparse`] builds the first layer from Burn ops (`select`, then `select_assign`
//! to add rows per example). That runs on every backend, but each op is a pass over a
//! `[nnz, units]` intermediate, and the autodiff backward adds two more plus a dense scatter.
//! On a CPU the whole layer is two loops:
//!
//! - forward, a gather-sum: `z[r] = Σ_{i ∈ row r} W₀[i]` (`nnz × units` adds, reading only the
//!   kernel rows of words that occur);
//! - backward, a scatter-add: `∂W₀[i] += ∂z[r]` for every word `i` of row `r`.
//!
//! [`Mlp::forward_csr`] runs them on the host and joins Burn's autodiff at the layer's output: the
//! gather-sum enters the graph as a leaf that requires a gradient, and after `loss.backward()`
//! [`FirstLayerTape::backward`] turns that leaf's gradient into the kernel's and stores it in the
//! [`Gradients`], where `GradientsParams::from_grads` (and so every Burn optimizer and the
//! `Learner`) finds it like any other. Gradients that reach `W₀` through the graph — the L2
//! penalty's — are added to it, not replaced.
//!
//! On a GPU this would read the kernel back to the host every step: use `forward_sparse` there.

use burn::tensor::{Gradients, Tensor, TensorData};

use crate::mlp::Mlp;
use crate::sparse::MultiHotCsr;

/// The part of a [`Mlp::forward_csr`] that Burn's autodiff cannot see: call
/// [`backward`](Self::backward) right after `loss.backward()` to complete the gradients.
///
/// Inert when the model is not being trained (not on an autodiff device, or `W₀` does not
/// require a gradient): `backward` then does nothing, and dropping the tape is fine.
#[derive(Debug)]
#[must_use = "without FirstLayerTape::backward the first kernel gets no gradient from the data"]
pub struct FirstLayerTape {
    input: MultiHotCsr,
    /// The gather-sum `[batch, units]` as a tracked leaf; `None` when nothing is trained.
    leaf: Option<Tensor<2>>,
    /// `W₀` as the model holds it (tracked when trained).
    weight: Tensor<2>,
}

impl Mlp {
    /// Logits of a batch given as word ids, with the first layer computed on the host: a
    /// gather-sum of kernel rows forward, a scatter-add backward, joined to Burn's autodiff at the
    /// layer's output. Equal to [`forward`](Self::forward) on `input.to_dense(..)` up to float
    /// rounding, and so are the gradients once the tape has run. The fastest path on CPU
    /// backends; on a GPU, where the kernel would be read back each step, use
    /// [`forward_sparse`](Self::forward_sparse).
    ///
    /// ```ignore
    /// let (logits, tape) = model.forward_csr(csr);
    /// let mut grads = model.loss(Loss::Bce, logits, targets).backward();
    /// tape.backward(&mut grads);
    /// let grads = GradientsParams::from_grads(grads, &model);
    /// ```
    ///
    /// # Shapes
    ///
    /// - `input`: `batch_size` rows of ids below `width`
    /// - returns: `[batch_size, 1]` logits, and the first layer's tape
    ///
    /// # Panics
    ///
    /// If `input.width()` is not the model's [`input_size`](Self::input_size).
    pub fn forward_csr(&self, input: MultiHotCsr) -> (Tensor<2>, FirstLayerTape) {
        let first = &self.hidden[0];
        let weight = first.weight.val();
        let [width, units] = weight.dims();
        assert_eq!(
            input.width(),
            width,
            "sparse batch width must equal the model's input size"
        );
        let kernel = host_f32(weight.clone());
        let sums = gather_sum(&kernel, units, &input);
        let mut z = Tensor::<2>::from_data(
            TensorData::new(sums, [input.batch_size(), units]),
            &weight.device(),
        );
        let leaf = if weight.is_require_grad() {
            z = z.require_grad();
            Some(z.clone())
        } else {
            None
        };
        if let Some(bias) = &first.bias {
            z = z + bias.val().unsqueeze_dim(0);
        }
        let logits = self.forward_from_first_preactivation(z);
        (
            logits,
            FirstLayerTape {
                input,
                leaf,
                weight,
            },
        )
    }
}

impl FirstLayerTape {
    /// Adds `∂loss/∂W₀` to `grads`, from the gradient that reached the gather-sum.
    ///
    /// Call it once, after `loss.backward()` and before reading the parameters' gradients.
    pub fn backward(self, grads: &mut Gradients) {
        let Some(leaf) = self.leaf else { return };
        // None when the loss did not depend on the batch at all; then W₀ gets only what the graph
        // gave it.
        let Some(grad_z) = leaf.grad_remove(grads) else {
            return;
        };
        let [width, units] = self.weight.dims();
        let grad_w = scatter_add(&host_f32(grad_z), units, &self.input, width);
        let mut grad_w = Tensor::<2>::from_data(
            TensorData::new(grad_w, [width, units]),
            &self.weight.device().inner(),
        );
        if let Some(from_graph) = self.weight.grad_remove(grads) {
            grad_w = grad_w + from_graph;
        }
        self.weight.grad_replace(grads, grad_w);
    }
}

/// `out[r] = Σ_{i ∈ row r} kernel[i]`, rows of `units` floats.
fn gather_sum(kernel: &[f32], units: usize, input: &MultiHotCsr) -> Vec<f32> {
    let mut out = vec![0.0f32; input.batch_size() * units];
    // Common widths get a loop over fixed-size rows, which the compiler turns into a few vector
    // adds per word.
    match units {
        16 => gather_rows::<16>(kernel, &mut out, input),
        32 => gather_rows::<32>(kernel, &mut out, input),
        _ => {
            for (r, acc) in out.chunks_exact_mut(units).enumerate() {
                for &i in input.row(r) {
                    let start = i as usize * units;
                    add_assign(acc, &kernel[start..start + units]);
                }
            }
        }
    }
    out
}

fn gather_rows<const U: usize>(kernel: &[f32], out: &mut [f32], input: &MultiHotCsr) {
    let (kernel, _) = kernel.as_chunks::<U>();
    let (out, _) = out.as_chunks_mut::<U>();
    for (r, acc) in out.iter_mut().enumerate() {
        // A local sum lives in vector registers; adding into `acc` in place compiles to a
        // load-add-store per float.
        let mut sum = [0.0f32; U];
        for &i in input.row(r) {
            add_assign(&mut sum, &kernel[i as usize]);
        }
        *acc = sum;
    }
}

/// `grad_w[i] = Σ_{rows r holding i} grad_z[r]`: the gather-sum's transpose.
fn scatter_add(grad_z: &[f32], units: usize, input: &MultiHotCsr, width: usize) -> Vec<f32> {
    let mut grad_w = vec![0.0f32; width * units];
    match units {
        16 => scatter_rows::<16>(grad_z, &mut grad_w, input),
        32 => scatter_rows::<32>(grad_z, &mut grad_w, input),
        _ => {
            for (r, g) in grad_z.chunks_exact(units).enumerate() {
                for &i in input.row(r) {
                    let start = i as usize * units;
                    add_assign(&mut grad_w[start..start + units], g);
                }
            }
        }
    }
    grad_w
}

fn scatter_rows<const U: usize>(grad_z: &[f32], grad_w: &mut [f32], input: &MultiHotCsr) {
    let (grad_z, _) = grad_z.as_chunks::<U>();
    let (grad_w, _) = grad_w.as_chunks_mut::<U>();
    for (r, g) in grad_z.iter().enumerate() {
        let g: [f32; U] = *g; // in registers for the whole row
        for &i in input.row(r) {
            add_assign(&mut grad_w[i as usize], &g);
        }
    }
}

fn add_assign(acc: &mut [f32], x: &[f32]) {
    for (a, b) in acc.iter_mut().zip(x) {
        *a += b;
    }
}

fn host_f32<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_into_vec()
        .expect("converted to f32 above")
}
