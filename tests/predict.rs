//! Prediction from text: a tiny model trained once on the embedded sample, then loaded from its
//! directory and checked against the model's own forward, on edge inputs, on broken directories,
//! and through the `predict` example.

use burn::tensor::Device;
use burn_imdb::data::{DataSource, ImdbLoader};
use burn_imdb::model::{MlpConfig, MlpInput};
use burn_imdb::predict::{BundleError, Label, ModelBundle, Prediction, SentimentClassifier};
use burn_imdb::train::{BackendKind, ExperimentConfig, RunOptions, run_experiment};
use burn_imdb::train::{InputKind, MultiHotBatcher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

mod common;

const POSITIVE: &str = "A wonderful, moving film. The acting is excellent and the story is beautiful; one of the best movies I have seen.";
const NEGATIVE: &str = "An awful, boring mess. The worst acting and a stupid plot; a waste of time, terrible from start to finish.";

/// The experiment directory of a tiny model (2 epochs on 1,500 sample reviews), trained once per
/// test binary. It lives in Cargo's per-target temp dir, not `/tmp`, and is left there.
fn experiment() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = tempfile::Builder::new()
            .prefix("predict-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap()
            .keep();
        let imdb = ImdbLoader::new(DataSource::Embedded)
            .cache_dir(root.join("cache"))
            .load()
            .unwrap();
        let config = ExperimentConfig::new()
            .with_name("tiny".into())
            .with_validation(Some(1_000))
            .with_epochs(2)
            .with_batch_size(256)
            .with_seed(7);
        let out = root.join("tiny");
        let opts = RunOptions {
            out_dir: out.clone(),
            backend: BackendKind::select(Some("flex")).unwrap(),
            input: InputKind::Sparse,
            resume: false,
            quiet: true,
            checkpoint_seconds: burn_imdb::train::DEFAULT_CHECKPOINT_SECONDS,
        };
        run_experiment(&config, &imdb, &opts).unwrap();
        // Only the model directory is needed from here on.
        for dir in ["fit", "retrain"] {
            std::fs::remove_dir_all(out.join(dir)).unwrap();
        }
        out
    })
}

fn classifier() -> SentimentClassifier {
    SentimentClassifier::load(experiment(), &Device::flex()).unwrap()
}

fn one(c: &SentimentClassifier, text: &str) -> Prediction {
    c.predict(&[text]).pop().unwrap()
}

fn assert_close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b}");
}

#[test]
fn the_model_directory_is_self_contained() {
    let model = experiment().join("model");
    for f in [
        "manifest.json",
        "config.json",
        "model.bpk",
        "encoding.json",
        "word_index.json",
    ] {
        assert!(model.join(f).is_file(), "model/{f} missing");
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest,
        serde_json::json!({"format": "burn-imdb-model", "version": 1})
    );
    // Both the experiment directory and its model/ load.
    let a = SentimentClassifier::load(&model, &Device::flex()).unwrap();
    assert_eq!(one(&a, POSITIVE), one(&classifier(), POSITIVE));
}

