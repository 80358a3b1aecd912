//! Exports a trained burn-imdb model's forward (dense multi-hot input → logit) to ONNX with
//! burn-onnx's exporter, the batch axis dynamic.
//!
//! ```text
//! cargo run --manifest-path tools/onnx-export/Cargo.toml -- \
//!     artifacts/baseline artifacts/baseline/export/model.onnx
//! ```
//!
//! The model: one input `[batch, n]` float32 (the multi-hot rows, `n` = the model's input
//! width), one output `[batch, 1]` float32 (the logits; `sigmoid` gives P(positive)). The
//! exporter names them itself (`tensor_<k>`): read the names from the session.

use anyhow::{Context, Result, bail};
use burn::tensor::{Device, Tensor};
use burn_onnx::export::{AxisSpec, InputSpec, OnnxExporter};
use imdb_bundle::ModelBundle;
use imdb_model::Mlp;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, out] = args.as_slice() else {
        bail!("usage: onnx-export MODEL_DIR OUT.onnx");
    };
    let device = Device::flex();
    let bundle = ModelBundle::read_dir(model).with_context(|| format!("reading {model}"))?;
    let mlp = bundle.model(&device)?;
    let width = mlp.input_size();
    // Two traces with different batch sizes tell the exporter which axis is the batch.
    let sample = Tensor::<2>::zeros([2, width], &device);
    let validation = Tensor::<2>::zeros([3, width], &device);
    let specs = [InputSpec::new([
        AxisSpec::dynamic("batch"),
        AxisSpec::Static,
    ])];
    let onnx = OnnxExporter::new()
        .export_dynamic(&mlp, sample, validation, &specs, |m: &Mlp, x: Tensor<2>| {
            m.forward(x)
        })
        .context("burn-onnx could not export the forward")?;
    onnx.save(out).with_context(|| format!("writing {out}"))?;
    println!(
        "wrote {out} ({} bytes): input [batch, {width}], output [batch, 1]",
        onnx.as_bytes().len()
    );
    Ok(())
}
