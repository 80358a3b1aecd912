//! The study: its config files, the report from known numbers, and a small study on the embedded
//! sample that writes every artifact and resumes without redoing finished runs.

use burn_imdb::data::{DataSource, ImdbLoader};
use burn_imdb::study::summary::{Metric, Verdict};
use burn_imdb::study::{
    StudyOptions, Summary, load_experiments, run_dir, run_study, seed_variants, study_variants,
    summarize, write_report,
};
use burn_imdb::train::InputKind;
use burn_imdb::train::{BackendKind, EpochMetrics, ExperimentConfig, Results};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

mod common;

fn experiments_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/experiments")
}

/// `assets/experiments/*.json` are the library's [`study_variants`], serialised. Regenerate them
/// with `BURN_IMDB_WRITE_EXPERIMENTS=1 cargo test --test study`.
#[test]
fn experiment_files_are_the_study_variants() {
    let dir = experiments_dir();
    let write = std::env::var_os("BURN_IMDB_WRITE_EXPERIMENTS").is_some();
    if write {
        std::fs::create_dir_all(&dir).unwrap();
    }
    for config in study_variants() {
        let path = dir.join(format!("{}.json", config.name));
        let json = serde_json::to_string_pretty(&config).unwrap() + "\n";
        if write {
            std::fs::write(&path, &json).unwrap();
        }
        let on_disk =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let value = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
        assert_eq!(
            value(&on_disk),
            value(&json),
            "{} differs from study_variants(): regenerate it (see this test's doc)",
            path.display()
        );
    }
}

#[test]
fn every_experiment_file_loads_and_validates() {
    let configs = load_experiments(&experiments_dir()).unwrap();
    let names: Vec<&str> = configs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "baseline",
            "three_layers",
            "units_32",
            "mse",
            "tanh",
            "l2",
            "dropout",
            "bigrams",
            "nb_trigrams"
        ]
    );
    for c in &configs {
        c.validate().unwrap();
        // nb_trigrams's validation loss is lowest by epoch 5: 6 epochs of phase 1 suffice.
        let epochs = if c.name == "nb_trigrams" { 6 } else { 20 };
        assert_eq!((c.epochs, c.batch_size, c.validation), (epochs, 512, None));
    }
}

#[test]
fn a_config_whose_name_is_not_its_file_name_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let config = ExperimentConfig::new().with_name("baseline".into());
    std::fs::write(
        tmp.path().join("mine.json"),
        serde_json::to_string_pretty(&config).unwrap(),
    )
    .unwrap();
    let err = load_experiments(tmp.path()).unwrap_err().to_string();
    assert!(
        err.contains("mine.json") && err.contains("must match"),
        "{err}"
    );
    std::fs::write(tmp.path().join("mine.json"), "{ \"name\": 3 }").unwrap();
    let err = load_experiments(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("mine.json"), "{err}");
}

/// A run with the given test accuracy and last-epoch validation loss; everything else fixed.
fn synthetic(name: &str, seed: u64, test_accuracy: f64, final_val_loss: f64) -> Results {
    let history = (1..=3)
        .map(|epoch| EpochMetrics {
            epoch,
            loss: 0.5 / epoch as f64,
            accuracy: 0.8 + 0.05 * epoch as f64,
            val_loss: if epoch == 3 { final_val_loss } else { 0.3 },
            val_accuracy: 0.88,
        })
        .collect();
    Results {
        name: name.into(),
        chosen_epoch: 4,
        test_loss: 0.3,
        test_accuracy,
        best_val_accuracy: 0.88,
        best_val_loss: 0.28,
        fit_seconds: 10.0,
        retrain_seconds: 2.0,
        backend: "flex".into(),
        input: InputKind::Sparse,
        plan: None,
        seed,
        train_reviews: 25_000,
        validation_reviews: 10_000,
        validation_rule: "the seed's 10,000".into(),
        test_reviews: 25_000,
        data_checksum: "abc".into(),
        history,
        retrain_history: Vec::new(),
        test_outcomes: None,
    }
}

fn variant(name: &str, accuracies: &[f64], final_val_losses: &[f64]) -> (String, Vec<Results>) {
    let runs = accuracies
        .iter()
        .zip(final_val_losses)
        .enumerate()
        .map(|(i, (&a, &l))| synthetic(name, 42 + i as u64, a, l))
        .collect();
    (name.into(), runs)
}

