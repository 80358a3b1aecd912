//! Whole runs against Keras: the same initial weights, the same reviews in the same order, and
//! then the same history (every epoch's `loss`, `accuracy`, `val_loss`, `val_accuracy`) and the
//! same final weights, for every seed variant but dropout, on both input paths.
//!
//! The fixture in `tests/fixtures/keras_parity/` was written once by
//! `tools/keras-parity/generate.py` (TensorFlow 2.21.0, Keras 3; versions in `fixture.json`) from
//! the input that [`write_keras_input`] writes: the embedded sample's 2,500 training reviews at
//! 500 words (the first 1,000 validate, as the seed's split does; 1,500 train in batches of 512,
//! so every epoch ends on a smaller batch of 476), each variant's config and its initial weights.
//! `tools/keras-parity/README.md` says how to rerun it. No TensorFlow is needed here.
//!
//! Dropout masks come from each framework's own generator, so a dropout run cannot match step by
//! step: [`dropout_curves_lie_within_the_spread_of_keras`] compares the mean validation curve of
//! several seeds instead.

use burn::config::Config;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor, TensorData};
use burn_imdb::data::{DataSource, EncodeOptions, ImdbDataset, ImdbLoader};
use burn_imdb::model::Mlp;
use burn_imdb::train::{BackendKind, ExperimentConfig, InputKind, RunOptions, fit};
use npyz::WriterBuilder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The vocabulary of the parity runs: small, so the whole model fits a small fixture.
const NUM_WORDS: usize = 500;
/// The first this-many of the sample's 2,500 training reviews validate.
const VALIDATION: usize = 1_000;
/// Long enough for rounding differences to compound, short enough to stay in a few seconds.
const EPOCHS: usize = 8;
/// The seed's variants that have no dropout, by their file in `assets/experiments/`.
const VARIANTS: [&str; 6] = ["baseline", "three_layers", "units_32", "mse", "tanh", "l2"];
/// Dropout runs per framework, each from the same initial weights with its own masks.
const DROPOUT_SEEDS: [u64; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

/// Largest deviations accepted from Keras over all epochs, float32 on both sides.
///
/// Where the numbers come from: the two frameworks sum in different orders (a matmul or our
/// gather-sum here, Eigen's blocked matmul in TensorFlow), so every step's weights differ by
/// float32 rounding. Measured with this fixture (the tests print their table): final weights at
/// most 9e-8 apart (weights are O(0.1): a few ulps), epoch losses at most 3e-6 (training) and
/// 9e-6 (validation, sparse input: one evaluation batch of 1,000 here, Keras's float32 mean
/// over batches of 512), no accuracy differs by a single review. The bounds are about 3x that:
/// any real difference in the rule (an epsilon outside the root, a batch-mean epoch loss, L2
/// missing from the validation loss, a missed last batch) is orders of magnitude larger.
mod tolerance {
    /// Per-epoch loss and validation loss, absolute.
    pub const LOSS: f64 = 3e-5;
    /// Final weights, absolute.
    pub const WEIGHT: f32 = 3e-7;
    /// Accuracy may differ by a review whose probability lies within rounding of 0.5 (none did).
    pub const REVIEWS: f64 = 1.0;
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keras_parity")
}

/// What the Rust side writes for the generator, and (with Keras's results added) the fixture.
#[derive(Debug, Serialize, Deserialize)]
struct Fixture {
    /// Python, TensorFlow, Keras and numpy versions of the generator run (absent in the input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    generator: Option<serde_json::Value>,
    num_words: usize,
    validation_reviews: usize,
    train_reviews: usize,
    /// [`rows_sha256`] of the validation rows, then the training rows.
    rows_sha256: String,
    variants: Vec<Variant>,
    dropout: Dropout,
}

/// One variant: its config, its initial weights, and what Keras made of them.
#[derive(Debug, Serialize, Deserialize)]
struct Variant {
    name: String,
    config: ExperimentConfig,
    /// File of the initial weights: every parameter flattened, in the model's visiting order
    /// (`W₀`, `b₀`, `W₁`, …, output kernel, output bias), which is Keras's `get_weights()` order.
    initial: String,
    shapes: Vec<Vec<usize>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keras: Option<KerasRun>,
}

#[derive(Debug, Serialize, Deserialize)]
struct KerasRun {
    history: History,
    /// File of the final weights, laid out as `initial`.
    final_weights: String,
}

/// The dropout variant: one config, several seeds, Keras's history per seed.
#[derive(Debug, Serialize, Deserialize)]
struct Dropout {
    variant: Variant,
    seeds: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    keras: Vec<History>,
}

/// Keras's `history.history`.
#[derive(Debug, Serialize, Deserialize)]
struct History {
    loss: Vec<f64>,
    accuracy: Vec<f64>,
    val_loss: Vec<f64>,
    val_accuracy: Vec<f64>,
}

impl History {
    fn of(history: &[burn_imdb::train::EpochMetrics]) -> Self {
        Self {
            loss: history.iter().map(|m| m.loss).collect(),
            accuracy: history.iter().map(|m| m.accuracy).collect(),
            val_loss: history.iter().map(|m| m.val_loss).collect(),
            val_accuracy: history.iter().map(|m| m.val_accuracy).collect(),
        }
    }
}

/// A shipped variant as the parity runs train it: 500 words, a fixed validation split, a few
/// epochs, and no shuffling (Keras's `shuffle=False`), everything else as shipped.
fn parity_config(name: &str) -> ExperimentConfig {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("assets/experiments/{name}.json"));
    let mut config = ExperimentConfig::load(&path).unwrap();
    config.model.input = NUM_WORDS;
    config.data.num_words = Some(NUM_WORDS);
    config.validation = Some(VALIDATION);
    config.epochs = EPOCHS;
    config.shuffle = Some(false);
    config.validate().unwrap();
    config
}

