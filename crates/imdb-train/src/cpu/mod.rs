//! The training step of a sparse batch on a CPU backend, as loops over the tensors' memory.
//!
//! A multi-hot row of 10,000 words is ~1.2% ones, so the first layer `x·W₀` is a sum of the
//! kernel rows of the words present (a *gather-sum*), and its gradient adds each review's
//! `∂z` into the rows of its words (a *scatter-add*). On a CPU backend one step is:
//!
//! 1. [`plan`]: decided once per run: this path on CPU backends with sparse batches, and whether
//!    `W₀`'s optimizer is the dense loop or the lazy one.
//! 2. [`step`]: forward (the gather-sum in [`gather`], then the small [`layers`], dropout with
//!    Burn's own masks), the loss, and every gradient. `W₀`'s gradient is either a dense
//!    `[width, units]` tensor or a [`sparse_grad::RowSparseGradient`] handed to the optimizer
//!    through a channel keyed by `W₀`'s `ParamId` ([`sparse_grad`] says why).
//! 3. Burn's `ModuleOptimizer` then calls, per parameter, the Keras RMSprop of
//!    [`crate::rmsprop`] in its CPU form ([`optim::dense_step`]), or for `W₀` on the lazy path
//!    [`optim::LazyRmsProp`], which updates the touched rows only, bit for bit as the dense
//!    loop would.
//!
//! Every loop reads the tensors' own memory where Burn allows it ([`memory`]), runs compiled for
//! the CPU's widest vector instructions ([`memory::vectorized`]), and picks its form for the row
//! width in one place ([`width`]). The step reads the model through `imdb-model`'s public
//! accessors only, and is tested against Burn's autodiff of `Mlp::forward` (in
//! [`crate::learner`]'s classifier tests).

pub(crate) mod gather;
pub(crate) mod layers;
pub(crate) mod memory;
pub(crate) mod optim;
pub(crate) mod plan;
pub(crate) mod sparse_grad;
pub(crate) mod step;
pub(crate) mod width;
