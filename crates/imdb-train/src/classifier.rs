//! The model as Burn's `Learner` sees it: one forward for training and validation, Keras's metrics.

use burn::module::Module;
use burn::tensor::{Int, Tensor};
use burn::train::metric::{AccuracyInput, Adaptor, ItemLazy, LossInput};
use burn::train::{InferenceStep, TrainOutput, TrainStep};
use imdb_model::{Loss, Mlp, MlpInput};

use crate::batcher::ImdbBatch;
use crate::first_layer::{self, KernelGradient, Tape};
use crate::plan::{ExecutionPlan, FirstLayer, OptimizerPath};

/// An [`Mlp`] with the loss it is trained with and the run's [`ExecutionPlan`]. Implements
/// Burn's `TrainStep` and `InferenceStep` (which the model crate cannot, to stay free of
/// burn-train).
#[derive(Module, Debug)]
pub struct Classifier {
    /// The network.
    pub mlp: Mlp,
    /// The training loss (a constant of the module, not a parameter).
    #[module(skip)]
    pub loss: Loss,
    /// Where the first layer and the optimizer run.
    #[module(skip)]
    pub plan: ExecutionPlan,
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
    /// The one forward of both steps, plus the host first layer's tape when the plan has one and
    /// the model is being trained (its `backward` completes the gradients; inference has none).
    ///
    /// # Shapes
    /// - `batch.inputs`: multi-hot `[batch, input]`, or its word ids
    /// - `batch.targets`: `[batch]`
    fn forward_step(&self, batch: ImdbBatch) -> (BinaryOutput, Option<Tape>) {
        let (logits, tape) = match (self.plan.first_layer, batch.inputs) {
            (FirstLayer::HostSparse, MlpInput::Sparse(input)) => {
                let form = match self.plan.optimizer {
                    OptimizerPath::LazyFirstKernel => KernelGradient::RowSparse,
                    OptimizerPath::HostLoop | OptimizerPath::TensorOps => KernelGradient::Dense,
                };
                first_layer::forward(&self.mlp, input, form)
            }
            // Dense rows, and sparse ones on the device: the model's own forward.
            (_, inputs) => (self.mlp.forward(inputs), None),
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
    use crate::batcher::{InputKind, MultiHotBatcher};
    use crate::row_sparse;
    use burn::data::dataloader::batcher::Batcher;
    use burn::module::{ModuleVisitor, Param, ParamId};
    use burn::tensor::Device;
    use imdb_data::ImdbItem;
    use imdb_model::MlpConfig;

    /// Every float parameter: id, shape and values, in visiting order (`W₀` first).
    fn parameters(mlp: &Mlp) -> Vec<(ParamId, Vec<usize>, Vec<f32>)> {
        struct Collect(Vec<(ParamId, Vec<usize>, Vec<f32>)>);
        impl ModuleVisitor for Collect {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                let values = param
                    .val()
                    .into_data()
                    .convert::<f32>()
                    .try_to_vec()
                    .unwrap();
                self.0.push((param.id, param.val().dims().to_vec(), values));
            }
        }
        let mut collect = Collect(Vec::new());
        mlp.visit(&mut collect);
        collect.0
    }

    /// Every float parameter's values, concatenated in visiting order.
    fn values(mlp: &Mlp) -> Vec<f32> {
        parameters(mlp)
            .into_iter()
            .flat_map(|(_, _, v)| v)
            .collect()
    }

    /// Reviews over `width` words with repeated ids, empty reviews and an unused tail of the
    /// vocabulary (so some rows of W₀ get no gradient).
    fn items(width: u32) -> Vec<ImdbItem> {
        (0..23u32)
            .map(|r| ImdbItem {
                tokens: if r % 5 == 3 {
                    Vec::new()
                } else {
                    (0..r)
                        .map(|k| (k * 7 + r) % (width - 10))
                        .chain([1, 1])
                        .collect()
                },
                label: (r % 2) as u8,
            })
            .collect()
    }

    /// One train step's loss and every parameter's gradient as a dense vector.
    fn step(mlp: &Mlp, plan: ExecutionPlan, items: &[ImdbItem]) -> (f32, Vec<Vec<f32>>) {
        let device = Device::flex().autodiff();
        let model = Classifier {
            mlp: mlp.clone(),
            loss: Loss::Bce,
            plan,
        };
        let width = mlp.input_size();
        let batch = MultiHotBatcher::new(width, plan.input()).batch(items.to_vec(), &device);
        let out = TrainStep::step(&model, batch);
        let grads = parameters(&model.mlp)
            .into_iter()
            .map(|(id, dims, _)| {
                let (grad, gdims): (Vec<f32>, Vec<usize>) = match dims.len() {
                    // The input weights: a constant of the model, never given a gradient.
                    1 if dims == [width] => {
                        assert!(
                            out.grads.get::<1>(id).is_none(),
                            "input weights got a gradient"
                        );
                        return Vec::new();
                    }
                    1 => {
                        let g = out.grads.get::<1>(id).expect("every bias has a gradient");
                        (
                            g.clone().into_data().try_to_vec::<f32>().unwrap(),
                            g.dims().to_vec(),
                        )
                    }
                    _ => {
                        let g = out.grads.get::<2>(id).expect("every kernel has a gradient");
                        (
                            g.clone().into_data().try_to_vec::<f32>().unwrap(),
                            g.dims().to_vec(),
                        )
                    }
                };
                if gdims == dims {
                    return grad;
                }
                // W₀'s row-sparse form: spread back to [width, units].
                let units = dims[1];
                let mut dense = vec![0.0; dims[0] * units];
                for (i, g) in row_sparse::decode(&grad, [gdims[0], gdims[1]], dims[0], units) {
                    dense[i * units..(i + 1) * units].copy_from_slice(g);
                }
                dense
            })
            .collect();
        (out.item.loss.into_scalar(), grads)
    }

    /// Every plan gives the same loss and the same gradient of every parameter in a train step,
    /// with and without L2 (whose plan takes the dense form of W₀'s gradient), with and without
    /// input weights. Tolerance 1e-6: the same sums in other orders, f32.
    #[test]
    fn every_plan_gives_the_same_step() {
        let device = Device::flex().autodiff();
        for (l2, weighted) in [
            (None, false),
            (Some(0.01), false),
            (None, true),
            (Some(0.01), true),
        ] {
            device.seed(1);
            let weights = weighted.then_some(imdb_model::InputWeights::PerFeature);
            let config = MlpConfig::new()
                .with_input(60)
                .with_l2(l2)
                .with_input_weights(weights);
            let mlp = config.init(&device);
            let mlp = match weights {
                // Negative, zero and positive weights.
                Some(_) => {
                    let s: Vec<f32> = (0..60).map(|i| 0.5 * (i % 5) as f32 - 1.0).collect();
                    mlp.with_input_weights(&s).unwrap()
                }
                None => mlp,
            };
            let plan = |first_layer, optimizer| ExecutionPlan {
                first_layer,
                optimizer,
            };
            use {FirstLayer as F, OptimizerPath as O};
            let items = items(60);
            let (dense_loss, dense) = step(&mlp, plan(F::Dense, O::HostLoop), &items);
            let mut plans = vec![
                plan(F::HostSparse, O::HostLoop),
                plan(F::DeviceSparse, O::TensorOps),
            ];
            // The lazy plan is only chosen without L2 (the penalty touches every row).
            if l2.is_none() {
                plans.push(plan(F::HostSparse, O::LazyFirstKernel));
            }
            for p in plans {
                let (loss, grads) = step(&mlp, p, &items);
                assert!(
                    (loss - dense_loss).abs() <= 1e-6,
                    "{p}: {loss} vs {dense_loss}"
                );
                assert_eq!(grads.len(), dense.len());
                for (k, (g, d)) in grads.iter().zip(&dense).enumerate() {
                    assert_eq!(g.len(), d.len(), "{p}: parameter {k}");
                    for (a, b) in g.iter().zip(d) {
                        assert!(
                            (a - b).abs() <= 1e-6,
                            "{p}, l2 {l2:?}, weighted {weighted}, parameter {k}: {a} vs {b}"
                        );
                    }
                }
            }
            // The unused tail of the vocabulary got no gradient without L2, and one with it.
            let tail = &dense[0][50 * 16..];
            assert_eq!(tail.iter().all(|&g| g == 0.0), l2.is_none());
        }
    }

    /// Three optimizer steps through `ExecutionPlan::optimizer` (Burn's `ModuleOptimizer`, as
    /// the Learner runs it): the lazy plan's parameter group reaches W₀ and moves every weight as
    /// the dense host loop does. Tolerance 1e-6: the same floats but for ρᵏ's rounding.
    #[test]
    fn the_lazy_plan_optimizes_like_the_dense_one() {
        use crate::config::RmsPropKerasConfig;
        let device = Device::flex().autodiff();
        device.seed(8);
        let mlp = MlpConfig::new().with_input(60).init(&device);
        let items = items(60);
        let run = |optimizer| {
            let plan = ExecutionPlan {
                first_layer: FirstLayer::HostSparse,
                optimizer,
            };
            // Epochs of 2 steps: the lazy path also catches up between steps.
            let mut optim = plan.optimizer(&RmsPropKerasConfig::new(), 2);
            let mut model = Classifier {
                mlp: mlp.clone(),
                loss: Loss::Bce,
                plan,
            };
            // Different rows per step, so some rows wait.
            for k in 0..3 {
                let batch = MultiHotBatcher::new(60, InputKind::Sparse)
                    .batch(items[k * 7..k * 7 + 7].to_vec(), &device);
                let out = TrainStep::step(&model, batch);
                model = optim.step(1e-3, model, out.grads);
            }
            values(&model.mlp)
        };
        let (lazy, dense) = (
            run(OptimizerPath::LazyFirstKernel),
            run(OptimizerPath::HostLoop),
        );
        assert_ne!(lazy, values(&mlp), "the weights moved");
        for (a, b) in lazy.iter().zip(&dense) {
            assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
        }
    }

    /// On an inference model the host forward leaves no tape, and agrees with the dense logits.
    #[test]
    fn the_host_plan_infers_without_a_tape() {
        let device = Device::flex().autodiff();
        device.seed(4);
        let mlp = MlpConfig::new().with_input(60).init(&device).valid();
        let items = items(60);
        let plain = device.inner();
        let sparse = MultiHotBatcher::new(60, InputKind::Sparse).batch(items.clone(), &plain);
        let dense = MultiHotBatcher::new(60, InputKind::Dense).batch(items, &plain);
        let MlpInput::Sparse(input) = sparse.inputs else {
            panic!("a sparse batcher makes sparse inputs")
        };
        let (logits, tape) = first_layer::forward(&mlp, input, KernelGradient::RowSparse);
        assert!(tape.is_none());
        let expected = mlp.forward(dense.inputs);
        let (a, b): (Vec<f32>, Vec<f32>) = (
            logits.into_data().try_to_vec::<f32>().unwrap(),
            expected.into_data().try_to_vec::<f32>().unwrap(),
        );
        for (a, b) in a.iter().zip(&b) {
            assert!((a - b).abs() <= 1e-5, "{a} vs {b}");
        }
    }
}
