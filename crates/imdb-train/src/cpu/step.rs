//! One training or evaluation step of a sparse batch, as loops on the CPU: forward, loss, and
//! every gradient.
//!
//! - forward: the first layer's gather-sum over `W₀`'s buffer ([`super::gather`]), then per
//!   hidden layer the activation and dropout with the masks Burn's `Dropout` would draw (a
//!   `Bernoulli` tensor from Flex's generator, in the same order on every CPU backend), then the
//!   later layers ([`super::layers`]);
//! - the loss as [`Mlp::loss`] defines it ([`Loss::value`] per review, plus the L2 term);
//! - backward by the chain rule, `W₀`'s gradient by the scatter-add, in the form the plan's
//!   optimizer takes ([`FirstKernelGradient`]).
//!
//! The model is read through its public accessors only ([`Mlp::hidden_layers`], ...). The
//! result equals Burn's autodiff of [`Mlp::forward`] to float rounding (the sums run in another
//! order): `learner::classifier`'s tests check the loss and every gradient for both
//! activations, both losses, L2, dropout, input weights, two and three hidden layers and 16 and
//! 32 units.

use burn::nn::Linear;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use imdb_model::{HiddenActivation, Loss, Mlp, SparseBatch};

use super::gather::{gather_sum, scale_lines, scatter_add};
use super::layers::{Layer, add_bias, column_sums, vector};
use super::memory::{f32_copy, into_f32_vec, with_f32};
use super::sparse_grad::{RowSparseGradient, SparseGradients};

/// How a training step hands `W₀`'s gradient over.
#[derive(Clone, Copy, Debug)]
pub(crate) enum FirstKernelGradient<'a> {
    /// A `[width, units]` tensor in `GradientsParams`, the L2 penalty's share included.
    Dense,
    /// The rows the batch touched, through this channel to the lazy optimizer (see
    /// [`super::sparse_grad`]); never with an L2 penalty, which gives every row a gradient.
    RowSparse(&'a SparseGradients),
}

/// What one step computed.
pub(crate) struct StepOutput {
    /// The mean loss, L2 penalty included.
    pub(crate) loss: f32,
    /// One logit per review.
    pub(crate) logits: Vec<f32>,
    /// Every parameter's gradient, when the step trained.
    pub(crate) grads: Option<GradientsParams>,
}

impl StepOutput {
    /// The loss and logits as tensors on `device`, and the gradients.
    ///
    /// # Shapes
    /// - returns: `[1]`, `[batch, 1]`
    pub(crate) fn into_tensors(
        self,
        device: &Device,
    ) -> (Tensor<1>, Tensor<2>, Option<GradientsParams>) {
        let rows = self.logits.len();
        (
            Tensor::from_data(TensorData::new(vec![self.loss], [1]), device),
            Tensor::from_data(TensorData::new(self.logits, [rows, 1]), device),
            self.grads,
        )
    }
}

/// A training step of `mlp` on `input` against `targets` (0 or 1 per review): forward with
/// dropout, loss, and every gradient, `W₀`'s as `first_kernel` says.
///
/// # Shapes
/// - `input`: `batch_size` rows of ids below the model's input size; `targets`: `[batch_size]`
///
/// # Panics
/// If `input.width()` is not the model's input size, or a row-sparse `W₀` gradient is asked of
/// a model with an L2 penalty.
pub(crate) fn train(
    mlp: &Mlp,
    loss: Loss,
    input: &SparseBatch,
    targets: &[f32],
    first_kernel: FirstKernelGradient<'_>,
) -> StepOutput {
    run(mlp, loss, input, targets, Some(first_kernel))
}

/// An evaluation step: forward without dropout, and the loss; nothing is differentiated.
///
/// # Shapes
/// As [`train`].
pub(crate) fn evaluate(mlp: &Mlp, loss: Loss, input: &SparseBatch, targets: &[f32]) -> StepOutput {
    run(mlp, loss, input, targets, None)
}

