//! A Burn `DataLoader` over encoded reviews whose shuffle depends only on (seed, epoch).
//!
//! Burn's stock loader advances one RNG across epochs, so a run resumed at epoch k would see
//! epoch 1's order again. Here epoch e's order is a function of `(seed, e)`, and the training
//! loader also reseeds the device at the start of each epoch, so dropout masks are replayed too:
//! an interrupted run resumed from its checkpoint ends exactly where an uninterrupted one does.

use burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use burn::data::dataset::DatasetError;
use burn::tensor::Device;
use imdb_data::{ImdbBatch, ImdbDataset, MultiHotBatcher};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Batches of a dataset, optionally shuffled per epoch.
pub struct ReviewLoader {
    dataset: ImdbDataset,
    batcher: MultiHotBatcher,
    batch_size: usize,
    /// `Some(seed)`: shuffle every epoch and reseed the device (training); `None`: fixed order.
    shuffle_seed: Option<u64>,
    device: Device,
    /// Epochs already iterated (0-based index of the next epoch).
    epoch: Arc<AtomicUsize>,
}

impl ReviewLoader {
    /// A loader over `dataset` on `device`. With a `shuffle_seed`, `first_epoch` is the number of
    /// epochs already done (non-zero when resuming).
    pub fn new(
        dataset: ImdbDataset,
        batcher: MultiHotBatcher,
        batch_size: usize,
        shuffle_seed: Option<u64>,
        device: Device,
        first_epoch: usize,
    ) -> Self {
        assert!(batch_size > 0, "batch size must be at least 1");
        Self {
            dataset,
            batcher,
            batch_size,
            shuffle_seed,
            device,
            epoch: Arc::new(AtomicUsize::new(first_epoch)),
        }
    }

    /// The order of epoch `epoch` (0-based).
    fn order(&self, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.dataset.len()).collect();
        if let Some(seed) = self.shuffle_seed {
            order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(epoch_seed(
                seed, epoch,
            )));
        }
        order
    }
}

/// Mixes seed and epoch (SplitMix64's constant) so nearby seeds give unrelated orders.
fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed ^ (epoch as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl DataLoader<ImdbBatch> for ReviewLoader {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<ImdbBatch> + 'a> {
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst);
        if let Some(seed) = self.shuffle_seed {
            // Dropout draws from the device RNG: make it a function of (seed, epoch) as well.
            self.device.seed(epoch_seed(seed.rotate_left(17), epoch));
        }
        Box::new(ReviewIter {
            loader: self,
            order: self.order(epoch),
            next: 0,
        })
    }

    fn num_items(&self) -> usize {
        self.dataset.len()
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<ImdbBatch>> {
        Arc::new(Self {
            device: device.clone(),
            epoch: self.epoch.clone(),
            ..self.clone_parts()
        })
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<ImdbBatch>> {
        Arc::new(Self {
            dataset: self.dataset.slice(start..end),
            ..self.clone_parts()
        })
    }
}

impl ReviewLoader {
    fn clone_parts(&self) -> Self {
        Self {
            dataset: self.dataset.clone(),
            batcher: self.batcher.clone(),
            batch_size: self.batch_size,
            shuffle_seed: self.shuffle_seed,
            device: self.device.clone(),
            epoch: Arc::new(AtomicUsize::new(self.epoch.load(Ordering::SeqCst))),
        }
    }
}

struct ReviewIter<'a> {
    loader: &'a ReviewLoader,
    order: Vec<usize>,
    next: usize,
}

impl Iterator for ReviewIter<'_> {
    type Item = Result<ImdbBatch, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.order.len() {
            return None;
        }
        let end = (self.next + self.loader.batch_size).min(self.order.len());
        let ids = &self.order[self.next..end];
        self.next = end;
        let reviews = ids.iter().map(|&i| self.loader.dataset.review(i));
        Some(Ok(self
            .loader
            .batcher
            .batch_reviews(reviews, &self.loader.device)))
    }
}

impl DataLoaderIterator<ImdbBatch> for ReviewIter<'_> {
    fn progress(&self) -> Progress {
        Progress::new(self.next, self.order.len(), Some("reviews".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imdb_data::{ImdbInputs, InputKind, Split};

    fn loader(shuffle: Option<u64>, first_epoch: usize) -> ReviewLoader {
        let split: Split = (0..10u32).map(|i| (vec![i], (i % 2) as u8)).collect();
        let ds = ImdbDataset::new(Arc::new(split));
        ReviewLoader::new(
            ds,
            MultiHotBatcher::new(10, InputKind::Sparse),
            4,
            shuffle,
            Device::flex(),
            first_epoch,
        )
    }

    /// The review ids of one epoch: review `i` is the single word `i`.
    fn epoch_ids(l: &ReviewLoader) -> Vec<usize> {
        let mut ids = Vec::new();
        for batch in l.iter() {
            let ImdbInputs::Sparse(csr) = batch.unwrap().inputs else {
                unreachable!("sparse batcher")
            };
            ids.extend(csr.indices().iter().map(|&i| i as usize));
        }
        ids
    }

    #[test]
    fn batches_cover_everything_in_order_without_shuffle() {
        let l = loader(None, 0);
        assert_eq!(l.iter().count(), 3, "10 reviews in batches of 4: 4 + 4 + 2");
        assert_eq!(epoch_ids(&l), (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn shuffle_is_a_function_of_seed_and_epoch() {
        let fresh = loader(Some(7), 0);
        let e1 = epoch_ids(&fresh);
        let e2 = epoch_ids(&fresh);
        assert_ne!(e1, e2, "each epoch has its own order");
        let mut sorted = e2.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        // A loader resumed after one epoch replays epoch 2 exactly.
        assert_eq!(epoch_ids(&loader(Some(7), 1)), e2);
        assert_ne!(epoch_ids(&loader(Some(8), 0)), e1);
    }
}