/// The embedded sample's training reviews at [`NUM_WORDS`] words, split as the protocol splits
/// them: (training part, validation part).
fn rows(data: &EncodeOptions, cache: &Path) -> (ImdbDataset, ImdbDataset) {
    let imdb = ImdbLoader::new(DataSource::Embedded)
        .options(data.clone())
        .cache_dir(cache)
        .quiet(true)
        .load()
        .unwrap();
    imdb.train_dataset()
        .word_sets()
        .split_validation(VALIDATION)
        .unwrap()
}

/// SHA-256 of the rows: per review its sorted word ids and its label, as text lines.
fn rows_sha256(parts: &[&ImdbDataset]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        for i in 0..part.len() {
            let (ids, label) = part.review(i);
            let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
            hash.update(format!("{} {label}\n", ids.join(" ")));
        }
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Every float parameter's shape and values, in visiting order.
fn parameters(mlp: &Mlp) -> (Vec<Vec<usize>>, Vec<f32>) {
    struct Collect(Vec<Vec<usize>>, Vec<f32>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let value = param.val();
            self.0.push(value.dims().to_vec());
            self.1.extend(
                value
                    .into_data()
                    .convert::<f32>()
                    .try_into_vec::<f32>()
                    .unwrap(),
            );
        }
    }
    let mut collect = Collect(Vec::new(), Vec::new());
    mlp.visit(&mut collect);
    (collect.0, collect.1)
}

/// `mlp` with every parameter replaced by the next values of `flat`, in visiting order.
fn with_parameters(mlp: Mlp, shapes: &[Vec<usize>], flat: &[f32]) -> Mlp {
    struct Load<'a> {
        shapes: std::slice::Iter<'a, Vec<usize>>,
        flat: &'a [f32],
    }
    impl ModuleMapper for Load<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let shape = self.shapes.next().expect("a shape per parameter").clone();
            assert_eq!(
                param.lazy_shape().dims::<D>().to_vec(),
                shape,
                "parameter shape"
            );
            let n: usize = shape.iter().product();
            let (values, rest) = self.flat.split_at(n);
            self.flat = rest;
            let device = param.lazy_device();
            param.map(|_| Tensor::from_data(TensorData::new(values.to_vec(), shape), &device))
        }
    }
    let mut load = Load {
        shapes: shapes.iter(),
        flat,
    };
    let mlp = mlp.map(&mut load);
    assert!(load.flat.is_empty() && load.shapes.next().is_none());
    mlp
}

fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    npyz::NpyFile::new(&bytes[..])
        .unwrap()
        .into_vec::<f32>()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write_npy<T: npyz::AutoSerialize + Copy>(path: &Path, shape: &[u64], data: &[T]) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(&mut file)
        .begin_nd()
        .unwrap();
    writer.extend(data.iter().copied()).unwrap();
    writer.finish().unwrap();
}

/// The model a variant starts from on both sides: the protocol's own draw for its seed.
fn initial_model(config: &ExperimentConfig) -> Mlp {
    let host = Device::flex().autodiff();
    host.seed(config.seed);
    config.model.init(&host).valid()
}

fn load_fixture() -> Fixture {
    let path = fixture_dir().join("fixture.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Trains `variant` from its fixture's initial weights, as Keras did.
fn train_like_keras(
    variant: &Variant,
    config: &ExperimentConfig,
    input: InputKind,
    (train, valid): &(ImdbDataset, ImdbDataset),
) -> (Vec<burn_imdb::train::EpochMetrics>, Mlp) {
    let initial = read_f32(&fixture_dir().join(&variant.initial));
    let mlp = with_parameters(
        config.model.init(&Device::flex()),
        &variant.shapes,
        &initial,
    );
    let out = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        out_dir: out.path().to_owned(),
        backend: BackendKind::select(Some("flex")).unwrap(),
        input,
        resume: false,
        quiet: true,
        checkpoint_seconds: burn_imdb::train::DEFAULT_CHECKPOINT_SECONDS,
    };
    let fitted = fit(config, mlp, train, valid, &opts).unwrap();
    (fitted.history, fitted.mlp)
}

/// Burn keeps one random generator per device for the whole process: tests that draw weights or
/// dropout masks run one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The fixture was made from exactly these rows and these configs: were the sample, the encoding
/// or a shipped variant to change, this fails and says to regenerate the fixture.
#[test]
fn the_fixture_is_of_these_rows_and_these_variants() {
    let fixture = load_fixture();
    let regenerate = "regenerate the fixture: tools/keras-parity/README.md";
    let cache = tempfile::tempdir().unwrap();
    let config = parity_config("baseline");
    let (train, valid) = rows(&config.data, cache.path());
    assert_eq!(
        (
            fixture.num_words,
            fixture.validation_reviews,
            fixture.train_reviews
        ),
        (NUM_WORDS, valid.len(), train.len())
    );
    assert_eq!(
        fixture.rows_sha256,
        rows_sha256(&[&valid, &train]),
        "{regenerate}"
    );
    let names: Vec<&str> = fixture.variants.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, VARIANTS);
    for variant in fixture.variants.iter().chain([&fixture.dropout.variant]) {
        assert_eq!(
            serde_json::to_value(&variant.config).unwrap(),
            serde_json::to_value(parity_config(&variant.name)).unwrap(),
            "{}: {regenerate}",
            variant.name
        );
        let keras = variant.keras.as_ref();
        let epochs = keras.map_or(fixture.dropout.keras[0].loss.len(), |k| {
            k.history.loss.len()
        });
        assert_eq!(epochs, EPOCHS, "{}", variant.name);
    }
    assert_eq!(fixture.dropout.seeds, DROPOUT_SEEDS);
    assert_eq!(fixture.dropout.keras.len(), DROPOUT_SEEDS.len());
    let generator = fixture.generator.expect("the generator's versions");
    assert_eq!(generator["tensorflow"], "2.21.0");
}

