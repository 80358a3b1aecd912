//! The MLP's weights as [safetensors](https://huggingface.co/docs/safetensors), the format
//! PyTorch, Keras 3, JAX, numpy and the Hugging Face tools read (feature `safetensors`), written
//! and read with Burn's own `burn::store::SafetensorsStore`.
//!
//! # Tensors
//!
//! For an [`MlpConfig`] with `input = n` and `hidden = [h₀, …, h₍ₖ₋₁₎]`, every tensor `f32`,
//! little-endian, named by the model's Burn path:
//!
//! | name | shape, [`Layout::Burn`] | shape, [`Layout::PyTorch`] |
//! |---|---|---|
//! | `hidden.{i}.weight` | `[inᵢ, hᵢ]` (`in₀ = n`, `inᵢ = hᵢ₋₁`) | `[hᵢ, inᵢ]` |
//! | `hidden.{i}.bias` | `[hᵢ]` | `[hᵢ]` |
//! | `output.weight` | `[h₍ₖ₋₁₎, 1]` | `[1, h₍ₖ₋₁₎]` |
//! | `output.bias` | `[1]` | `[1]` |
//! | `input_weights` | `[n]`, only with [`InputWeights`](imdb_model::InputWeights) | `[n]` |
//!
//! [`Layout::Burn`] is Burn's `Linear` layout, which is also **Keras's** (`Dense.kernel` is
//! `[in, out]`, `y = x·W + b`): Keras's `layer.set_weights([W, b])` takes these arrays as they
//! are. [`Layout::PyTorch`] transposes each 2-D weight to **PyTorch's** `nn.Linear.weight`
//! (`[out, in]`, `y = x·Wᵀ + b`), so `model.load_state_dict(safetensors.torch.load_file(..))`
//! fits a `torch.nn.Linear` stack of the same sizes once the names are mapped. Either way, one
//! array converts to the other with a transpose (`W.T` in numpy).
//!
//! # The network these weights compute
//!
//! A review's word ids (what `imdb-predict` encodes from text) become a multi-hot row
//! `x ∈ {0, 1}ⁿ`; then, with `a₀ = x ⊙ input_weights` (or `x`):
//!
//! ```text
//! aᵢ₊₁  = act(aᵢ · hidden.{i}.weight + hidden.{i}.bias)       act: the config's activation (ReLU by default)
//! logit = aₖ · output.weight + output.bias                     P(positive) = sigmoid(logit)
//! ```
//!
//! (Dropout is off at inference.) `tools/safetensors-check/` recomputes the logits of a few
//! reviews from an exported file with numpy alone and compares them with the Rust model's.
//!
//! # Metadata
//!
//! The file's `__metadata__` holds Burn's own keys (`format`, `producer`, `version`), then
//! [`LAYOUT_KEY`] (`"burn"` or `"pytorch"`) and [`CONFIG_KEY`] (the [`MlpConfig`] as JSON, the
//! content of a model directory's `config.json`), so the file describes itself.
//!
//! ```
//! use burn::tensor::Device;
//! use imdb_bundle::safetensors::{Layout, from_safetensors, to_safetensors};
//! use imdb_model::MlpConfig;
//!
//! let device = Device::flex();
//! let config = MlpConfig::new(100).with_hidden(vec![8]);
//! let mlp = config.init(&device);
//! let bytes = to_safetensors(&mlp, &config, Layout::PyTorch)?;
//! let back = from_safetensors(&config, &bytes, Layout::PyTorch, &device)?;
//! assert_eq!(
//!     back.hidden_layers()[0].weight.val().into_data(),
//!     mlp.hidden_layers()[0].weight.val().into_data()
//! );
//! # Ok::<(), imdb_bundle::BundleError>(())
//! ```

use crate::{BundleError, Result};
use burn::module::Module;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};
use burn::tensor::Device;
use imdb_model::{Mlp, MlpConfig};

/// The metadata key naming the [`Layout`] of a file this module writes.
pub const LAYOUT_KEY: &str = "burn_imdb.layout";
/// The metadata key holding the [`MlpConfig`] (JSON) of a file this module writes.
pub const CONFIG_KEY: &str = "burn_imdb.config";

/// How the 2-D weights are laid out in a safetensors file (see the [module docs](self)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Layout {
    /// Burn's and Keras's: `[in, out]`, `y = x·W + b`.
    #[default]
    Burn,
    /// PyTorch's `nn.Linear.weight`: `[out, in]`, `y = x·Wᵀ + b`.
    PyTorch,
}

impl Layout {
    /// The name written under [`LAYOUT_KEY`]: `"burn"` or `"pytorch"`.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Burn => "burn",
            Layout::PyTorch => "pytorch",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [Layout::Burn, Layout::PyTorch]
            .into_iter()
            .find(|l| l.name() == name)
    }
}

