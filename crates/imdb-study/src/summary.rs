//! Every number of the report, computed from the runs' [`Results`] and written as `summary.json`.
//!
//! The report ([`super::report`]) and the figures read only a [`Summary`], so a `summary.json`
//! alone regenerates them.

use super::claims::{Claim, ClaimOutcome, seed_claims};
use crate::stats::ttest::{Estimate, TTest, welch};
use imdb_train::{EpochMetrics, Results};
use serde::{Deserialize, Serialize};

/// The significance level of every test in the report.
pub const ALPHA: f64 = 0.05;

/// The name of the variant every other one is compared with.
pub const BASELINE: &str = "baseline";

/// The test the report uses, in words.
pub const TEST_NAME: &str =
    "Welch's two-sample t-test (two-sided, unequal variances, seeds as independent runs)";

/// A per-run number the study compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Accuracy on the test reviews after retraining.
    TestAccuracy,
    /// Loss on the test reviews after retraining.
    TestLoss,
    /// Validation loss at the last epoch of phase 1: how far over-fitting has pushed it.
    FinalValLoss,
}

impl Metric {
    /// Whether a higher value is better.
    pub fn higher_is_better(self) -> bool {
        matches!(self, Metric::TestAccuracy)
    }

    /// The metric in words.
    pub fn label(self) -> &'static str {
        match self {
            Metric::TestAccuracy => "test accuracy",
            Metric::TestLoss => "test loss",
            Metric::FinalValLoss => "validation loss at the last epoch",
        }
    }

    /// The metric's value in one run.
    pub fn of(self, run: &RunSummary) -> f64 {
        match self {
            Metric::TestAccuracy => run.test_accuracy,
            Metric::TestLoss => run.test_loss,
            Metric::FinalValLoss => run.final_val_loss,
        }
    }
}

/// What a comparison found at level [`ALPHA`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Significantly better on the metric.
    Better,
    /// Significantly worse on the metric.
    Worse,
    /// The test found no difference at this level (which is not evidence of no difference).
    NoDetectableDifference,
    /// Not tested: fewer than two runs on a side, or no reference variant.
    NotTested,
}

impl Verdict {
    /// The verdict of `test` on `metric` at level `alpha`.
    pub fn of(test: Option<&TTest>, metric: Metric, alpha: f64) -> Verdict {
        match test {
            None => Verdict::NotTested,
            Some(t) if t.p >= alpha || t.diff == 0.0 => Verdict::NoDetectableDifference,
            Some(t) if (t.diff > 0.0) == metric.higher_is_better() => Verdict::Better,
            Some(_) => Verdict::Worse,
        }
    }

    /// The verdict in words.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::NoDetectableDifference => "no detectable difference",
            Verdict::NotTested => "not tested",
        }
    }
}

/// A variant against a reference variant on one metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The reference variant.
    pub reference: String,
    /// What is compared.
    pub metric: Metric,
    /// The test of `variant - reference`; `None` if a side has fewer than two runs.
    pub test: Option<TTest>,
    /// The verdict at [`ALPHA`].
    pub verdict: Verdict,
}

impl Comparison {
    /// Tests `variant` against `reference` on `metric`.
    pub fn between(variant: &VariantSummary, reference: &VariantSummary, metric: Metric) -> Self {
        let values = |v: &VariantSummary| v.runs.iter().map(|r| metric.of(r)).collect::<Vec<_>>();
        let test = welch(&values(variant), &values(reference));
        Comparison {
            reference: reference.name.clone(),
            metric,
            verdict: Verdict::of(test.as_ref(), metric, ALPHA),
            test,
        }
    }
}

/// One run's numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The run's seed.
    pub seed: u64,
    /// Epochs of the retraining.
    pub chosen_epoch: usize,
    /// Highest validation accuracy of phase 1.
    pub best_val_accuracy: f64,
    /// Lowest validation loss of phase 1.
    pub best_val_loss: f64,
    /// Validation loss at the last epoch of phase 1.
    pub final_val_loss: f64,
    /// Test accuracy after retraining.
    pub test_accuracy: f64,
    /// Test loss after retraining.
    pub test_loss: f64,
    /// Wall time of both phases, seconds.
    pub seconds: f64,
}

