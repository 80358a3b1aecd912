//! What a user's experiment config can do: generated configs (random values, wrong types, missing
//! and extra keys, extreme numbers) either train briefly or fail with a typed error, never a
//! panic, an abort or a default used in silence; and each class of mistake that used to slip
//! through has its own test.
//!
//! `BURN_IMDB_CONFIG_CASES=N` runs N generated configs instead of CI's 300 (a long local run).

use burn_imdb::data::{DataError, DataSource, EncodeOptions, Imdb, ImdbLoader};
use burn_imdb::model::ModelError;
use burn_imdb::train::{
    BackendKind, ExperimentConfig, InputKind, RunOptions, TrainError, run_experiment,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Burn keeps one random generator per device for the process: runs in parallel test threads
/// would interleave their draws.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A small valid config: 300 training reviews of the sample at 1,000 words, 2 epochs.
fn base() -> Value {
    let config = ExperimentConfig::new()
        .with_name("fuzz".into())
        .with_validation(Some(100))
        .with_epochs(2)
        .with_batch_size(64)
        .with_data(EncodeOptions::default().with_num_words(Some(1_000)))
        .with_model(burn_imdb::model::MlpConfig::new(1_000));
    serde_json::to_value(config).unwrap()
}

fn write(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
    path
}

fn opts(out: &Path) -> RunOptions {
    RunOptions {
        out_dir: out.to_owned(),
        backend: BackendKind::select(Some("flex")).unwrap(),
        input: InputKind::Sparse,
        resume: false,
        quiet: true,
        checkpoint_seconds: f64::INFINITY,
    }
}

/// The embedded sample encoded with `options`, cut to 400 training and 200 test reviews (once
/// per distinct options).
fn data(
    cache: &Path,
    options: &EncodeOptions,
    loaded: &mut HashMap<String, Imdb>,
) -> Result<Imdb, DataError> {
    let key = serde_json::to_string(options).unwrap();
    if let Some(imdb) = loaded.get(&key) {
        return Ok(imdb.clone());
    }
    let mut imdb = ImdbLoader::new(DataSource::Embedded)
        .options(options.clone())
        .cache_dir(cache)
        .quiet(true)
        .load()?;
    let (train, test) = (imdb.train.len().min(400), imdb.test.len().min(200));
    imdb.train = Arc::new(imdb.train.slice(0..train));
    imdb.test = Arc::new(imdb.test.slice(0..test));
    loaded.insert(key, imdb.clone());
    Ok(imdb)
}

/// SplitMix64: the cases are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A value of the same JSON type as `like` (half the time), or of any type: what a user who
/// edits a number, a name or a list might type.
fn value_like(rng: &mut Rng, like: &Value) -> Value {
    if rng.below(2) == 0 {
        return some_value(rng);
    }
    match like {
        Value::Number(n) if n.is_f64() => {
            json!(*rng.pick(&[0.0, -0.5, 1e-9, 0.3, 0.9999, 1.0, 2.0, 1e300]))
        }
        Value::Number(_) => json!(*rng.pick(&[0u64, 1, 2, 7, 100, 1_001, 50_000, 1 << 40])),
        Value::String(_) => json!(*rng.pick(&[
            "relu",
            "tanh",
            "bce",
            "mse",
            "keras",
            "burn",
            "per_feature",
            "lowest_val_loss",
            "highest_val_accuracy",
            "sigmoid",
            ""
        ])),
        Value::Array(_) => json!(rng.pick(&[
            json!([]),
            json!([8]),
            json!([16, 16, 16]),
            json!([0, 16]),
            json!([1_000_000, 1_000_000]),
        ])),
        Value::Bool(_) => json!(rng.below(2) == 0),
        _ => some_value(rng),
    }
}

/// A value a user might type for any field: extreme and ordinary numbers, and every JSON type.
fn some_value(rng: &mut Rng) -> Value {
    match rng.below(16) {
        0 => json!(0),
        1 => json!(-1),
        2 => json!(1),
        3 => json!(3),
        4 => json!(16),
        5 => json!(1e9 as u64),
        6 => json!(u64::MAX),
        7 => json!(0.5),
        8 => json!(1e308),
        9 => json!(-0.25),
        10 => json!("relu"),
        11 => json!(true),
        12 => Value::Null,
        13 => json!([16, 16]),
        14 => json!({"nb_log_count_ratio": {"alpha": 1.0}}),
        _ => json!(rng.next() % 100_000),
    }
}

/// Every (object, key) path of `value`, as key lists.
fn paths(value: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    if let Value::Object(map) = value {
        for (k, v) in map {
            prefix.push(k.clone());
            out.push(prefix.clone());
            paths(v, prefix, out);
            prefix.pop();
        }
    }
}

fn parent_mut<'a>(
    root: &'a mut Value,
    path: &[String],
) -> Option<&'a mut serde_json::Map<String, Value>> {
    let mut node = root;
    for k in &path[..path.len() - 1] {
        node = node.get_mut(k)?;
    }
    node.as_object_mut()
}

