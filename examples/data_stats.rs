//! The seed notebook's first cells: what the IMDB data looks like once encoded.
//!
//! ```text
//! cargo run --example data_stats [-- --data PATH] [--json] [--num-words N]
//! ```

use anyhow::Result;
use burn_imdb::data::{DataSource, EncodeOptions, ImdbLoader};
use clap::Parser;
use std::path::PathBuf;

/// Prints counts, lengths, label balance and a decoded review of the IMDB data.
#[derive(Parser)]
struct Args {
    /// The data: an archive, an aclImdb/ directory or Keras's imdb.npz (default: $BURN_IMDB_DATA,
    /// else the official archive from the cache or the network, else the embedded sample).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Keep the N most frequent words (Keras's `num_words`).
    #[arg(long, default_value_t = 10_000)]
    num_words: usize,
    /// Terms: 1 words (Keras), 2 also word pairs, 3 also word triples.
    #[arg(long, default_value_t = 1)]
    ngrams: u8,
    /// Ignore and do not write the encoded-data cache.
    #[arg(long)]
    no_cache: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let imdb = ImdbLoader::new(DataSource::resolve(args.data))
        .options(
            EncodeOptions::default()
                .with_num_words(Some(args.num_words))
                .with_ngrams(args.ngrams),
        )
        .use_cache(!args.no_cache)
        .load()?;
    let (train_pos, train_neg) = imdb.train.label_counts();
    let (test_pos, test_neg) = imdb.test.label_counts();
    let max_index = imdb
        .train
        .max_token()
        .max(imdb.test.max_token())
        .unwrap_or(0);
    let words: Vec<u32> = imdb.train.tokens(0).iter().copied().take(20).collect();
    let decoded = imdb.decode(&words);
    let p = &imdb.provenance;
    if args.json {
        let stats = serde_json::json!({
            "train": imdb.train.len(),
            "test": imdb.test.len(),
            "review_1_length": imdb.train.tokens(1).len(),
            "max_review_length": imdb.train.max_len().max(imdb.test.max_len()),
            "max_index": max_index,
            "train_pos": train_pos, "train_neg": train_neg,
            "test_pos": test_pos, "test_neg": test_neg,
            "review_0_first_20_words": decoded,
            "load_seconds": p.load_seconds,
            "cache_hit": p.cache_hit,
            "source": p.kind, "path": p.path, "checksum": p.checksum,
        });
        println!("{stats}");
        return Ok(());
    }
    println!(
        "source            {:?} {}",
        p.kind,
        p.path
            .as_ref()
            .map_or("(embedded)".into(), |p| p.display().to_string())
    );
    println!("train reviews     {}", imdb.train.len());
    println!("test reviews      {}", imdb.test.len());
    println!("len(train[1])     {}", imdb.train.tokens(1).len());
    println!(
        "max review length {}",
        imdb.train.max_len().max(imdb.test.max_len())
    );
    println!("max word index    {max_index}");
    println!("train labels      {train_pos} positive / {train_neg} negative");
    println!("test labels       {test_pos} positive / {test_neg} negative");
    println!("train[0] label    {}", imdb.train.label(0));
    println!(
        "train[0] decoded  {}",
        decoded
            .as_deref()
            .unwrap_or("(no word index in this source)")
    );
    println!(
        "loaded in         {:.3} s ({})",
        p.load_seconds,
        if p.cache_hit {
            "cache hit"
        } else {
            "cache miss"
        }
    );
    Ok(())
}