/// A per-epoch series over seeds: the mean and the sample standard deviation at each epoch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    /// Mean over seeds.
    pub mean: Vec<f64>,
    /// Sample standard deviation over seeds; `None` with a single seed.
    pub std: Vec<Option<f64>>,
}

/// Phase 1's learning curves over seeds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Curves {
    /// Epochs, from 1.
    pub epochs: Vec<usize>,
    /// Training loss.
    pub loss: Curve,
    /// Training accuracy.
    pub accuracy: Curve,
    /// Validation loss.
    pub val_loss: Curve,
    /// Validation accuracy.
    pub val_accuracy: Curve,
}

/// One variant over its seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariantSummary {
    /// The experiment's name.
    pub name: String,
    /// Every run, in seed order.
    pub runs: Vec<RunSummary>,
    /// Epochs of the retraining.
    pub chosen_epoch: Estimate,
    /// Highest validation accuracy of phase 1.
    pub best_val_accuracy: Estimate,
    /// Lowest validation loss of phase 1.
    pub best_val_loss: Estimate,
    /// Validation loss at the last epoch of phase 1.
    pub final_val_loss: Estimate,
    /// Test accuracy.
    pub test_accuracy: Estimate,
    /// Test loss.
    pub test_loss: Estimate,
    /// Wall time of all its runs (both phases), seconds.
    pub wall_seconds: f64,
    /// Test accuracy against the baseline; `None` for the baseline itself or without one.
    pub vs_baseline: Option<Comparison>,
    /// Phase 1's curves over seeds.
    pub curves: Curves,
}

impl VariantSummary {
    /// The estimate of `metric` over this variant's seeds.
    pub fn estimate(&self, metric: Metric) -> &Estimate {
        match metric {
            Metric::TestAccuracy => &self.test_accuracy,
            Metric::TestLoss => &self.test_loss,
            Metric::FinalValLoss => &self.final_val_loss,
        }
    }
}

/// The whole study's numbers, as written to `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Significance level.
    pub alpha: f64,
    /// The test used for every comparison.
    pub test: String,
    /// The variant others are compared with.
    pub baseline: String,
    /// The backend of the runs (comma-separated if they differ).
    pub backend: String,
    /// Checksum of the data every run used.
    pub data_checksum: String,
    /// Training reviews (25,000 in the full data).
    pub train_reviews: usize,
    /// Test reviews.
    pub test_reviews: usize,
    /// Every variant, baseline first.
    pub variants: Vec<VariantSummary>,
    /// The seed notebook's claims, checked.
    pub claims: Vec<ClaimOutcome>,
}

impl Summary {
    /// The variant named `name`.
    pub fn variant(&self, name: &str) -> Option<&VariantSummary> {
        self.variants.iter().find(|v| v.name == name)
    }

    /// Wall time of all runs, seconds.
    pub fn wall_seconds(&self) -> f64 {
        self.variants.iter().map(|v| v.wall_seconds).sum()
    }
}

/// Summarizes `variants` (name, one [`Results`] per seed) and checks [`seed_claims`].
///
/// # Panics
/// If a variant has no runs.
pub fn summarize(variants: &[(String, Vec<Results>)]) -> Summary {
    summarize_with_claims(variants, &seed_claims())
}

/// [`summarize`] with other claims.
///
/// # Panics
/// If a variant has no runs.
pub fn summarize_with_claims(variants: &[(String, Vec<Results>)], claims: &[Claim]) -> Summary {
    let mut summaries: Vec<VariantSummary> = variants
        .iter()
        .map(|(name, results)| variant_summary(name, results))
        .collect();
    // Baseline first, the rest in the given order.
    if let Some(i) = summaries.iter().position(|v| v.name == BASELINE) {
        let baseline = summaries.remove(i);
        summaries.insert(0, baseline);
    }
    if let Some(baseline) = summaries.first().filter(|v| v.name == BASELINE).cloned() {
        for v in summaries.iter_mut().skip(1) {
            v.vs_baseline = Some(Comparison::between(v, &baseline, Metric::TestAccuracy));
        }
    }
    let all: Vec<&Results> = variants.iter().flat_map(|(_, r)| r).collect();
    let distinct = |f: fn(&Results) -> String| {
        let mut v: Vec<String> = all.iter().map(|r| f(r)).collect();
        v.sort();
        v.dedup();
        v.join(", ")
    };
    let claims = claims.iter().map(|c| c.check(&summaries)).collect();
    Summary {
        alpha: ALPHA,
        test: TEST_NAME.into(),
        baseline: BASELINE.into(),
        backend: distinct(|r| r.backend.clone()),
        data_checksum: distinct(|r| r.data_checksum.clone()),
        train_reviews: all.first().map_or(0, |r| r.train_reviews),
        test_reviews: all.first().map_or(0, |r| r.test_reviews),
        variants: summaries,
        claims,
    }
}

