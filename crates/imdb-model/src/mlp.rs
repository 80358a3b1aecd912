//! The model: a stack of dense layers ending in one logit.

use burn::module::Module;
use burn::nn::{Dropout, Linear};
use burn::tensor::Tensor;
use burn::tensor::activation::sigmoid;

use crate::config::Activation;
use crate::loss::Loss;

/// Multi-layer perceptron for binary classification, built by [`MlpConfig`](crate::MlpConfig).
///
/// Every hidden layer is `Linear → activation → Dropout` (dropout only when configured and only in
/// training mode on an autodiff device); the output layer is a `Linear` to one **logit**, with no
/// sigmoid, so the loss can be computed stably (see [`crate::loss`]).
#[derive(Module, Debug)]
pub struct Mlp {
    // Crate-visible so the sparse path and the tests can reach the layers; outside the crate an
    // `Mlp` only comes from a validated `MlpConfig`.
    pub(crate) hidden: Vec<Linear>,
    pub(crate) output: Linear,
    // Not a module: a plain choice of function, shown in `Display` and not saved with the weights
    // (the JSON config carries it).
    #[module(skip)]
    pub(crate) activation: Activation,
    pub(crate) dropout: Option<Dropout>,
    pub(crate) l2: Option<f64>,
}

impl Mlp {
    // Private so that every `Mlp` comes from a validated `MlpConfig`.
    pub(crate) fn from_parts(
        hidden: Vec<Linear>,
        output: Linear,
        activation: Activation,
        dropout: Option<Dropout>,
        l2: Option<f64>,
    ) -> Self {
        Self {
            hidden,
            output,
            activation,
            dropout,
            l2,
        }
    }

    /// Logits of a batch of dense inputs.
    ///
    /// # Shapes
    ///
    /// - `x`: `[batch, input]` (a multi-hot matrix, or any real features)
    /// - returns: `[batch, 1]` logits; `sigmoid` of them is P(positive)
    ///
    /// # Panics
    ///
    /// If `x` does not have `input` columns.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let z = self.hidden[0].forward(x);
        self.forward_from_first_preactivation(z)
    }

    /// Everything after the first kernel, shared by [`forward`](Self::forward) and
    /// [`forward_sparse`](Self::forward_sparse) so the two paths cannot drift apart.
    ///
    /// Public so callers can edit the first layer's pre-activation before finishing the forward:
    /// removing a word from a multi-hot row is `z − W₀[word]`, which is how an occlusion
    /// explanation gets every "without this word" logit in one batched call.
    ///
    /// # Shapes
    ///
    /// - `z`: the first hidden layer's `x·W₀ + b₀`, `[batch, hidden[0]]`
    /// - returns: `[batch, 1]` logits
    pub fn forward_from_first_preactivation(&self, z: Tensor<2>) -> Tensor<2> {
        let mut x = self.hidden_output(z);
        for layer in &self.hidden[1..] {
            x = self.hidden_output(layer.forward(x));
        }
        self.output.forward(x)
    }

    fn hidden_output(&self, z: Tensor<2>) -> Tensor<2> {
        let a = self.activation.apply(z);
        match &self.dropout {
            Some(dropout) => dropout.forward(a),
            None => a,
        }
    }

    /// Probability of the positive class: `sigmoid(forward(x))`.
    ///
    /// Call it on [`valid()`](Module::valid) for inference, so dropout is off.
    ///
    /// # Shapes
    ///
    /// - `x`: `[batch, input]`
    /// - returns: `[batch, 1]`, values in `[0, 1]`
    pub fn predict_proba(&self, x: Tensor<2>) -> Tensor<2> {
        sigmoid(self.forward(x))
    }

    /// Keras `l2(λ)` regularisation term: `λ · Σ_hidden ‖W‖²` (squared Frobenius norms).
    ///
    /// Only hidden kernels count: biases and the output layer are excluded, which is exactly what
    /// Keras adds to the loss it reports when every hidden `Dense` has `kernel_regularizer=l2(λ)`.
    /// Tracked under autodiff, so adding it to the loss regularises the gradients too.
    ///
    /// # Shapes
    ///
    /// - returns: `[1]`; zero when no `l2` is configured
    pub fn l2_penalty(&self) -> Tensor<1> {
        match self.l2 {
            Some(lambda) => self
                .hidden
                .iter()
                .map(|layer| layer.weight.val().square().sum())
                .reduce(|a, b| a + b)
                .expect("a validated config has at least one hidden layer")
                .mul_scalar(lambda),
            None => Tensor::zeros([1], &self.output.weight.lazy_device()),
        }
    }

    /// The loss Keras would report: `loss(logits, targets)` plus [`l2_penalty`](Self::l2_penalty)
    /// when `l2` is configured.
    ///
    /// Keras adds regularisation losses to the training **and** the validation loss; call this in
    /// both steps to compare numbers with a Keras run.
    ///
    /// # Shapes
    ///
    /// - `logits`, `targets`: `[batch, 1]`, targets 0.0 / 1.0
    /// - returns: `[1]`
    ///
    /// # Panics
    ///
    /// If `logits` and `targets` differ in shape.
    pub fn loss(&self, loss: Loss, logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
        let data = loss.compute(logits, targets);
        match self.l2 {
            Some(_) => data + self.l2_penalty(),
            None => data,
        }
    }

    /// Width of the input this model expects.
    pub fn input_size(&self) -> usize {
        self.hidden[0].weight.lazy_shape().dims::<2>()[0]
    }

    /// The hidden layers, in order (weights `[fan_in, fan_out]`).
    pub fn hidden(&self) -> &[Linear] {
        &self.hidden
    }

    /// The output layer (weight `[last hidden, 1]`).
    pub fn output(&self) -> &Linear {
        &self.output
    }

    /// The activation after every hidden layer.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The configured dropout rate, if any.
    pub fn dropout(&self) -> Option<f64> {
        self.dropout.as_ref().map(|d| d.prob)
    }

    /// The configured L2 factor λ, if any.
    pub fn l2(&self) -> Option<f64> {
        self.l2
    }
}
