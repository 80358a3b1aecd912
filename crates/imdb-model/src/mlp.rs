//! The model: a stack of dense layers ending in one logit.

use burn::module::Module;
use burn::module::Param;
use burn::nn::{Dropout, Linear};
use burn::tensor::activation::sigmoid;
use burn::tensor::{IndexingUpdateOp, Int, Tensor, TensorData};

use crate::config::HiddenActivation;
use crate::error::ModelError;
use crate::input::{MlpInput, SparseBatch};
use crate::loss::Loss;

/// Multi-layer perceptron for binary classification, built by [`MlpConfig`](crate::MlpConfig).
///
/// Every hidden layer is `Linear → activation → Dropout` (dropout only when configured and only in
/// training mode on an autodiff device); the output layer is a `Linear` to one **logit**, with no
/// sigmoid, so the loss can be computed stably (see [`crate::loss`]).
#[derive(Module, Debug)]
pub struct Mlp {
    // Crate-visible for the tests; outside the crate an `Mlp` only comes from a validated
    // `MlpConfig`, and its parts are read through the accessors below.
    pub(crate) hidden: Vec<Linear>,
    pub(crate) output: Linear,
    // Not a module: a plain choice of function, shown in `Display` and not saved with the weights
    // (the JSON config carries it).
    #[module(skip)]
    pub(crate) activation: HiddenActivation,
    pub(crate) dropout: Option<Dropout>,
    pub(crate) l2: Option<f64>,
    /// `s`, `[input]`, when configured ([`InputWeights`](crate::InputWeights)); never tracked.
    pub(crate) input_weights: Option<Param<Tensor<1>>>,
}

impl Mlp {
    // Private so that every `Mlp` comes from a validated `MlpConfig`.
    pub(crate) fn from_parts(
        hidden: Vec<Linear>,
        output: Linear,
        activation: HiddenActivation,
        dropout: Option<Dropout>,
        l2: Option<f64>,
        input_weights: Option<Param<Tensor<1>>>,
    ) -> Self {
        Self {
            hidden,
            output,
            activation,
            dropout,
            l2,
            input_weights,
        }
    }

    /// This model with its per-feature input weights set to `weights` (`[input]`, finite), for a
    /// model configured with [`InputWeights::PerFeature`](crate::InputWeights::PerFeature).
    ///
    /// # Errors
    ///
    /// [`ModelError::NoInputWeights`] if the config has none, [`ModelError::InputWeights`] if
    /// `weights` is not `input` long or holds a non-finite value.
    pub fn with_input_weights(mut self, weights: &[f32]) -> Result<Self, ModelError> {
        let Some(param) = self.input_weights.take() else {
            return Err(ModelError::NoInputWeights);
        };
        let input = self.input_size();
        if weights.len() != input || !weights.iter().all(|w| w.is_finite()) {
            return Err(ModelError::InputWeights {
                expected: input,
                len: weights.len(),
            });
        }
        let device = param.lazy_device();
        let values = Tensor::from_data(TensorData::new(weights.to_vec(), [input]), &device);
        self.input_weights = Some(param.map(|_| values));
        Ok(self)
    }

    /// The per-feature input weights `s` (`[input]`, never tracked), when configured
    /// ([`InputWeights`](crate::InputWeights)).
    pub fn input_weights(&self) -> Option<Tensor<1>> {
        self.input_weights.as_ref().map(Param::val)
    }

    /// The hidden layers in order: `hidden_layers()[0]` holds the first kernel `W₀`,
    /// `[input, hidden[0]]`, the one a multi-hot input reaches.
    ///
    /// Read-only, like every accessor here: code that computes the network itself (the CPU
    /// training step of `imdb-train`, an exporter) reads the layers and settings, and
    /// [`forward`](Self::forward) stays the definition it is tested against.
    pub fn hidden_layers(&self) -> &[Linear] {
        &self.hidden
    }

    /// The output layer, `[hidden[last], 1]`.
    pub fn output_layer(&self) -> &Linear {
        &self.output
    }

    /// The activation after every hidden layer.
    pub fn activation(&self) -> HiddenActivation {
        self.activation
    }

    /// The dropout rate [`forward`](Self::forward) applies after each hidden activation in this
    /// mode: the configured rate in training mode, `None` without dropout, at rate 0, or after
    /// [`valid()`](Module::valid). (Burn's `Dropout` is also off on a device without autodiff.)
    pub fn active_dropout(&self) -> Option<f64> {
        self.dropout
            .as_ref()
            .filter(|d| d.training.is_enabled() && d.prob > 0.0)
            .map(|d| d.prob)
    }

    /// The configured L2 factor `λ` on every hidden kernel (see [`l2_penalty`](Self::l2_penalty)).
    pub fn l2(&self) -> Option<f64> {
        self.l2
    }

    /// Logits of a batch, dense or sparse.
    ///
    /// A [`SparseBatch`] computes the first layer as a sum of kernel rows with Burn's `select`
    /// and `select_assign` (both differentiated by Burn, so a word used by several examples gets
    /// the sum of their gradients, as with the matmul) on the model's device. Either way the
    /// result, and its gradients under autodiff, equal the dense matmul's up to float rounding.
    ///
    /// # Shapes
    ///
    /// - `input`: `[batch, input]` dense rows, or `batch` rows of word ids below `input`
    /// - returns: `[batch, 1]` logits; `sigmoid` of them is P(positive)
    ///
    /// # Panics
    ///
    /// If the input is not `input` wide.
    pub fn forward(&self, input: impl Into<MlpInput>) -> Tensor<2> {
        let z = match input.into() {
            MlpInput::Dense(x) => match self.input_weights() {
                Some(s) => self.hidden[0].forward(x * s.unsqueeze_dim(0)),
                None => self.hidden[0].forward(x),
            },
            MlpInput::Sparse(batch) => self.first_layer_sparse(&batch),
        };
        self.forward_from_first_preactivation(z)
    }

