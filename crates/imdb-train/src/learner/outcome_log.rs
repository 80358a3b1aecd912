//! Each evaluation review's outcome, recorded as the accuracy metric's inputs go by: what a
//! run reports as its [`ReviewOutcomes`] on the test set.

use burn::tensor::TensorReadError;
use burn::train::metric::{Metric, MetricMetadata, MetricName, SerializedEntry};
use std::sync::{Arc, Mutex};

use super::accuracy::{BinaryAccuracyInput, correct_flags};
use crate::cpu::memory::with_f32;
use crate::cpu::step::labels_f32;
use crate::outcomes::ReviewOutcomes;

/// A validation-split metric of Burn's `Learner` that counts nothing: it keeps whether each
/// review of the split was classified correctly (by the very comparison the accuracy metric
/// makes), and at each epoch's end leaves the epoch's outcomes in a shared slot. No extra pass
/// over the data: the logits are the ones the evaluation already computed.
#[derive(Clone)]
pub(crate) struct OutcomeLog {
    name: MetricName,
    current: Vec<bool>,
    last_epoch: Arc<Mutex<Option<ReviewOutcomes>>>,
}

impl OutcomeLog {
    /// A log leaving each epoch's outcomes in `last_epoch`.
    pub(crate) fn new(last_epoch: Arc<Mutex<Option<ReviewOutcomes>>>) -> Self {
        Self {
            name: MetricName::new("Review outcomes".into()),
            current: Vec::new(),
            last_epoch,
        }
    }
}

impl Metric for OutcomeLog {
    type Input = BinaryAccuracyInput;

    fn update(
        &mut self,
        input: &BinaryAccuracyInput,
        _metadata: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        let targets = labels_f32(&input.targets);
        with_f32(&input.logits, |logits| {
            self.current.extend(correct_flags(logits, &targets))
        });
        Ok(SerializedEntry::new(String::new(), String::new()))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        let epoch = ReviewOutcomes::from_correct(self.current.drain(..));
        *self
            .last_epoch
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(epoch);
        Ok(SerializedEntry::new(String::new(), String::new()))
    }

    fn clear(&mut self) {
        self.current.clear();
    }

    fn name(&self) -> MetricName {
        self.name.clone()
    }
}