/// What one mutation did, for the expected outcome.
#[derive(Clone, Copy, PartialEq)]
enum Mutation {
    Replaced,
    Removed,
    /// A key the config does not have: it must be refused, never ignored.
    Added,
}

/// `base()` with one to three mutations.
fn mutant(rng: &mut Rng) -> (Value, Vec<Mutation>) {
    let mut value = base();
    let mut done = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let mut all = Vec::new();
        paths(&value, &mut Vec::new(), &mut all);
        let path = rng.pick(&all).clone();
        let Some(parent) = parent_mut(&mut value, &path) else {
            continue;
        };
        let key = path.last().unwrap().clone();
        match rng.below(4) {
            0 => {
                parent.remove(&key);
                done.push(Mutation::Removed);
            }
            1 => {
                // A typo of a real key, or a made-up one.
                let typo = match rng.below(3) {
                    0 if key.len() > 2 => {
                        let mut c: Vec<char> = key.chars().collect();
                        let i = rng.below(c.len() - 1);
                        c.swap(i, i + 1);
                        c.into_iter().collect()
                    }
                    1 => format!("{key}s"),
                    _ => format!("unknown_{}", rng.below(1000)),
                };
                if !parent.contains_key(&typo) {
                    parent.insert(typo, some_value(rng));
                    done.push(Mutation::Added);
                }
            }
            _ => {
                let like = parent.get(&key).cloned().unwrap_or(Value::Null);
                parent.insert(key, value_like(rng, &like));
                done.push(Mutation::Replaced);
            }
        }
    }
    (value, done)
}

/// How one generated config ended.
fn outcome(
    dir: &Path,
    case: usize,
    value: &Value,
    loaded: &mut HashMap<String, Imdb>,
) -> Result<String, String> {
    let path = write(dir, &format!("case-{case}.json"), value);
    let config = match ExperimentConfig::from_file(&path) {
        Ok(c) => c,
        Err(TrainError::Data(DataError::UnknownField { .. })) => return Ok("unknown field".into()),
        Err(TrainError::Data(DataError::MalformedJson { .. })) => {
            return Ok("wrong type or value".into());
        }
        Err(e) => return Err(format!("untyped refusal of the file: {e:?}")),
    };
    match config.validate() {
        Ok(()) => {}
        Err(TrainError::InvalidConfig { field, .. }) => return Ok(format!("invalid {field}")),
        Err(TrainError::Model(e)) => return Ok(format!("invalid model ({})", model_rule(&e))),
        Err(TrainError::Data(DataError::InvalidOption { name, .. })) => {
            return Ok(format!("invalid data.{name}"));
        }
        Err(e) => return Err(format!("validate: unexpected error {e:?}")),
    }
    // A short training: the epochs a config asks for are its own business, not this test's.
    let config = config.clone().with_epochs(config.epochs.min(2));
    let imdb = match data(&dir.join("cache"), &config.data, loaded) {
        Ok(imdb) => imdb,
        Err(DataError::InvalidOption { name, .. }) => return Ok(format!("data: {name}")),
        Err(e) => return Err(format!("load: unexpected error {e:?}")),
    };
    match run_experiment(&config, &imdb, &opts(&dir.join(format!("run-{case}")))) {
        Ok(_) => Ok("trained".into()),
        Err(TrainError::DataMismatch { setting, .. }) => Ok(format!("mismatch: {setting}")),
        Err(TrainError::NonFiniteLoss { .. }) => Ok("diverged (typed)".into()),
        Err(TrainError::OutOfMemory { .. }) => Ok("too large for this machine".into()),
        Err(TrainError::Data(DataError::ValidationSplit { .. })) => Ok("validation split".into()),
        Err(e) => Err(format!("run: unexpected error {e:?}")),
    }
}

fn model_rule(e: &ModelError) -> &'static str {
    match e {
        ModelError::TooLarge { .. } => "too large",
        ModelError::InvalidDropout { .. } => "dropout",
        ModelError::InvalidL2 { .. } => "l2",
        _ => "other rule",
    }
}

