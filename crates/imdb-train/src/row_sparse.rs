//! A row-sparse gradient of the first kernel, carried through Burn's `Gradients` as an ordinary
//! float tensor.
//!
//! A batch touches part of `W₀`'s rows (measured: 75% of the seed's 10,000, 39% of 100,000 uni-
//! and bigrams, less for larger vocabularies), and the others get exactly zero gradient. Burn
//! stores one dense tensor per parameter, so the host step ([`crate::host_step`]) stores a `[k, 1 + units]`
//! tensor instead: one line per
//! touched row, its row index in column 0 (exact in f32 up to 2²⁴ = 16,777,216 rows) and its
//! gradient in the other columns. Only [`crate::rmsprop::LazyRmsProp`] reads it; the plan
//! ([`crate::ExecutionPlan`]) gives `W₀` that optimizer whenever the host step writes this form, and
//! [`decode`] refuses any other shape so a mismatch fails loudly instead of training wrongly.

use burn::tensor::TensorData;
use imdb_model::SparseBatch;

use crate::first_layer::scatter_add;

/// The largest row index column 0 holds exactly.
const MAX_ROWS: usize = 1 << 24;

/// The transpose of the gather-sum, for the rows `input` touches only: row `i` of the result's
/// gradient part is `s_i·Σ_{rows r holding i} grad_z[r]` (`s_i = 1` without `scale`). Rows appear in increasing order.
///
/// # Shapes
///
/// - `grad_z`: `[batch, units]`, row-major
/// - returns: `[k, 1 + units]`, `k` the number of distinct ids in `input`
///
/// # Panics
///
/// If `input` is wider than 2²⁴ columns (the row index would not be exact).
pub(crate) fn gradient(
    grad_z: &[f32],
    units: usize,
    input: &SparseBatch,
    scale: Option<&[f32]>,
) -> TensorData {
    let width = input.width();
    assert!(
        width <= MAX_ROWS,
        "a row-sparse gradient holds row indices below {MAX_ROWS}, got a width of {width}"
    );
    // slot[i]: the line of row i in the result. Lines follow the row order, so the optimizer
    // then walks W₀ and its velocity forwards (which the hardware prefetcher follows) instead of
    // jumping about them in first-touched order: a width-sized map, three passes, no sort.
    const UNTOUCHED: u32 = u32::MAX;
    let mut slot = vec![UNTOUCHED; width];
    for &i in input.indices() {
        slot[i as usize] = 0;
    }
    let mut k = 0;
    for s in slot.iter_mut().filter(|s| **s != UNTOUCHED) {
        *s = k as u32;
        k += 1;
    }
    // Sums in lines of exactly `units` floats (vector adds), then packed behind their indices.
    let mut sums = vec![0.0f32; k * units];
    scatter_add(grad_z, units, input, &mut sums, |i| {
        slot[i as usize] as usize
    });
    let line = 1 + units;
    let mut out = Vec::with_capacity(k * line);
    let rows = slot.iter().enumerate().filter(|(_, s)| **s != UNTOUCHED);
    for ((i, _), sum) in rows.zip(sums.chunks_exact(units)) {
        out.push(i as f32);
        match scale {
            // The input weight of row i multiplies every gradient of that row.
            Some(s) => out.extend(sum.iter().map(|g| g * s[i])),
            None => out.extend_from_slice(sum),
        }
    }
    TensorData::new(out, [k, line])
}

/// The touched rows of a [`gradient`]: `(row index, gradient of that row)`.
///
/// # Panics
///
/// If `data` is not `[k, 1 + units]`, or a row index is not a whole number below `width`: a
/// dense gradient reached the lazy optimizer, which the plan never arranges.
pub(crate) fn decode(
    data: &[f32],
    shape: [usize; 2],
    width: usize,
    units: usize,
) -> impl Iterator<Item = (usize, &[f32])> {
    assert_eq!(
        shape[1],
        1 + units,
        "the lazy RMSprop needs a row-sparse [k, 1 + {units}] gradient of a [{width}, {units}] kernel, got {shape:?}"
    );
    data.chunks_exact(1 + units).map(move |line| {
        let row = line[0];
        assert!(
            row >= 0.0 && row.fract() == 0.0 && (row as usize) < width,
            "row index {row} of a row-sparse gradient is not below {width}"
        );
        (row as usize, &line[1..])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed: rows {1, 3}, {3}, {} with gradients [1, 2], [10, 20], [100, 200].
    #[test]
    fn gradient_sums_the_rows_of_each_touched_id() {
        let input = SparseBatch::from_rows([vec![3u32, 1], vec![3], vec![]], 5).unwrap();
        let grad_z = [1.0, 2.0, 10.0, 20.0, 100.0, 200.0];
        let data = gradient(&grad_z, 2, &input, None);
        assert_eq!(data.shape().dims::<2>(), [2, 3]);
        let values: Vec<f32> = data.try_to_vec::<f32>().unwrap();
        assert_eq!(values, [1.0, 1.0, 2.0, 3.0, 11.0, 22.0]);
        let decoded: Vec<(usize, Vec<f32>)> = decode(&values, [2, 3], 5, 2)
            .map(|(i, g)| (i, g.to_vec()))
            .collect();
        assert_eq!(decoded, [(1, vec![1.0, 2.0]), (3, vec![11.0, 22.0])]);
    }

    #[test]
    #[should_panic(expected = "needs a row-sparse [k, 1 + 2] gradient")]
    fn decode_refuses_a_dense_gradient() {
        let _ = decode(&[0.0; 10], [5, 2], 5, 2).count();
    }

    #[test]
    #[should_panic(expected = "row index 7 of a row-sparse gradient is not below 5")]
    fn decode_refuses_a_row_outside_the_kernel() {
        let _ = decode(&[7.0, 1.0, 1.0], [1, 3], 5, 2).count();
    }
}
