//! Bag-of-indices input: the first layer as a sum of kernel rows.
//!
//! A multi-hot row `x` with ones at word ids `i₁ … iₖ` gives `x·W₀ = W₀[i₁] + … + W₀[iₖ]`, so the
//! first layer only needs the rows of the words present instead of a `[batch, input]` matmul that
//! is almost all zeros. The dense tensor has a 1.0 for a word however often it occurs, so each row
//! must list an id once: [`MultiHotCsr`] sorts and deduplicates on the host, and [`SparseBatch`]
//! can only be made from it.

use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor, TensorData};

use crate::error::{ModelError, Result};
use crate::mlp::Mlp;

/// A batch of multi-hot rows in compressed sparse row form, on the host.
///
/// Row `r` holds the ids `indices()[offsets()[r]..offsets()[r + 1]]`, sorted and unique, all
/// below `width`. Equivalent to a `[batch, width]` 0/1 matrix ([`to_dense`](Self::to_dense)).
/// Ids are `u32`: a batch of 512 reviews is ~60k of them, a quarter of a megabyte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultiHotCsr {
    indices: Vec<u32>,
    offsets: Vec<usize>,
    width: usize,
}

impl MultiHotCsr {
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
            // `max` vectorises; the loop that names the culprit only runs on bad input.
            if ids
                .iter()
                .copied()
                .max()
                .is_some_and(|m| m as usize >= width)
            {
                let index = ids.iter().copied().find(|&i| i as usize >= width);
                return Err(ModelError::IndexOutOfRange {
                    row,
                    index: u64::from(index.expect("max is out of range")),
                    width,
                });
            }
            let start = indices.len();
            indices.extend_from_slice(ids);
            let row_ids = &mut indices[start..];
            if !row_ids.windows(2).all(|pair| pair[0] < pair[1]) {
                row_ids.sort_unstable();
                let unique = dedup_sorted(row_ids);
                indices.truncate(start + unique);
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

    /// Uploads the batch to `device` for [`Mlp::forward_sparse`].
    ///
    /// Use the model's device: the autodiff device for a training step, the plain one for
    /// inference on a [`valid()`](burn::module::Module::valid) model.
    pub fn to_batch(&self, device: &Device) -> SparseBatch {
        let nnz = self.nnz();
        let indices: Vec<i64> = self.indices.iter().map(|&i| i64::from(i)).collect();
        let mut rows = Vec::with_capacity(nnz);
        for r in 0..self.batch_size() {
            let len = self.offsets[r + 1] - self.offsets[r];
            rows.extend(core::iter::repeat_n(r as i64, len));
        }
        SparseBatch {
            indices: Tensor::from_data(TensorData::new(indices, [nnz]), device),
            rows: Tensor::from_data(TensorData::new(rows, [nnz]), device),
            batch_size: self.batch_size(),
            width: self.width,
            nnz,
        }
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

/// A [`MultiHotCsr`] on a device, ready for [`Mlp::forward_sparse`].
///
/// Holds, for each one of the dense matrix, its column (word id) and its row (example); both
/// `[nnz]`. Made only by [`MultiHotCsr::to_batch`], so ids are unique per row and in range.
#[derive(Clone, Debug)]
pub struct SparseBatch {
    indices: Tensor<1, Int>,
    rows: Tensor<1, Int>,
    batch_size: usize,
    width: usize,
    nnz: usize,
}

impl SparseBatch {
    /// Number of rows (examples).
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Number of columns of the equivalent dense matrix.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Number of ones in the equivalent dense matrix.
    pub fn nnz(&self) -> usize {
        self.nnz
    }
}

impl Mlp {
    /// Logits of a batch given as word ids; equal to [`forward`](Self::forward) on
    /// `csr.to_dense(..)` up to float rounding, gradients included.
    ///
    /// # Shapes
    ///
    /// - `input`: `batch_size` rows of ids below `width`
    /// - returns: `[batch_size, 1]` logits
    ///
    /// # Panics
    ///
    /// If `input.width()` is not the model's [`input_size`](Self::input_size).
    pub fn forward_sparse(&self, input: SparseBatch) -> Tensor<2> {
        self.forward_from_first_preactivation(self.first_preactivation_sparse(input))
    }

    /// The first hidden layer's pre-activation `x·W₀ + b₀` of a batch given as word ids.
    ///
    /// Gathers the kernel rows of the ids (`select`) and adds them per example (`select_assign`
    /// with `Add`); both have autodiff backward passes that accumulate, so a word used by several
    /// examples gets the sum of their gradients, as with the matmul.
    ///
    /// # Shapes
    ///
    /// - `input`: `batch_size` rows of ids below `width`
    /// - returns: `[batch_size, hidden[0]]`
    ///
    /// # Panics
    ///
    /// If `input.width()` is not the model's [`input_size`](Self::input_size).
    pub fn first_preactivation_sparse(&self, input: SparseBatch) -> Tensor<2> {
        let first = &self.hidden[0];
        let weight = first.weight.val();
        let [width, units] = weight.dims();
        assert_eq!(
            input.width, width,
            "sparse batch width must equal the model's input size"
        );
        let mut z = Tensor::<2>::zeros([input.batch_size, units], &weight.device());
        // Zero-length tensors are not something every backend handles. An all-empty batch has no
        // rows to add; W₀ then gets no gradient at all, where the dense path computes zeros.
        if input.nnz > 0 {
            let word_rows = weight.select(0, input.indices);
            z = z.select_assign(0, input.rows, word_rows, IndexingUpdateOp::Add);
        }
        if let Some(bias) = &first.bias {
            z = z + bias.val().unsqueeze_dim(0);
        }
        z
    }
}
