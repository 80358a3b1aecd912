//! The model as Burn's `Learner` sees it: one forward for training and validation, Keras's metrics.

use burn::module::Module;
use burn::tensor::{Int, Tensor};
use burn::train::metric::{AccuracyInput, Adaptor, ItemLazy, LossInput};
use burn::train::{InferenceStep, TrainOutput, TrainStep};
use imdb_data::{ImdbBatch, ImdbInputs};
use imdb_model::{FirstLayerTape, Loss, Mlp};

/// An [`Mlp`] with the loss it is trained with. Implements Burn's `TrainStep` and `InferenceStep`
/// (which the model crate cannot, to stay free of burn-train).
#[derive(Module, Debug)]
pub struct Classifier {
    /// The network.
    pub mlp: Mlp,
    /// The training loss (a constant of the module, not a parameter).
    #[module(skip)]
    pub loss: Loss,
    /// Where the first layer of a sparse batch runs.
    #[module(skip)]
    pub sparse_path: SparsePath,
}

/// How [`Classifier`] computes the first layer of an [`ImdbInputs::Sparse`] batch. Both give the
/// dense matmul's numbers up to float rounding; they differ in where the work happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SparsePath {
    /// [`Mlp::forward_csr`]: a gather-sum loop on the host and a hand-written scatter-add
    /// backward. For CPU backends, whose tensors already live in host memory.
    Host,
    /// [`Mlp::forward_sparse`]: `select` + `select_assign` on the device, differentiated by
    /// Burn. For GPUs, where the host path would read the kernel back every step.
    Device,
}

/// What one step produces: everything the loss and accuracy metrics need.
#[derive(Debug, Clone)]
pub struct BinaryOutput {
    /// The mean loss of the batch, L2 penalty included, as Keras reports it. `[1]`
    pub loss: Tensor<1>,
    /// Logits. `[batch, 1]`
    pub logits: Tensor<2>,
    /// Labels, 0 or 1. `[batch]`
    pub targets: Tensor<1, Int>,
}

impl Classifier {
    /// The one forward of both steps, plus the host first layer's tape when there is one (its
    /// `backward` completes the gradients; inference drops it).
    ///
    /// # Shapes
    /// - `batch.inputs`: multi-hot `[batch, input]`, or its word ids
    /// - `batch.targets`: `[batch]`
    pub fn forward_step(&self, batch: ImdbBatch) -> (BinaryOutput, Option<FirstLayerTape>) {
        let (logits, tape) = match batch.inputs {
            ImdbInputs::MultiHot(x) => (self.mlp.forward(x), None),
            ImdbInputs::Sparse(csr) => match self.sparse_path {
                SparsePath::Host => {
                    let (logits, tape) = self.mlp.forward_csr(csr);
                    (logits, Some(tape))
                }
                SparsePath::Device => {
                    let device = batch.targets.device();
                    (self.mlp.forward_sparse(csr.to_batch(&device)), None)
                }
            },
        };
        let targets_f = batch.targets.clone().float().unsqueeze_dim::<2>(1);
        let loss = self.mlp.loss(self.loss, logits.clone(), targets_f);
        let out = BinaryOutput {
            loss,
            logits,
            targets: batch.targets,
        };
        (out, tape)
    }
}

impl TrainStep for Classifier {
    type Input = ImdbBatch;
    type Output = BinaryOutput;

    fn step(&self, batch: ImdbBatch) -> TrainOutput<BinaryOutput> {
        let (out, tape) = self.forward_step(batch);
        let mut grads = out.loss.backward();
        if let Some(tape) = tape {
            tape.backward(&mut grads);
        }
        TrainOutput::new(self, grads, out)
    }
}

impl InferenceStep for Classifier {
    type Input = ImdbBatch;
    type Output = BinaryOutput;

    fn step(&self, batch: ImdbBatch) -> BinaryOutput {
        self.forward_step(batch).0
    }
}

impl ItemLazy for BinaryOutput {
    fn sync(self) -> Result<Self, burn::tensor::ExecutionError> {
        // As Burn's own outputs do: dispatch pending work, and hand the metric thread tensors
        // without the autodiff graph.
        self.loss.device().flush()?;
        Ok(Self {
            loss: self.loss.without_autodiff(),
            logits: self.logits.without_autodiff(),
            targets: self.targets.without_autodiff(),
        })
    }
}

impl Adaptor<LossInput> for BinaryOutput {
    /// Burn's `LossMetric` weights each batch by the length of this tensor: repeating the mean
    /// `batch` times makes the epoch loss the per-review mean, as Keras reports it (the last,
    /// smaller batch counts for less), instead of the mean of batch means.
    fn adapt(&self) -> LossInput {
        let [batch, _] = self.logits.dims();
        LossInput::new(self.loss.clone().expand([batch]))
    }
}

impl Adaptor<AccuracyInput> for BinaryOutput {
    /// Burn's `AccuracyMetric` takes the argmax over classes; columns `[0, logit]` make that
    /// "logit > 0", i.e. probability > 0.5 with ties going to 0, which is Keras's binary accuracy.
    fn adapt(&self) -> AccuracyInput {
        let two_columns = Tensor::cat(vec![self.logits.zeros_like(), self.logits.clone()], 1);
        AccuracyInput::new(two_columns, self.targets.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::data::dataloader::batcher::Batcher;
    use burn::tensor::Device;
    use imdb_data::{ImdbItem, InputKind, MultiHotBatcher};
    use imdb_model::MlpConfig;

    /// Every path to the first layer gives the same loss and the same W₀ gradient in a train
    /// step (tolerance 1e-6: the same sums in other orders, f32).
    #[test]
    fn all_input_paths_give_the_same_step() {
        let device = Device::flex().autodiff();
        device.seed(1);
        let mlp = MlpConfig::new()
            .with_input(50)
            .with_l2(Some(0.01))
            .init(&device);
        let items: Vec<ImdbItem> = (0..20u32)
            .map(|r| ImdbItem {
                tokens: (0..r).map(|k| (k * 7 + r) % 50).chain([1, 1]).collect(),
                label: (r % 2) as u8,
            })
            .collect();
        let step = |kind, sparse_path| {
            let model = Classifier {
                mlp: mlp.clone(),
                loss: Loss::Bce,
                sparse_path,
            };
            let batch = MultiHotBatcher::new(50, kind).batch(items.clone(), &device);
            let out = TrainStep::step(&model, batch);
            let w0 = &model.mlp.hidden()[0].weight;
            let grad: Vec<f32> = out
                .grads
                .get::<2>(w0.id)
                .expect("W0 has a gradient")
                .into_data()
                .try_to_vec()
                .unwrap();
            let loss: f32 = out.item.loss.into_scalar();
            (loss, grad)
        };
        let (dense_loss, dense_grad) = step(InputKind::Dense, SparsePath::Host);
        for path in [SparsePath::Host, SparsePath::Device] {
            let (loss, grad) = step(InputKind::Sparse, path);
            assert!(
                (loss - dense_loss).abs() <= 1e-6,
                "{path:?}: {loss} vs {dense_loss}"
            );
            for (a, b) in grad.iter().zip(&dense_grad) {
                assert!((a - b).abs() <= 1e-6, "{path:?}: {a} vs {b}");
            }
        }
    }
}