fn variant_summary(name: &str, results: &[Results]) -> VariantSummary {
    assert!(!results.is_empty(), "variant {name} has no runs");
    let mut results: Vec<&Results> = results.iter().collect();
    results.sort_by_key(|r| r.seed);
    let runs: Vec<RunSummary> = results
        .iter()
        .map(|r| RunSummary {
            seed: r.seed,
            chosen_epoch: r.chosen_epoch,
            best_val_accuracy: r.best_val_accuracy,
            best_val_loss: r.best_val_loss,
            final_val_loss: r.history.last().map_or(f64::NAN, |m| m.val_loss),
            test_accuracy: r.test_accuracy,
            test_loss: r.test_loss,
            seconds: r.fit_seconds + r.retrain_seconds,
        })
        .collect();
    let estimate = |f: fn(&RunSummary) -> f64| {
        let xs: Vec<f64> = runs.iter().map(f).collect();
        Estimate::of(&xs).expect("at least one run")
    };
    VariantSummary {
        name: name.into(),
        chosen_epoch: estimate(|r| r.chosen_epoch as f64),
        best_val_accuracy: estimate(|r| r.best_val_accuracy),
        best_val_loss: estimate(|r| r.best_val_loss),
        final_val_loss: estimate(|r| r.final_val_loss),
        test_accuracy: estimate(|r| r.test_accuracy),
        test_loss: estimate(|r| r.test_loss),
        wall_seconds: runs.iter().map(|r| r.seconds).sum(),
        vs_baseline: None,
        curves: curves(&results),
        runs,
    }
}

/// Mean and spread per epoch over the runs' phase-1 histories (cut to the shortest).
fn curves(results: &[&Results]) -> Curves {
    let epochs = results.iter().map(|r| r.history.len()).min().unwrap_or(0);
    let curve = |f: fn(&EpochMetrics) -> f64| {
        let per_epoch: Vec<Estimate> = (0..epochs)
            .map(|e| {
                let xs: Vec<f64> = results.iter().map(|r| f(&r.history[e])).collect();
                Estimate::of(&xs).expect("at least one run")
            })
            .collect();
        Curve {
            mean: per_epoch.iter().map(|e| e.mean).collect(),
            std: per_epoch.iter().map(|e| e.std).collect(),
        }
    };
    Curves {
        epochs: (1..=epochs).collect(),
        loss: curve(|m| m.loss),
        accuracy: curve(|m| m.accuracy),
        val_loss: curve(|m| m.val_loss),
        val_accuracy: curve(|m| m.val_accuracy),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(diff: f64, p: f64) -> TTest {
        TTest {
            diff,
            ci95: [diff - 0.01, diff + 0.01],
            se: 0.004,
            t: 0.0,
            df: 4.0,
            p,
        }
    }

    #[test]
    fn verdicts_follow_sign_significance_and_metric_direction() {
        let acc = Metric::TestAccuracy;
        let loss = Metric::FinalValLoss;
        assert_eq!(
            Verdict::of(Some(&test(0.01, 0.01)), acc, 0.05),
            Verdict::Better
        );
        assert_eq!(
            Verdict::of(Some(&test(-0.01, 0.01)), acc, 0.05),
            Verdict::Worse
        );
        assert_eq!(
            Verdict::of(Some(&test(0.01, 0.05)), acc, 0.05),
            Verdict::NoDetectableDifference,
            "p = α is not significant"
        );
        assert_eq!(
            Verdict::of(Some(&test(-0.01, 0.001)), loss, 0.05),
            Verdict::Better,
            "a lower loss is better"
        );
        assert_eq!(
            Verdict::of(Some(&test(0.01, 0.001)), loss, 0.05),
            Verdict::Worse
        );
        assert_eq!(Verdict::of(None, acc, 0.05), Verdict::NotTested);
    }
}