/// The cells of the Markdown table row of `name`.
fn row(md: &str, name: &str) -> Vec<String> {
    let line = md
        .lines()
        .find(|l| l.starts_with(&format!("| {name} |")))
        .unwrap_or_else(|| panic!("no row for {name} in\n{md}"));
    line.trim_matches('|')
        .split(" | ")
        .map(|c| c.trim().to_string())
        .collect()
}

fn line_with<'a>(md: &'a str, needle: &str) -> &'a str {
    md.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in\n{md}"))
}

#[test]
fn report_from_a_synthetic_summary() {
    let summary = summarize(&[
        variant("baseline", &[0.87, 0.88, 0.89], &[0.50, 0.51, 0.52]),
        variant("three_layers", &[0.875, 0.885, 0.870], &[0.5, 0.5, 0.5]),
        variant("units_32", &[0.90, 0.91, 0.92], &[0.5, 0.5, 0.5]),
        variant("tanh", &[0.89], &[0.5]),
        variant("dropout", &[0.88, 0.88, 0.88], &[0.60, 0.61, 0.62]),
    ]);
    // Through summary.json and back: the report needs nothing else.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("summary.json"),
        serde_json::to_string(&summary).unwrap(),
    )
    .unwrap();
    let summary: Summary =
        serde_json::from_slice(&std::fs::read(tmp.path().join("summary.json")).unwrap()).unwrap();
    let out = tmp.path().join("report");
    write_report(&summary, &out).unwrap();
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();

    // Baseline: mean 0.88, std 0.01, 95% CI 0.88 ± t(0.975, 2)·0.01/√3 = 0.88 ± 0.02484
    // (t = 4.302652729749462); wall time 3 runs × (10 + 2) s.
    let base = row(&md, "baseline");
    assert_eq!(base[1], "3");
    assert_eq!(base[2], "4.0 ± 0.0");
    assert_eq!(base[4], "0.8800 ± 0.0100");
    assert_eq!(base[5], "[0.8552, 0.9048]");
    assert_eq!(base[10], "(reference)");
    assert_eq!(base[11], "36.0 s");

    // units_32 − baseline = +0.03; Welch: se = √(2·0.0001/3) = 0.0081650, t = 3.6742, df = 4,
    // p = 0.021311641128756713 (scipy.stats.ttest_ind(..., equal_var=False));
    // CI of the difference 0.03 ± t(0.975, 4)·se = 0.03 ± 0.0226696.
    let units = row(&md, "units_32");
    assert_eq!(units[4], "0.9100 ± 0.0100");
    assert_eq!(units[8], "+0.0300 [+0.0073, +0.0527]");
    assert_eq!(units[9], "0.0213");
    assert_eq!(units[10], "better");
    let test = summary
        .variant("units_32")
        .unwrap()
        .vs_baseline
        .as_ref()
        .unwrap();
    let t = test.test.unwrap();
    assert!((t.p - 0.021311641128756713).abs() < 1e-9, "{t:?}");
    assert!((t.t - 3.674234614174767).abs() < 1e-9, "{t:?}");
    assert_eq!(
        (test.metric, test.verdict),
        (Metric::TestAccuracy, Verdict::Better)
    );

    // three_layers: p = 0.671737255330586 (scipy), not significant.
    let three = row(&md, "three_layers");
    assert_eq!(three[9], "0.6717");
    assert_eq!(three[10], "no detectable difference");
    // One seed: no spread, no interval, no test.
    let tanh = row(&md, "tanh");
    assert_eq!((tanh[4].as_str(), tanh[5].as_str()), ("0.8900", "—"));
    assert_eq!(tanh[10], "not tested");

    // The seed's claims, judged by the numbers.
    assert!(line_with(&md, "`units_32 vs baseline`").contains("**Supported"));
    assert!(line_with(&md, "`three_layers vs baseline`").contains("**Not supported"));
    assert!(
        line_with(&md, "`dropout vs baseline`").contains("**Contradicted"),
        "dropout's last validation loss is significantly higher than the baseline's"
    );
    assert!(line_with(&md, "`dropout vs l2`").contains("Not evaluated: l2 not run"));
    assert!(line_with(&md, "`tanh vs baseline`").contains("each side needs at least two seeds"));
    assert!(line_with(&md, "`mse vs baseline`").contains("Not evaluated: mse not run"));

    // The HTML page shows the same table and every image it links exists.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<td>+0.0300 [+0.0073, +0.0527]</td>"));
    let srcs: Vec<&str> = html
        .split("<img src=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    // test accuracy + 4 comparisons + 5 loss figures.
    assert_eq!(srcs.len(), 10, "{srcs:?}");
    for src in srcs {
        assert!(out.join(src).is_file(), "{src} missing");
        assert!(
            out.join(src).with_extension("png").is_file(),
            "{src} PNG missing"
        );
    }
    let svg = std::fs::read_to_string(out.join("figures/compare_units_32.svg")).unwrap();
    assert!(svg.contains("Validation accuracy") && svg.contains("Validation loss"));
}