/// What the step reads of the model, through its public accessors.
struct Network<'a> {
    hidden: &'a [Linear],
    output: &'a Linear,
    activation: HiddenActivation,
    dropout: Option<f64>,
    l2: Option<f64>,
}

fn run(
    mlp: &Mlp,
    loss: Loss,
    input: &SparseBatch,
    targets: &[f32],
    train: Option<FirstKernelGradient<'_>>,
) -> StepOutput {
    let net = Network {
        hidden: mlp.hidden_layers(),
        output: mlp.output_layer(),
        activation: mlp.activation(),
        // Evaluation never drops (Burn's `Dropout` is off on an inference model as well).
        dropout: mlp.active_dropout().filter(|_| train.is_some()),
        l2: mlp.l2(),
    };
    assert_eq!(
        input.width(),
        mlp.input_size(),
        "sparse batch width must equal the model's input size"
    );
    // The input weights are read in place, like W₀: a copy would be `width` floats a step.
    match mlp.input_weights() {
        Some(s) => with_f32(&s, |s| run_with(&net, loss, input, targets, train, Some(s))),
        None => run_with(&net, loss, input, targets, train, None),
    }
}

/// [`run`] with the input weights `scale` (`[input]`) as a slice.
fn run_with(
    net: &Network<'_>,
    loss_kind: Loss,
    input: &SparseBatch,
    targets: &[f32],
    train: Option<FirstKernelGradient<'_>>,
    scale: Option<&[f32]>,
) -> StepOutput {
    let first = &net.hidden[0];
    let w0 = first.weight.val();
    let units0 = w0.dims()[1];
    let rows = input.batch_size();
    let device = w0.device();

    // Forward. `inputs[l]` is hidden layer l's output after dropout (the next layer's input),
    // kept for that kernel's gradient; `activated[l]` its output before dropout, for the
    // activation's, kept only where dropout made the two differ (no copy of each activation).
    let mut z = with_f32(&w0, |kernel| gather_sum(kernel, units0, input, scale));
    if let Some(b) = &first.bias {
        add_bias(&mut z, &f32_copy(&b.val()));
    }
    let later: Vec<Layer> = net.hidden[1..].iter().map(Layer::read).collect();
    let output = Layer::read(net.output);
    let mut inputs: Vec<Vec<f32>> = Vec::with_capacity(later.len() + 1);
    let mut activated = Vec::with_capacity(later.len() + 1);
    let mut masks = Vec::with_capacity(later.len() + 1);
    let mut h = Vec::new();
    for l in 0..=later.len() {
        if l > 0 {
            z = later[l - 1].forward(&h);
            inputs.push(std::mem::take(&mut h));
        }
        let a = activate(net.activation, std::mem::take(&mut z));
        let mask = net
            .dropout
            .map(|p| dropout_mask([rows, a.len() / rows.max(1)], p));
        match &mask {
            Some((m, s)) => {
                h = a.iter().zip(m).map(|(a, m)| a * m * s).collect();
                activated.push(Some(a));
            }
            None => {
                h = a;
                activated.push(None);
            }
        }
        masks.push(mask);
    }
    let logits = output.forward(&h);
    inputs.push(h);

    // The loss: the data term's mean, plus Keras's L2 term on every hidden kernel.
    let n = rows as f32;
    let data: f64 = logits
        .iter()
        .zip(targets)
        .map(|(&x, &y)| f64::from(loss_kind.value(x, y)))
        .sum::<f64>()
        / f64::from(n);
    let penalty = net.l2.map_or(0.0, |lambda| {
        let squares = |w: &[f32]| w.iter().map(|&w| f64::from(w * w)).sum::<f64>();
        let first = with_f32(&w0, squares);
        let rest: f64 = later.iter().map(|l| squares(l.kernel())).sum();
        lambda * (first + rest)
    });
    let loss = (data + penalty) as f32;
    let Some(first_kernel) = train else {
        return StepOutput {
            loss,
            logits,
            grads: None,
        };
    };

    // Backward: ∂loss/∂logit per review, then layer by layer down to the first.
    let dlogits: Vec<f32> = logits
        .iter()
        .zip(targets)
        .map(|(&x, &y)| loss_kind.derivative(x, y) / n)
        .collect();
    let mut grads = GradientsParams::new();
    let inner = device.inner();
    let two_lambda = net.l2.map(|l| (2.0 * l) as f32);
    // ∂loss/∂z of hidden layer l, from ∂loss/∂(its output after dropout).
    let to_preactivation = |l: usize, mut d: Vec<f32>| {
        if let Some((m, s)) = &masks[l] {
            d.iter_mut().zip(m).for_each(|(d, m)| *d = *d * s * m);
        }
        let a = activated[l].as_deref().unwrap_or(&inputs[l]);
        d.iter_mut()
            .zip(a)
            .for_each(|(d, &a)| *d = net.activation.backward(a, *d));
        d
    };
    let mut dh = output.backward(&inputs[later.len()], &dlogits, None, &mut grads, &inner);
    for l in (1..=later.len()).rev() {
        let dz = to_preactivation(l, dh);
        dh = later[l - 1].backward(&inputs[l - 1], &dz, two_lambda, &mut grads, &inner);
    }
    let dz = to_preactivation(0, dh);
    if let Some(b) = &first.bias {
        grads.register(b.id, vector(column_sums(&dz, units0), &inner));
    }
    match first_kernel {
        FirstKernelGradient::RowSparse(channel) => {
            assert!(
                two_lambda.is_none(),
                "a row-sparse W₀ gradient cannot carry the L2 penalty's share of every row"
            );
            let gradient = RowSparseGradient::of_batch(&dz, units0, input, scale);
            grads.register(first.weight.id, gradient.marker(&inner));
            channel.put(first.weight.id, gradient);
        }
        FirstKernelGradient::Dense => {
            let [width, _] = w0.dims();
            let mut dense = vec![0.0f32; width * units0];
            scatter_add(&dz, units0, input, &mut dense, |i| i as usize);
            if let Some(s) = scale {
                // `s_i` is the same for every row holding `i`: scale the sums, not the adds.
                scale_lines(&mut dense, units0, s);
            }
            if let Some(t) = two_lambda {
                with_f32(&w0, |w| {
                    dense.iter_mut().zip(w).for_each(|(g, &w)| *g += t * w);
                });
            }
            let data = TensorData::new(dense, [width, units0]);
            grads.register(first.weight.id, Tensor::<2>::from_data(data, &inner));
        }
    }
    StepOutput {
        loss,
        logits,
        grads: Some(grads),
    }
}

/// A dropout mask for a `shape` activation at probability `p`: the `Bernoulli(1 − p)` tensor
/// Burn's `Dropout::forward` draws, and its `1 / (1 − p)` scale. Drawn from Flex's generator on
/// every CPU backend (the masks are used here, in the CPU's memory), so that a seed gives the
/// same masks on each (the training loader seeds it at each epoch's start).
fn dropout_mask(shape: [usize; 2], p: f64) -> (Vec<f32>, f32) {
    let keep = 1.0 - p;
    let mask = Tensor::<2>::random(shape, Distribution::Bernoulli(keep), &Device::flex());
    (into_f32_vec(mask), (1.0 / keep) as f32)
}

/// The activation of `z`, element-wise.
fn activate(activation: HiddenActivation, mut z: Vec<f32>) -> Vec<f32> {
    z.iter_mut().for_each(|z| *z = activation.value(*z));
    z
}

/// Labels as the floats the loss takes.
pub(crate) fn labels_f32(labels: &Tensor<1, Int>) -> Vec<f32> {
    labels
        .to_data()
        .convert::<f32>()
        .try_into_vec()
        .expect("converted to f32 above")
}
