//! Where a run's first layer and optimizer run: decided once, from the backend, the input kind
//! and the model, and reported with the results.

use std::fmt;

use burn::module::{ParamGroup, ParamId};
use burn::optim::ModuleOptimizer;
use imdb_model::MlpConfig;
use serde::{Deserialize, Serialize};

use super::optim::LazyRmsProp;
use super::sparse_grad::SparseGradients;
use crate::backend_kind::BackendKind;
use crate::config::RmsPropKerasConfig;
use crate::data::InputKind;
use crate::rmsprop::UpdateForm;

/// Evaluation batches of a sparse plan: nothing is updated between them, so their size does
/// not change a number (the epoch loss is a per-review mean either way), and fewer, larger
/// batches pay Burn's per-step overhead less often. Dense plans keep the training batch size:
/// a 4,096-row dense batch of 10,000 words would be 164 MB.
const SPARSE_EVAL_BATCH: usize = 4096;

/// The lazy RMSprop pays when a batch touches less than this fraction of `W₀`'s rows: it jumps
/// between the rows it updates where the dense loop streams through all of them. Measured on
/// the optimizer step alone at 100,000 and 200,000 rows (see the performance pages of `docs/`);
/// every experiment of the study touches more, so it is the dense loop there.
const LAZY_BELOW: f64 = 0.15;

/// The fraction of a `width`-row first kernel that one batch of `reviews` touches: the distinct
/// ids among them over `width`. The plan measures it on the first training batch.
pub(crate) fn touched_fraction<'a>(
    reviews: impl IntoIterator<Item = &'a [u32]>,
    width: usize,
) -> f64 {
    let mut seen = vec![false; width];
    let mut distinct = 0usize;
    for &i in reviews.into_iter().flatten() {
        if let Some(s) = seen.get_mut(i as usize)
            && !*s
        {
            *s = true;
            distinct += 1;
        }
    }
    distinct as f64 / width.max(1) as f64
}

/// How the first layer `x·W₀` is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FirstLayer {
    /// Dense multi-hot rows through `Linear` (a matmul), differentiated by Burn.
    Dense,
    /// Word ids through Burn's `select` / `select_assign` on the device, differentiated by Burn:
    /// for GPUs, whose kernel should not travel to the host each step.
    DeviceSparse,
    /// Word ids through this crate's gather-sum over `W₀`'s buffer, the whole step as loops
    /// (this crate's `cpu` module): for CPU backends.
    #[serde(alias = "host-sparse")]
    CpuSparse,
}

/// How Keras's RMSprop updates the weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerPath {
    /// Tensor ops on the device.
    TensorOps,
    /// One loop per parameter on the CPU.
    #[serde(alias = "host-loop")]
    CpuLoop,
    /// Loops on the CPU, and for `W₀` only the rows the batch touched, with their pending
    /// velocity decay (a lazy RMSprop, exact to the bit).
    LazyFirstKernel,
}

/// The execution plan of a run, decided once per run, from the backend, the input kind, the model
/// and how much of `W₀` a batch touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionPlan {
    /// The first layer.
    pub first_layer: FirstLayer,
    /// The optimizer.
    pub optimizer: OptimizerPath,
}

impl ExecutionPlan {
    /// The plan for `model` on `backend` with batches of `input`, whose training batches touch
    /// the fraction `touched` of `W₀`'s rows ([`touched_fraction`]):
    ///
    /// - dense input: the matmul, RMSprop as CPU loops on a CPU, as tensor ops on a GPU;
    /// - sparse input on a GPU: `select` / `select_assign` and tensor ops;
    /// - sparse input on a CPU: the CPU step's gather-sum, and the lazy RMSprop on `W₀` when a batch
    ///   touches less than [`LAZY_BELOW`] of its rows and no L2 penalty gives every row a
    ///   gradient at every step; otherwise the dense CPU loop.
    pub(crate) fn choose(
        backend: BackendKind,
        input: InputKind,
        model: &MlpConfig,
        touched: f64,
    ) -> Self {
        let (first_layer, optimizer) = match (input, backend.is_cpu()) {
            (InputKind::Dense, true) => (FirstLayer::Dense, OptimizerPath::CpuLoop),
            (InputKind::Dense, false) => (FirstLayer::Dense, OptimizerPath::TensorOps),
            (InputKind::Sparse, false) => (FirstLayer::DeviceSparse, OptimizerPath::TensorOps),
            (InputKind::Sparse, true) if model.l2.is_some() => {
                (FirstLayer::CpuSparse, OptimizerPath::CpuLoop)
            }
            (InputKind::Sparse, true) if touched >= LAZY_BELOW => {
                (FirstLayer::CpuSparse, OptimizerPath::CpuLoop)
            }
            (InputKind::Sparse, true) => (FirstLayer::CpuSparse, OptimizerPath::LazyFirstKernel),
        };
        Self {
            first_layer,
            optimizer,
        }
    }

