//! The host plan's step: the whole network of a sparse batch as host loops, on a CPU backend.
//!
//! Everything after the first layer is tiny (two 16-unit layers and one logit: ~0.4 MFLOP
//! forward and backward for 512 reviews), so Burn's autodiff graph for it (some 25 small tensor
//! ops per step, each allocated, dispatched and recorded) cost more than the arithmetic. Here one
//! function computes the logits, the loss and every gradient, and hands the gradients to the
//! optimizer as Burn's `GradientsParams`:
//!
//! - forward: the first layer's gather-sum ([`first_layer::gather_sum`]), then per layer
//!   `z = h·W + b`, the activation, and dropout with the very masks Burn's `Dropout` would draw
//!   (the same `Bernoulli` tensor from the device's generator, in the same order);
//! - the loss as [`Mlp::loss`] defines it ([`imdb_model::bce_with_logits`] or
//!   [`imdb_model::mse_on_sigmoid`], plus the L2 term);
//! - backward by the chain rule, `W₀`'s gradient by the scatter-add ([`first_layer::scatter_add`])
//!   into the form the plan's optimizer takes ([`KernelGradient`]).
//!
//! The result equals Burn's autodiff of [`Mlp::forward`] to float rounding (the sums run in
//! another order): `classifier::tests::every_plan_gives_the_same_step` checks the loss and every
//! gradient for both activations, both losses, L2, dropout, input weights, two and three hidden
//! layers and 16 and 32 units.

use burn::module::ParamId;
use burn::nn::Linear;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use imdb_model::{HiddenActivation, Loss, Mlp, SparseBatch};

/// What the step reads of the model, through its public accessors.
struct Parts<'a> {
    hidden: &'a [Linear],
    output: &'a Linear,
    activation: HiddenActivation,
    dropout: Option<f64>,
    l2: Option<f64>,
    input_weights: Option<Tensor<1>>,
}

impl<'a> Parts<'a> {
    fn of(mlp: &'a Mlp) -> Self {
        Self {
            hidden: mlp.hidden_layers(),
            output: mlp.output_layer(),
            activation: mlp.activation(),
            dropout: mlp.active_dropout(),
            l2: mlp.l2(),
            input_weights: mlp.input_weights(),
        }
    }
}

use crate::first_layer::{gather_sum, scale_lines, scatter_add};
use crate::host::{host_copy, into_vec, with_host_f32};
use crate::row_sparse;

/// How the step hands `W₀`'s gradient to the optimizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KernelGradient {
    /// Only the rows the batch touched, in [`row_sparse`]'s encoding, for the lazy RMSprop.
    RowSparse,
    /// A `[width, units]` tensor (the L2 penalty's share included).
    Dense,
}

/// What one step computed, on the host.
pub(crate) struct HostOutput {
    /// The mean loss, L2 penalty included.
    pub(crate) loss: f32,
    /// One logit per review.
    pub(crate) logits: Vec<f32>,
    /// Every parameter's gradient, when the step trained.
    pub(crate) grads: Option<GradientsParams>,
}

/// A dense layer read out of the model: `z = h·W + b`, `W` `[inputs, units]` row-major.
struct Layer {
    weight: (ParamId, Vec<f32>),
    bias: Option<(ParamId, Vec<f32>)>,
    inputs: usize,
    units: usize,
}

impl Layer {
    fn read(layer: &burn::nn::Linear) -> Self {
        let [inputs, units] = layer.weight.val().dims();
        Self {
            weight: (layer.weight.id, host_copy(&layer.weight.val())),
            bias: layer.bias.as_ref().map(|b| (b.id, host_copy(&b.val()))),
            inputs,
            units,
        }
    }

    /// `h·W + b` for `rows` rows of `h`.
    ///
    /// # Shapes
    /// - `h`: `[rows, inputs]`; returns `[rows, units]`
    fn forward(&self, h: &[f32]) -> Vec<f32> {
        let mut z = matmul(h, self.inputs, &self.weight.1, self.units);
        if let Some((_, b)) = &self.bias {
            add_bias(&mut z, b);
        }
        z
    }
}

