//! Batching reviews into model inputs for Burn: kept beside the training that feeds them, so
//! the data crate needs no model and the model crate no data.

use crate::cpu::memory::prefetch;
use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{Device, Int, Tensor, TensorData};
use imdb_data::ImdbItem;
use imdb_model::{MlpInput, SparseBatch};
use serde::{Deserialize, Serialize};

/// A batch of reviews ready for a model.
#[derive(Clone, Debug)]
pub struct ImdbBatch {
    /// The reviews, in the representation the batcher produced.
    pub inputs: MlpInput,
    /// Labels, `[batch]`: 1 = positive, 0 = negative.
    pub targets: Tensor<1, Int>,
}

/// Which [`MlpInput`] a [`MultiHotBatcher`] produces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    /// [`MlpInput::Sparse`]: memory and work proportional to the words present (~1.2% of a
    /// 10,000-word row). The default.
    #[default]
    Sparse,
    /// [`MlpInput::Dense`]: the seed notebook's dense vectors.
    Dense,
}

impl InputKind {
    /// Both kinds, sparse first.
    pub const ALL: [InputKind; 2] = [InputKind::Sparse, InputKind::Dense];

    /// `"sparse"` or `"dense"`, as in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            InputKind::Sparse => "sparse",
            InputKind::Dense => "dense",
        }
    }
}

impl std::fmt::Display for InputKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for InputKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        InputKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown input kind {s:?}: expected \"sparse\" or \"dense\""))
    }
}

/// Builds multi-hot batches: the seed notebook's `vectorize_sequences`, densely or as word ids.
#[derive(Clone, Debug)]
pub struct MultiHotBatcher {
    num_words: usize,
    kind: InputKind,
}

impl MultiHotBatcher {
    /// A batcher for indices below `num_words` (the data's [`imdb_data::Imdb::vocabulary_width`]).
    pub fn new(num_words: usize, kind: InputKind) -> Self {
        Self { num_words, kind }
    }

    /// Width of the vectors.
    pub fn num_words(&self) -> usize {
        self.num_words
    }

    /// What the batches hold.
    pub fn kind(&self) -> InputKind {
        self.kind
    }

    /// The batch as one row-major buffer of `n × num_words` floats, plus the labels.
    ///
    /// # Panics
    /// If a token is `>= num_words`: the data was encoded for a wider vocabulary than this batcher's.
    pub fn multi_hot<'a>(
        &self,
        reviews: impl IntoIterator<Item = (&'a [u32], u8)>,
    ) -> (Vec<f32>, Vec<i64>) {
        let width = self.num_words;
        let mut buf = Vec::new();
        let mut labels = Vec::new();
        for (tokens, label) in reviews {
            let row = buf.len();
            buf.resize(row + width, 0.0);
            for &t in tokens {
                let slot = buf[row..].get_mut(t as usize).unwrap_or_else(|| {
                    panic!("token {t} does not fit a {width}-wide multi-hot vector: encode with num_words <= {width}")
                });
                *slot = 1.0;
            }
            labels.push(i64::from(label));
        }
        (buf, labels)
    }

    /// Builds a batch straight from borrowed reviews (no per-review allocation), on `device`.
    ///
    /// Sparse batches stay in the CPU's memory (the plan decides where the first layer runs); rows that
    /// are already sorted and distinct ([`imdb_data::ImdbDataset::word_sets`]) are copied, others
    /// are sorted here.
    ///
    /// # Panics
    /// If a token is `>= num_words` (see [`multi_hot`](Self::multi_hot)).
    pub fn batch_reviews<'a>(
        &self,
        reviews: impl IntoIterator<Item = (&'a [u32], u8)>,
        device: &Device,
    ) -> ImdbBatch {
        self.prepare(reviews).into_batch(device)
    }

    /// [`batch_reviews`](Self::batch_reviews) but the tensors, so
    /// another thread can build the next batch while the current one trains.
    ///
    /// # Panics
    /// If a token is `>= num_words` (see [`multi_hot`](Self::multi_hot)).
    pub(crate) fn prepare<'a>(
        &self,
        reviews: impl IntoIterator<Item = (&'a [u32], u8)>,
    ) -> PreparedBatch {
        let (inputs, labels) = match self.kind {
            InputKind::Dense => {
                let (buf, labels) = self.multi_hot(reviews);
                let width = self.num_words;
                (PreparedInputs::Dense { buf, width }, labels)
            }
            InputKind::Sparse => {
                let (rows, labels): (Vec<&[u32]>, Vec<i64>) = reviews
                    .into_iter()
                    .map(|(tokens, label)| (tokens, i64::from(label)))
                    .unzip();
                // A shuffled epoch reads the reviews in random order, so each row's first load
                // would wait on memory: ask for the rows a few ahead while copying this one.
                let rows = rows.iter().enumerate().map(|(k, &tokens)| {
                    if let Some(ahead) = rows.get(k + PREFETCH_ROWS_AHEAD) {
                        prefetch(ahead);
                    }
                    tokens
                });
                let width = self.num_words;
                let csr = SparseBatch::from_rows(rows, width)
                    .unwrap_or_else(|e| panic!("{e}: encode with num_words <= {width}"));
                (PreparedInputs::Sparse(csr), labels)
            }
        };
        PreparedBatch { inputs, labels }
    }
}