/// The weights of `mlp` (built from `config`) as the bytes of a safetensors file, in `layout`.
///
/// # Errors
/// [`BundleError::Safetensors`] if Burn's store cannot serialise them.
pub fn to_safetensors(mlp: &Mlp, config: &MlpConfig, layout: Layout) -> Result<Vec<u8>> {
    let config = serde_json::to_string(config).expect("a model config always serialises");
    let mut store = SafetensorsStore::from_bytes(None)
        .metadata(LAYOUT_KEY, layout.name())
        .metadata(CONFIG_KEY, config);
    if layout == Layout::PyTorch {
        store = store.with_to_adapter(BurnToPyTorchAdapter);
    }
    mlp.save_into(&mut store).map_err(error)?;
    store.get_bytes().map_err(error)
}

/// The model of `config` on `device`, in inference mode ([`Module::valid`]), with the weights of
/// the safetensors file `bytes` laid out as `layout`.
///
/// Every tensor of the model must be in the file with its shape, and the file may hold no
/// other: a file for a model with input weights does not load into one without, and the
/// reverse.
///
/// # Errors
/// [`BundleError::Safetensors`] when the bytes are not a safetensors file, when the file says
/// it was written in the other layout (its [`LAYOUT_KEY`]), when a tensor is missing, extra or
/// of another shape or type; [`BundleError::InvalidModel`] for an invalid `config`.
pub fn from_safetensors(
    config: &MlpConfig,
    bytes: &[u8],
    layout: Layout,
    device: &Device,
) -> Result<Mlp> {
    if let Some(written) = metadata(bytes)?.get(LAYOUT_KEY) {
        let written = written.as_str().and_then(Layout::parse);
        if written != Some(layout) {
            return Err(BundleError::Safetensors {
                message: format!(
                    "the file was written in the {} layout, and is read as {}",
                    written.map_or("unknown", Layout::name),
                    layout.name()
                ),
            });
        }
    }
    let mut mlp = config
        .try_init(device)
        .map_err(|source| BundleError::InvalidModel {
            path: "(safetensors)".into(),
            source,
        })?;
    let mut store = SafetensorsStore::from_bytes(Some(bytes.to_vec()));
    if layout == Layout::PyTorch {
        store = store.with_from_adapter(PyTorchToBurnAdapter);
    }
    let applied = mlp.load_from(&mut store).map_err(error)?;
    if !applied.unused.is_empty() {
        return Err(BundleError::Safetensors {
            message: format!(
                "tensors the configured model does not have: {}",
                applied.unused.join(", ")
            ),
        });
    }
    Ok(mlp.valid())
}

fn error(e: impl std::fmt::Display) -> BundleError {
    BundleError::Safetensors {
        message: e.to_string(),
    }
}

