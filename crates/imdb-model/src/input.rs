//! What [`Mlp::forward`](crate::Mlp::forward) takes: dense rows, or the word ids of each row.
//!
//! A multi-hot row `x` with ones at word ids `i₁ … iₖ` gives `x·W₀ = W₀[i₁] + … + W₀[iₖ]`, so the
//! first layer only needs the kernel rows of the words present instead of a `[batch, input]`
//! matmul that is almost all zeros. The dense tensor has a 1.0 for a word however often it
//! occurs, so each row must list an id once: [`SparseBatch`] sorts and deduplicates on the host.

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::error::{ModelError, Result};

/// The input of [`Mlp::forward`](crate::Mlp::forward): the same `[batch, input]` multi-hot matrix
/// either as a dense tensor or as each row's word ids. Both give the same logits and gradients up
/// to float rounding; `From` impls let `forward` take either directly.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum MlpInput {
    /// `[batch, input]` floats (a multi-hot matrix, or any real features).
    Dense(Tensor<2>),
    /// The ids of the ones of each row, on the host; moved to the model's device by `forward`.
    Sparse(SparseBatch),
}

impl From<Tensor<2>> for MlpInput {
    fn from(x: Tensor<2>) -> Self {
        MlpInput::Dense(x)
    }
}

impl From<SparseBatch> for MlpInput {
    fn from(batch: SparseBatch) -> Self {
        MlpInput::Sparse(batch)
    }
}

/// A batch of multi-hot rows in compressed sparse row form, on the host: the sparse
/// [`MlpInput`].
///
/// Row `r` holds the ids `indices()[offsets()[r]..offsets()[r + 1]]`, sorted and unique, all
/// below `width`. Equivalent to a `[batch, width]` 0/1 matrix ([`to_dense`](Self::to_dense)).
/// Ids are `u32`: a batch of 512 reviews is ~60k of them, a quarter of a megabyte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SparseBatch {
    indices: Vec<u32>,
    offsets: Vec<usize>,
    width: usize,
}

impl SparseBatch {
    /// Encodes token lists as multi-hot rows of `width` columns: repeated ids in a row count
    /// once, an empty list is an all-zero row.
    ///
    /// Rows that are already sorted and distinct (as a training set reduced to word sets once
    /// up front) are copied as they are: checking costs one pass, sorting is skipped.
    ///
    /// # Errors
    ///
    /// [`ModelError::IndexOutOfRange`] for an id ≥ `width` (Keras's `num_words` filtering must
    /// happen before this, when tokens are mapped to ids).
    pub fn from_rows<R>(rows: R, width: usize) -> Result<Self>
    where
        R: IntoIterator,
        R::Item: AsRef<[u32]>,
    {
        let mut indices = Vec::new();
        let mut offsets = vec![0];
        for (row, ids) in rows.into_iter().enumerate() {
            let ids = ids.as_ref();
            let start = indices.len();
            indices.extend_from_slice(ids);
            let row_ids = &mut indices[start..];
            // Without the early exit of `windows(2).all`, the check compiles to vector compares:
            // rows almost always pass it (the training crate's batches are word sets).
            let increasing = row_ids
                .iter()
                .zip(row_ids.iter().skip(1))
                .fold(true, |ok, (a, b)| ok & (a < b));
            if !increasing {
                row_ids.sort_unstable();
                let unique = dedup_sorted(row_ids);
                indices.truncate(start + unique);
            }
            // Sorted now, so the last id is the largest: no pass to find it. The loop that
            // names the culprit (the first in the row as given) only runs on bad input.
            if indices[start..]
                .last()
                .is_some_and(|&m| m as usize >= width)
            {
                let index = ids.iter().copied().find(|&i| i as usize >= width);
                return Err(ModelError::IndexOutOfRange {
                    row,
                    index: u64::from(index.expect("the largest id is out of range")),
                    width,
                });
            }
            offsets.push(indices.len());
        }
        Ok(Self {
            indices,
            offsets,
            width,
        })
    }

    /// Number of rows (examples).
    pub fn batch_size(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Number of columns of the equivalent dense matrix.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Number of ones in the equivalent dense matrix.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// The ids of all rows, concatenated.
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    /// `batch_size() + 1` positions into [`indices`](Self::indices), starting at 0.
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// The sorted, unique ids of row `r`.
    ///
    /// # Panics
    ///
    /// If `r >= batch_size()`.
    pub fn row(&self, r: usize) -> &[u32] {
        &self.indices[self.offsets[r]..self.offsets[r + 1]]
    }

    /// The equivalent dense multi-hot matrix.
    ///
    /// # Shapes
    ///
    /// - returns: `[batch_size, width]`, 1.0 where a word occurs, else 0.0
    pub fn to_dense(&self, device: &Device) -> Tensor<2> {
        let mut buf = vec![0.0f32; self.batch_size() * self.width];
        for r in 0..self.batch_size() {
            for &i in self.row(r) {
                buf[r * self.width + i as usize] = 1.0;
            }
        }
        Tensor::from_data(
            TensorData::new(buf, [self.batch_size(), self.width]),
            device,
        )
    }

    /// For every one of the dense matrix, its column (word id) and its row (example), both
    /// `[nnz]`, on `device`: what `select` / `select_assign` need.
    pub(crate) fn to_device_ids(&self, device: &Device) -> (Tensor<1, Int>, Tensor<1, Int>) {
        let nnz = self.nnz();
        let indices: Vec<i64> = self.indices.iter().map(|&i| i64::from(i)).collect();
        let mut rows = Vec::with_capacity(nnz);
        for r in 0..self.batch_size() {
            let len = self.offsets[r + 1] - self.offsets[r];
            rows.extend(core::iter::repeat_n(r as i64, len));
        }
        (
            Tensor::from_data(TensorData::new(indices, [nnz]), device),
            Tensor::from_data(TensorData::new(rows, [nnz]), device),
        )
    }
}

// Moves the unique values of a sorted slice to its front and returns their count.
fn dedup_sorted(ids: &mut [u32]) -> usize {
    if ids.is_empty() {
        return 0;
    }
    let mut unique = 1;
    for k in 1..ids.len() {
        if ids[k] != ids[unique - 1] {
            ids[unique] = ids[k];
            unique += 1;
        }
    }
    unique
}
