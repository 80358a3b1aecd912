//! Where the Learner's per-batch metric values go: memory, not files.
//!
//! Burn's default `FileMetricLogger` appends a line per batch per metric to a file per epoch
//! (thousands of writes in a run) and the protocol only ever needs each epoch's means, which
//! the epoch-end hook records into the history and saves with each checkpoint
//! ([`super::epoch_end`]). Burn's own `InMemoryMetricLogger` is not used: it numbers epochs by
//! arrival, so a run resumed at epoch 5 would file epoch 5 as epoch 1.

use burn::train::logger::MetricLogger;
use burn::train::metric::store::{EpochSummary, MetricsUpdate, Split};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use std::collections::HashMap;

/// Every metric entry of the run, by (metric name, split, epoch), as Burn serialised it: the
/// event store reads them back to compute an epoch's mean.
#[derive(Default)]
pub(crate) struct MemoryMetricLog {
    names: HashMap<MetricId, String>,
    entries: HashMap<(String, String, usize), Vec<String>>,
}

impl MetricLogger for MemoryMetricLog {
    fn log(&mut self, update: MetricsUpdate, epoch: usize, split: &Split) {
        let numeric = update.entries_numeric.iter().map(|u| &u.entry);
        for entry in update.entries.iter().chain(numeric) {
            // Burn registers every metric before its first entry.
            let Some(name) = self.names.get(&entry.metric_id) else {
                continue;
            };
            self.entries
                .entry((name.clone(), split.to_string(), epoch))
                .or_default()
                .push(entry.serialized_entry.serialized.clone());
        }
    }

    fn read_numeric(
        &mut self,
        name: &str,
        epoch: usize,
        split: &Split,
    ) -> Result<Vec<NumericEntry>, String> {
        let key = (name.to_owned(), split.to_string(), epoch);
        Ok(self
            .entries
            .get(&key)
            .into_iter()
            .flatten()
            .filter_map(|s| NumericEntry::deserialize(s).ok())
            .collect())
    }

    fn log_metric_definition(&mut self, definition: MetricDefinition) {
        self.names
            .insert(definition.metric_id, definition.name.to_string());
    }

    fn log_epoch_summary(&mut self, _summary: EpochSummary) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::train::metric::{MetricAttributes, MetricEntry, SerializedEntry};
    use std::sync::Arc;

    fn entry(id: &MetricId, value: &str) -> MetricEntry {
        MetricEntry::new(id.clone(), SerializedEntry::new(value.into(), value.into()))
    }

    #[test]
    fn entries_are_filed_by_their_own_epoch_and_split() {
        let id = MetricId::new(Arc::new("loss-id".into()));
        let mut log = MemoryMetricLog::default();
        log.log_metric_definition(MetricDefinition {
            metric_id: id.clone(),
            name: Arc::new("Loss".into()),
            description: None,
            attributes: MetricAttributes::None,
        });
        let update = |values: &[&str]| MetricsUpdate {
            entries: values.iter().map(|v| entry(&id, v)).collect(),
            entries_numeric: Vec::new(),
        };
        // A run resumed after epoch 4: its first entries are epoch 5's, not epoch 1's.
        log.log(update(&["0.5", "0.25"]), 5, &Split::Train);
        log.log(update(&["0.75"]), 5, &Split::Valid);
        log.log(update(&["0.125"]), 6, &Split::Train);

        let mut read = |epoch, split: &Split| -> Vec<f64> {
            log.read_numeric("Loss", epoch, split)
                .unwrap()
                .into_iter()
                .map(|e| match e {
                    NumericEntry::Value(v) => v,
                    other => panic!("{other:?}"),
                })
                .collect()
        };
        assert_eq!(read(5, &Split::Train), [0.5, 0.25]);
        assert_eq!(read(5, &Split::Valid), [0.75]);
        assert_eq!(read(6, &Split::Train), [0.125]);
        assert!(read(1, &Split::Train).is_empty());
        assert!(read(6, &Split::Valid).is_empty());
        assert!(
            log.read_numeric("Accuracy", 5, &Split::Train)
                .unwrap()
                .is_empty()
        );
    }
}
