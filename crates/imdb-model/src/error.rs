//! The one error type of this crate.

/// Why a model could not be built or an input could not be encoded.
///
/// Every variant names the offending field and carries its value, so the message alone is enough
/// to fix a configuration file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// `input` was 0: the first layer needs at least one input feature.
    #[error("MlpConfig.input must be > 0, got 0")]
    ZeroInput,

    /// `hidden` was empty: without a hidden layer there is no kernel for L2 and no non-linearity.
    #[error("MlpConfig.hidden must list at least one layer, got []")]
    NoHiddenLayers,

    /// A hidden layer was given 0 units.
    #[error("MlpConfig.hidden[{layer}] must be > 0, got 0")]
    ZeroHiddenUnits {
        /// Position of the layer in `hidden`.
        layer: usize,
    },

    /// `dropout` was NaN, infinite, negative, or 1 and above (a rate of 1 would drop everything).
    #[error("MlpConfig.dropout must be finite and in [0, 1), got {dropout}")]
    InvalidDropout {
        /// The rejected rate.
        dropout: f64,
    },

    /// `l2` was NaN, infinite or negative.
    #[error("MlpConfig.l2 must be finite and >= 0, got {l2}")]
    InvalidL2 {
        /// The rejected factor.
        l2: f64,
    },

    /// The network would have more parameters than [`MAX_PARAMETERS`](crate::MAX_PARAMETERS)
    /// (`input` × the first hidden width is usually what makes it so).
    #[error(
        "MlpConfig describes {} parameters ({}), above the limit of {limit} ({}): lower input (the vocabulary) or the hidden widths",
        parameters.map_or("more than 2^64".to_string(), |n| n.to_string()),
        parameters.map_or("more than 16 EiB".to_string(), |n| crate::error::gib(n.saturating_mul(4))),
        crate::error::gib(limit * 4)
    )]
    TooLarge {
        /// The number of weights and biases, `None` if it overflows a `u64`.
        parameters: Option<u64>,
        /// [`MAX_PARAMETERS`](crate::MAX_PARAMETERS).
        limit: u64,
    },

    /// [`Mlp::with_input_weights`](crate::Mlp::with_input_weights) on a model configured without
    /// input weights.
    #[error("the model has no input weights to set: configure MlpConfig.input_weights")]
    NoInputWeights,

    /// Input weights of the wrong length, or with a NaN or infinite value.
    #[error("input weights must be {expected} finite values, got {len} (or a non-finite one)")]
    InputWeights {
        /// The model's input width.
        expected: usize,
        /// The number of weights given.
        len: usize,
    },

    /// A token id does not fit the input width of the model.
    #[error("token id {index} in row {row} is out of range for an input of width {width}")]
    IndexOutOfRange {
        /// Row (example) of the batch holding the id.
        row: usize,
        /// The rejected id.
        index: u64,
        /// Input width the ids must stay below.
        width: usize,
    },
}

/// `bytes` as GiB of `f32`s, for messages.
pub(crate) fn gib(bytes: u64) -> String {
    format!("{:.1} GiB of f32", bytes as f64 / (1u64 << 30) as f64)
}

/// Result with this crate's [`ModelError`].
pub type Result<T> = core::result::Result<T, ModelError>;