fn fast(config: &ExperimentConfig) -> ExperimentConfig {
    config
        .clone()
        .with_epochs(2)
        .with_validation(Some(1_000))
        .with_batch_size(256)
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

#[test]
fn a_small_study_writes_every_artifact_and_resumes_without_redoing_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let loader = ImdbLoader::new(DataSource::Embedded)
        .cache_dir(tmp.path().join("cache"))
        .quiet(true);
    let variants = seed_variants();
    let configs = vec![fast(&variants[0]), fast(&variants[4])];
    assert_eq!(configs[1].name, "tanh");
    let out = tmp.path().join("study");
    let opts = StudyOptions {
        out_dir: out.clone(),
        seeds: 2,
        backend: BackendKind::select(Some("flex")).unwrap(),
        input: InputKind::Sparse,
        quiet: true,
    };

    let first = run_study(&configs, &loader, &opts).unwrap();
    assert_eq!(first.runs.len(), 4);
    assert!(first.runs.iter().all(|r| !r.reused));
    for (name, seed) in [
        ("baseline", 42),
        ("baseline", 43),
        ("tanh", 42),
        ("tanh", 43),
    ] {
        let dir = run_dir(&out, name, seed);
        for f in ["config.json", "results.json", "history.csv", "loss.png"] {
            assert!(dir.join(f).is_file(), "{}/{f} missing", dir.display());
        }
    }
    for f in [
        "report.md",
        "report.html",
        "summary.json",
        "figures/test_accuracy.png",
        "figures/test_accuracy.svg",
        "figures/loss_baseline.png",
        "figures/loss_tanh.svg",
        "figures/compare_tanh.png",
        "figures/compare_tanh.svg",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let summary: Summary =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary.variants.len(), 2);
    assert_eq!(summary.train_reviews, 2_500);
    let tanh = summary.variant("tanh").unwrap();
    assert_eq!(
        tanh.runs.iter().map(|r| r.seed).collect::<Vec<_>>(),
        [42, 43]
    );
    assert!(tanh.vs_baseline.as_ref().unwrap().test.is_some());
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("**Small data.**"), "the sample is flagged");
    row(&md, "baseline");
    row(&md, "tanh");

    // Started again: nothing is run, nothing is rewritten.
    let results = |name, seed| run_dir(&out, name, seed).join("results.json");
    let before: Vec<SystemTime> = [("baseline", 42), ("tanh", 43)]
        .map(|(n, s)| mtime(&results(n, s)))
        .to_vec();
    let again = run_study(&configs, &loader, &opts).unwrap();
    assert!(again.runs.iter().all(|r| r.reused));
    assert_eq!(again.summary, first.summary);
    let after: Vec<SystemTime> = [("baseline", 42), ("tanh", 43)]
        .map(|(n, s)| mtime(&results(n, s)))
        .to_vec();
    assert_eq!(before, after);

    // An interrupted run (no results.json yet) is the only one run again, and ends the same.
    std::fs::remove_file(results("tanh", 43)).unwrap();
    let resumed = run_study(&configs, &loader, &opts).unwrap();
    let redone: Vec<(&str, u64)> = resumed
        .runs
        .iter()
        .filter(|r| !r.reused)
        .map(|r| (r.variant.as_str(), r.seed))
        .collect();
    assert_eq!(redone, [("tanh", 43)]);
    assert_eq!(
        resumed.runs[3].results.test_accuracy,
        first.runs[3].results.test_accuracy
    );

    // A changed config is not the same run: only its runs are redone.
    let changed = vec![configs[0].clone(), configs[1].clone().with_epochs(3)];
    let rerun = run_study(&changed, &loader, &opts).unwrap();
    let redone: Vec<bool> = rerun.runs.iter().map(|r| r.reused).collect();
    assert_eq!(redone, [true, true, false, false]);
    assert_eq!(rerun.runs[2].results.history.len(), 3);
}

