//! Batching reviews into tensors for Burn.

use crate::dataset::ImdbItem;
use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// A batch of reviews ready for a model.
#[derive(Clone, Debug)]
pub struct ImdbBatch {
    /// The reviews, in the representation the batcher produced.
    pub inputs: ImdbInputs,
    /// Labels, `[batch]`: 1 = positive, 0 = negative.
    pub targets: Tensor<1, Int>,
}

/// How a batch's reviews are represented.
#[derive(Clone, Debug)]
pub enum ImdbInputs {
    /// `[batch, num_words]` floats: 1.0 where the word occurs in the review (however often), else 0.0.
    MultiHot(Tensor<2>),
}

/// Builds multi-hot batches: the seed notebook's `vectorize_sequences`.
#[derive(Clone, Debug)]
pub struct MultiHotBatcher {
    num_words: usize,
}

impl MultiHotBatcher {
    /// A batcher for indices below `num_words` (the data's [`crate::Imdb::vocabulary_width`]).
    pub fn new(num_words: usize) -> Self {
        Self { num_words }
    }

    /// Width of the vectors.
    pub fn num_words(&self) -> usize {
        self.num_words
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
    pub fn batch_reviews<'a>(
        &self,
        reviews: impl IntoIterator<Item = (&'a [u32], u8)>,
        device: &Device,
    ) -> ImdbBatch {
        let (buf, labels) = self.multi_hot(reviews);
        let n = labels.len();
        let inputs = Tensor::from_data(TensorData::new(buf, [n, self.num_words]), device);
        let targets = Tensor::from_data(TensorData::new(labels, [n]), device);
        ImdbBatch {
            inputs: ImdbInputs::MultiHot(inputs),
            targets,
        }
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
        let b = MultiHotBatcher::new(6);
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
        let batch = MultiHotBatcher::new(4).batch(vec![item(&[1, 2], 1), item(&[3], 0)], &device);
        let ImdbInputs::MultiHot(x) = batch.inputs;
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
        MultiHotBatcher::new(4).multi_hot([(&[4][..], 1)]);
    }
}