fn every_variant_trains_like_keras(input: InputKind) {
    let _serial = serial();
    let fixture = load_fixture();
    let cache = tempfile::tempdir().unwrap();
    let rows = rows(&parity_config("baseline").data, cache.path());
    let mut failures = Vec::new();
    eprintln!("{input:?} input, largest deviation from Keras over {EPOCHS} epochs:");
    eprintln!(
        "{:<14}{:>12}{:>12}{:>10}{:>10}{:>12}",
        "variant", "loss", "val_loss", "acc (rev)", "val (rev)", "weights"
    );
    for variant in &fixture.variants {
        let keras = variant.keras.as_ref().expect("Keras's run");
        let (history, mlp) = train_like_keras(variant, &variant.config, input, &rows);
        let ours = History::of(&history);
        let max_diff = |a: &[f64], b: &[f64], scale: f64| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs() * scale)
                .fold(0.0, f64::max)
        };
        let k = &keras.history;
        let loss = max_diff(&ours.loss, &k.loss, 1.0);
        let val_loss = max_diff(&ours.val_loss, &k.val_loss, 1.0);
        let reviews = max_diff(&ours.accuracy, &k.accuracy, fixture.train_reviews as f64);
        let val_reviews = max_diff(
            &ours.val_accuracy,
            &k.val_accuracy,
            fixture.validation_reviews as f64,
        );
        let (shapes, weights) = parameters(&mlp);
        assert_eq!(shapes, variant.shapes);
        let expected = read_f32(&fixture_dir().join(&keras.final_weights));
        let weight = weights
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        eprintln!(
            "{:<14}{loss:>12.2e}{val_loss:>12.2e}{reviews:>10.1}{val_reviews:>10.1}{weight:>12.2e}",
            variant.name
        );
        // Accuracies are fractions of whole reviews: round away the float noise of the division.
        let (reviews, val_reviews) = (reviews.round(), val_reviews.round());
        if loss > tolerance::LOSS
            || val_loss > tolerance::LOSS
            || reviews > tolerance::REVIEWS
            || val_reviews > tolerance::REVIEWS
            || weight > tolerance::WEIGHT
        {
            failures.push(variant.name.clone());
        }
    }
    assert!(
        failures.is_empty(),
        "beyond the tolerances ({:?}): {failures:?}",
        (tolerance::LOSS, tolerance::REVIEWS, tolerance::WEIGHT)
    );
}

#[test]
fn every_variant_trains_like_keras_on_sparse_input() {
    every_variant_trains_like_keras(InputKind::Sparse);
}

#[test]
fn every_variant_trains_like_keras_on_dense_input() {
    every_variant_trains_like_keras(InputKind::Dense);
}

