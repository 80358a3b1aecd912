//! The model as Burn's `Learner` sees it: one step for training and validation, on the plan's
//! path, and the outputs Keras's metrics read.

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Int, Tensor};
use burn::train::metric::{Adaptor, ItemLazy, LossInput};
use burn::train::{InferenceStep, TrainOutput, TrainStep};
use imdb_model::{Loss, Mlp, MlpInput};

use super::accuracy::BinaryAccuracyInput;
use crate::cpu::plan::{ExecutionPlan, FirstLayer, OptimizerPath};
use crate::cpu::sparse_grad::SparseGradients;
use crate::cpu::step::{self, FirstKernelGradient, labels_f32};
use crate::data::ImdbBatch;

/// An [`Mlp`] with the loss it is trained with and the run's [`ExecutionPlan`]. Implements
/// Burn's `TrainStep` and `InferenceStep` (which the model crate cannot, to stay free of
/// burn-train).
#[derive(Module, Debug)]
pub(crate) struct Classifier {
    /// The network.
    pub(crate) mlp: Mlp,
    /// The training loss (a constant of the module, not a parameter).
    #[module(skip)]
    pub(crate) loss: Loss,
    /// Where the first layer and the optimizer run.
    #[module(skip)]
    pub(crate) plan: ExecutionPlan,
    /// Where a CPU step leaves `W₀`'s row-sparse gradient for the lazy optimizer (the same
    /// channel the plan's optimizer was given).
    #[module(skip)]
    pub(crate) gradients: SparseGradients,
}

/// What one step produces: everything the loss and accuracy metrics need.
#[derive(Debug, Clone)]
pub(crate) struct BinaryOutput {
    /// The mean loss of the batch, L2 penalty included, as Keras reports it. `[1]`
    pub(crate) loss: Tensor<1>,
    /// Logits. `[batch, 1]`
    pub(crate) logits: Tensor<2>,
    /// Labels, 0 or 1. `[batch]`
    pub(crate) targets: Tensor<1, Int>,
}

impl Classifier {
    /// The one step of training (`train`) and of evaluation: the outputs for the metrics, and
    /// the gradients when training.
    ///
    /// # Shapes
    /// - `batch.inputs`: multi-hot `[batch, input]`, or its word ids
    /// - `batch.targets`: `[batch]`
    fn run(&self, batch: ImdbBatch, train: bool) -> (BinaryOutput, Option<GradientsParams>) {
        match (self.plan.first_layer, batch.inputs) {
            // Loops on the CPU from the first layer to the loss, and every gradient.
            (FirstLayer::CpuSparse, MlpInput::Sparse(input)) => {
                let targets = labels_f32(&batch.targets);
                let out = if train {
                    let first_kernel = match self.plan.optimizer {
                        OptimizerPath::LazyFirstKernel => {
                            FirstKernelGradient::RowSparse(&self.gradients)
                        }
                        OptimizerPath::CpuLoop | OptimizerPath::TensorOps => {
                            FirstKernelGradient::Dense
                        }
                    };
                    step::train(&self.mlp, self.loss, &input, &targets, first_kernel)
                } else {
                    step::evaluate(&self.mlp, self.loss, &input, &targets)
                };
                let (loss, logits, grads) = out.into_tensors(&batch.targets.device());
                let output = BinaryOutput {
                    loss,
                    logits,
                    targets: batch.targets,
                };
                (output, grads)
            }
            // Dense rows, and sparse ones on the device: the model's own forward, and Burn's
            // autodiff.
            (_, inputs) => {
                let logits = self.mlp.forward(inputs);
                let targets_f = batch.targets.clone().float().unsqueeze_dim::<2>(1);
                let loss = self.mlp.loss(self.loss, logits.clone(), targets_f);
                let grads = train.then(|| GradientsParams::from_grads(loss.backward(), self));
                let output = BinaryOutput {
                    loss,
                    logits,
                    targets: batch.targets,
                };
                (output, grads)
            }
        }
    }
}

impl TrainStep for Classifier {
    type Input = ImdbBatch;
    type Output = BinaryOutput;

    fn step(&self, batch: ImdbBatch) -> TrainOutput<BinaryOutput> {
        let (item, grads) = self.run(batch, true);
        TrainOutput {
            grads: grads.expect("a training step has gradients"),
            item,
        }
    }
}

impl InferenceStep for Classifier {
    type Input = ImdbBatch;
    type Output = BinaryOutput;

