//! The study: its config files, the report from known numbers (Holm, power, the bootstrap over
//! reviews and seeds, the factorial model), a small study on the embedded sample that writes every
//! artifact and resumes without redoing finished runs, and the study command as processes: two
//! studies on one folder, workers, shards merged, a hard kill, another working directory.

use burn_imdb::data::{DataSource, ImdbLoader};
use burn_imdb::study::claims::Support;
use burn_imdb::study::summary::{Metric, VARIANTS_FAMILY, Verdict};
use burn_imdb::study::{
    Design, SeedPlan, StudyOptions, StudyPlan, Summary, factorial_cells, load_experiments, run_dir,
    run_study, seed_variants, study_variants, summarize, write_report,
};
use burn_imdb::train::{BackendKind, EpochMetrics, ExperimentConfig, Results};
use burn_imdb::train::{InputKind, ReviewOutcomes};
use std::path::{Path, PathBuf};
use std::process::Command;
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
    let summary = summarize(
        Design::Variants,
        &[
            variant("baseline", &[0.87, 0.88, 0.89], &[0.50, 0.51, 0.52]),
            variant("three_layers", &[0.875, 0.885, 0.870], &[0.5, 0.5, 0.5]),
            variant("units_32", &[0.90, 0.91, 0.92], &[0.5, 0.5, 0.5]),
            variant("tanh", &[0.89], &[0.5]),
            variant("dropout", &[0.87, 0.88, 0.90], &[0.60, 0.61, 0.62]),
        ],
    );
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

    // Baseline: mean 0.88, std 0.01; the reference of every comparison.
    let base = row(&md, "baseline");
    assert_eq!(base[1], "3");
    assert_eq!(base[2], "0.8800 ± 0.0100");
    assert_eq!(base[11], "(reference)");

    // The family: three variants with two seeds or more (tanh has one), so m = 3. Raw Welch p
    // (scipy.stats.ttest_ind(..., equal_var=False), SciPy 1.17.1): units_32 0.021311641128756713,
    // three_layers 0.671737255330586, dropout 0.7700256383911789. Holm by hand: units_32 3 × 0.02131 = 0.06393 > 0.05, so the raw
    // "better" of the old report is no longer a finding.
    let family = summary.family(VARIANTS_FAMILY).unwrap();
    assert_eq!((family.size, family.bootstrap_size), (3, 0));
    let units = row(&md, "units_32");
    assert_eq!(units[2], "0.9100 ± 0.0100");
    assert_eq!(units[3], "+0.0300");
    assert_eq!(units[5], "0.0213");
    assert_eq!(units[6], "0.0639");
    assert_eq!(units[11], "no detectable difference (seeds only)");
    let c = summary
        .variant("units_32")
        .unwrap()
        .vs_baseline
        .as_ref()
        .unwrap();
    let t = c.test.unwrap();
    assert!((t.p - 0.021311641128756713).abs() < 1e-9, "{t:?}");
    assert!((c.p_holm.unwrap() - 3.0 * 0.021311641128756713).abs() < 1e-9);
    assert_eq!(
        (c.metric, c.verdict),
        (Metric::TestAccuracy, Verdict::NoDetectableDifference)
    );
    // The corrected interval (level 1 − 0.05/3) is wider than the 95% one and contains 0:
    // 0.03 ± t(1 − 0.05/6, 4)·√(2·0.0001/3), t = 3.9607864827701835
    // (scipy.stats.t.ppf(1 - 0.05/6, 4), SciPy 1.17.1): [-0.0023396862096660906,
    // 0.06233968620966609]; 1e-9.
    let [lo, hi] = c.ci_adjusted.unwrap();
    assert!((lo + 0.0023396862096660906).abs() < 1e-9, "{lo}");
    assert!((hi - 0.06233968620966609).abs() < 1e-9, "{hi}");
    assert_eq!(units[4], "[-0.0023, +0.0623]");
    // The MDD at α/3 with sd 0.01 on both sides and 3 seeds each (Welch's df is then 4, the
    // pooled df): 0.04183959878348025 = 0.01 × the effect size at which statsmodels 0.15.0's
    // TTestIndPower().power(d, 3, 0.05/3, ratio=1) is 0.8 (scipy.optimize.brentq, xtol 1e-15);
    // 1e-9 relative.
    let mdd = c.mdd.unwrap();
    assert!((mdd / 0.04183959878348025 - 1.0).abs() < 1e-9, "{mdd}");
    assert!(
        md.contains("±0.0418 over seeds would have been detected"),
        "{md}"
    );

    let three = row(&md, "three_layers");
    assert_eq!(three[5], "0.6717");
    assert_eq!(three[11], "no detectable difference (seeds only)");
    // One seed: no spread, no test.
    let tanh = row(&md, "tanh");
    assert_eq!(
        (tanh[2].as_str(), tanh[11].as_str()),
        ("0.8900", "not tested")
    );

    // The seed's claims are a family of their own: here three testable ones (three_layers and
    // units_32 on test accuracy, dropout on last validation loss). dropout's validation loss is
    // +0.1, p = 0.0002552167494419279 (SciPy, as above), the smallest; units_32 is second: Holm
    // 2 × 0.021311641128756713 = 0.0426 ≤ 0.05, supported.
    let claim = |variant: &str, reference: &str| {
        summary
            .claims
            .iter()
            .find(|c| c.claim.variant == variant && c.claim.reference == reference)
            .unwrap()
    };
    let units_claim = claim("units_32", "baseline");
    let p = units_claim.comparison.as_ref().unwrap().p_holm.unwrap();
    assert!((p - 2.0 * 0.021311641128756713).abs() < 1e-9, "{p}");
    assert_eq!(units_claim.support, Some(Support::Supported));
    assert_eq!(
        units_claim.support_with_reviews, None,
        "no per-review outcomes"
    );
    assert!(line_with(&md, "`units_32 vs baseline`").contains("**Supported after Holm"));
    assert!(line_with(&md, "`three_layers vs baseline`").contains("**Not supported after Holm"));
    assert!(
        line_with(&md, "`dropout vs baseline`").contains("**Contradicted"),
        "dropout's last validation loss is significantly higher than the baseline's"
    );
    assert!(line_with(&md, "`dropout vs l2`").contains("Not evaluated: l2 not run"));
    assert!(line_with(&md, "`tanh vs baseline`").contains("each side needs at least two seeds"));
    assert!(line_with(&md, "`mse vs baseline`").contains("Not evaluated: mse not run"));
    // Each family is named in the report.
    assert!(md.contains("family “variants vs baseline”, m = 3"), "{md}");
    assert!(md.contains("family “the seed's claims”, m = 3"), "{md}");

    // The HTML page shows the same table and every image it links exists.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<td>[-0.0023, +0.0623]</td>"));
    let srcs: Vec<&str> = html
        .split("<img src=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    // forest + test accuracy + 4 comparisons + 5 loss figures.
    assert_eq!(srcs.len(), 11, "{srcs:?}");
    for src in srcs {
        assert!(out.join(src).is_file(), "{src} missing");
        assert!(
            out.join(src).with_extension("png").is_file(),
            "{src} PNG missing"
        );
    }
    let svg = std::fs::read_to_string(out.join("figures/compare_units_32.svg")).unwrap();
    assert!(svg.contains("Validation accuracy") && svg.contains("Validation loss"));
    let forest = std::fs::read_to_string(out.join("figures/forest.svg")).unwrap();
    assert!(forest.contains("units_32 (3)") && forest.contains("over seeds (Welch)"));
}