/// Same initial weights, same rows and order, masks from each framework's generator: per epoch,
/// the mean validation loss and accuracy of our seeds must lie within the spread of Keras's.
///
/// The test: a two-sample z-test at 4 standard errors, `|mean_ours − mean_keras| ≤ 4·√(s²_o/n +
/// s²_k/n)`, per epoch and metric (16 comparisons; at 4 standard errors a correct implementation
/// fails one of them about once in a thousand runs, and the seeds are fixed, so it does not
/// flicker). A dropout that kept units with the wrong probability, or forgot to rescale them, or
/// stayed on during validation, moves the mean validation loss by many standard errors.
#[test]
fn dropout_curves_lie_within_the_spread_of_keras() {
    let _serial = serial();
    let fixture = load_fixture();
    let dropout = &fixture.dropout;
    let cache = tempfile::tempdir().unwrap();
    let rows = rows(&dropout.variant.config.data, cache.path());
    let ours: Vec<History> = dropout
        .seeds
        .iter()
        .map(|&seed| {
            let config = dropout.variant.config.clone().with_seed(seed);
            History::of(&train_like_keras(&dropout.variant, &config, InputKind::Sparse, &rows).0)
        })
        .collect();
    let stats = |runs: &[&Vec<f64>], epoch: usize| {
        let n = runs.len() as f64;
        let mean = runs.iter().map(|r| r[epoch]).sum::<f64>() / n;
        let var = runs.iter().map(|r| (r[epoch] - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, var / n)
    };
    let mut worst = 0.0f64;
    for metric in ["val_loss", "val_accuracy"] {
        let pick = |h: &History| match metric {
            "val_loss" => h.val_loss.clone(),
            _ => h.val_accuracy.clone(),
        };
        let ours: Vec<Vec<f64>> = ours.iter().map(pick).collect();
        let keras: Vec<Vec<f64>> = dropout.keras.iter().map(pick).collect();
        for epoch in 0..EPOCHS {
            let (m_o, se2_o) = stats(&ours.iter().collect::<Vec<_>>(), epoch);
            let (m_k, se2_k) = stats(&keras.iter().collect::<Vec<_>>(), epoch);
            let z = (m_o - m_k).abs() / (se2_o + se2_k).sqrt();
            eprintln!(
                "dropout {metric} epoch {}: ours {m_o:.4}, Keras {m_k:.4}, z = {z:.2}",
                epoch + 1
            );
            worst = worst.max(z);
        }
    }
    assert!(worst <= 4.0, "a mean differs by {worst:.2} standard errors");
}

/// Writes the generator's input into `$KERAS_PARITY_INPUT`: the rows (`x_*.npy` multi-hot `u8`,
/// `y_*.npy`), each variant's initial weights and `fixture.json` without Keras's results. Run
/// by hand, with the generator after it: `tools/keras-parity/README.md`.
#[test]
#[ignore = "writes the Keras generator's input; see tools/keras-parity/README.md"]
fn write_keras_input() {
    let _serial = serial();
    let dir = PathBuf::from(
        std::env::var_os("KERAS_PARITY_INPUT").expect("set KERAS_PARITY_INPUT to a directory"),
    );
    std::fs::create_dir_all(&dir).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (train, valid) = rows(&parity_config("baseline").data, cache.path());
    for (name, part) in [("train", &train), ("val", &valid)] {
        let mut x = vec![0u8; part.len() * NUM_WORDS];
        let mut y = Vec::with_capacity(part.len());
        for i in 0..part.len() {
            let (ids, label) = part.review(i);
            for &id in ids {
                x[i * NUM_WORDS + id as usize] = 1;
            }
            y.push(label);
        }
        write_npy(
            &dir.join(format!("x_{name}.npy")),
            &[part.len() as u64, NUM_WORDS as u64],
            &x,
        );
        write_npy(&dir.join(format!("y_{name}.npy")), &[part.len() as u64], &y);
    }
    let variant = |name: &str| {
        let config = parity_config(name);
        let (shapes, weights) = parameters(&initial_model(&config));
        let hidden: Vec<String> = config.model.hidden.iter().map(usize::to_string).collect();
        let initial = format!("initial_{}.npy", hidden.join("_"));
        let path = dir.join(&initial);
        // Variants of one architecture and seed start from the same draw: one file for them.
        if path.exists() {
            assert_eq!(
                read_f32(&path),
                weights,
                "{name}: one draw per architecture"
            );
        } else {
            write_npy(&path, &[weights.len() as u64], &weights);
        }
        Variant {
            name: name.into(),
            config,
            initial,
            shapes,
            keras: None,
        }
    };
    let fixture = Fixture {
        generator: None,
        num_words: NUM_WORDS,
        validation_reviews: valid.len(),
        train_reviews: train.len(),
        rows_sha256: rows_sha256(&[&valid, &train]),
        variants: VARIANTS.iter().map(|name| variant(name)).collect(),
        dropout: Dropout {
            variant: variant("dropout"),
            seeds: DROPOUT_SEEDS.to_vec(),
            keras: Vec::new(),
        },
    };
    let json = serde_json::to_string_pretty(&fixture).unwrap();
    std::fs::write(dir.join("fixture.json"), json).unwrap();
}