    /// What batches hold.
    pub fn input(self) -> InputKind {
        match self.first_layer {
            FirstLayer::Dense => InputKind::Dense,
            FirstLayer::DeviceSparse | FirstLayer::CpuSparse => InputKind::Sparse,
        }
    }

    /// Reviews per validation and test batch, given the training batch size.
    pub(crate) fn eval_batch_size(self, train_batch: usize) -> usize {
        match self.first_layer {
            FirstLayer::Dense => train_batch,
            FirstLayer::DeviceSparse | FirstLayer::CpuSparse => train_batch.max(SPARSE_EVAL_BATCH),
        }
    }

    /// Keras's RMSprop with `config`'s settings on this plan's path. On the lazy path, the
    /// first kernel (`first_kernel`, its `ParamId`) gets the [`LazyRmsProp`], which receives
    /// its gradients from the step through `gradients`.
    pub(crate) fn optimizer(
        self,
        config: &RmsPropKerasConfig,
        first_kernel: ParamId,
        gradients: &SparseGradients,
    ) -> ModuleOptimizer {
        let cpu = || ModuleOptimizer::from(config.optimizer(UpdateForm::CpuLoop));
        match self.optimizer {
            OptimizerPath::TensorOps => config.init(),
            OptimizerPath::CpuLoop => cpu(),
            OptimizerPath::LazyFirstKernel => cpu().with_group(
                ParamGroup::from_ids(vec![first_kernel]),
                LazyRmsProp::new(config, first_kernel, gradients.clone()),
                None,
            ),
        }
    }
}

impl fmt::Display for ExecutionPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = match self.first_layer {
            FirstLayer::Dense => "dense matmul",
            FirstLayer::DeviceSparse => "sparse select on the device",
            FirstLayer::CpuSparse => "sparse gather-sum on the CPU",
        };
        let optim = match self.optimizer {
            OptimizerPath::TensorOps => "RMSprop as tensor ops",
            OptimizerPath::CpuLoop => "RMSprop as CPU loops",
            OptimizerPath::LazyFirstKernel => "RMSprop as CPU loops, lazy on W0's touched rows",
        };
        write!(f, "first layer: {first}; {optim}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_follows_backend_input_and_l2() {
        let plain = MlpConfig::new(10_000);
        let l2 = MlpConfig::new(10_000).with_l2(Some(0.002));
        let plan = |b, i, m: &MlpConfig| {
            let p = ExecutionPlan::choose(b, i, m, 0.05);
            (p.first_layer, p.optimizer)
        };
        use {FirstLayer as F, OptimizerPath as O};
        assert_eq!(
            plan(BackendKind::Flex, InputKind::Sparse, &plain),
            (F::CpuSparse, O::LazyFirstKernel)
        );
        assert_eq!(
            plan(BackendKind::NdArray, InputKind::Sparse, &l2),
            (F::CpuSparse, O::CpuLoop)
        );
        assert_eq!(
            plan(BackendKind::Flex, InputKind::Dense, &plain),
            (F::Dense, O::CpuLoop)
        );
        assert_eq!(
            plan(BackendKind::Wgpu, InputKind::Sparse, &plain),
            (F::DeviceSparse, O::TensorOps)
        );
        assert_eq!(
            plan(BackendKind::Wgpu, InputKind::Dense, &l2),
            (F::Dense, O::TensorOps)
        );
        // A batch touching most rows: the streaming loop beats the lazy one.
        let dense_rows = ExecutionPlan::choose(BackendKind::Flex, InputKind::Sparse, &plain, 0.75);
        assert_eq!(dense_rows.optimizer, O::CpuLoop);
        let p = ExecutionPlan::choose(BackendKind::Flex, InputKind::Sparse, &plain, 0.05);
        assert_eq!(p.input(), InputKind::Sparse);
        assert_eq!(p.eval_batch_size(512), SPARSE_EVAL_BATCH);
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"first_layer":"cpu-sparse","optimizer":"lazy-first-kernel"}"#
        );
        // Results written when these were called host-sparse and host-loop still read.
        let old: ExecutionPlan =
            serde_json::from_str(r#"{"first_layer":"host-sparse","optimizer":"host-loop"}"#)
                .unwrap();
        assert_eq!((old.first_layer, old.optimizer), (F::CpuSparse, O::CpuLoop));
    }

    #[test]
    fn touched_fraction_counts_distinct_ids() {
        let reviews: [&[u32]; 3] = [&[1, 2, 2], &[2, 7], &[]];
        assert_eq!(touched_fraction(reviews, 10), 0.3);
        assert_eq!(
            touched_fraction([&[0u32, 99][..]], 4),
            0.25,
            "out-of-range ids are not rows"
        );
    }
}