/// Runs with per-review outcomes drawn so that review `i` is hard for every model (wrong when
/// `i % 10 == 0`) and each run also misses its own random `miss` share of the others.
fn with_outcomes(name: &str, seeds: u64, miss: f64, rng_seed: u64) -> (String, Vec<Results>) {
    use burn_imdb::study::stats::rng::Xoshiro256;
    let mut rng = Xoshiro256::seed_from_u64(rng_seed);
    let runs = (0..seeds)
        .map(|s| {
            let correct: Vec<bool> = (0..2_000)
                .map(|i| i % 10 != 0 && rng.next_f64() >= miss)
                .collect();
            let accuracy = correct.iter().filter(|c| **c).count() as f64 / 2_000.0;
            let mut r = synthetic(name, 42 + s, accuracy, 0.5);
            r.test_reviews = 2_000;
            r.test_outcomes = Some(ReviewOutcomes::from_correct(correct));
            r
        })
        .collect();
    (name.into(), runs)
}

/// The bootstrap over reviews and seeds in the summary: reproducible from the runs alone, centred
/// on the seeds-only difference, wider than the seeds-only interval when the reviews are few, and
/// covering the true difference of the generator.
#[test]
fn comparisons_are_judged_over_reviews_and_seeds_too() {
    // True accuracies: 0.9·(1 − 0.05) = 0.855 and 0.9·(1 − 0.08) = 0.828: a difference of
    // −0.027 that the bootstrap's 95% interval must cover (2,000 reviews, 8 seeds a side).
    let variants = [
        with_outcomes("baseline", 8, 0.05, 1),
        with_outcomes("mse", 8, 0.08, 2),
    ];
    let summary = summarize(Design::Variants, &variants);
    let again = summarize(Design::Variants, &variants);
    assert_eq!(
        summary, again,
        "the same runs give the same bootstrap, bit for bit"
    );
    let c = summary.variant("mse").unwrap().vs_baseline.clone().unwrap();
    let b = c.bootstrap.as_ref().unwrap();
    let t = c.test.unwrap();
    assert!((b.diff - t.diff).abs() < 1e-12);
    assert!(b.ci95[0] < -0.027 && -0.027 < b.ci95[1], "{b:?}");
    // Each run's accuracy over 2,000 reviews has a binomial sd of ~0.006 of which the seeds see
    // only the part that differs between runs: the interval over reviews is the wider one.
    let welch_width = t.ci95[1] - t.ci95[0];
    assert!(b.ci95[1] - b.ci95[0] > welch_width, "{b:?} vs {t:?}");
    assert_eq!(b.verdict, Verdict::Worse);
    assert_eq!(c.verdict_label(), "worse");
    // One comparison in the family: the corrected interval is the 95% one.
    assert_eq!(b.ci_adjusted, b.ci95);
    let base = summary.variant("baseline").unwrap();
    let [lo, hi] = base.test_accuracy_ci95_reviews.unwrap();
    assert!(lo < 0.855 && 0.855 < hi, "[{lo}, {hi}]");
    assert_eq!(summary.bootstrap.replicates, 2_000);
}