/// Forward, loss, and when `train` is given, backward of `mlp` on `input` against `targets`
/// (0 or 1 per review). `train` says how `W₀`'s gradient is wanted; without it (evaluation)
/// dropout is off and nothing is differentiated.
///
/// # Shapes
/// - `input`: `batch_size` rows of ids below the model's input size; `targets`: `[batch_size]`
///
/// # Panics
/// If `input.width()` is not the model's input size, or `train` asks for a row-sparse `W₀`
/// gradient of a model with an L2 penalty (every row of `W₀` then has a gradient).
pub(crate) fn step(
    mlp: &Mlp,
    loss_kind: Loss,
    input: &SparseBatch,
    targets: &[f32],
    train: Option<KernelGradient>,
) -> HostOutput {
    let parts = Parts::of(mlp);
    assert_eq!(
        input.width(),
        parts.hidden[0].weight.val().dims()[0],
        "sparse batch width must equal the model's input size"
    );
    // The input weights are read in place, like W₀: a copy would be `width` floats a step.
    match &parts.input_weights {
        Some(s) => with_host_f32(s, |s| {
            step_with(&parts, loss_kind, input, targets, train, Some(s))
        }),
        None => step_with(&parts, loss_kind, input, targets, train, None),
    }
}

/// [`step`] with the input weights `scale` (`[input]`) as a host slice.
fn step_with(
    parts: &Parts<'_>,
    loss_kind: Loss,
    input: &SparseBatch,
    targets: &[f32],
    train: Option<KernelGradient>,
    scale: Option<&[f32]>,
) -> HostOutput {
    let first = &parts.hidden[0];
    let w0 = first.weight.val();
    let units0 = w0.dims()[1];
    let rows = input.batch_size();
    let device = w0.device();
    let dropout = parts.dropout.filter(|_| train.is_some());

    // Forward. `inputs[l]` is hidden layer l's output after dropout (the next layer's input),
    // kept for that kernel's gradient; `activated[l]` its output before dropout, for the
    // activation's, kept only where dropout made the two differ (no copy of each activation).
    let mut z = with_host_f32(&w0, |kernel| gather_sum(kernel, units0, input, scale));
    if let Some(b) = &first.bias {
        add_bias(&mut z, &host_copy(&b.val()));
    }
    let later: Vec<Layer> = parts.hidden[1..].iter().map(Layer::read).collect();
    let output = Layer::read(parts.output);
    let mut inputs: Vec<Vec<f32>> = Vec::with_capacity(later.len() + 1);
    let mut activated = Vec::with_capacity(later.len() + 1);
    let mut masks = Vec::with_capacity(later.len() + 1);
    let mut h = Vec::new();
    for l in 0..=later.len() {
        if l > 0 {
            z = later[l - 1].forward(&h);
            inputs.push(std::mem::take(&mut h));
        }
        let a = activate(parts.activation, std::mem::take(&mut z));
        let mask = dropout.map(|p| dropout_mask(&device, [rows, a.len() / rows.max(1)], p));
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
    let penalty = parts.l2.map_or(0.0, |lambda| {
        let squares = |w: &[f32]| w.iter().map(|&w| f64::from(w * w)).sum::<f64>();
        let first = with_host_f32(&w0, squares);
        let rest: f64 = later.iter().map(|l| squares(&l.weight.1)).sum();
        lambda * (first + rest)
    });
    let loss = (data + penalty) as f32;
    let Some(form) = train else {
        return HostOutput {
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
    let two_lambda = parts.l2.map(|l| (2.0 * l) as f32);
    // ∂loss/∂z of hidden layer l, from ∂loss/∂(its output after dropout).
    let to_preactivation = |l: usize, mut d: Vec<f32>| {
        if let Some((m, s)) = &masks[l] {
            d.iter_mut().zip(m).for_each(|(d, m)| *d = *d * s * m);
        }
        activation_backward(
            parts.activation,
            activated[l].as_deref().unwrap_or(&inputs[l]),
            &mut d,
        );
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
    let grad_w0 = kernel_gradient(&w0, &dz, input, scale, two_lambda, form);
    grads.register(first.weight.id, Tensor::<2>::from_data(grad_w0, &inner));
    HostOutput {
        loss,
        logits,
        grads: Some(grads),
    }
}

impl Layer {
    /// Registers this layer's gradients given `dz` (`[rows, units]`) and its input `h`
    /// (`[rows, inputs]`), with the L2 term `2λ·W` when given, and returns `∂loss/∂h`.
    fn backward(
        &self,
        h: &[f32],
        dz: &[f32],
        two_lambda: Option<f32>,
        grads: &mut GradientsParams,
        device: &Device,
    ) -> Vec<f32> {
        let (id, w) = &self.weight;
        let mut dw = matmul_tn(h, self.inputs, dz, self.units);
        if let Some(t) = two_lambda {
            dw.iter_mut().zip(w).for_each(|(g, &w)| *g += t * w);
        }
        let data = TensorData::new(dw, [self.inputs, self.units]);
        grads.register(*id, Tensor::<2>::from_data(data, device));
        if let Some((id, _)) = &self.bias {
            grads.register(*id, vector(column_sums(dz, self.units), device));
        }
        matmul_nt(dz, self.units, w, self.inputs)
    }
}

/// `W₀`'s gradient in the optimizer's form, from `dz` = ∂loss/∂(x·W₀) (`[rows, units]`).
fn kernel_gradient(
    w0: &Tensor<2>,
    dz: &[f32],
    input: &SparseBatch,
    scale: Option<&[f32]>,
    two_lambda: Option<f32>,
    form: KernelGradient,
) -> TensorData {
    let [width, units] = w0.dims();
    match form {
        KernelGradient::RowSparse => {
            // The plan picks this form only without an L2 penalty on W₀: the penalty gives
            // every row a gradient, which this form cannot carry.
            assert!(
                two_lambda.is_none(),
                "a row-sparse W₀ gradient cannot carry the L2 penalty's dense share"
            );
            row_sparse::gradient(dz, units, input, scale)
        }
        KernelGradient::Dense => {
            let mut dense = vec![0.0f32; width * units];
            scatter_add(dz, units, input, &mut dense, |i| i as usize);
            if let Some(s) = scale {
                // `s_i` is the same for every row holding `i`: scale the sums, not the adds.
                scale_lines(&mut dense, units, s);
            }
            if let Some(t) = two_lambda {
                with_host_f32(w0, |w| {
                    dense.iter_mut().zip(w).for_each(|(g, &w)| *g += t * w);
                });
            }
            TensorData::new(dense, [width, units])
        }
    }
}

/// Burn's dropout mask for a `shape` activation at probability `p`: the `Bernoulli(1 − p)`
/// tensor `Dropout::forward` draws from the device's generator, and its `1 / (1 − p)` scale.
fn dropout_mask(device: &Device, shape: [usize; 2], p: f64) -> (Vec<f32>, f32) {
    let keep = 1.0 - p;
    let mask = Tensor::<2>::random(shape, Distribution::Bernoulli(keep), device);
    (into_vec(mask), (1.0 / keep) as f32)
}

/// The activation of `z`, element-wise.
fn activate(activation: HiddenActivation, mut z: Vec<f32>) -> Vec<f32> {
    z.iter_mut().for_each(|z| *z = activation.value(*z));
    z
}

/// ∂loss/∂z in place, from the activation's output `a` and ∂loss/∂a in `grad`.
fn activation_backward(activation: HiddenActivation, a: &[f32], grad: &mut [f32]) {
    grad.iter_mut()
        .zip(a)
        .for_each(|(g, &a)| *g = activation.backward(a, *g));
}

/// `x·w`: `x` `[rows, inner]`, `w` `[inner, cols]`, row-major; returns `[rows, cols]`.
fn matmul(x: &[f32], inner: usize, w: &[f32], cols: usize) -> Vec<f32> {
    let rows = x.len() / inner.max(1);
    match cols {
        // The output layer: one dot product per row.
        1 => x.chunks_exact(inner).map(|x| dot(x, w)).collect(),
        16 => matmul_fixed::<16>(x, inner, w, rows),
        32 => matmul_fixed::<32>(x, inner, w, rows),
        _ => {
            let mut out = vec![0.0f32; rows * cols];
            for (x, out) in x.chunks_exact(inner).zip(out.chunks_exact_mut(cols)) {
                for (&x, w) in x.iter().zip(w.chunks_exact(cols)) {
                    out.iter_mut().zip(w).for_each(|(o, &w)| *o += x * w);
                }
            }
            out
        }
    }
}

/// [`matmul`] for `C` columns: each output row a fixed-size array the compiler keeps in vector
/// registers.
fn matmul_fixed<const C: usize>(x: &[f32], inner: usize, w: &[f32], rows: usize) -> Vec<f32> {
    let (w, _) = w.as_chunks::<C>();
    let mut out = Vec::with_capacity(rows * C);
    for x in x.chunks_exact(inner) {
        let mut acc = [0.0f32; C];
        for (&x, w) in x.iter().zip(w) {
            for (a, &w) in acc.iter_mut().zip(w) {
                *a += x * w;
            }
        }
        out.extend_from_slice(&acc);
    }
    out
}

/// `Σ a_k·b_k` in eight independent partial sums (a single running sum would wait on each add).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let ((a8, a_rest), (b8, b_rest)) = (a.as_chunks::<8>(), b.as_chunks::<8>());
    for (a, b) in a8.iter().zip(b8) {
        for k in 0..8 {
            acc[k] += a[k] * b[k];
        }
    }
    let rest: f32 = a_rest.iter().zip(b_rest).map(|(a, b)| a * b).sum();
    acc.iter().sum::<f32>() + rest
}

/// `aᵀ·b`: `a` `[rows, m]`, `b` `[rows, n]`; returns `[m, n]`.
fn matmul_tn(a: &[f32], m: usize, b: &[f32], n: usize) -> Vec<f32> {
    if n == 1 {
        // The output layer's kernel: `m` sums over the rows.
        let mut out = vec![0.0f32; m];
        for (a, &b) in a.chunks_exact(m).zip(b) {
            out.iter_mut().zip(a).for_each(|(o, &a)| *o += a * b);
        }
        return out;
    }
    let mut out = vec![0.0f32; m * n];
    for (a, b) in a.chunks_exact(m).zip(b.chunks_exact(n)) {
        for (&a, out) in a.iter().zip(out.chunks_exact_mut(n)) {
            out.iter_mut().zip(b).for_each(|(o, &b)| *o += a * b);
        }
    }
    out
}

/// `a·wᵀ`: `a` `[rows, n]`, `w` `[m, n]`; returns `[rows, m]`.
fn matmul_nt(a: &[f32], n: usize, w: &[f32], m: usize) -> Vec<f32> {
    // `w` is `[m, n]`: its transpose `[n, m]` makes this an ordinary `matmul`.
    let mut wt = vec![0.0f32; n * m];
    for (i, row) in w.chunks_exact(n).enumerate() {
        for (j, &x) in row.iter().enumerate() {
            wt[j * m + i] = x;
        }
    }
    matmul(a, n, &wt, m)
}

fn add_bias(z: &mut [f32], b: &[f32]) {
    for row in z.chunks_exact_mut(b.len()) {
        row.iter_mut().zip(b).for_each(|(z, b)| *z += b);
    }
}

/// The sum over rows of `x` (`[rows, cols]`): a bias's gradient.
fn column_sums(x: &[f32], cols: usize) -> Vec<f32> {
    let mut sums = vec![0.0f32; cols];
    for row in x.chunks_exact(cols) {
        sums.iter_mut().zip(row).for_each(|(s, x)| *s += x);
    }
    sums
}

fn vector(values: Vec<f32>, device: &Device) -> Tensor<1> {
    let len = values.len();
    Tensor::from_data(TensorData::new(values, [len]), device)
}

impl HostOutput {
    /// The loss and logits as the tensors [`crate::classifier::BinaryOutput`] holds, and the
    /// gradients.
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

/// Labels as the floats the loss takes.
pub(crate) fn targets(labels: &Tensor<1, Int>) -> Vec<f32> {
    labels
        .to_data()
        .convert::<f32>()
        .try_into_vec()
        .expect("converted to f32 above")
}