/// A program that carries its model with `include_bytes!` (here: the bytes of the trained
/// model directory's files, read into memory, then the directory deleted) classifies exactly as
/// `SentimentClassifier::load` of that directory: the same probabilities, logits, labels and top
/// words, bit for bit, on reviews, edge inputs and a batch larger than one forward pass.
#[test]
fn a_classifier_from_bytes_equals_the_one_loaded_from_its_directory() {
    use burn_imdb::bundle::files;
    use burn_imdb::predict::BundleFiles;
    let copy = tempfile::tempdir().unwrap();
    let dir = copy.path().join("model");
    std::fs::create_dir(&dir).unwrap();
    for entry in std::fs::read_dir(experiment().join("model")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let (manifest, config, weights, encoding, word_index) = (
        read(files::MANIFEST),
        read(files::CONFIG),
        read(files::WEIGHTS),
        read(files::ENCODING),
        read(files::WORD_INDEX),
    );
    let device = Device::flex();
    let loaded = SentimentClassifier::load(&dir, &device).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let bundle = ModelBundle::from_files(BundleFiles {
        manifest: &manifest,
        config: &config,
        weights: &weights,
        encoding: &encoding,
        word_index: Some(&word_index),
    })
    .unwrap();
    assert_eq!(bundle.origin(), Path::new("(in memory)"));
    let from_bytes = SentimentClassifier::from_bundle(&bundle, &device).unwrap();
    let mut texts = vec![
        POSITIVE,
        NEGATIVE,
        "",
        "so-so, I guess",
        "Not bad at all!",
        "<br /><br />Zzyzx qwertyuiop.",
        "The plot was predictable but the cast carried it; I'd watch it again.",
    ];
    let long = texts.repeat(100);
    texts.extend(long.iter().copied());
    let (a, b) = (from_bytes.predict(&texts), loaded.predict(&texts));
    assert_eq!(a.len(), texts.len());
    assert!(a.iter().any(|p| p.top_words.len() == 5));
    for (i, (a, b)) in a.iter().zip(&b).enumerate() {
        assert_eq!(a.probability.to_bits(), b.probability.to_bits(), "text {i}");
        assert_eq!(a.logit.to_bits(), b.logit.to_bits(), "text {i}");
        assert_eq!(a, b, "text {i}");
    }
}

#[test]
fn clear_reviews_get_the_expected_labels() {
    let c = classifier();
    let p = c.predict(&[POSITIVE, NEGATIVE]);
    for q in &p {
        assert!((0.0..=1.0).contains(&q.probability), "{q:?}");
        assert_eq!(q.label == Label::Positive, q.probability > 0.5, "{q:?}");
        assert_close(
            q.probability,
            1.0 / (1.0 + (-q.logit).exp()),
            1e-12,
            "sigmoid",
        );
    }
    assert_eq!(p[0].label, Label::Positive, "{:?}", p[0]);
    assert_eq!(p[1].label, Label::Negative, "{:?}", p[1]);
}

#[test]
fn predictions_equal_the_models_dense_forward() {
    let c = classifier();
    let texts = [POSITIVE, NEGATIVE, "", "so-so, I guess", "Not bad at all!"];
    let width = c.model().input_size();
    let encoded: Vec<Vec<u32>> = texts.iter().map(|t| c.encode(t)).collect();
    let device = Device::flex();
    let batch = MultiHotBatcher::new(width, InputKind::Dense)
        .batch_reviews(encoded.iter().map(|e| (e.as_slice(), 0)), &device);
    let MlpInput::Dense(x) = batch.inputs else {
        unreachable!("dense batcher")
    };
    let logits: Vec<f32> = c.model().forward(x).into_data().try_to_vec().unwrap();
    for (p, l) in c.predict(&texts).iter().zip(logits) {
        assert_close(p.logit, f64::from(l), 1e-4, "logit");
    }
    // The encoding is the training one: start character first, then words + index_from.
    let e = c.encoding();
    assert_eq!(encoded[2], [e.start_char.unwrap()]);
    let the = c.word_index().rank("the").unwrap() + e.index_from;
    assert!(encoded[0].contains(&the));
}

#[test]
fn batching_does_not_change_results() {
    let c = classifier();
    let texts = [POSITIVE, NEGATIVE, "", "meh", POSITIVE, "Great <b>cast</b>"];
    let batched = c.predict(&texts);
    let small = classifier().with_batch_size(4).predict(&texts);
    for (i, t) in texts.iter().enumerate() {
        let alone = one(&c, t);
        for other in [&batched[i], &small[i]] {
            assert_close(alone.logit, other.logit, 1e-5, t);
            assert_eq!(alone.top_words.len(), other.top_words.len());
        }
    }
    assert!(c.predict(&[]).is_empty());
}

#[test]
fn top_words_are_present_sorted_and_their_occlusion_effects() {
    let c = classifier().with_top_k(4);
    let p = one(&c, POSITIVE);
    assert_eq!(p.top_words.len(), 4);
    let tokens = burn_imdb::data::tokenize::tokenize(POSITIVE);
    let abs: Vec<f64> = p.top_words.iter().map(|w| w.effect.abs()).collect();
    assert!(abs.windows(2).all(|w| w[0] >= w[1]), "{:?}", p.top_words);
    for w in &p.top_words {
        assert!(tokens.contains(&w.word), "{} is not in the text", w.word);
        // The effect is the logit change when every occurrence of the word is removed.
        let without: Vec<String> = tokens.iter().filter(|t| **t != w.word).cloned().collect();
        let q = one(&c, &without.join(" "));
        assert_close(w.effect, p.logit - q.logit, 1e-4, &w.word);
    }
    // top_k = 0 skips explanations but not the prediction.
    let bare = one(&classifier().with_top_k(0), POSITIVE);
    assert!(bare.top_words.is_empty());
    assert_close(bare.logit, p.logit, 1e-5, "top_k 0");
}

#[test]
fn edge_inputs_have_defined_results() {
    let c = classifier();
    // Empty text and text without words: the start character alone.
    let empty = one(&c, "");
    assert!(empty.probability.is_finite() && empty.top_words.is_empty());
    let punctuation = one(&c, " ...!!! ,;:  \n\t");
    assert_close(punctuation.logit, empty.logit, 0.0, "no tokens");
    // No known word: start character and OOV only; nothing to explain.
    let unknown = one(&c, "zqxwv qqqqzzz xyzzyplugh");
    assert!(unknown.probability.is_finite() && unknown.top_words.is_empty());
    assert_eq!(c.encode("zqxwv qqqqzzz"), [1, 2, 2]);
    // Mixed case and HTML tags: the training tokenizer's rule.
    let plain = one(&c, "great film, great cast");
    let marked_up = one(&c, "GREAT <b>Film</b>,<br /><br />Great CAST");
    assert_close(plain.logit, marked_up.logit, 0.0, "case and tags");
    assert_eq!(plain.top_words, marked_up.top_words);
    // Megabytes: presence, not counts, so repetition changes nothing.
    let long = POSITIVE.repeat(40_000);
    assert!(long.len() > 4_000_000);
    let p = one(&c, &long);
    assert_close(p.logit, one(&c, POSITIVE).logit, 1e-5, "4 MB review");
    // Non-ASCII text is just text.
    assert!(
        one(&c, "Ça, c'est un très bon film — 😀")
            .probability
            .is_finite()
    );
}

/// A copy of the trained model directory to break.
fn broken_copy(tmp: &Path) -> PathBuf {
    let src = experiment().join("model");
    let dst = tmp.join("model");
    std::fs::create_dir_all(&dst).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
    }
    dst
}