/// The factorial analysis of synthetic runs with known effects: the main effects come back
/// within their intervals, the one real interaction is found and named, the null effects are
/// not, and the report says so in sentences generated from the numbers.
#[test]
fn the_factorial_analysis_recovers_known_effects() {
    use burn_imdb::study::stats::rng::Xoshiro256;
    use burn_imdb::study::summary::FACTORIAL_FAMILY;
    // Truth (test accuracy): 0.88; units 32 +0.004; mse −0.003; dropout +0.005, l2 +0.001;
    // layers and activation nothing on average; tanh − relu is −0.004 with bce and +0.004 with
    // mse (a loss × activation interaction, difference of differences +0.008); noise sd 0.001,
    // 3 seeds per cell (144 runs). Tolerance: each estimate within 4.5 of its standard errors.
    let mut rng = Xoshiro256::seed_from_u64(9);
    let mut variants = Vec::new();
    for cell in factorial_cells() {
        let l = burn_imdb::study::design::cell_levels(&cell.name).unwrap();
        let runs = (0..3)
            .map(|s| {
                let sign = |x: usize| if x == 0 { -1.0 } else { 1.0 };
                let acc = 0.88 + 0.004 * l[1] as f64 - 0.003 * l[2] as f64
                    + [0.0, 0.001, 0.005][l[4]]
                    + 0.002 * sign(l[2]) * sign(l[3])
                    + 0.001 * rng.next_normal();
                synthetic(&cell.name, 42 + s, acc, 0.5)
            })
            .collect();
        variants.push((cell.name.clone(), runs));
    }
    let summary = summarize(Design::Factorial, &variants);
    let f = summary.factorial.as_ref().unwrap();
    let fit = f.fit.as_ref().unwrap();
    assert_eq!((fit.observations, fit.per_cell), (144, 3));
    let effect = |factor: &str, level: &str| {
        f.effects
            .iter()
            .find(|e| e.factor == factor && e.level == level)
            .unwrap()
    };
    for (factor, level, truth) in [
        ("layers", "3", 0.0),
        ("units", "32", 0.004),
        ("loss", "mse", -0.003),
        // tanh: −0.004 under bce, +0.004 under mse: 0 on average.
        ("activation", "tanh", 0.0),
        ("regulariser", "l2", 0.001),
        ("regulariser", "dropout", 0.005),
    ] {
        let e = effect(factor, level);
        let se = fit.contrast(factor, level).unwrap().se;
        assert!((e.estimate - truth).abs() < 4.5 * se, "{e:?} vs {truth}");
        assert!(e.ci95[0] <= e.estimate && e.estimate <= e.ci95[1]);
        assert!(e.mdd > 0.0 && e.mdd < 0.002, "{e:?}");
    }
    let dod = &fit.pair("loss:activation").unwrap().contrasts[0];
    assert!((dod.estimate - 0.008).abs() < 4.5 * dod.se, "{dod:?}");
    // Holm over the 15 terms: units, loss, regulariser and loss:activation; not layers, not
    // activation (zero on average), no other interaction.
    assert!(f.significant("units") && f.significant("loss") && f.significant("regulariser"));
    assert!(f.significant("loss:activation"));
    assert!(!f.significant("layers") && !f.significant("activation"));
    let interacting: Vec<&str> = fit
        .anova
        .terms
        .iter()
        .filter(|r| r.term.contains(':') && r.p_holm <= 0.05)
        .map(|r| r.term.as_str())
        .collect();
    assert_eq!(interacting, ["loss:activation"]);
    let family = summary.family(FACTORIAL_FAMILY).unwrap();
    assert_eq!(family.size, 15);

    let tmp = tempfile::tempdir().unwrap();
    write_report(&summary, tmp.path()).unwrap();
    let md = std::fs::read_to_string(tmp.path().join("report.md")).unwrap();
    assert!(md.starts_with("# IMDB multi-hot MLP: factorial design, 48 cells × 3 seeds"));
    let sentence = line_with(&md, "**loss × activation interact**");
    assert!(
        sentence.contains("mse instead of bce changes test accuracy by")
            && sentence.contains("with activation tanh"),
        "{sentence}"
    );
    assert!(line_with(&md, "**layers**").contains("No detectable effect"));
    assert!(line_with(&md, "**units**").contains("It matters"));
    assert!(md.contains("No other pair interacts detectably"));
    for f in ["effects", "interactions"] {
        for ext in ["png", "svg"] {
            assert!(
                tmp.path().join(format!("figures/{f}.{ext}")).is_file(),
                "{f}.{ext}"
            );
        }
    }
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
        backend: BackendKind::select(Some("flex")).unwrap(),
        input: InputKind::Sparse,
        quiet: true,
    };
    let plan = |configs: &[ExperimentConfig]| {
        StudyPlan::new(Design::Variants, configs.to_vec(), SeedPlan::uniform(2))
    };

    let first = run_study(&plan(&configs), &loader, &opts).unwrap();
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
        // A finished run's checkpoints are gone (they only serve to continue a run).
        for phase in ["fit", "retrain"] {
            assert!(
                !dir.join(phase).join("checkpoint").exists(),
                "{}",
                dir.display()
            );
        }
    }
    for f in [
        "report.md",
        "report.html",
        "summary.json",
        "study.json",
        "figures/forest.png",
        "figures/forest.svg",
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
    let c = tanh.vs_baseline.as_ref().unwrap();
    assert!(c.test.is_some());
    // Every run recorded which test reviews it got right: the bootstrap has them.
    let b = c.bootstrap.as_ref().unwrap();
    assert!(b.ci95[0] <= b.diff && b.diff <= b.ci95[1], "{b:?}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("**Small data.**"), "the sample is flagged");
    row(&md, "baseline");
    row(&md, "tanh");

    // Started again: nothing is run, nothing is rewritten.
    let results = |name, seed| run_dir(&out, name, seed).join("results.json");
    let before: Vec<SystemTime> = [("baseline", 42), ("tanh", 43)]
        .map(|(n, s)| mtime(&results(n, s)))
        .to_vec();
    let again = run_study(&plan(&configs), &loader, &opts).unwrap();
    assert!(again.runs.iter().all(|r| r.reused));
    assert_eq!(again.summary, first.summary);
    let after: Vec<SystemTime> = [("baseline", 42), ("tanh", 43)]
        .map(|(n, s)| mtime(&results(n, s)))
        .to_vec();
    assert_eq!(before, after);

    // An interrupted run (no results.json yet) is the only one run again, and ends the same.
    std::fs::remove_file(results("tanh", 43)).unwrap();
    let resumed = run_study(&plan(&configs), &loader, &opts).unwrap();
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
    let rerun = run_study(&plan(&changed), &loader, &opts).unwrap();
    let redone: Vec<bool> = rerun.runs.iter().map(|r| r.reused).collect();
    assert_eq!(redone, [true, true, false, false]);
    assert_eq!(rerun.runs[2].results.history.len(), 3);
}

/// An experiments folder in `tmp` holding one baseline made slow on the sample by batches of 16
/// over `epochs` epochs, for the tests that need a study still running when they act on it.
fn slow_baseline(tmp: &Path, epochs: usize) -> PathBuf {
    use burn::config::Config;
    let experiments = tmp.join("experiments");
    std::fs::create_dir_all(&experiments).unwrap();
    ExperimentConfig::new()
        .with_name("baseline".into())
        .with_validation(Some(1_000))
        .with_epochs(epochs)
        .with_batch_size(16)
        .with_seed(7)
        .save(experiments.join("baseline.json"))
        .unwrap();
    experiments
}

/// Two real study processes on one folder: the second fails at once, naming the folder and the
/// first's process, and the first finishes unharmed. (Without the study's own lock the second
/// deleted the first's finished `results.json` files and raced it for the report.)
#[test]
fn a_second_study_on_the_same_folder_fails_at_once() {
    use std::process::Command;
    let tmp = tempfile::tempdir().unwrap();
    // 12 epochs: a few seconds, so the second process (which fails within its first tenth of a
    // second) meets the first with a wide margin.
    let experiments = slow_baseline(tmp.path(), 12);
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

/// Timings aside, the text of a summary.json: the lines that hold a duration dropped (every
/// other line, and so every other byte, must be the same).
fn untimed(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out.join("summary.json"))
        .unwrap()
        .lines()
        .filter(|l| !l.contains("seconds\""))
        .map(String::from)
        .collect()
}

fn study_command(tmp: &Path, experiments: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(common::example_exe("study"));
    cmd.arg("--experiments")
        .arg(experiments)
        .arg("--out")
        .arg(out)
        .args(["--device", "flex", "--quiet", "--data"])
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("crates/imdb-sample/data/aclImdb_sample.tar.gz"),
        )
        .args(extra)
        .env("BURN_IMDB_CACHE", tmp.join("cache"));
    cmd
}

