//! Reviews into batches for Burn's `Learner`: [`MultiHotBatcher`] makes a batch's model input
//! (word ids, or the seed notebook's dense multi-hot rows), and the loader orders an epoch's
//! reviews by `(seed, epoch)` alone, so a resumed run sees the very batches of an uninterrupted one.

mod batcher;
mod loader;

pub use batcher::{ImdbBatch, InputKind, MultiHotBatcher};
pub(crate) use loader::{ReviewLoader, Schedule};