/// The `__metadata__` of a safetensors file: its header is an 8-byte little-endian length, then
/// that many bytes of JSON. Checked against the bytes there are before anything is read.
fn metadata(bytes: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>> {
    let bad = |why: &str| BundleError::Safetensors {
        message: format!("not a safetensors file: {why}"),
    };
    let len = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
        .ok_or_else(|| bad("shorter than its 8-byte header length"))?;
    let header = usize::try_from(len)
        .ok()
        .and_then(|len| bytes.get(8..8usize.checked_add(len)?))
        .ok_or_else(|| bad("the header length runs past the end"))?;
    let mut header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(header).map_err(|e| bad(&e.to_string()))?;
    Ok(match header.remove("__metadata__") {
        Some(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Tensor, TensorData};
    use imdb_model::{InputWeights, SparseBatch};

    fn params(mlp: &Mlp) -> Vec<(Vec<usize>, Vec<f32>)> {
        let mut out = Vec::new();
        let mut push =
            |t: TensorData| out.push((t.shape().to_vec(), t.try_to_vec::<f32>().unwrap()));
        for layer in mlp.hidden_layers().iter().chain([mlp.output_layer()]) {
            push(layer.weight.val().into_data());
            push(layer.bias.as_ref().unwrap().val().into_data());
        }
        if let Some(s) = mlp.input_weights() {
            push(s.into_data());
        }
        out
    }

    fn logits(mlp: &Mlp, device: &Device) -> Vec<f32> {
        let rows = [vec![1u32, 5, 7, 42], vec![1, 2, 99], vec![1]];
        let batch = SparseBatch::from_rows(rows, 100).unwrap();
        let dense: Tensor<2> = batch.to_dense(device);
        mlp.forward(dense).into_data().try_to_vec::<f32>().unwrap()
    }

    /// Export, then import into a fresh model (other random weights): identical weights and
    /// identical logits, in both layouts, with and without input weights and for three layers.
    #[test]
    fn a_round_trip_gives_the_same_weights_and_logits() {
        let device = Device::flex();
        let configs = [
            MlpConfig::new(100).with_hidden(vec![8, 4]),
            MlpConfig::new(100)
                .with_hidden(vec![6, 6, 3])
                .with_activation(imdb_model::HiddenActivation::Tanh),
            MlpConfig::new(100)
                .with_hidden(vec![5])
                .with_input_weights(Some(InputWeights::PerFeature)),
        ];
        for (seed, config) in configs.iter().enumerate() {
            device.seed(seed as u64);
            let mut mlp = config.init(&device);
            if config.input_weights.is_some() {
                let s: Vec<f32> = (0..100).map(|i| 0.5 + i as f32 / 100.0).collect();
                mlp = mlp.with_input_weights(&s).unwrap();
            }
            let mlp = mlp.valid();
            for layout in [Layout::Burn, Layout::PyTorch] {
                device.seed(1_000 + seed as u64);
                let bytes = to_safetensors(&mlp, config, layout).unwrap();
                let back = from_safetensors(config, &bytes, layout, &device).unwrap();
                assert_eq!(params(&back), params(&mlp), "{config:?} {layout:?}");
                assert_eq!(logits(&back, &device), logits(&mlp, &device));
            }
        }
    }

    /// The names, shapes and metadata are the documented ones; the PyTorch layout transposes
    /// the weights and nothing else.
    #[test]
    fn names_shapes_and_metadata_are_the_documented_ones() {
        let device = Device::flex();
        let config = MlpConfig::new(10).with_hidden(vec![4, 3]);
        let mlp = config.init(&device);
        let shapes = |layout| {
            let bytes = to_safetensors(&mlp, &config, layout).unwrap();
            let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
            let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + len]).unwrap();
            let meta = &header["__metadata__"];
            assert_eq!(meta[LAYOUT_KEY], layout.name());
            let stored: MlpConfig =
                serde_json::from_str(meta[CONFIG_KEY].as_str().unwrap()).unwrap();
            assert_eq!(stored, config);
            let mut out: Vec<(String, String, Vec<u64>)> = header
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| *k != "__metadata__")
                .map(|(k, v)| {
                    let shape = v["shape"].as_array().unwrap();
                    (
                        k.clone(),
                        v["dtype"].as_str().unwrap().to_owned(),
                        shape.iter().map(|d| d.as_u64().unwrap()).collect(),
                    )
                })
                .collect();
            out.sort();
            out
        };
        let f32 = |name: &str, shape: &[u64]| (name.to_owned(), "F32".to_owned(), shape.to_vec());
        assert_eq!(
            shapes(Layout::Burn),
            [
                f32("hidden.0.bias", &[4]),
                f32("hidden.0.weight", &[10, 4]),
                f32("hidden.1.bias", &[3]),
                f32("hidden.1.weight", &[4, 3]),
                f32("output.bias", &[1]),
                f32("output.weight", &[3, 1]),
            ]
        );
        assert_eq!(
            shapes(Layout::PyTorch),
            [
                f32("hidden.0.bias", &[4]),
                f32("hidden.0.weight", &[4, 10]),
                f32("hidden.1.bias", &[3]),
                f32("hidden.1.weight", &[3, 4]),
                f32("output.bias", &[1]),
                f32("output.weight", &[1, 3]),
            ]
        );
    }

    /// A file read in the other layout, into another model, or that is no safetensors file at
    /// all, is an error that says so.
    #[test]
    fn mismatches_are_errors() {
        let device = Device::flex();
        let config = MlpConfig::new(20).with_hidden(vec![4]);
        let bytes = to_safetensors(&config.init(&device), &config, Layout::Burn).unwrap();
        let message = |r: Result<Mlp>| match r {
            Err(BundleError::Safetensors { message }) => message,
            other => panic!("{other:?}"),
        };
        assert!(
            message(from_safetensors(&config, &bytes, Layout::PyTorch, &device))
                .contains("written in the burn layout")
        );
        let wider = MlpConfig::new(20).with_hidden(vec![5]);
        assert!(!message(from_safetensors(&wider, &bytes, Layout::Burn, &device)).is_empty());
        let weighted = config
            .clone()
            .with_input_weights(Some(InputWeights::PerFeature));
        let with_s = to_safetensors(&weighted.init(&device), &weighted, Layout::Burn).unwrap();
        assert!(
            message(from_safetensors(&config, &with_s, Layout::Burn, &device))
                .contains("input_weights")
        );
        assert!(!message(from_safetensors(&weighted, &bytes, Layout::Burn, &device)).is_empty());
        for junk in [
            &b""[..],
            b"\xff\xff\xff\xff\xff\xff\xff\x7f{}",
            b"\x02\0\0\0\0\0\0\0{",
        ] {
            assert!(
                message(from_safetensors(&config, junk, Layout::Burn, &device))
                    .contains("not a safetensors file")
            );
        }
    }
}
