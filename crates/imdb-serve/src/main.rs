//! `imdb-serve`: the page and JSON API for a trained model, on this machine.
//!
//! ```text
//! cargo run --example baseline                              # once: trains artifacts/baseline/
//! cargo run -p imdb-serve -- --model artifacts/baseline     # then open http://127.0.0.1:8080/
//! cargo run -p imdb-serve -- --sample --port 0              # no model yet: the sample's, any port
//! ```

use anyhow::{Context, Result};
use clap::Parser;
use imdb_serve::{App, Server, train_sample_model};
use imdb_train::BackendKind;
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Instant;

/// Serves a web page and a JSON API that classify movie reviews with a trained burn-imdb
/// model and show the words that decided.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The model directory, or an experiment directory holding `model/`, as
    /// `cargo run --example baseline` writes it.
    #[arg(long, default_value = "artifacts/baseline")]
    model: PathBuf,
    /// Instead of `--model`: train the embedded sample's quick model at startup (about a
    /// second; test accuracy about 0.84, against 0.89 for the full data's).
    #[arg(long)]
    sample: bool,
    /// The address to listen on. The server has no authentication: keep it on loopback unless
    /// the network is yours.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// The port (0: any free port; the URL is printed).
    #[arg(long, default_value_t = 8080)]
    port: u16,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let device = BackendKind::select(None)?.device();
    let started = Instant::now();
    // Kept until the server stops: the sample's model lives in it.
    let mut _sample_dir = None;
    let model = if args.sample {
        let dir = tempfile::Builder::new()
            .prefix("imdb-serve-sample-")
            .tempdir()
            .context("creating a directory for the sample's model")?;
        let model = train_sample_model(dir.path()).context("training the sample's model")?;
        _sample_dir = Some(dir);
        model
    } else {
        args.model.clone()
    };
    let app = App::load(&model, &device)
        .with_context(|| format!("loading the model from {}", model.display()))?;
    let info = app.info();
    let about: Vec<String> = [
        info.variant.clone(),
        info.test_accuracy.map(|a| format!("test accuracy {a:.3}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    println!(
        "model: {}{}, ready in {:.1} s",
        info.directory.display(),
        if about.is_empty() {
            String::new()
        } else {
            format!(" ({})", about.join("; "))
        },
        started.elapsed().as_secs_f64(),
    );
    let server = Server::bind((args.host, args.port), app)?;
    println!("serving {}  (Ctrl-C stops)", server.url());
    std::io::stdout().flush()?;
    server.run()?;
    Ok(())
}