fn load_err(dir: &Path) -> BundleError {
    SentimentClassifier::load(dir, &Device::flex()).unwrap_err()
}

fn edit_json(path: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, v.to_string()).unwrap();
}

#[test]
fn broken_model_directories_fail_clearly() {
    let tmp = tempfile::tempdir().unwrap();

    for file in [
        "manifest.json",
        "config.json",
        "model.bpk",
        "encoding.json",
        "word_index.json",
    ] {
        let dir = broken_copy(&tmp.path().join(file));
        std::fs::remove_file(dir.join(file)).unwrap();
        let err = load_err(&dir);
        match &err {
            BundleError::MissingFile { path, .. } => assert!(path.ends_with(file), "{err}"),
            other => panic!("{file}: expected MissingFile, got {other:?}"),
        }
        assert!(err.to_string().contains(file), "{err}");
    }

    let dir = broken_copy(&tmp.path().join("version"));
    edit_json(&dir.join("manifest.json"), |v| v["version"] = 99.into());
    let err = load_err(&dir);
    assert!(
        matches!(err, BundleError::IncompatibleVersion { version: 99, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("version 99"), "{err}");

    let dir = broken_copy(&tmp.path().join("format"));
    edit_json(&dir.join("manifest.json"), |v| v["format"] = "other".into());
    assert!(matches!(
        load_err(&dir),
        BundleError::IncompatibleVersion { .. }
    ));

    for file in [
        "manifest.json",
        "config.json",
        "encoding.json",
        "word_index.json",
    ] {
        let dir = broken_copy(&tmp.path().join(format!("json-{file}")));
        std::fs::write(dir.join(file), "{ not json").unwrap();
        match load_err(&dir) {
            BundleError::MalformedJson { path, .. } => assert!(path.ends_with(file)),
            other => panic!("{file}: expected MalformedJson, got {other:?}"),
        }
    }

    let dir = broken_copy(&tmp.path().join("weights"));
    let bytes = std::fs::read(dir.join("model.bpk")).unwrap();
    std::fs::write(dir.join("model.bpk"), &bytes[..bytes.len() / 2]).unwrap();
    assert!(
        matches!(load_err(&dir), BundleError::Weights { .. }),
        "truncated weights"
    );

    // Config and weights that disagree: the hidden layer is 8 wide in the config, 16 on disk.
    let dir = broken_copy(&tmp.path().join("shapes"));
    edit_json(&dir.join("config.json"), |v| {
        v["hidden"] = serde_json::json!([8, 16]);
    });
    assert!(matches!(load_err(&dir), BundleError::Weights { .. }));

    let dir = broken_copy(&tmp.path().join("width"));
    edit_json(&dir.join("encoding.json"), |v| {
        v["num_words"] = 5_000.into()
    });
    assert!(
        matches!(
            load_err(&dir),
            BundleError::WidthMismatch {
                vocabulary: 5_000,
                input: 10_000,
                ..
            }
        ),
        "width"
    );

    // A directory from before manifests existed, or not a model at all.
    assert!(matches!(
        load_err(tmp.path()),
        BundleError::MissingFile { .. }
    ));
}

#[test]
fn a_model_without_vocabulary_names_the_missing_file() {
    // As `run_experiment` writes it for Keras's imdb.npz without imdb_word_index.json.
    let tmp = tempfile::tempdir().unwrap();
    let c = classifier();
    let config = burn::config::Config::load(experiment().join("model/config.json")).unwrap();
    let write = |index| {
        ModelBundle::new(&config, c.model(), c.encoding(), index)
            .unwrap()
            .write_dir(tmp.path())
            .unwrap()
    };
    write(None);
    assert!(!tmp.path().join("word_index.json").exists());
    let err = load_err(tmp.path());
    assert!(
        matches!(&err, BundleError::MissingFile { path, .. } if path.ends_with("word_index.json")),
        "{err:?}"
    );
    assert!(err.to_string().contains("imdb.npz"), "{err}");
    // With the vocabulary, the same writer gives a loadable directory.
    write(Some(c.word_index()));
    let again = SentimentClassifier::load(tmp.path(), &Device::flex()).unwrap();
    assert_eq!(one(&again, NEGATIVE), one(&c, NEGATIVE));
}

#[test]
fn classifier_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<SentimentClassifier>();
}

fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn the_example_prints_json_lines_and_reports_bad_utf8() {
    let model = experiment();
    // Positional arguments.
    let out = Command::new(common::example_exe("predict"))
        .args(["--device", "flex", "--json", "--top", "3", "--model"])
        .arg(model)
        .args([POSITIVE, NEGATIVE])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 2);
    for (l, label) in lines.iter().zip(["positive", "negative"]) {
        let p = l["probability"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p));
        assert_eq!(l["label"], label);
        let words = l["top_words"].as_array().unwrap();
        assert_eq!(words.len(), 3);
        assert!(words[0]["word"].is_string() && words[0]["effect"].is_f64());
    }

    // A file with a non-UTF-8 line: reported with file and line, the others still classified.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("reviews.txt");
    let mut bytes = format!("{POSITIVE}\n\n").into_bytes();
    bytes.extend_from_slice(b"caf\xe9 latin-1\r\n");
    bytes.extend_from_slice(format!("{NEGATIVE}\n").as_bytes());
    std::fs::write(&file, bytes).unwrap();
    let out = Command::new(common::example_exe("predict"))
        .args(["--device", "flex", "--json", "--model"])
        .arg(model)
        .arg("--file")
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "skipped input must fail the run");
    assert!(
        stderr.contains(&format!("{}:3: not valid UTF-8", file.display())),
        "{stderr}"
    );
    let lines = json_lines(&out.stdout);
    let sources: Vec<&str> = lines
        .iter()
        .map(|l| l["source"].as_str().unwrap())
        .collect();
    let name = file.display().to_string();
    assert_eq!(
        sources,
        [
            format!("{name}:1"),
            format!("{name}:2"),
            format!("{name}:4")
        ]
    );
    assert_eq!(lines[0]["label"], "positive");
    assert!(
        lines[1]["top_words"].as_array().unwrap().is_empty(),
        "empty line"
    );

    // A directory of .txt files, in name order; human-readable output.
    let dir = tmp.path().join("dir");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("b.txt"), NEGATIVE).unwrap();
    std::fs::write(dir.join("a.txt"), POSITIVE).unwrap();
    std::fs::write(dir.join("notes.md"), "ignored").unwrap();
    let out = Command::new(common::example_exe("predict"))
        .args(["--device", "flex", "--model"])
        .arg(model)
        .arg("--file")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].contains("a.txt") && lines[0].contains("positive"),
        "{text}"
    );
    assert!(
        lines[1].contains("b.txt") && lines[1].contains("negative"),
        "{text}"
    );

    // Standard input, and a model directory that is not one.
    let mut child = Command::new(common::example_exe("predict"))
        .args(["--device", "flex", "--json", "--model"])
        .arg(model)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{NEGATIVE}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(json_lines(&out.stdout)[0]["source"], "stdin:1");
    let out = Command::new(common::example_exe("predict"))
        .args(["--device", "flex", "--model"])
        .arg(tmp.path())
        .arg("text")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("manifest.json"));
}

