#![doc = include_str!("../README.md")]
//!
//! ## What is where
//!
//! - [`MlpConfig`] → [`Mlp`]: `input → hidden… → 1 logit`, validated by
//!   [`MlpConfig::try_init`] with a typed [`ModelError`].
//! - [`Mlp::forward`] on an [`MlpInput`]: a dense `[batch, input]` tensor, or the word ids of
//!   each row ([`SparseBatch`]), whose first layer is a sum of kernel rows computed with Burn ops
//!   on any backend. Both train under Burn's autodiff with nothing else to call.
//! - Optional fixed input weights ([`InputWeights`], [`Mlp::with_input_weights`]): feature `i`
//!   enters the first layer times `s_i` on every path, and the weights are saved with the model.
//! - [`Mlp::predict_proba`] for probabilities, [`Mlp::occlusion`] for the logit of each example
//!   with each of its words removed (explanations).
//! - [`loss`]: binary cross-entropy from logits and MSE on the sigmoid, compared with Keras.
//!   They are the data term only: [`Mlp::loss`] is the one function that adds the L2 term, as
//!   Keras does.
//!
//! ## Reading a model's parts
//!
//! An [`Mlp`]'s layers and settings are read-only from outside: [`Mlp::hidden_layers`] (the
//! first holds `W₀`), [`Mlp::output_layer`], [`Mlp::activation`], [`Mlp::active_dropout`],
//! [`Mlp::l2`] and [`Mlp::input_weights`], with the element-wise forms of the activations and
//! losses ([`HiddenActivation::value`], [`Loss::value`], ...). That is all `imdb-train`'s CPU
//! training step uses to compute a step as host loops; any exporter or custom kernel can do the
//! same, and [`Mlp::forward`] stays the definition such code is tested against.
//!
//! ## Inside your own model
//!
//! [`Mlp`] is an ordinary Burn module: hold it in your `#[derive(Module)]` struct and any Burn
//! optimizer trains it with the rest. Training needs the autodiff device.
//!
//! ```
//! use burn::module::Module;
//! use burn::nn::{Linear, LinearConfig};
//! use burn::optim::{AdamConfig, GradientsParams};
//! use burn::tensor::{Device, Distribution, Tensor};
//! use imdb_model::{Loss, Mlp, MlpConfig};
//!
//! #[derive(Module, Debug)]
//! struct MyModel {
//!     project: Linear,
//!     head: Mlp,
//! }
//!
//! let device = Device::flex().autodiff();
//! device.seed(0);
//! let mut model = MyModel {
//!     project: LinearConfig::new(4, 8).init(&device),
//!     head: MlpConfig::new(8).with_hidden(vec![8]).init(&device),
//! };
//! let x = Tensor::<2>::random([64, 4], Distribution::Uniform(-1.0, 1.0), &device);
//! let y = x.clone().sum_dim(1).greater_elem(0.0).float(); // [64, 1]
//!
//! let mut optim = AdamConfig::new().init();
//! let loss_of = |m: &MyModel| {
//!     let logits = m.head.forward(m.project.forward(x.clone()));
//!     m.head.loss(Loss::Bce, logits, y.clone())
//! };
//! let first: f32 = loss_of(&model).into_scalar();
//! for _ in 0..50 {
//!     let grads = GradientsParams::from_grads(loss_of(&model).backward(), &model);
//!     model = optim.step(1e-2, model, grads);
//! }
//! let last: f32 = loss_of(&model).into_scalar();
//! assert!(last < first);
//! ```

mod config;
mod error;
mod input;
pub mod loss;
mod mlp;

pub use config::{HiddenActivation, InputWeights, MAX_PARAMETERS, MlpConfig, WeightInit};
pub use error::{ModelError, Result};
pub use input::{MlpInput, SparseBatch};
pub use loss::{Loss, bce_with_logits, mse_on_sigmoid};
pub use mlp::{Mlp, Occlusion};

#[cfg(test)]
mod tests;