/// `--jobs 1` and `--jobs 2` (workers), workers started again after every run, and three
/// `--shard i/3` in folders of their own merged with `--merge`: the runs spread over processes
/// give the very `summary.json` of one process (byte for byte but for the timings), with every
/// run on disk; a worker started by hand, with no study holding the folder,
/// is refused; a merge refuses a missing shard and a shard of another study.
#[test]
fn a_study_over_processes_or_merged_shards_reports_what_one_process_does() {
    use burn::config::Config;
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
        let mut all = vec!["--seeds", "2"];
        all.extend(extra);
        study_command(tmp.path(), &experiments, out, &all)
            .output()
            .unwrap()
    };
    let ok = |run: std::process::Output, what: &str| {
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{what}: {stderr}");
        String::from_utf8_lossy(&run.stdout).into_owned()
    };
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    for (out, jobs) in [(&one, "1"), (&two, "2")] {
        let stdout = ok(study(out, &["--jobs", jobs]), jobs);
        assert!(
            stdout.contains("4 run(s) (0 reused)"),
            "--jobs {jobs}: {stdout}"
        );
    }
    assert_eq!(untimed(&one), untimed(&two));
    // A worker that ends after each fresh run (the study starts it again, 4 times) changes
    // nothing either.
    let recycled = tmp.path().join("recycled");
    let stdout = ok(
        study(&recycled, &["--jobs", "1", "--runs-per-process", "1"]),
        "recycled",
    );
    assert!(stdout.contains("4 run(s) (0 reused)"), "{stdout}");
    assert_eq!(untimed(&one), untimed(&recycled));
    for (name, seed) in [
        ("baseline", 42),
        ("baseline", 43),
        ("tanh", 42),
        ("tanh", 43),
    ] {
        assert!(run_dir(&two, name, seed).join("results.json").is_file());
    }

    // Three shards, each in its own folder (as on three machines), the first over two jobs.
    let shard = |i: usize| tmp.path().join(format!("shard-{i}"));
    for i in 0..3 {
        let jobs = if i == 0 { "2" } else { "1" };
        let spec = format!("{i}/3");
        let stdout = ok(study(&shard(i), &["--shard", &spec, "--jobs", jobs]), &spec);
        assert!(stdout.contains(&format!("shard {i}/3:")), "{stdout}");
        assert!(
            !shard(i).join("summary.json").exists(),
            "a shard writes no report"
        );
    }
    // Run j is shard j % 3's: baseline 42 and tanh 43 in shard 0, baseline 43 in 1, tanh 42 in 2.
    assert!(
        run_dir(&shard(0), "tanh", 43)
            .join("results.json")
            .is_file()
    );
    assert!(
        run_dir(&shard(1), "baseline", 43)
            .join("results.json")
            .is_file()
    );
    assert!(!run_dir(&shard(1), "tanh", 42).exists());
    let merged = tmp.path().join("merged");
    let merge = |dirs: &[PathBuf]| {
        let mut cmd = Command::new(common::example_exe("study"));
        cmd.arg("--out").arg(&merged).arg("--merge").args(dirs);
        cmd.output().unwrap()
    };
    let stdout = ok(merge(&[shard(2), shard(0), shard(1)]), "merge");
    assert!(
        stdout.contains("4 run(s) from 3 folder(s) merged"),
        "{stdout}"
    );
    assert_eq!(untimed(&merged), untimed(&one));
    assert!(merged.join("report.html").is_file() && merged.join("figures/forest.svg").is_file());

    let refused = |run: std::process::Output, needle: &str| {
        assert!(
            !run.status.success(),
            "expected a refusal naming {needle:?}"
        );
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains(needle), "{stderr}");
    };
    refused(merge(&[shard(0), shard(1)]), "shard(s) 2/3 missing");
    // The single-process study is shard 0/1 of the same study, not a shard of three.
    refused(
        merge(&[shard(0), shard(1), one.clone()]),
        "not the same split",
    );
    // A shard of a study with other seeds.
    let other = tmp.path().join("other");
    let mut run = study_command(
        tmp.path(),
        &experiments,
        &other,
        &["--seeds", "1", "--shard", "2/3"],
    );
    ok(run.output().unwrap(), "other");
    refused(merge(&[shard(0), shard(1), other]), "holds another study");
    // A manifest edited by hand with a key it does not have is refused, naming the key and the
    // one meant (it was ignored before).
    let edited = tmp.path().join("edited");
    copy_dir(&shard(2), &edited);
    let manifest = edited.join("study.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replacen('{', "{\"shards\": 3, ", 1)).unwrap();
    refused(
        merge(&[shard(0), shard(1), edited]),
        "study.json: unknown field `shards`; did you mean `shard`?",
    );

    // A worker is started with a pipe on its standard input (it stops when that closes).
    let mut lone = study_command(
        tmp.path(),
        &experiments,
        &tmp.path().join("lone"),
        &["--worker", "1/2"],
    )
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let pipe = lone.stdin.take();
    let lone = lone.wait_with_output().unwrap();
    drop(pipe);
    assert!(!lone.status.success());
    let stderr = String::from_utf8_lossy(&lone.stderr);
    assert!(stderr.contains("runs only under its study"), "{stderr}");
}