/// Trains a tiny model named `name` (2 epochs) on the embedded sample encoded with `data` at
/// `width` features, NB-weighted if asked, under `root`; returns the data and the classifier
/// loaded from the run's model directory.
fn train_on_sample(
    root: &Path,
    name: &str,
    data: burn_imdb::data::EncodeOptions,
    width: usize,
    weighting: Option<burn_imdb::train::Weighting>,
) -> (burn_imdb::data::Imdb, SentimentClassifier) {
    let imdb = ImdbLoader::new(DataSource::Embedded)
        .cache_dir(root.join("cache"))
        .options(data.clone())
        .load()
        .unwrap();
    let mut config = ExperimentConfig::new()
        .with_name(name.into())
        .with_validation(Some(1_000))
        .with_epochs(2)
        .with_batch_size(256)
        .with_seed(7)
        .with_data(data)
        .with_weighting(weighting);
    config.model = MlpConfig {
        input: width,
        ..config.model
    }
    .with_input_weights(weighting.map(|_| burn_imdb::model::InputWeights::PerFeature));
    let opts = RunOptions {
        out_dir: root.join(name),
        backend: BackendKind::select(Some("flex")).unwrap(),
        input: InputKind::Sparse,
        resume: false,
        quiet: true,
        checkpoint_seconds: burn_imdb::train::DEFAULT_CHECKPOINT_SECONDS,
    };
    let r = run_experiment(&config, &imdb, &opts).unwrap();
    assert!(r.test_accuracy > 0.6, "{}", r.test_accuracy);
    let c = SentimentClassifier::load(root.join(name), &Device::flex()).unwrap();
    (imdb, c)
}

