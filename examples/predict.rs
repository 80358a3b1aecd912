//! Classify reviews with a trained model and show the words that decided.
//!
//! ```text
//! cargo run --example predict -- --model artifacts/baseline "A wonderful, moving film."
//! cargo run --example predict -- --model artifacts/baseline --file reviews.txt --json
//! cargo run --example predict -- --model artifacts/baseline --file some_dir/  # *.txt
//! echo "Dull and far too long." | cargo run --example predict -- --model artifacts/baseline
//! ```
//!
//! Inputs: the positional arguments, else `--file` (one review per line, or a directory whose
//! `.txt` files are one review each, in name order), else standard input (one review per line).
//! An input that is not valid UTF-8 is reported on stderr with its file, line and byte offset and
//! skipped; the others are still classified, and the program then exits with an error naming
//! how many were skipped. Every output names its input (`source`), so skipping never misaligns.

use anyhow::{Context, Result, bail};
use burn_imdb::predict::{DEFAULT_BATCH_SIZE, DEFAULT_TOP_K, Prediction, SentimentClassifier};
use burn_imdb::train::BackendKind;
use clap::Parser;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Classifies movie reviews as positive or negative and explains each decision.
#[derive(Parser)]
struct Args {
    /// The model directory, or an experiment directory holding `model/`.
    #[arg(long, default_value = "artifacts/baseline")]
    model: PathBuf,
    /// Reviews to classify.
    texts: Vec<String>,
    /// Read reviews from a file (one per line) or a directory of `.txt` files (one per file).
    #[arg(long, conflicts_with = "texts")]
    file: Option<PathBuf>,
    /// One JSON object per line per review: source, probability, label, logit, top_words.
    #[arg(long)]
    json: bool,
    /// Words shown per review (0: none, and faster).
    #[arg(long, default_value_t = DEFAULT_TOP_K)]
    top: usize,
    /// Reviews per forward pass.
    #[arg(long, default_value_t = DEFAULT_BATCH_SIZE)]
    batch_size: usize,
    /// Backend: flex, ndarray or wgpu (default: $BURN_DEVICE, else wgpu if compiled in, else flex).
    #[arg(long)]
    device: Option<String>,
}

/// One review and where it came from (`arg:N`, `PATH:LINE`, `PATH`, `stdin:LINE`).
struct Input {
    source: String,
    text: String,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let device = BackendKind::select(args.device.as_deref())?.device();
    let classifier = SentimentClassifier::load(&args.model, &device)
        .with_context(|| format!("loading the model from {}", args.model.display()))?
        .with_top_k(args.top)
        .with_batch_size(args.batch_size);

    let mut skipped = 0;
    let inputs = if !args.texts.is_empty() {
        args.texts
            .into_iter()
            .enumerate()
            .map(|(i, text)| Input {
                source: format!("arg:{}", i + 1),
                text,
            })
            .collect()
    } else if let Some(path) = &args.file {
        if path.is_dir() {
            read_dir(path, &mut skipped)?
        } else {
            let file =
                std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
            read_lines(file, &path.display().to_string(), &mut skipped)?
        }
    } else {
        read_lines(std::io::stdin().lock(), "stdin", &mut skipped)?
    };

    let started = Instant::now();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // Chunks larger than a batch, so output streams while the classifier still batches fully.
    for chunk in inputs.chunks(args.batch_size.max(1) * 8) {
        let texts: Vec<&str> = chunk.iter().map(|i| i.text.as_str()).collect();
        for (input, p) in chunk.iter().zip(classifier.predict(&texts)) {
            if args.json {
                let mut line = serde_json::to_value(&p)?;
                line["source"] = input.source.clone().into();
                writeln!(out, "{line}")?;
            } else {
                writeln!(out, "{}", human(&input.source, &p))?;
            }
        }
    }
    out.flush()?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{} reviews in {seconds:.3} s ({:.0} reviews/s, tokenizing included)",
        inputs.len(),
        inputs.len() as f64 / seconds.max(1e-9)
    );
    if skipped > 0 {
        bail!("{skipped} input(s) skipped: not valid UTF-8 (see the warnings above)");
    }
    Ok(())
}

fn human(source: &str, p: &Prediction) -> String {
    let words: Vec<String> = p
        .top_words
        .iter()
        .map(|w| format!("{} {:+.3}", w.word, w.effect))
        .collect();
    format!(
        "{source}: {:.4} {:<8} {}",
        p.probability,
        p.label.to_string(),
        words.join(", ")
    )
}

/// One review per line (a trailing `\r` is dropped); invalid UTF-8 lines are reported and skipped.
fn read_lines(reader: impl Read, name: &str, skipped: &mut usize) -> Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for (i, line) in BufReader::new(reader).split(b'\n').enumerate() {
        let mut bytes = line.with_context(|| format!("reading {name}"))?;
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        let source = format!("{name}:{}", i + 1);
        match String::from_utf8(bytes) {
            Ok(text) => inputs.push(Input { source, text }),
            Err(e) => {
                eprintln!(
                    "warning: {source}: not valid UTF-8 (byte {} of the line), skipped",
                    e.utf8_error().valid_up_to()
                );
                *skipped += 1;
            }
        }
    }
    Ok(inputs)
}

/// The directory's `.txt` files in name order, one review each.
fn read_dir(dir: &Path, skipped: &mut usize) -> Result<Vec<Input>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("listing {}", dir.display()))?
            .path();
        if path.is_file() && path.extension().is_some_and(|e| e == "txt") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut inputs = Vec::new();
    for path in paths {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        match String::from_utf8(bytes) {
            Ok(text) => inputs.push(Input {
                source: path.display().to_string(),
                text,
            }),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let line = 1 + e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count();
                eprintln!(
                    "warning: {}:{line}: not valid UTF-8 (byte {at} of the file), skipped",
                    path.display()
                );
                *skipped += 1;
            }
        }
    }
    Ok(inputs)
}