/// Generated configs: each trains briefly or is refused with a typed error; a config with an
/// unknown key is always refused for it (never trained on defaults); nothing panics. CI runs
/// 300 cases; the counts per outcome are printed (`--nocapture`).
#[test]
fn generated_configs_train_or_fail_with_a_typed_error() {
    let _serial = serial();
    let cases: usize = std::env::var("BURN_IMDB_CONFIG_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = Rng(0xC0FF_EE00);
    let mut loaded = HashMap::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in 0..cases {
        let (value, mutations) = mutant(&mut rng);
        let ran = std::panic::catch_unwind(AssertUnwindSafe(|| {
            outcome(tmp.path(), case, &value, &mut loaded)
        }));
        let result = match ran {
            Ok(result) => result,
            Err(panic) => Err(format!(
                "panicked: {}",
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
        };
        match result {
            Ok(what) => {
                if mutations.contains(&Mutation::Added) && what != "unknown field" {
                    // A typed refusal for another reason may come first; a run may not.
                    if what == "trained" {
                        failures.push(format!("case {case}: an unknown key was ignored: {value}"));
                    }
                }
                *counts.entry(what).or_default() += 1;
            }
            Err(why) => failures.push(format!("case {case}: {why}\n{value}")),
        }
        // Each run's folder holds a model: keep the disk bounded in long runs.
        let _ = std::fs::remove_dir_all(tmp.path().join(format!("run-{case}")));
    }
    println!("{cases} generated configs:");
    for (what, n) in &counts {
        println!("  {n:>5}  {what}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(counts.get("trained").is_some_and(|&n| n > 0), "{counts:?}");
    assert!(
        counts.get("unknown field").is_some_and(|&n| n > 0),
        "{counts:?}"
    );
}

/// Class 1: a misspelt key in a config is refused, naming the file, the key's path and the key
/// meant (it used to load, train with the default, and exit 0).
#[test]
fn a_misspelt_key_is_refused_naming_the_key_meant() {
    let tmp = tempfile::tempdir().unwrap();
    let mut nested = base();
    nested["model"]["dropuot"] = json!(0.5);
    let mut top = base();
    top["epcohs"] = json!(5);
    for (value, field, meant) in [
        (nested, "model.dropuot", "dropout"),
        (top, "epcohs", "epochs"),
    ] {
        let path = write(tmp.path(), "typo.json", &value);
        let err = ExperimentConfig::from_file(&path).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(&err, TrainError::Data(DataError::UnknownField { field: f, suggestion: Some(s), .. })
                if f == field && s == meant),
            "{text}"
        );
        assert!(
            text.contains("typo.json") && text.contains(field) && text.contains(meant),
            "{text}"
        );
    }
    // The committed configs, written by this version, load as they are.
    let experiments = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/experiments");
    for entry in std::fs::read_dir(experiments).unwrap() {
        let path = entry.unwrap().path();
        ExperimentConfig::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Class 2: a first layer too wide for memory is refused before any work with a typed error
/// naming its size (it used to abort the process in the allocator).
#[test]
fn a_model_too_large_is_refused_naming_its_size() {
    let huge = 1_000_000_000;
    let config = ExperimentConfig::new()
        .with_data(EncodeOptions::default().with_num_words(Some(huge)))
        .with_model(burn_imdb::model::MlpConfig::new(huge));
    let err = config.validate().unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            TrainError::Model(ModelError::TooLarge {
                parameters: Some(16_000_000_305),
                ..
            })
        ),
        "{text}"
    );
    // 1e9 × 16 + 16, then 16 × 16 + 16 and 16 + 1.
    assert!(
        text.contains("16000000305") && text.contains("GiB"),
        "{text}"
    );
}

/// Class 3: options that leave no review or no word name the option (they used to be reported
/// as an invalid validation split of 0 of 0 reviews, or trained on nothing).
#[test]
fn options_that_leave_nothing_name_the_option() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let load = |options: EncodeOptions| {
        ImdbLoader::new(DataSource::Embedded)
            .options(options)
            .cache_dir(tmp.path())
            .quiet(true)
            .load()
    };
    let tiny_maxlen = EncodeOptions {
        maxlen: Some(2),
        ..EncodeOptions::default()
    };
    match load(tiny_maxlen) {
        Err(DataError::InvalidOption { name: "maxlen", .. }) => {}
        other => panic!("maxlen 2: {:?}", other.map(|_| "loaded")),
    }
    let skip_all = EncodeOptions {
        skip_top: 10_000,
        ..EncodeOptions::default()
    };
    match load(skip_all) {
        Err(DataError::InvalidOption {
            name: "skip_top", ..
        }) => {}
        other => panic!("skip_top 10000: {:?}", other.map(|_| "loaded")),
    }
}