    fn step(&self, batch: ImdbBatch) -> BinaryOutput {
        self.run(batch, false).0
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
    ///
    /// The metric averages those copies on the tensor's backend, and backends round that f32
    /// sum differently (by up to 2e-5 in a 4,096-review batch): on Flex for every backend, so
    /// that a seed gives the same history on each.
    fn adapt(&self) -> LossInput {
        let [batch, _] = self.logits.dims();
        let loss = self.loss.clone().to_device(&burn::tensor::Device::flex());
        LossInput::new(loss.expand([batch]))
    }
}

impl Adaptor<BinaryAccuracyInput> for BinaryOutput {
    fn adapt(&self) -> BinaryAccuracyInput {
        BinaryAccuracyInput {
            logits: self.logits.clone(),
            targets: self.targets.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{InputKind, MultiHotBatcher};
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
    /// Dropout masks come from the device's generator, reseeded here so that every plan draws
    /// the same ones.
    fn step(mlp: &Mlp, plan: ExecutionPlan, items: &[ImdbItem]) -> (f32, Vec<Vec<f32>>) {
        step_with(mlp, Loss::Bce, plan, items)
    }

    fn step_with(
        mlp: &Mlp,
        loss: Loss,
        plan: ExecutionPlan,
        items: &[ImdbItem],
    ) -> (f32, Vec<Vec<f32>>) {
        let device = Device::flex().autodiff();
        device.seed(99);
        let model = Classifier {
            mlp: mlp.clone(),
            loss,
            plan,
            gradients: SparseGradients::default(),
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
                // W₀'s marker: its row-sparse gradient is in the channel, spread back here to
                // [width, units].
                let units = dims[1];
                assert_eq!(gdims, [0, units], "the marker of a row-sparse gradient");
                let sparse = model.gradients.take(id).expect("the step handed it over");
                let mut dense = vec![0.0; dims[0] * units];
                let values = sparse.values().chunks_exact(units);
                for (&i, g) in sparse.rows().iter().zip(values) {
                    let i = i as usize;
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
            let config = MlpConfig::new(60).with_l2(l2).with_input_weights(weights);
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
            let (dense_loss, dense) = step(&mlp, plan(F::Dense, O::CpuLoop), &items);
            let mut plans = vec![
                plan(F::CpuSparse, O::CpuLoop),
                plan(F::DeviceSparse, O::TensorOps),
            ];
            // The lazy plan is only chosen without L2 (the penalty touches every row).
            if l2.is_none() {
                plans.push(plan(F::CpuSparse, O::LazyFirstKernel));
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

    /// The CPU step against Burn's autodiff of the model's forward (the dense plan) for every
    /// other shape of network the configs allow: tanh, MSE, three hidden layers, 32 units,
    /// dropout (the same masks: both draw them from the reseeded device generator), no bias in
    /// the way. Loss and every gradient within 1e-6 (f32 sums in other orders), and dropout
    /// really dropped something (the gradients differ from the run without it).
    #[test]
    fn the_cpu_step_matches_autodiff_for_every_network_shape() {
        use imdb_model::HiddenActivation;
        let device = Device::flex().autodiff();
        let items = items(60);
        let plan = |first_layer, optimizer| ExecutionPlan {
            first_layer,
            optimizer,
        };
        use {FirstLayer as F, OptimizerPath as O};
        let base = MlpConfig::new(60);
        let cases = [
            (
                "tanh",
                base.clone().with_activation(HiddenActivation::Tanh),
                Loss::Bce,
            ),
            ("mse", base.clone(), Loss::Mse),
            (
                "three layers",
                base.clone().with_hidden(vec![16, 16, 16]),
                Loss::Bce,
            ),
            (
                "32 units",
                base.clone().with_hidden(vec![32, 32]),
                Loss::Bce,
            ),
            ("dropout", base.clone().with_dropout(Some(0.5)), Loss::Bce),
            (
                "tanh, mse, l2, dropout, 3 layers of 8",
                base.clone()
                    .with_activation(HiddenActivation::Tanh)
                    .with_hidden(vec![8, 8, 8])
                    .with_l2(Some(0.002))
                    .with_dropout(Some(0.3)),
                Loss::Mse,
            ),
        ];
        for (name, config, loss) in cases {
            device.seed(5);
            let mlp = config.init(&device);
            // Burn draws a parameter's initial values when it is first read: read them all now,
            // or the first step would draw them after its seeding and get other masks.
            let _ = values(&mlp);
            let (dense_loss, dense) = step_with(&mlp, loss, plan(F::Dense, O::CpuLoop), &items);
            let cpu = plan(F::CpuSparse, O::CpuLoop);
            let (cpu_loss, grads) = step_with(&mlp, loss, cpu, &items);
            assert!(
                (cpu_loss - dense_loss).abs() <= 1e-6,
                "{name}: {cpu_loss} vs {dense_loss}"
            );
            assert_eq!(grads.len(), dense.len(), "{name}");
            for (k, (g, d)) in grads.iter().zip(&dense).enumerate() {
                assert_eq!(g.len(), d.len(), "{name}: parameter {k}");
                for (a, b) in g.iter().zip(d) {
                    assert!((a - b).abs() <= 1e-6, "{name}, parameter {k}: {a} vs {b}");
                }
            }
            if config.dropout.is_some() {
                let without = config.clone().with_dropout(None).init(&device);
                let without = without.load_record(mlp.clone().into_record());
                let (_, plain) = step_with(&without, loss, cpu, &items);
                assert_ne!(plain, grads, "{name}: dropout changed nothing");
            }
        }
    }

    /// Six optimizer steps through `ExecutionPlan::optimizer` (Burn's `ModuleOptimizer`, as
    /// the Learner runs it): the lazy plan's parameter group (W₀'s `ParamId`) gets W₀'s typed
    /// gradient and moves every weight as the dense CPU loop does, to the bit (the lazy update
    /// is exact, see `LazyRmsProp`).
    #[test]
    fn the_lazy_plan_optimizes_like_the_dense_one() {
        use crate::config::RmsPropKerasConfig;
        let device = Device::flex().autodiff();
        device.seed(8);
        let mlp = MlpConfig::new(60).init(&device);
        let items = items(60);
        let run = |optimizer| {
            let plan = ExecutionPlan {
                first_layer: FirstLayer::CpuSparse,
                optimizer,
            };
            let gradients = SparseGradients::default();
            let first_kernel = mlp.hidden_layers()[0].weight.id;
            let mut optim = plan.optimizer(&RmsPropKerasConfig::new(), first_kernel, &gradients);
            let mut model = Classifier {
                mlp: mlp.clone(),
                loss: Loss::Bce,
                plan,
                gradients,
            };
            // Different rows per step, so some rows wait; from the third step on, the lazy
            // path writes in place into the kernel of the step before.
            for k in 0..6 {
                let batch = MultiHotBatcher::new(60, InputKind::Sparse)
                    .batch(items[k * 3..k * 3 + 5].to_vec(), &device);
                let out = TrainStep::step(&model, batch);
                model = optim.step(1e-3, model, out.grads);
            }
            values(&model.mlp)
        };
        let (lazy, dense) = (
            run(OptimizerPath::LazyFirstKernel),
            run(OptimizerPath::CpuLoop),
        );
        assert_ne!(lazy, values(&mlp), "the weights moved");
        assert_eq!(lazy, dense);
    }

    /// Evaluation on the CPU plan computes no gradient and gives the dense forward's logits
    /// and loss (dropout off: it is an inference model).
    #[test]
    fn the_cpu_plan_evaluates_without_gradients() {
        let device = Device::flex().autodiff();
        device.seed(4);
        let config = MlpConfig::new(60).with_dropout(Some(0.5));
        let mlp = config.init(&device).valid();
        let items = items(60);
        let plain = device.inner();
        let sparse = MultiHotBatcher::new(60, InputKind::Sparse).batch(items.clone(), &plain);
        let dense = MultiHotBatcher::new(60, InputKind::Dense).batch(items, &plain);
        let MlpInput::Sparse(input) = sparse.inputs else {
            panic!("a sparse batcher makes sparse inputs")
        };
        let targets = labels_f32(&sparse.targets);
        let out = step::evaluate(&mlp, Loss::Bce, &input, &targets);
        assert!(out.grads.is_none());
        let expected = mlp.forward(dense.inputs);
        let targets_f = dense.targets.float().unsqueeze_dim::<2>(1);
        let loss: f32 = mlp
            .loss(Loss::Bce, expected.clone(), targets_f)
            .into_scalar();
        assert!((out.loss - loss).abs() <= 1e-6, "{} vs {loss}", out.loss);
        let expected = expected.into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(out.logits.len(), expected.len());
        for (a, b) in out.logits.iter().zip(&expected) {
            assert!((a - b).abs() <= 1e-5, "{a} vs {b}");
        }
    }
}