/// How many rows ahead [`MultiHotBatcher::prepare`] asks for a sparse row: a few row copies
/// (~130 ids each for 10,000 words) cover a load from memory.
const PREFETCH_ROWS_AHEAD: usize = 4;

/// A batch before its tensors exist: see [`MultiHotBatcher::prepare`].
#[derive(Clone, Debug)]
pub(crate) struct PreparedBatch {
    inputs: PreparedInputs,
    labels: Vec<i64>,
}

#[derive(Clone, Debug)]
enum PreparedInputs {
    Dense { buf: Vec<f32>, width: usize },
    Sparse(SparseBatch),
}

impl PreparedBatch {
    /// Number of reviews.
    pub(crate) fn len(&self) -> usize {
        self.labels.len()
    }

    /// Makes the batch's tensors on `device` (sparse inputs stay in the CPU's memory).
    pub(crate) fn into_batch(self, device: &Device) -> ImdbBatch {
        let n = self.labels.len();
        let inputs = match self.inputs {
            PreparedInputs::Dense { buf, width } => {
                let x = Tensor::from_data(TensorData::new(buf, [n, width]), device);
                MlpInput::Dense(x)
            }
            PreparedInputs::Sparse(csr) => MlpInput::Sparse(csr),
        };
        let targets = Tensor::from_data(TensorData::new(self.labels, [n]), device);
        ImdbBatch { inputs, targets }
    }
}

impl Batcher<ImdbItem, ImdbBatch> for MultiHotBatcher {
    fn batch(&self, items: Vec<ImdbItem>, device: &Device) -> ImdbBatch {
        self.batch_reviews(
            items.iter().map(|it| (it.tokens.as_slice(), it.label)),
            device,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(tokens: &[u32], label: u8) -> ImdbItem {
        ImdbItem {
            tokens: tokens.to_vec(),
            label,
        }
    }

    #[test]
    fn multi_hot_marks_presence_not_count() {
        let b = MultiHotBatcher::new(6, InputKind::Dense);
        let (buf, labels) = b.multi_hot([(&[1, 3, 3, 5][..], 1), (&[][..], 0), (&[0][..], 1)]);
        assert_eq!(labels, [1, 0, 1]);
        assert_eq!(
            buf,
            [
                0., 1., 0., 1., 0., 1., //
                0., 0., 0., 0., 0., 0., //
                1., 0., 0., 0., 0., 0.,
            ]
        );
    }

    #[test]
    fn batch_tensors_have_the_right_shapes_and_values() {
        let device = Device::flex();
        let batcher = MultiHotBatcher::new(4, InputKind::Dense);
        let batch = batcher.batch(vec![item(&[1, 2], 1), item(&[3], 0)], &device);
        let MlpInput::Dense(x) = batch.inputs else {
            panic!("dense batcher made {:?}", batch.inputs)
        };
        assert_eq!(x.dims(), [2, 4]);
        assert_eq!(
            x.into_data().try_to_vec::<f32>().unwrap(),
            [0., 1., 1., 0., 0., 0., 0., 1.]
        );
        assert_eq!(
            batch
                .targets
                .into_data()
                .convert::<i64>()
                .try_to_vec::<i64>()
                .unwrap(),
            [1, 0]
        );
    }

    #[test]
    #[should_panic(expected = "token 4 does not fit a 4-wide")]
    fn out_of_range_token_is_a_clear_panic() {
        MultiHotBatcher::new(4, InputKind::Dense).multi_hot([(&[4][..], 1)]);
    }

    #[test]
    #[should_panic(expected = "token id 4 in row 1 is out of range for an input of width 4")]
    fn out_of_range_token_is_a_clear_panic_in_sparse_batches() {
        let items = vec![item(&[0], 1), item(&[4], 0)];
        MultiHotBatcher::new(4, InputKind::Sparse).batch(items, &Device::flex());
    }

    /// Both kinds describe the same matrix: sparse rows are the dense rows' non-zero columns.
    #[test]
    fn sparse_and_dense_batches_hold_the_same_rows() {
        let device = Device::flex();
        let items = vec![item(&[1, 3, 3, 1], 1), item(&[], 0), item(&[5, 0], 1)];
        let dense = MultiHotBatcher::new(6, InputKind::Dense).batch(items.clone(), &device);
        let sparse = MultiHotBatcher::new(6, InputKind::Sparse).batch(items, &device);
        let (MlpInput::Dense(x), MlpInput::Sparse(csr)) = (dense.inputs, sparse.inputs) else {
            panic!("wrong kinds")
        };
        assert_eq!(csr.offsets(), [0, 2, 2, 4]);
        assert_eq!(csr.indices(), [1, 3, 0, 5]);
        assert_eq!(
            x.into_data().try_to_vec::<f32>().unwrap(),
            csr.to_dense(&device)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        );
        let labels = |t: Tensor<1, Int>| t.into_data().convert::<i64>().try_to_vec::<i64>();
        assert_eq!(
            labels(dense.targets).unwrap(),
            labels(sparse.targets).unwrap()
        );
    }

    #[test]
    fn input_kinds_round_trip_through_text_and_json() {
        for kind in InputKind::ALL {
            assert_eq!(kind.to_string().parse::<InputKind>(), Ok(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
        }
        assert!(
            "Dense"
                .parse::<InputKind>()
                .unwrap_err()
                .contains("\"Dense\"")
        );
        assert_eq!(InputKind::default(), InputKind::Sparse);
    }
}
