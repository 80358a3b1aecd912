//! The layers after the first, as plain loops: `z = h·W + b` forward, and its gradients.
//!
//! They are tiny (two 16-unit layers and one logit: ~0.4 MFLOP forward and backward for 512
//! reviews), so Burn's autodiff graph for them (some 25 small tensor ops a step, each allocated,
//! dispatched and recorded) cost more than the arithmetic; these loops are what the CPU step
//! runs instead.

use burn::module::ParamId;
use burn::nn::Linear;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};

use super::memory::f32_copy;
use super::width::{RowLoop, by_width};

/// A dense layer read out of the model: `z = h·W + b`, `W` `[inputs, units]` row-major.
pub(crate) struct Layer {
    weight: (ParamId, Vec<f32>),
    bias: Option<(ParamId, Vec<f32>)>,
    inputs: usize,
    units: usize,
}

impl Layer {
    /// A copy of `layer`'s weights (a few hundred floats).
    pub(crate) fn read(layer: &Linear) -> Self {
        let [inputs, units] = layer.weight.val().dims();
        Self {
            weight: (layer.weight.id, f32_copy(&layer.weight.val())),
            bias: layer.bias.as_ref().map(|b| (b.id, f32_copy(&b.val()))),
            inputs,
            units,
        }
    }

    /// The kernel's values, row-major.
    pub(crate) fn kernel(&self) -> &[f32] {
        &self.weight.1
    }

    /// `h·W + b` for the rows of `h`.
    ///
    /// # Shapes
    /// - `h`: `[rows, inputs]`; returns `[rows, units]`
    pub(crate) fn forward(&self, h: &[f32]) -> Vec<f32> {
        let mut z = matmul(h, self.inputs, &self.weight.1, self.units);
        if let Some((_, b)) = &self.bias {
            add_bias(&mut z, b);
        }
        z
    }

    /// Registers this layer's gradients given `dz` = ∂loss/∂z and its input `h`, with the L2
    /// term `2λ·W` when given, and returns ∂loss/∂h.
    ///
    /// # Shapes
    /// - `h`: `[rows, inputs]`; `dz`: `[rows, units]`; returns `[rows, inputs]`
    pub(crate) fn backward(
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

/// `x·w`: `x` `[rows, inner]`, `w` `[inner, cols]`, row-major; returns `[rows, cols]`.
fn matmul(x: &[f32], inner: usize, w: &[f32], cols: usize) -> Vec<f32> {
    if cols == 1 {
        // The output layer: one dot product per row.
        return x.chunks_exact(inner).map(|x| dot(x, w)).collect();
    }
    by_width(cols, MatMul { x, inner, w })
}

/// [`matmul`] for two or more columns.
struct MatMul<'a> {
    x: &'a [f32],
    inner: usize,
    w: &'a [f32],
}

impl RowLoop for MatMul<'_> {
    type Output = Vec<f32>;

    /// Each output row a fixed-size array the compiler keeps in vector registers.
    #[inline(always)]
    fn fixed<const C: usize>(self) -> Vec<f32> {
        let (w, _) = self.w.as_chunks::<C>();
        let mut out = Vec::with_capacity(self.x.len() / self.inner.max(1) * C);
        for x in self.x.chunks_exact(self.inner) {
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

    #[inline(always)]
    fn any(self, cols: usize) -> Vec<f32> {
        let rows = self.x.len() / self.inner.max(1);
        let mut out = vec![0.0f32; rows * cols];
        for (x, out) in self
            .x
            .chunks_exact(self.inner)
            .zip(out.chunks_exact_mut(cols))
        {
            for (&x, w) in x.iter().zip(self.w.chunks_exact(cols)) {
                out.iter_mut().zip(w).for_each(|(o, &w)| *o += x * w);
            }
        }
        out
    }
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

/// Adds `b` to every row of `z`.
pub(crate) fn add_bias(z: &mut [f32], b: &[f32]) {
    for row in z.chunks_exact_mut(b.len()) {
        row.iter_mut().zip(b).for_each(|(z, b)| *z += b);
    }
}

/// The sum over rows of `x` (`[rows, cols]`): a bias's gradient.
pub(crate) fn column_sums(x: &[f32], cols: usize) -> Vec<f32> {
    let mut sums = vec![0.0f32; cols];
    for row in x.chunks_exact(cols) {
        sums.iter_mut().zip(row).for_each(|(s, x)| *s += x);
    }
    sums
}

/// `values` as a `[len]` tensor on `device`.
pub(crate) fn vector(values: Vec<f32>, device: &Device) -> Tensor<1> {
    let len = values.len();
    Tensor::from_data(TensorData::new(values, [len]), device)
}
