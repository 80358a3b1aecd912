//! The first kernel's gradient as the rows a batch touched, and how it reaches the optimizer.
//!
//! A batch touches part of `W₀`'s rows (75% of the seed's 10,000, 39% of 100,000 uni- and
//! bigrams, less for larger vocabularies); every other row's gradient is exactly zero. A
//! [`RowSparseGradient`] holds the touched rows only: their indices as integers and their
//! gradients.
//!
//! # Why a side channel
//!
//! Burn 0.22's `GradientsParams` holds one dense tensor of its parameter's shape per parameter,
//! and Burn's `ModuleOptimizer` only calls a parameter's optimizer when that parameter has an
//! entry there. So the step deposits the typed gradient in [`SparseGradients`], keyed by `W₀`'s
//! `ParamId`, and registers an empty `[0, units]` tensor as `W₀`'s entry in `GradientsParams`:
//! a marker that makes Burn call the lazy optimizer ([`super::optim::LazyRmsProp`]), which was
//! built for that `ParamId` and takes the gradient from the channel. The marker carries nothing,
//! and the lazy optimizer refuses anything but the marker, so a dense gradient can never be read
//! as a sparse one.

use burn::module::ParamId;
use burn::tensor::{Device, Tensor, TensorData};
use imdb_model::SparseBatch;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::gather::scatter_add;

/// The gradient of a `[width, units]` kernel on the rows a batch touched; every other row's
/// gradient is zero.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RowSparseGradient {
    /// The touched rows, increasing.
    rows: Vec<u32>,
    /// Their gradients, `rows.len() × units`, row-major.
    values: Vec<f32>,
    units: usize,
}

impl RowSparseGradient {
    /// The transpose of the gather-sum, for the rows `input` touches only: row `i`'s gradient is
    /// `s_i·Σ_{rows r holding i} grad_z[r]` (`s_i = 1` without `scale`).
    ///
    /// # Shapes
    /// - `grad_z`: `[batch_size, units]`; `scale`: `[width]`
    pub(crate) fn of_batch(
        grad_z: &[f32],
        units: usize,
        input: &SparseBatch,
        scale: Option<&[f32]>,
    ) -> Self {
        // line[i]: where row i's gradient goes. Lines follow the row order, so the optimizer
        // then walks W₀ and its velocity forwards (which the hardware prefetcher follows)
        // instead of jumping about them in first-touched order: a width-sized map, no sort.
        const UNTOUCHED: u32 = u32::MAX;
        let mut line = vec![UNTOUCHED; input.width()];
        for &i in input.indices() {
            line[i as usize] = 0;
        }
        let mut rows = Vec::new();
        for (i, l) in line.iter_mut().enumerate() {
            if *l != UNTOUCHED {
                *l = rows.len() as u32;
                rows.push(i as u32);
            }
        }
        // Sums in lines of exactly `units` floats (vector adds).
        let mut values = vec![0.0f32; rows.len() * units];
        scatter_add(grad_z, units, input, &mut values, |i| {
            line[i as usize] as usize
        });
        if let Some(s) = scale {
            // The input weight of row i multiplies every gradient of that row.
            for (&i, g) in rows.iter().zip(values.chunks_exact_mut(units)) {
                g.iter_mut().for_each(|g| *g *= s[i as usize]);
            }
        }
        Self {
            rows,
            values,
            units,
        }
    }

    /// A gradient of the given rows (increasing, distinct) and their values.
    #[cfg(test)]
    pub(crate) fn from_parts(rows: Vec<u32>, values: Vec<f32>, units: usize) -> Self {
        assert!(rows.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(values.len(), rows.len() * units);
        Self {
            rows,
            values,
            units,
        }
    }

    /// The touched rows, increasing.
    pub(crate) fn rows(&self) -> &[u32] {
        &self.rows
    }

    /// The gradients of [`rows`](Self::rows), `units` floats each, row-major.
    pub(crate) fn values(&self) -> &[f32] {
        &self.values
    }

    /// Floats per row.
    pub(crate) fn units(&self) -> usize {
        self.units
    }

    /// The marker registered as the kernel's entry in Burn's `GradientsParams` (see the module
    /// docs): an empty `[0, units]` tensor.
    pub(crate) fn marker(&self, device: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(Vec::<f32>::new(), [0, self.units]), device)
    }
}

/// Row-sparse gradients on their way from the training step to the optimizer, by parameter.
/// Clones share the channel: the step and the optimizer each hold one.
#[derive(Clone, Debug, Default)]
pub(crate) struct SparseGradients(Arc<Mutex<HashMap<ParamId, RowSparseGradient>>>);

impl SparseGradients {
    /// Hands `gradient` over for the parameter `id` (replacing one not taken, which the step
    /// and the optimizer, called in turn, never leave).
    pub(crate) fn put(&self, id: ParamId, gradient: RowSparseGradient) {
        self.lock().insert(id, gradient);
    }

    /// The gradient handed over for `id`, if any.
    pub(crate) fn take(&self, id: ParamId) -> Option<RowSparseGradient> {
        self.lock().remove(&id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ParamId, RowSparseGradient>> {
        // Nothing panics while holding it; a poisoned map still holds whole gradients.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed: rows {1, 3}, {3}, {} with gradients [1, 2], [10, 20], [100, 200]; with
    /// input weights s = [_, 2, _, -1, _].
    #[test]
    fn a_row_sparse_gradient_sums_the_rows_of_each_touched_id() {
        let input = SparseBatch::from_rows([vec![3u32, 1], vec![3], vec![]], 5).unwrap();
        let grad_z = [1.0, 2.0, 10.0, 20.0, 100.0, 200.0];
        let g = RowSparseGradient::of_batch(&grad_z, 2, &input, None);
        assert_eq!(g.rows(), [1, 3]);
        assert_eq!(g.values(), [1.0, 2.0, 11.0, 22.0]);
        let s = [9.0, 2.0, 9.0, -1.0, 9.0];
        let weighted = RowSparseGradient::of_batch(&grad_z, 2, &input, Some(&s));
        assert_eq!(weighted.values(), [2.0, 4.0, -11.0, -22.0]);
        assert_eq!(weighted.marker(&Device::flex()).dims(), [0, 2]);
    }

    /// Row indices are integers: a kernel wider than f32 counts exactly (2²⁴ + 1 rows).
    #[test]
    fn rows_beyond_two_to_the_24_keep_their_index() {
        let width = (1 << 24) + 2;
        let input = SparseBatch::from_rows([vec![(1u32 << 24) + 1]], width).unwrap();
        let g = RowSparseGradient::of_batch(&[0.5], 1, &input, None);
        assert_eq!(g.rows(), [(1 << 24) + 1]);
    }

    #[test]
    fn the_channel_hands_each_gradient_over_once() {
        let channel = SparseGradients::default();
        let (a, b) = (ParamId::new(), ParamId::new());
        let input = SparseBatch::from_rows([vec![0u32]], 1).unwrap();
        let g = RowSparseGradient::of_batch(&[1.0], 1, &input, None);
        channel.clone().put(a, g.clone());
        assert_eq!(channel.take(b), None);
        assert_eq!(channel.take(a), Some(g));
        assert_eq!(channel.take(a), None);
    }
}
