//! Keras's binary accuracy as a Burn metric, counted from the logits in one loop.
//!
//! Burn's `AccuracyMetric` takes the argmax over class columns, so a one-logit model would have to
//! build a two-column tensor per batch (`[0, logit]`) and run four tensor ops on it (cat,
//! argmax, equal, sum) for a few hundred comparisons: a visible share of a run's time on the
//! metric thread. This metric reads the logits (in place on Flex) and the labels and compares
//! them in a loop. It keeps Burn's name (`Accuracy`), unit (percent) and per-batch weighting, so
//! the logged numbers are the same floats.

use burn::tensor::{Int, Tensor, TensorReadError};
use burn::train::metric::state::{FormatOptions, NumericMetricState};
use burn::train::metric::{
    Metric, MetricAttributes, MetricMetadata, MetricName, Numeric, NumericAttributes, NumericEntry,
    SerializedEntry,
};

use crate::cpu::memory::with_f32;
use crate::cpu::step::labels_f32;

/// The share of reviews whose logit is on their label's side of 0 (probability > 0.5 is
/// positive, exactly 0.5 negative; NaN positive), in percent, weighted by batch size over an epoch.
#[derive(Clone)]
pub(crate) struct BinaryAccuracyMetric {
    name: MetricName,
    state: NumericMetricState,
}

/// What [`BinaryAccuracyMetric`] reads from a batch.
pub(crate) struct BinaryAccuracyInput {
    /// Logits. `[batch, 1]`
    pub(crate) logits: Tensor<2>,
    /// Labels, 0 or 1. `[batch]`
    pub(crate) targets: Tensor<1, Int>,
}

impl Default for BinaryAccuracyMetric {
    fn default() -> Self {
        Self {
            name: MetricName::new("Accuracy".to_string()),
            state: NumericMetricState::default(),
        }
    }
}

/// How many of `logits` fall on the side of 0 their label says. As the argmax of `[0, logit]`
/// decides: a positive logit predicts 1, a tie (±0) predicts 0, and NaN predicts 1 (the argmax
/// takes NaN for the largest value).
pub(crate) fn correct(logits: &[f32], targets: &[f32]) -> usize {
    correct_flags(logits, targets)
        .filter(|&right| right)
        .count()
}

/// Whether each of `logits` falls on its label's side of 0 (see [`correct`]).
pub(crate) fn correct_flags<'a>(
    logits: &'a [f32],
    targets: &'a [f32],
) -> impl Iterator<Item = bool> + 'a {
    logits
        .iter()
        .zip(targets)
        .map(|(&x, &y)| f32::from(u8::from(x > 0.0 || x.is_nan())) == y)
}

impl Metric for BinaryAccuracyMetric {
    type Input = BinaryAccuracyInput;

    fn update(
        &mut self,
        input: &BinaryAccuracyInput,
        _metadata: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        // The labels as the CPU step reads them; the logits in place on Flex.
        let targets = labels_f32(&input.targets);
        let right = with_f32(&input.logits, |logits| correct(logits, &targets));
        let batch = targets.len();
        let accuracy = right as f64 / batch as f64;
        self.state.update(100.0 * accuracy, batch);
        Ok(self
            .state
            .compute_update(FormatOptions::new(self.name()).unit("%").precision(2)))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        Ok(self
            .state
            .compute_final(FormatOptions::new(self.name()).unit("%").precision(2)))
    }

    fn clear(&mut self) {
        self.state.reset()
    }

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn attributes(&self) -> MetricAttributes {
        NumericAttributes {
            unit: Some("%".to_string()),
            higher_is_better: true,
        }
        .into()
    }
}

impl Numeric for BinaryAccuracyMetric {
    fn value(&self) -> Option<NumericEntry> {
        Some(self.state.current_value())
    }

    fn running_value(&self) -> Option<NumericEntry> {
        Some(self.state.running_value())
    }

    fn final_value(&self) -> NumericEntry {
        self.state.final_value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::data::dataloader::Progress;
    use burn::tensor::{Device, Tensor};
    use burn::train::metric::{AccuracyInput, AccuracyMetric};

    fn value(entry: Option<NumericEntry>) -> f64 {
        entry.expect("a value after an update").current()
    }

    /// The same values as Burn's `AccuracyMetric` on `[0, logit]` columns, batch by batch and
    /// over an epoch of two batches of different sizes, ties at 0 and a NaN included (this
    /// metric replaces that one in the Learner).
    #[test]
    fn counts_what_burns_accuracy_counts_on_two_columns() {
        let device = Device::flex();
        let metadata = MetricMetadata {
            progress: Progress {
                items_processed: 8,
                items_total: 11,
                unit: None,
            },
            iteration: Some(0),
            lr: None,
        };
        let mut ours = BinaryAccuracyMetric::default();
        let mut burns = AccuracyMetric::new();
        let batches: [(&[f32], &[i64]); 2] = [
            // 0.3→1 ✓, -1→0 ✗, 0→0 ✓, 2.5→1 ✗, -0→0 ✗, NaN→1 ✗, -3→0 ✓, 1e-8→1 ✓: 4 of 8.
            (
                &[0.3, -1.0, 0.0, 2.5, -0.0, f32::NAN, -3.0, 1e-8],
                &[1, 1, 0, 0, 1, 0, 0, 1],
            ),
            // 1 of 3.
            (&[4.0, 0.5, -0.5], &[1, 0, 1]),
        ];
        for (logits, targets) in batches {
            let logits_t = Tensor::<1>::from_floats(logits, &device).unsqueeze_dim(1);
            let targets_t = Tensor::<1, Int>::from_ints(targets, &device);
            let input = BinaryAccuracyInput {
                logits: logits_t.clone(),
                targets: targets_t.clone(),
            };
            ours.update(&input, &metadata).unwrap();
            let two = Tensor::cat(vec![logits_t.zeros_like(), logits_t], 1);
            burns
                .update(&AccuracyInput::new(two, targets_t), &metadata)
                .unwrap();
            assert_eq!(value(ours.value()), value(burns.value()));
            assert_eq!(
                ours.running_value().map(|v| v.current()),
                burns.running_value().map(|v| v.current())
            );
        }
        let as_f32 = |t: &[i64]| t.iter().map(|&y| y as f32).collect::<Vec<_>>();
        assert_eq!(correct(batches[0].0, &as_f32(batches[0].1)), 4);
        assert_eq!(correct(batches[1].0, &as_f32(batches[1].1)), 1);
        assert_eq!(ours.final_value().current(), burns.final_value().current());
        // The epoch's value weights each batch by its size: 5 of 11.
        assert!((ours.final_value().current() - 500.0 / 11.0).abs() < 1e-9);
        assert_eq!(ours.name(), burns.name());
    }
}