/// Issue 31, item 4: a study killed hard (SIGKILL, which it cannot catch) takes its workers with
/// it, so that the same command started right away continues the study. Before, the workers ran
/// on with their run folders locked and the restarted study failed on them.
#[cfg(unix)]
#[test]
fn a_study_killed_hard_ends_its_workers_and_a_rerun_continues_it() {
    use std::time::{Duration, Instant};
    let tmp = tempfile::tempdir().unwrap();
    // 60 epochs: a few seconds a run, so the worker is mid-run when the study is killed and
    // would hold its folder for seconds more if it outlived the study.
    let experiments = slow_baseline(tmp.path(), 60);
    let out = tmp.path().join("study");
    let study = || {
        study_command(
            tmp.path(),
            &experiments,
            &out,
            &["--seeds", "2", "--jobs", "2"],
        )
    };
    let mut first = study()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Run 1 (seed 8) is the worker's: wait until it holds that run's folder.
    let lock = run_dir(&out, "baseline", 8).join(".lock");
    common::wait_while_running(
        &mut first,
        Duration::from_secs(120),
        "the worker's run",
        || std::fs::read_to_string(&lock).is_ok_and(|s| s.starts_with("process")),
    );
    let worker: u32 = std::fs::read_to_string(&lock).unwrap()["process ".len()..]
        .trim()
        .parse()
        .unwrap();
    assert_ne!(worker, first.id(), "the worker is a process of its own");
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    // Right away: the same command continues the study.
    let started = Instant::now();
    let rerun = study().output().unwrap();
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    assert!(rerun.status.success(), "the rerun failed: {stderr}");
    let stdout = String::from_utf8_lossy(&rerun.stdout);
    assert!(stdout.contains("2 run(s)"), "{stdout}");
    for seed in [7, 8] {
        assert!(
            run_dir(&out, "baseline", seed)
                .join("results.json")
                .is_file()
        );
    }
    // And the killed study's worker is gone (at most a zombie waiting for its new parent).
    #[cfg(target_os = "linux")]
    {
        let stat = std::fs::read_to_string(format!("/proc/{worker}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .next();
        assert!(
            matches!(state, None | Some("Z") | Some("X")),
            "worker {worker} still running {:?} after the study was killed: {stat}",
            started.elapsed()
        );
    }
}

/// Issue 31, item 5: the study command runs from any directory: its variants come from the
/// library, not from `assets/experiments` under the working directory.
#[test]
fn the_study_command_runs_from_another_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let run = Command::new(common::example_exe("study"))
        .current_dir(&elsewhere)
        .args([
            "--only", "baseline", "--seeds", "1", "--device", "flex", "--quiet",
        ])
        .args(["--out", "out", "--data"])
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("crates/imdb-sample/data/aclImdb_sample.tar.gz"),
        )
        .env("BURN_IMDB_CACHE", tmp.path().join("cache"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let summary: Summary =
        serde_json::from_slice(&std::fs::read(elsewhere.join("out/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary.variants.len(), 1);
    assert_eq!(summary.variants[0].name, "baseline");
    // The built-in baseline: 20 epochs of phase 1.
    assert_eq!(summary.variants[0].curves.epochs.len(), 20);
}

/// Copies the tree `from` to `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