/// A model trained on words and word pairs reads new text with pairs too: the model directory
/// carries `ngrams`, and the classifier's encoding of a text holds the pair's index. The
/// explanation may then name a pair ("not good") as well as words.
#[test]
fn a_bigram_model_predicts_from_pairs() {
    let tmp = tempfile::tempdir().unwrap();
    let data = burn_imdb::data::EncodeOptions::keras()
        .with_num_words(Some(20_000))
        .with_ngrams(2);
    let (imdb, c) = train_on_sample(tmp.path(), "pairs", data, 20_000, None);
    assert_eq!(c.encoding().ngrams, 2);
    let index = imdb.word_index.as_ref().unwrap();
    let pair = index.rank("of the").expect("a frequent pair is ranked");
    let encoded = c.encode("The end of the film.");
    assert!(encoded.contains(&(pair + 3)), "{encoded:?}");
    let p = one(
        &c,
        "The end of the film was not good at all, a waste of time.",
    );
    assert!(p.top_words.iter().all(|w| !w.word.is_empty()));
    assert!((0.0..=1.0).contains(&p.probability));
}

/// A model on NB-weighted words, pairs and triples: its directory carries `ngrams = 3` and the
/// input weights (computed on all the training reviews, as phase 2 trains on them), the loaded
/// classifier encodes a text with its triples, and its predictions apply the weights.
#[test]
fn a_weighted_trigram_model_round_trips_through_its_directory() {
    use burn_imdb::train::Weighting;
    let tmp = tempfile::tempdir().unwrap();
    let width = 30_000;
    let data = burn_imdb::data::EncodeOptions::keras()
        .with_num_words(Some(width))
        .with_ngrams(3);
    let weighting = Weighting::NbLogCountRatio { alpha: 1.0 };
    let (imdb, c) = train_on_sample(tmp.path(), "nb", data, width, Some(weighting));
    assert_eq!(c.encoding().ngrams, 3);
    let triple = imdb.word_index.as_ref().unwrap().rank("one of the");
    let encoded = c.encode("It is one of the best.");
    assert!(encoded.contains(&(triple.expect("a frequent triple") + 3)));
    // Every real review, read from its text as prediction reads it, is encoded as training
    // encoded it (the loaded splits are shuffled, so as a set of sequences).
    let sample =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/imdb-sample/data/aclImdb_sample.tar.gz");
    let raw = burn_imdb::data::reviews::read_tar_gz_file(&sample).unwrap();
    for (reviews, split) in [(&raw.train, &imdb.train), (&raw.test, &imdb.test)] {
        let encoded: std::collections::HashSet<&[u32]> = split.iter().map(|(t, _)| t).collect();
        assert_eq!(reviews.len(), split.len());
        for review in reviews {
            assert!(encoded.contains(c.encode(&review.text).as_slice()));
        }
    }

    // The saved weights are phase 2's: from all training reviews.
    let expected = weighting.weights(&imdb.train_dataset(), width);
    let texts = [POSITIVE, NEGATIVE, "It is one of the best."];
    let logits: Vec<f64> = c.predict(&texts).iter().map(|p| p.logit).collect();
    let x = |model: &burn_imdb::model::Mlp| -> Vec<f64> {
        let rows: Vec<Vec<u32>> = texts.iter().map(|t| c.encode(t)).collect();
        let batch = burn_imdb::model::SparseBatch::from_rows(rows, width).unwrap();
        let out: Vec<f32> = model.forward(batch).into_data().try_to_vec().unwrap();
        out.into_iter().map(f64::from).collect()
    };
    let reweighted = c.model().clone().with_input_weights(&expected).unwrap();
    for (p, l) in logits.iter().zip(x(&reweighted)) {
        assert_close(*p, l, 1e-4, "logit with the training weights");
    }
    let unweighted = c
        .model()
        .clone()
        .with_input_weights(&vec![1.0; width])
        .unwrap();
    assert!(
        logits
            .iter()
            .zip(x(&unweighted))
            .any(|(p, l)| (p - l).abs() > 1e-2),
        "prediction applies the weights"
    );
}
