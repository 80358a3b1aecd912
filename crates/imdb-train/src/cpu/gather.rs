//! The first layer's two loops, `x·W₀` as a gather-sum and its transpose as a scatter-add,
//! compiled for the CPU's vector width ([`vectorized`]) and each row width ([`by_width`]).
//!
//! - forward, a gather-sum: `z[r] = Σ_{i ∈ row r} s_i·W₀[i]` (`nnz × units` adds, reading only
//!   the kernel rows of words that occur, straight from the tensor's buffer: no copy of `W₀`;
//!   `s_i` the model's input weights, 1 without them);
//! - backward, a scatter-add: `∂W₀[i] = Σ_{rows r holding i} ∂z[r]`, into a line per touched row
//!   ([`super::sparse_grad`]) or into a dense `[width, units]` gradient when an L2 penalty gives
//!   every row of `W₀` a gradient anyway; then [`scale_lines`] applies the input weights.

use imdb_model::SparseBatch;

use super::memory::vectorized;
use super::width::{RowLoop, by_width};

/// `out[r] = Σ_{i ∈ row r} s_i·kernel[i]`, rows of `units` floats (`s_i = 1` without `scale`).
///
/// # Shapes
/// - `kernel`: `[width, units]`; `scale`: `[width]`; returns `[batch_size, units]`
pub(crate) fn gather_sum(
    kernel: &[f32],
    units: usize,
    input: &SparseBatch,
    scale: Option<&[f32]>,
) -> Vec<f32> {
    let mut out = vec![0.0f32; input.batch_size() * units];
    vectorized(GatherSum {
        kernel,
        units,
        input,
        scale,
        out: &mut out,
    });
    out
}

/// [`gather_sum`]'s loops.
struct GatherSum<'a> {
    kernel: &'a [f32],
    units: usize,
    input: &'a SparseBatch,
    scale: Option<&'a [f32]>,
    out: &'a mut [f32],
}

impl pulp::WithSimd for GatherSum<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        by_width(self.units, self)
    }
}

impl RowLoop for GatherSum<'_> {
    type Output = ();

    #[inline(always)]
    fn fixed<const U: usize>(self) {
        let Self {
            kernel,
            input,
            scale,
            out,
            ..
        } = self;
        // The unweighted loop is its own instance, without the multiplies.
        match scale {
            None => gather_rows::<U>(kernel, out, input, |_| 1.0),
            Some(s) => gather_rows::<U>(kernel, out, input, |i| s[i]),
        }
    }

    #[inline(always)]
    fn any(self, units: usize) {
        let Self {
            kernel,
            input,
            scale,
            out,
            ..
        } = self;
        for (r, acc) in out.chunks_exact_mut(units).enumerate() {
            for &i in input.row(r) {
                let start = i as usize * units;
                let w = scale.map_or(1.0, |s| s[i as usize]);
                for (a, k) in acc.iter_mut().zip(&kernel[start..start + units]) {
                    *a += w * k;
                }
            }
        }
    }
}

#[inline(always)]
fn gather_rows<const U: usize>(
    kernel: &[f32],
    out: &mut [f32],
    input: &SparseBatch,
    scale: impl Fn(usize) -> f32,
) {
    let (kernel, _) = kernel.as_chunks::<U>();
    let (out, _) = out.as_chunks_mut::<U>();
    for (r, acc) in out.iter_mut().enumerate() {
        // A local sum lives in vector registers; adding into `acc` in place compiles to a
        // load-add-store per float. `scale` is the constant 1 for multi-hot input, which the
        // compiler folds away.
        let mut sum = [0.0f32; U];
        for &i in input.row(r) {
            let (row, w) = (&kernel[i as usize], scale(i as usize));
            for (a, k) in sum.iter_mut().zip(row) {
                *a += w * k;
            }
        }
        *acc = sum;
    }
}

/// The gather-sum's transpose: adds `grad_z[r]` into line `line_of(i)` of `out` (lines of
/// `units` floats) for every word `i` of row `r`. The dense gradient has a line per row of `W₀`
/// (`line_of` the identity); the row-sparse one a line per touched row.
///
/// # Shapes
/// - `grad_z`: `[batch_size, units]`; `out`: `[lines, units]`
pub(crate) fn scatter_add<F: Fn(u32) -> usize>(
    grad_z: &[f32],
    units: usize,
    input: &SparseBatch,
    out: &mut [f32],
    line_of: F,
) {
    vectorized(ScatterAdd {
        grad_z,
        units,
        input,
        out,
        line_of,
    });
}

/// [`scatter_add`]'s loops.
struct ScatterAdd<'a, F> {
    grad_z: &'a [f32],
    units: usize,
    input: &'a SparseBatch,
    out: &'a mut [f32],
    line_of: F,
}

impl<F: Fn(u32) -> usize> pulp::WithSimd for ScatterAdd<'_, F> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        by_width(self.units, self)
    }
}

