//! Export a trained model's weights as safetensors, with the reviews to check them on.
//!
//! ```text
//! cargo run --example export -- --model artifacts/baseline [--out artifacts/baseline/export]
//! python3 tools/safetensors-check/check.py artifacts/baseline/export
//! ```
//!
//! Writes into `--out` (default: `<model>/export`, next to the model):
//! - `model.safetensors`: the weights in Burn's and Keras's layout (`[in, out]` kernels);
//! - `model.pytorch.safetensors`: the same in PyTorch's (`[out, in]`);
//! - `reviews.json`: a few reviews as the model reads them, `{"text", "ids", "logit"}`, the
//!   logit the Rust model gives; `ids` are the multi-hot row's columns.
//!
//! `docs/guide/export.md` documents the tensors; `tools/safetensors-check/` recomputes each
//! logit from the file with numpy alone.

use anyhow::{Context, Result};
use burn_imdb::bundle::ModelBundle;
use burn_imdb::bundle::safetensors::{Layout, to_safetensors};
use burn_imdb::predict::SentimentClassifier;
use burn_imdb::train::BackendKind;
use clap::Parser;
use std::path::PathBuf;

/// Exports a trained model's weights as safetensors, with reviews and their logits to check.
#[derive(Parser)]
struct Args {
    /// The model directory, or an experiment directory holding `model/`.
    #[arg(long, default_value = "artifacts/baseline")]
    model: PathBuf,
    /// Where the files go (default: `<model>/export`).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Reviews the check recomputes: clear ones, mixed ones, an empty one (start character only)
/// and one without a known word (start and OOV characters).
const REVIEWS: [&str; 8] = [
    "A wonderful, moving film. The acting is excellent and the story is beautiful.",
    "An awful, boring mess. The worst acting and a stupid plot; a waste of time.",
    "Not bad at all! I expected far less, and the ending surprised me.",
    "The plot was predictable but the cast carried it; I'd watch it again.",
    "so-so, I guess",
    "<br /><br />It is one of the best movies of the year, if not the best.",
    "",
    "Zzyzx qwertyuiop asdfghjkl.",
];

fn main() -> Result<()> {
    let args = Args::parse();
    let device = BackendKind::select(Some("flex"))?.device();
    let bundle = ModelBundle::read_dir(&args.model)
        .with_context(|| format!("reading the model at {}", args.model.display()))?;
    let out = args.out.unwrap_or_else(|| args.model.join("export"));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;

    let mlp = bundle.model(&device)?;
    for (name, layout) in [
        ("model.safetensors", Layout::Burn),
        ("model.pytorch.safetensors", Layout::PyTorch),
    ] {
        let bytes = to_safetensors(&mlp, bundle.config(), layout)?;
        let path = out.join(name);
        burn_imdb::data::atomic::write(&path, &bytes)
            .with_context(|| format!("writing {}", path.display()))?;
    }

    let classifier = SentimentClassifier::from_bundle(&bundle, &device)?.with_top_k(0);
    let predictions = classifier.predict(&REVIEWS);
    let reviews: Vec<serde_json::Value> = REVIEWS
        .iter()
        .zip(&predictions)
        .map(|(text, p)| {
            let mut ids = classifier.encode(text);
            ids.sort_unstable();
            ids.dedup();
            serde_json::json!({"text": text, "ids": ids, "logit": p.logit})
        })
        .collect();
    let path = out.join("reviews.json");
    let json = serde_json::to_string_pretty(&reviews)? + "\n";
    burn_imdb::data::atomic::write(&path, json.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    println!(
        "wrote model.safetensors, model.pytorch.safetensors and reviews.json ({} reviews) to {}",
        reviews.len(),
        out.display()
    );
    Ok(())
}