    /// The first hidden layer's pre-activation `x·W₀ + b₀` of a batch given as word ids.
    ///
    /// # Shapes
    ///
    /// - returns: `[batch_size, hidden[0]]`
    fn first_layer_sparse(&self, batch: &SparseBatch) -> Tensor<2> {
        let first = &self.hidden[0];
        let weight = first.weight.val();
        let [width, units] = weight.dims();
        assert_eq!(
            batch.width(),
            width,
            "sparse batch width must equal the model's input size"
        );
        let device = weight.device();
        let mut z = Tensor::<2>::zeros([batch.batch_size(), units], &device);
        // Zero-length tensors are not something every backend handles. An all-empty batch has no
        // rows to add; W₀ then gets no gradient at all, where the dense path computes zeros.
        if batch.nnz() > 0 {
            let (indices, rows) = batch.to_device_ids(&device);
            let word_rows = self.kernel_rows(weight, indices);
            z = z.select_assign(0, rows, word_rows, IndexingUpdateOp::Add);
        }
        match &first.bias {
            Some(bias) => z + bias.val().unsqueeze_dim(0),
            None => z,
        }
    }

    /// `s_i·W₀[i]` for every id `i` of `indices` (`W₀[i]` without input weights).
    ///
    /// # Shapes
    ///
    /// - `weight`: `W₀`, `[input, units]`; `indices`: `[nnz]`
    /// - returns: `[nnz, units]`
    fn kernel_rows(&self, weight: Tensor<2>, indices: Tensor<1, Int>) -> Tensor<2> {
        match self.input_weights() {
            Some(s) => {
                let scale = s.select(0, indices.clone()).unsqueeze_dim(1);
                weight.select(0, indices) * scale
            }
            None => weight.select(0, indices),
        }
    }

    /// Everything after the first kernel: `b₀`'s layer output, the other hidden layers, the
    /// output layer.
    ///
    /// # Shapes
    ///
    /// - `z`: the first hidden layer's `x·W₀ + b₀`, `[batch, hidden[0]]`
    /// - returns: `[batch, 1]` logits
    pub(crate) fn forward_from_first_preactivation(&self, z: Tensor<2>) -> Tensor<2> {
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

    /// Probability of the positive class: `sigmoid(forward(input))`.
    ///
    /// Call it on [`valid()`](Module::valid) for inference, so dropout is off.
    ///
    /// # Shapes
    ///
    /// - `input`: as for [`forward`](Self::forward)
    /// - returns: `[batch, 1]`, values in `[0, 1]`
    pub fn predict_proba(&self, input: impl Into<MlpInput>) -> Tensor<2> {
        sigmoid(self.forward(input))
    }

    /// Occlusion: the logit of every row of `batch`, and of every row with each one of its words
    /// removed, for explanations (`logit − logit without word` is that word's effect).
    ///
    /// Exact, and one forward: removing word `i` from a multi-hot row subtracts the kernel row
    /// `W₀[i]` (times the input weight `s_i`, when configured) from the first layer's
    /// pre-activation, so all the "without" rows are one gather
    /// and one subtraction, and the rest of the network runs once over all of them. Call it on
    /// [`valid()`](Module::valid), so dropout is off.
    ///
    /// # Shapes
    ///
    /// - `batch`: `batch_size` rows of word ids below `input`
    /// - returns: `batch_size` logits, and `nnz` "without" logits aligned with
    ///   [`SparseBatch::indices`] (see [`Occlusion::without`])
    ///
    /// # Panics
    ///
    /// If `batch` is not `input` wide.
    pub fn occlusion(&self, batch: &SparseBatch) -> Occlusion {
        let z = self.first_layer_sparse(batch);
        let device = z.device();
        let z = if batch.nnz() == 0 {
            z
        } else {
            let (indices, rows) = batch.to_device_ids(&device);
            let kernel = self.hidden[0].weight.val();
            let without = z.clone().select(0, rows) - self.kernel_rows(kernel, indices);
            Tensor::cat(vec![z, without], 0)
        };
        let mut logits: Vec<f32> = self
            .forward_from_first_preactivation(z)
            .into_data()
            .convert::<f32>()
            .try_into_vec()
            .expect("converted to f32 above");
        let without = logits.split_off(batch.batch_size());
        Occlusion {
            logits,
            without,
            offsets: batch.offsets().to_vec(),
        }
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
    /// This is the one place the L2 term is added: [`Loss::compute`], [`bce_with_logits`](crate::bce_with_logits)
    /// and [`mse_on_sigmoid`](crate::mse_on_sigmoid) are the data term alone. A model configured
    /// with `l2` but trained on `Loss::compute` is not regularised.
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
}

/// What [`Mlp::occlusion`] found for a batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Occlusion {
    logits: Vec<f32>,
    without: Vec<f32>,
    offsets: Vec<usize>,
}

impl Occlusion {
    /// The logit of row `r`.
    ///
    /// # Panics
    ///
    /// If `r` is not a row of the batch.
    pub fn logit(&self, r: usize) -> f32 {
        self.logits[r]
    }

    /// The logit of row `r` without each of its words: `without(r)[j]` for the word
    /// `batch.row(r)[j]`.
    ///
    /// # Panics
    ///
    /// If `r` is not a row of the batch.
    pub fn without(&self, r: usize) -> &[f32] {
        &self.without[self.offsets[r]..self.offsets[r + 1]]
    }
}
