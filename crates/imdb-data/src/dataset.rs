//! Burn `Dataset`s over the encoded splits, and the seed notebook's validation split.

use crate::error::{DataError, Result};
use crate::load::Imdb;
use crate::split::Split;
use burn::data::dataset::{Dataset, DatasetError};
use std::ops::Range;
use std::sync::Arc;

/// One encoded review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImdbItem {
    /// Word indices (Keras encoding: start character, then `rank + index_from` or the OOV character).
    pub tokens: Vec<u32>,
    /// 1 = positive, 0 = negative.
    pub label: u8,
}

/// A contiguous view of a [`Split`] as a Burn dataset; cloning shares the data.
#[derive(Clone, Debug)]
pub struct ImdbDataset {
    split: Arc<Split>,
    range: Range<usize>,
}

impl ImdbDataset {
    /// The whole split.
    pub fn new(split: Arc<Split>) -> Self {
        let range = 0..split.len();
        Self { split, range }
    }

    /// Reviews `range` of this view.
    ///
    /// # Panics
    /// If `range` reaches past the view's end.
    pub fn slice(&self, range: Range<usize>) -> Self {
        assert!(
            range.start <= range.end && range.end <= self.range.len(),
            "{range:?} is outside 0..{}",
            self.range.len()
        );
        let start = self.range.start;
        Self {
            split: self.split.clone(),
            range: start + range.start..start + range.end,
        }
    }

    /// Number of reviews.
    pub fn len(&self) -> usize {
        self.range.len()
    }

    /// Whether the view is empty.
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }

    /// The view with each review reduced to its sorted, distinct tokens ([`Split::word_sets`]):
    /// the same multi-hot rows, built faster, in less memory (repeated words are dropped). A
    /// view that already is one (every review strictly increasing) is returned as it is, after
    /// one pass that checks it.
    pub fn word_sets(&self) -> Self {
        if self.is_word_sets() {
            return self.clone();
        }
        Self::new(Arc::new(self.split.word_sets(self.range.clone())))
    }

    /// Whether every review of the view is strictly increasing, i.e. its own word set.
    fn is_word_sets(&self) -> bool {
        self.range.clone().all(|j| {
            let t = self.split.tokens(j);
            // No early exit inside a review: the compare loop vectorises.
            t.iter()
                .zip(t.iter().skip(1))
                .fold(true, |ok, (a, b)| ok & (a < b))
        })
    }

    /// The seed notebook's split of this view: the first `validation` reviews validate, the rest
    /// (`partial_x_train`) train. Returns `(partial_train, validation)`.
    ///
    /// # Errors
    /// [`DataError::ValidationSplit`] when `validation` is 0 or leaves no review to train on.
    pub fn split_validation(&self, validation: usize) -> Result<(Self, Self)> {
        if validation == 0 || validation >= self.len() {
            return Err(DataError::ValidationSplit {
                validation,
                reviews: self.len(),
            });
        }
        Ok((
            self.slice(validation..self.len()),
            self.slice(0..validation),
        ))
    }

    /// Tokens and label of review `i` of the view, without copying.
    ///
    /// # Panics
    /// If `i >= self.len()`.
    pub fn review(&self, i: usize) -> (&[u32], u8) {
        assert!(i < self.len(), "review {i} is outside 0..{}", self.len());
        let j = self.range.start + i;
        (self.split.tokens(j), self.split.label(j))
    }
}

impl Dataset<ImdbItem> for ImdbDataset {
    fn get(&self, index: usize) -> Result<ImdbItem, DatasetError> {
        let (tokens, label) = self.review(index);
        Ok(ImdbItem {
            tokens: tokens.to_vec(),
            label,
        })
    }

    fn len(&self) -> usize {
        self.range.len()
    }
}

impl Imdb {
    /// The training split as a dataset.
    pub fn train_dataset(&self) -> ImdbDataset {
        ImdbDataset::new(self.train.clone())
    }

    /// The test split as a dataset.
    pub fn test_dataset(&self) -> ImdbDataset {
        ImdbDataset::new(self.test.clone())
    }

    /// The seed notebook's split: the first `validation` training reviews validate, the rest
    /// (`partial_x_train`) train. Returns `(partial_train, validation)`.
    ///
    /// # Errors
    /// [`DataError::ValidationSplit`] when `validation` is 0 or leaves no review to train on.
    pub fn seed_split(&self, validation: usize) -> Result<(ImdbDataset, ImdbDataset)> {
        self.train_dataset().split_validation(validation)
    }

    /// Width of the multi-hot vectors for this data (see [`crate::EncodeOptions::vocabulary_width`]).
    pub fn vocabulary_width(&self) -> usize {
        self.options.vocabulary_width(&[&self.train, &self.test])
    }

    /// Turns encoded indices back into words, like the book's `reverse_word_index` example: the
    /// start, OOV and padding characters become `?`.
    ///
    /// Returns `None` when the source has no word index (Keras's `imdb.npz` on its own).
    pub fn decode(&self, tokens: &[u32]) -> Option<String> {
        let index = self.word_index.as_ref()?;
        let from = self.options.index_from;
        let words: Vec<&str> = tokens
            .iter()
            .map(|&t| {
                t.checked_sub(from)
                    .and_then(|rank| index.word(rank))
                    .unwrap_or("?")
            })
            .collect();
        Some(words.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Word sets of word sets are the same view, shared (no second copy); a review with a
    /// repeat or out of order is reduced.
    #[test]
    fn word_sets_of_word_sets_share_the_data() {
        let mut split = Split::new();
        split.push([4, 1, 4, 2], 1);
        split.push([3, 5], 0);
        let raw = ImdbDataset::new(Arc::new(split));
        let sets = raw.word_sets();
        assert!(
            !Arc::ptr_eq(&raw.split, &sets.split),
            "a repeat was reduced"
        );
        assert_eq!(sets.review(0), (&[1, 2, 4][..], 1));
        assert_eq!(sets.review(1), (&[3, 5][..], 0));
        let again = sets.word_sets();
        assert!(Arc::ptr_eq(&sets.split, &again.split));
        assert_eq!(again.range, sets.range);
        // A slice that happens to be sets already (review 1) is kept as well.
        let tail = raw.slice(1..2);
        assert!(Arc::ptr_eq(&tail.split, &tail.word_sets().split));
    }
}