impl<F: Fn(u32) -> usize> RowLoop for ScatterAdd<'_, F> {
    type Output = ();

    #[inline(always)]
    fn fixed<const U: usize>(self) {
        let (out, _) = self.out.as_chunks_mut::<U>();
        let (grad_z, _) = self.grad_z.as_chunks::<U>();
        for (r, g) in grad_z.iter().enumerate() {
            let g: [f32; U] = *g; // in registers for the whole row
            for &i in self.input.row(r) {
                add_assign(&mut out[(self.line_of)(i)], &g);
            }
        }
    }

    #[inline(always)]
    fn any(self, units: usize) {
        for (r, g) in self.grad_z.chunks_exact(units).enumerate() {
            for &i in self.input.row(r) {
                let start = (self.line_of)(i) * units;
                add_assign(&mut self.out[start..start + units], g);
            }
        }
    }
}

/// Multiplies line `i` of `out` (lines of `units` floats) by `scale[i]`: the input weights of a
/// dense `W₀` gradient, applied to the sums (`s_i` is the same for every review holding `i`).
/// A pass over the whole gradient.
pub(crate) fn scale_lines(out: &mut [f32], units: usize, scale: &[f32]) {
    vectorized(ScaleLines { out, units, scale });
}

/// [`scale_lines`]'s loop.
struct ScaleLines<'a> {
    out: &'a mut [f32],
    units: usize,
    scale: &'a [f32],
}

impl pulp::WithSimd for ScaleLines<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        by_width(self.units, self)
    }
}

impl RowLoop for ScaleLines<'_> {
    type Output = ();

    // Fixed-size lines: two vector multiplies a line, where a loop of run-time length did not
    // vectorise.
    #[inline(always)]
    fn fixed<const U: usize>(self) {
        let (out, _) = self.out.as_chunks_mut::<U>();
        for (line, &s) in out.iter_mut().zip(self.scale) {
            for g in line.iter_mut() {
                *g *= s;
            }
        }
    }

    #[inline(always)]
    fn any(self, units: usize) {
        for (line, &s) in self.out.chunks_exact_mut(units).zip(self.scale) {
            line.iter_mut().for_each(|g| *g *= s);
        }
    }
}

#[inline(always)]
fn add_assign(acc: &mut [f32], x: &[f32]) {
    for (a, b) in acc.iter_mut().zip(x) {
        *a += b;
    }
}

// The AVX2 level exists on x86-64 only.
#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::cpu::memory::widest;
    use pulp::{Simd, WithSimd};
    use rand::{RngExt, SeedableRng};

    /// A batch over `width` ids with repeated, empty and one-word rows, and random floats of
    /// mixed magnitudes (so that a reordered sum would round differently).
    fn case(width: u32, units: usize, seed: u64) -> (SparseBatch, Vec<f32>, Vec<f32>, Vec<f32>) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let rows: Vec<Vec<u32>> = (0..37)
            .map(|r| match r % 9 {
                0 => Vec::new(),
                1 => vec![rng.random_range(0..width)],
                _ => (0..rng.random_range(2..60))
                    .map(|_| rng.random_range(0..width))
                    .collect(),
            })
            .collect();
        let input = SparseBatch::from_rows(&rows, width as usize).unwrap();
        let mut floats = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| rng.random_range(-1.0f32..1.0) * 10f32.powi(rng.random_range(-6..3)))
                .collect()
        };
        let kernel = floats(width as usize * units);
        let scale = floats(width as usize);
        let grad_z = floats(input.batch_size() * units);
        (input, kernel, scale, grad_z)
    }

    /// The gather-sum and the scatter-add compiled for AVX2 give the very floats of the SSE2
    /// baseline (bitwise), for the specialised widths and the general loop, with and without
    /// input weights. What makes the run-time choice of width safe for reproducibility.
    #[test]
    fn every_vector_width_gives_the_same_floats() {
        let Some(v3) = widest() else { return };
        for (units, seed) in [(16, 1), (32, 2), (7, 3)] {
            let (input, kernel, scale, grad_z) = case(300, units, seed);
            for scale in [None, Some(scale.as_slice())] {
                let mut sums = [vec![0.0; input.batch_size() * units], Vec::new()];
                sums[1] = sums[0].clone();
                let [base, wide] = &mut sums;
                let gather = |out| GatherSum {
                    kernel: &kernel,
                    units,
                    input: &input,
                    scale,
                    out,
                };
                gather(base).with_simd(pulp::Scalar::new());
                Simd::vectorize(v3, gather(wide));
                assert_eq!(bits(base), bits(wide), "gather-sum, {units} units");
            }
            let mut grads = [vec![0.0; 300 * units], vec![0.0; 300 * units]];
            let [base, wide] = &mut grads;
            let scatter = |out| ScatterAdd {
                grad_z: &grad_z,
                units,
                input: &input,
                out,
                line_of: |i| i as usize,
            };
            scatter(base).with_simd(pulp::Scalar::new());
            Simd::vectorize(v3, scatter(wide));
            assert_eq!(bits(base), bits(wide), "scatter-add, {units} units");
        }
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }
}