/// Two real study processes on one folder: the second fails at once, naming the folder and the
/// first's process, and the first finishes unharmed. (Without the study's own lock the second
/// deleted the first's finished `results.json` files and raced it for the report.)
#[test]
fn a_second_study_on_the_same_folder_fails_at_once() {
    use burn::config::Config;
    use std::process::Command;
    let tmp = tempfile::tempdir().unwrap();
    let experiments = tmp.path().join("experiments");
    std::fs::create_dir_all(&experiments).unwrap();
    // Small batches and 12 epochs: a few seconds, so the second process (which fails within
    // its first tenth of a second) meets the first with a wide margin.
    ExperimentConfig::new()
        .with_name("baseline".into())
        .with_validation(Some(1_000))
        .with_epochs(12)
        .with_batch_size(16)
        .with_seed(7)
        .save(experiments.join("baseline.json"))
        .unwrap();
    let out = tmp.path().join("study");
    let study = || {
        let mut cmd = Command::new(common::example_exe("study"));
        cmd.arg("--experiments")
            .arg(&experiments)
            .arg("--out")
            .arg(&out)
            .args(["--seeds", "1", "--device", "flex", "--quiet", "--data"])
            .arg(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("crates/imdb-sample/data/aclImdb_sample.tar.gz"),
            )
            .env("BURN_IMDB_CACHE", tmp.path().join("cache"));
        cmd
    };
    common::a_second_process_is_refused(study(), study(), &out);
    assert!(out.join("report.md").is_file());
    assert!(run_dir(&out, "baseline", 7).join("results.json").is_file());
}

/// `--jobs 2`: the runs spread over the study's process and one worker give the very report of
/// one process (every number but the timings), with every run on disk; a worker started by
/// hand, with no study holding the folder, is refused.
#[test]
fn a_study_over_two_processes_reports_what_one_process_does() {
    use burn::config::Config;
    use std::process::Command;
    let tmp = tempfile::tempdir().unwrap();
    let experiments = tmp.path().join("experiments");
    std::fs::create_dir_all(&experiments).unwrap();
    let variants = seed_variants();
    for config in [&variants[0], &variants[4]] {
        fast(config)
            .save(experiments.join(format!("{}.json", config.name)))
            .unwrap();
    }
    let study = |out: &Path, extra: &[&str]| {
        let mut cmd = Command::new(common::example_exe("study"));
        cmd.arg("--experiments")
            .arg(&experiments)
            .arg("--out")
            .arg(out)
            .args(["--seeds", "2", "--device", "flex", "--quiet", "--data"])
            .arg(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("crates/imdb-sample/data/aclImdb_sample.tar.gz"),
            )
            .args(extra)
            .env("BURN_IMDB_CACHE", tmp.path().join("cache"));
        cmd.output().unwrap()
    };
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    for (out, jobs) in [(&one, "1"), (&two, "2")] {
        let run = study(out, &["--jobs", jobs]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "--jobs {jobs}: {stderr}");
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            stdout.contains("4 run(s) (0 reused)"),
            "--jobs {jobs}: {stdout}"
        );
    }
    // Timings aside, the two summaries are the same JSON.
    fn untimed(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.retain(|k, _| !k.contains("seconds"));
                map.values_mut().for_each(untimed);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(untimed),
            _ => {}
        }
    }
    let summary = |out: &Path| {
        let text = std::fs::read_to_string(out.join("summary.json")).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        untimed(&mut v);
        v
    };
    assert_eq!(summary(&one), summary(&two));
    for (name, seed) in [
        ("baseline", 42),
        ("baseline", 43),
        ("tanh", 42),
        ("tanh", 43),
    ] {
        assert!(run_dir(&two, name, seed).join("results.json").is_file());
    }
    let lone = study(&tmp.path().join("lone"), &["--shard", "1/2"]);
    assert!(!lone.status.success());
    let stderr = String::from_utf8_lossy(&lone.stderr);
    assert!(stderr.contains("runs only under its study"), "{stderr}");
}
