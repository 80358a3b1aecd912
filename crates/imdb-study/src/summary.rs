//! Every number of the report, computed from the runs' [`Results`] and written as `summary.json`.
//!
//! The report ([`super::report`]) and the figures read only a [`Summary`], so a `summary.json`
//! alone regenerates them.
//!
//! Each comparison is judged twice, against two sources of variation:
//!
//! - **over seeds** (Welch's t-test on the per-seed accuracies): what another seed would give, on
//!   these 25,000 test reviews;
//! - **over reviews and seeds** (a paired bootstrap, [`crate::stats::bootstrap`]): what another
//!   seed would give on another sample of reviews like these. The bootstrap gives the standard
//!   error of the difference over both sources; the interval and p-value use it with Student's t
//!   on the seeds-only test's degrees of freedom (see [`BootstrapComparison`] for why not the
//!   percentile interval).
//!
//! Within each family of comparisons ([`VARIANTS_FAMILY`], [`CLAIMS_FAMILY`],
//! [`FACTORIAL_FAMILY`]) the p-values are Holm-adjusted, and a verdict is reached at family-wise
//! level [`ALPHA`]. Every comparison states its minimum detectable difference at [`POWER`] and at
//! Holm's first-step level `α/m`, so that "no detectable difference" says what would have been
//! detectable.

use crate::claims::{Claim, ClaimOutcome, seed_claims};
use crate::design::{Design, cell_levels, factorial_factors};
use crate::stats::bootstrap::{
    BootstrapConfig, Correctness, PairedBootstrap, accuracy_bootstrap, paired_bootstrap,
};
use crate::stats::dist::{t_quantile, t_two_sided_p};
use crate::stats::holm::holm_adjust;
use crate::stats::linear_model::{FactorialFit, Observation, fit_factorial};
use crate::stats::power::{Spread, min_detectable_difference, min_detectable_effect};
use crate::stats::ttest::{Estimate, TTest, welch};
use imdb_train::{EpochMetrics, Results};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// The family-wise significance level of every family of tests in the report.
pub const ALPHA: f64 = 0.05;

/// The power at which minimum detectable differences are stated.
pub const POWER: f64 = 0.8;

/// The name of the variant every other one is compared with.
pub const BASELINE: &str = "baseline";

/// The test over seeds, in words.
pub const TEST_NAME: &str =
    "Welch's two-sample t-test (two-sided, unequal variances, seeds as independent runs)";

/// Replicates of every bootstrap: its standard error is then within ~1.6% of its limit
/// (`1/√(2B)`), and it is the standard error the intervals use.
pub const BOOTSTRAP_REPLICATES: usize = 2_000;

/// The seed of every bootstrap: the same runs give the same intervals, in every process.
pub const BOOTSTRAP_SEED: u64 = 20_250_601;

/// The family of each variant against the baseline.
pub const VARIANTS_FAMILY: &str = "variants vs baseline";

/// The family of the seed notebook's claims.
pub const CLAIMS_FAMILY: &str = "the seed's claims";

/// The family of the factorial model's effects (main effects and two-way interactions).
pub const FACTORIAL_FAMILY: &str = "factorial effects";

/// A per-run number the study compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
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

/// What a comparison found at family-wise level [`ALPHA`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
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
    /// The verdict on `metric` of a difference `diff` whose (adjusted) p-value is `p`, at `alpha`.
    pub fn of(diff: f64, p: f64, metric: Metric, alpha: f64) -> Verdict {
        if p > alpha || diff == 0.0 {
            Verdict::NoDetectableDifference
        } else if (diff > 0.0) == metric.higher_is_better() {
            Verdict::Better
        } else {
            Verdict::Worse
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

/// The paired bootstrap of a comparison: the difference judged over test reviews and seeds.
///
/// The replicates' standard deviation is the standard error over both sources of variation,
/// times `√(n/(n − 1))` for the side with fewer seeds (resampling `n` seeds with replacement
/// shrinks their variance by `(n − 1)/n`). The interval is `diff ± t·se` and the p-value
/// Student's, on the seeds-only test's Welch degrees of freedom: seed-to-seed variation dominates
/// the standard error at the study's seed counts, and its few degrees of freedom are what the
/// tails must respect. The percentile interval is kept for reference: with a skewed seed
/// distribution (a few bad seeds) it reads normal-like tails off 20–140 resampled seeds and was
/// *narrower* than Welch's over seeds alone (dropout vs baseline, 20 seeds each: percentile p
/// 0.0024, Welch's 0.016, at the same standard error), which an interval over more sources of
/// variation must not be.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BootstrapComparison {
    /// The observed difference (the same as the seeds-only test's).
    pub diff: f64,
    /// Standard error over reviews and seeds (see above).
    pub se: f64,
    /// Degrees of freedom of the interval and test (the seeds-only test's).
    pub df: f64,
    /// 95% interval, `diff ± t(0.975, df)·se`.
    pub ci95: [f64; 2],
    /// Interval at the Bonferroni level `1 - α/m`, `m` the family's bootstrap comparisons.
    pub ci_adjusted: [f64; 2],
    /// Two-sided p-value of `diff/se` on `df`, unadjusted.
    pub p: f64,
    /// Holm-adjusted p-value within the family's bootstrap comparisons.
    pub p_holm: f64,
    /// The number `m` of bootstrap comparisons in the family.
    pub family_size: usize,
    /// The verdict at family-wise level [`ALPHA`].
    pub verdict: Verdict,
    /// Minimum detectable difference over reviews and seeds at [`POWER`] and level `α/m`.
    pub mdd: f64,
    /// The replicates' 95% percentile interval (for reference).
    pub percentile_ci95: [f64; 2],
    /// The replicates' two-sided percentile p-value (for reference).
    pub percentile_p: f64,
}

/// A variant against a reference variant on one metric, within a family of comparisons.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The reference variant.
    pub reference: String,
    /// What is compared.
    pub metric: Metric,
    /// The family the p-values are adjusted in.
    pub family: String,
    /// Its number of seeds-only tests `m`.
    pub family_size: usize,
    /// The seeds-only test of `variant - reference`, raw; `None` if a side has fewer than two runs.
    pub test: Option<TTest>,
    /// `test`'s p-value, Holm-adjusted within the family.
    pub p_holm: Option<f64>,
    /// Welch's interval of the difference at the Bonferroni level `1 - α/m`.
    pub ci_adjusted: Option<[f64; 2]>,
    /// The seeds-only verdict at family-wise level [`ALPHA`].
    pub verdict: Verdict,
    /// The smallest true difference the seeds-only test detects with [`POWER`] at Holm's
    /// first-step level `α/m`, from the observed standard deviations (Welch's approximation).
    pub mdd: Option<f64>,
    /// The same difference judged over test reviews and seeds; `None` without per-review
    /// outcomes in the runs or for a metric other than test accuracy.
    pub bootstrap: Option<BootstrapComparison>,
}

impl Comparison {
    /// The verdict of both tests together, in words: the direction when both find it, which one
    /// found it when only one does.
    pub fn verdict_label(&self) -> String {
        let seeds = self.verdict;
        match self.bootstrap.as_ref().map(|b| b.verdict) {
            None if seeds == Verdict::NotTested => seeds.label().into(),
            None => format!("{} (seeds only)", seeds.label()),
            Some(both) if both == seeds => seeds.label().into(),
            Some(Verdict::NoDetectableDifference) => {
                format!("{} over seeds; not over reviews + seeds", seeds.label())
            }
            Some(both) => format!(
                "{} over reviews + seeds; {} over seeds",
                both.label(),
                seeds.label()
            ),
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
    /// Test accuracy (its interval: over seeds).
    pub test_accuracy: Estimate,
    /// 95% interval of the mean test accuracy over test reviews and seeds: the mean ±
    /// `t(0.975, n − 1)` times the bootstrap's standard error (as [`BootstrapComparison`]);
    /// `None` without per-review outcomes.
    pub test_accuracy_ci95_reviews: Option<[f64; 2]>,
    /// Test loss.
    pub test_loss: Estimate,
    /// Wall time of all its runs (both phases), seconds.
    pub wall_seconds: f64,
    /// Test accuracy against the baseline ([`VARIANTS_FAMILY`]); `None` for the baseline itself,
    /// without one, and in a factorial study.
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

/// A family of hypotheses whose p-values are adjusted together (Holm).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Family {
    /// Its name, as the comparisons cite it.
    pub name: String,
    /// What it holds, in words.
    pub description: String,
    /// The number of seeds-only tests (Welch; for the factorial, F tests) adjusted together.
    pub size: usize,
    /// The number of bootstrap tests adjusted together (only test-accuracy comparisons have one).
    pub bootstrap_size: usize,
}

/// How the bootstraps were drawn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BootstrapSettings {
    /// The scheme, in words.
    pub method: String,
    /// Replicates per bootstrap.
    pub replicates: usize,
    /// The seed of every bootstrap.
    pub seed: u64,
}

/// One main effect of the factorial model: a level against the factor's first, averaged over
/// the other factors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Effect {
    /// The factor.
    pub factor: String,
    /// The level compared.
    pub level: String,
    /// The factor's first level (the seed's choice).
    pub baseline: String,
    /// The difference in mean test accuracy.
    pub estimate: f64,
    /// 95% interval.
    pub ci95: [f64; 2],
    /// The contrast's own p-value (t test on the residual df), unadjusted.
    pub p: f64,
    /// The minimum detectable difference of this contrast at [`POWER`] and Holm's first-step
    /// level `α/m` over the family's terms.
    pub mdd: f64,
}

/// The factorial model's analysis: what each choice is worth and which choices interact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FactorialSummary {
    /// The response.
    pub metric: Metric,
    /// The fitted model (coefficients, contrasts, ANOVA with Holm-adjusted p over its terms,
    /// two-way marginal means); `None` if it cannot be fitted (see `error`).
    pub fit: Option<FactorialFit>,
    /// Why there is no fit.
    pub error: Option<String>,
    /// Every main effect as level-vs-first contrasts, with its minimum detectable difference.
    pub effects: Vec<Effect>,
}

impl FactorialSummary {
    /// Whether the ANOVA term (`"units"`, `"loss:activation"`) is significant after Holm.
    pub fn significant(&self, term: &str) -> bool {
        self.fit
            .as_ref()
            .and_then(|f| f.term(term))
            .is_some_and(|r| r.p_holm <= ALPHA)
    }
}

/// The whole study's numbers, as written to `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The design: variants against the baseline, or the factorial grid.
    pub design: Design,
    /// Family-wise significance level.
    pub alpha: f64,
    /// The power of the stated minimum detectable differences.
    pub power: f64,
    /// The seeds-only test used for every comparison.
    pub test: String,
    /// The bootstrap over test reviews and seeds.
    pub bootstrap: BootstrapSettings,
    /// The families of tests, each adjusted by Holm.
    pub families: Vec<Family>,
    /// The variant others are compared with.
    pub baseline: String,
    /// The backend of the runs (comma-separated if they differ).
    pub backend: String,
    /// Checksum of the data every run used (comma-separated per encoding).
    pub data_checksum: String,
    /// Training reviews (25,000 in the full data).
    pub train_reviews: usize,
    /// Test reviews.
    pub test_reviews: usize,
    /// Every variant (the baseline first), or every cell of the factorial grid.
    pub variants: Vec<VariantSummary>,
    /// The seed notebook's claims, checked (variants design).
    pub claims: Vec<ClaimOutcome>,
    /// The factorial analysis (factorial design).
    pub factorial: Option<FactorialSummary>,
}

impl Summary {
    /// The variant named `name`.
    pub fn variant(&self, name: &str) -> Option<&VariantSummary> {
        self.variants.iter().find(|v| v.name == name)
    }

    /// The family named `name`.
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.iter().find(|f| f.name == name)
    }

    /// Wall time of all runs, seconds.
    pub fn wall_seconds(&self) -> f64 {
        self.variants.iter().map(|v| v.wall_seconds).sum()
    }
}

/// Summarizes `variants` (name, one [`Results`] per seed) as a study of `design`: for variants,
/// each against the baseline and the [`seed_claims`]; for the factorial grid, the linear model.
///
/// # Panics
/// If a variant has no runs.
pub fn summarize(design: Design, variants: &[(String, Vec<Results>)]) -> Summary {
    summarize_with_claims(design, variants, &seed_claims())
}

/// [`summarize`] with other claims.
///
/// # Panics
/// If a variant has no runs.
pub fn summarize_with_claims(
    design: Design,
    variants: &[(String, Vec<Results>)],
    claims: &[Claim],
) -> Summary {
    let bootstrap = BootstrapConfig {
        replicates: BOOTSTRAP_REPLICATES,
        seed: BOOTSTRAP_SEED,
        level: 0.95,
    };
    let outcomes: Vec<(String, Option<Vec<Correctness>>)> = variants
        .iter()
        .map(|(name, results)| (name.clone(), correctness(results)))
        .collect();
    let mut summaries: Vec<VariantSummary> = variants
        .iter()
        .map(|(name, results)| variant_summary(name, results))
        .collect();
    // Every bootstrap the report needs, once each, on every core.
    let mut pairs: Vec<(String, Option<String>)> = Vec::new();
    if design == Design::Variants {
        let compared = claims
            .iter()
            .filter(|c| c.metric == Metric::TestAccuracy)
            .map(|c| (c.variant.clone(), Some(c.reference.clone())));
        let against_baseline = summaries
            .iter()
            .filter(|v| v.name != BASELINE)
            .map(|v| (v.name.clone(), Some(BASELINE.to_string())));
        let alone = summaries.iter().map(|v| (v.name.clone(), None));
        for pair in against_baseline.chain(compared).chain(alone) {
            if !pairs.contains(&pair) {
                pairs.push(pair);
            }
        }
    }
    let boots: Vec<Boot> = pairs
        .into_par_iter()
        .filter_map(|(variant, reference)| {
            let runs = outcomes_of(&outcomes, &variant)?;
            let result = match &reference {
                Some(r) => paired_bootstrap(runs, outcomes_of(&outcomes, r)?, &bootstrap),
                None => accuracy_bootstrap(runs, &bootstrap),
            };
            Some(((variant, reference), result.ok()?))
        })
        .collect();
    for v in &mut summaries {
        let Some(b) = boot_of(&boots, &v.name, None) else {
            continue;
        };
        let n = v.runs.len();
        if n >= 2 {
            let se = b.se * (n as f64 / (n - 1) as f64).sqrt();
            let half = t_quantile(0.975, (n - 1) as f64) * se;
            v.test_accuracy_ci95_reviews = Some([b.diff - half, b.diff + half]);
        }
    }
    // Baseline first, the rest in the given order.
    if let Some(i) = summaries.iter().position(|v| v.name == BASELINE) {
        let baseline = summaries.remove(i);
        summaries.insert(0, baseline);
    }
    let mut families = Vec::new();
    let mut claim_outcomes = Vec::new();
    let mut factorial = None;
    match design {
        Design::Variants => {
            let pairs: Vec<(String, String, Metric)> = match summaries.first() {
                Some(b) if b.name == BASELINE => summaries[1..]
                    .iter()
                    .map(|v| (v.name.clone(), BASELINE.to_string(), Metric::TestAccuracy))
                    .collect(),
                _ => Vec::new(),
            };
            let (family, comparisons) = compare_family(
                VARIANTS_FAMILY,
                "each variant's test accuracy against the baseline's",
                &pairs,
                &summaries,
                &boots,
            );
            for (comparison, (name, _, _)) in comparisons.into_iter().zip(&pairs) {
                let v = summaries.iter_mut().find(|v| v.name == *name);
                v.expect("compared variants exist").vs_baseline = comparison;
            }
            if !pairs.is_empty() {
                families.push(family);
            }
            let pairs: Vec<(String, String, Metric)> = claims
                .iter()
                .map(|c| (c.variant.clone(), c.reference.clone(), c.metric))
                .collect();
            let (family, comparisons) = compare_family(
                CLAIMS_FAMILY,
                "the seed notebook's one-run conclusions, each as a two-sided test",
                &pairs,
                &summaries,
                &boots,
            );
            if family.size > 0 {
                families.push(family);
            }
            claim_outcomes = claims
                .iter()
                .zip(comparisons)
                .map(|(c, comparison)| c.judge(comparison))
                .collect();
        }
        Design::Factorial => {
            let summary = factorial_summary(&summaries);
            let size = summary.fit.as_ref().map_or(0, |f| f.anova.terms.len());
            families.push(Family {
                name: FACTORIAL_FAMILY.into(),
                description: "the F tests of the linear model's main effects and two-way \
                              interactions on test accuracy"
                    .into(),
                size,
                bootstrap_size: 0,
            });
            factorial = Some(summary);
        }
    }
    let all: Vec<&Results> = variants.iter().flat_map(|(_, r)| r).collect();
    let distinct = |f: fn(&Results) -> String| {
        let mut v: Vec<String> = all.iter().map(|r| f(r)).collect();
        v.sort();
        v.dedup();
        v.join(", ")
    };
    Summary {
        design,
        alpha: ALPHA,
        power: POWER,
        test: TEST_NAME.into(),
        bootstrap: BootstrapSettings {
            method: "paired bootstrap over test reviews and seeds: each replicate draws the \
                     seeds of each side with replacement and one sample of the test reviews \
                     with replacement, shared by both sides; percentile intervals"
                .into(),
            replicates: bootstrap.replicates,
            seed: bootstrap.seed,
        },
        families,
        baseline: BASELINE.into(),
        backend: distinct(|r| r.backend.clone()),
        data_checksum: distinct(|r| r.data_checksum.clone()),
        train_reviews: all.first().map_or(0, |r| r.train_reviews),
        test_reviews: all.first().map_or(0, |r| r.test_reviews),
        variants: summaries,
        claims: claim_outcomes,
        factorial,
    }
}

/// The per-review outcomes of the runs of `name`, if every run has them.
fn outcomes_of<'a>(
    outcomes: &'a [(String, Option<Vec<Correctness>>)],
    name: &str,
) -> Option<&'a [Correctness]> {
    outcomes
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, o)| o.as_deref())
}

/// Every run's per-review outcomes as bitsets; `None` if a run has none or their lengths differ.
fn correctness(results: &[Results]) -> Option<Vec<Correctness>> {
    let mut sorted: Vec<&Results> = results.iter().collect();
    sorted.sort_by_key(|r| r.seed);
    let runs: Vec<Correctness> = sorted
        .iter()
        .map(|r| {
            let o = r.test_outcomes.as_ref()?;
            let flags: Vec<bool> = o.iter().collect();
            Some(Correctness::from_bools(&flags))
        })
        .collect::<Option<_>>()?;
    let len = runs.first()?.len();
    runs.iter()
        .all(|r| r.len() == len && len > 0)
        .then_some(runs)
}

/// The comparisons `(variant, reference, metric)` as one Holm family: Welch over seeds, and the
/// paired bootstrap where both sides have per-review outcomes and the metric is test accuracy.
/// A comparison whose variant or reference was not run is `None` and not in the family.
fn compare_family(
    name: &str,
    description: &str,
    pairs: &[(String, String, Metric)],
    summaries: &[VariantSummary],
    boots: &[Boot],
) -> (Family, Vec<Option<Comparison>>) {
    let find = |n: &str| summaries.iter().find(|v| v.name == n);
    // Over seeds: Welch, where each side has two runs.
    let tests: Vec<Option<SeedsTest>> = pairs
        .iter()
        .map(|(a, b, metric)| {
            let (va, vb) = (find(a)?, find(b)?);
            let values =
                |v: &VariantSummary| v.runs.iter().map(|r| metric.of(r)).collect::<Vec<_>>();
            Some(SeedsTest {
                test: welch(&values(va), &values(vb))?,
                sds: [va.estimate(*metric).std?, vb.estimate(*metric).std?],
                seeds: [va.runs.len(), vb.runs.len()],
            })
        })
        .collect();
    let m = tests.iter().flatten().count();
    let raw: Vec<f64> = tests.iter().flatten().map(|t| t.test.p).collect();
    let mut adjusted = holm_adjust(&raw).into_iter();
    // Over reviews and seeds: test accuracy with per-review outcomes on both sides and a
    // seeds-only test for the degrees of freedom.
    let boot: Vec<Option<(&PairedBootstrap, f64)>> = pairs
        .iter()
        .zip(&tests)
        .map(|((a, b, metric), test)| {
            if *metric != Metric::TestAccuracy {
                return None;
            }
            let r = boot_of(boots, a, Some(b))?;
            let test = test.as_ref()?;
            // The seeds' variance shrinks by (n − 1)/n when n seeds are resampled.
            let n = test.seeds[0].min(test.seeds[1]) as f64;
            let se = r.se * (n / (n - 1.0)).sqrt();
            (se > 0.0).then_some((r, se))
        })
        .collect();
    let m_boot = boot.iter().flatten().count();
    let raw_boot: Vec<f64> = boot
        .iter()
        .zip(&tests)
        .filter_map(|(b, t)| {
            let ((r, se), t) = (b.as_ref()?, t.as_ref()?);
            Some(t_two_sided_p(r.diff / se, t.test.df))
        })
        .collect();
    let mut adjusted_boot = holm_adjust(&raw_boot).into_iter();
    let comparisons = pairs
        .iter()
        .zip(tests)
        .zip(boot)
        .map(|(((a, b, metric), test), boot)| {
            find(a)?;
            find(b)?;
            let p_holm = test
                .as_ref()
                .map(|_| adjusted.next().expect("one adjusted p per test"));
            let bootstrap = boot.zip(test.as_ref()).map(|((r, se), t)| {
                let df = t.test.df;
                let p_holm = adjusted_boot.next().expect("one adjusted p per bootstrap");
                let at = |level: f64| {
                    let half = t_quantile(1.0 - (1.0 - level) / 2.0, df) * se;
                    [r.diff - half, r.diff + half]
                };
                BootstrapComparison {
                    diff: r.diff,
                    se,
                    df,
                    ci95: at(0.95),
                    ci_adjusted: at(1.0 - ALPHA / m_boot as f64),
                    p: t_two_sided_p(r.diff / se, df),
                    p_holm,
                    family_size: m_boot,
                    verdict: Verdict::of(r.diff, p_holm, *metric, ALPHA),
                    mdd: min_detectable_effect(se, df, ALPHA / m_boot as f64, POWER)
                        .unwrap_or(f64::NAN),
                    percentile_ci95: r.ci,
                    percentile_p: r.p,
                }
            });
            let ci_adjusted = test.as_ref().map(|s| {
                // Two-sided at level 1 − α/m: the 1 − α/(2m) quantile.
                let half = t_quantile(1.0 - ALPHA / (2.0 * m as f64), s.test.df) * s.test.se;
                [s.test.diff - half, s.test.diff + half]
            });
            let mdd = test.as_ref().and_then(|s| {
                let spread = Spread::Welch {
                    sd_a: s.sds[0],
                    sd_b: s.sds[1],
                };
                min_detectable_difference(s.seeds[0], s.seeds[1], spread, ALPHA / m as f64, POWER)
                    .ok()
                    .map(|mdd| mdd.diff)
            });
            Some(Comparison {
                reference: b.clone(),
                metric: *metric,
                family: name.into(),
                family_size: m,
                verdict: match (&test, p_holm) {
                    (Some(s), Some(p)) => Verdict::of(s.test.diff, p, *metric, ALPHA),
                    _ => Verdict::NotTested,
                },
                test: test.map(|s| s.test),
                p_holm,
                ci_adjusted,
                mdd,
                bootstrap,
            })
        })
        .collect();
    let family = Family {
        name: name.into(),
        description: description.into(),
        size: m,
        bootstrap_size: m_boot,
    };
    (family, comparisons)
}

/// A bootstrap of the study: `(variant, reference)` (`None`: the variant's own accuracy) and its
/// result.
type Boot = ((String, Option<String>), PairedBootstrap);

/// The bootstrap of `variant` against `reference` (`None`: alone) among `boots`.
fn boot_of<'a>(
    boots: &'a [Boot],
    variant: &str,
    reference: Option<&str>,
) -> Option<&'a PairedBootstrap> {
    boots
        .iter()
        .find(|((v, r), _)| v == variant && r.as_deref() == reference)
        .map(|(_, b)| b)
}

/// Welch's test of a comparison with what its power needs.
struct SeedsTest {
    test: TTest,
    /// Sample standard deviations of the two sides.
    sds: [f64; 2],
    /// Runs on each side.
    seeds: [usize; 2],
}

/// The linear model of test accuracy over the factorial grid's cells.
fn factorial_summary(cells: &[VariantSummary]) -> FactorialSummary {
    let factors = factorial_factors();
    let mut observations = Vec::new();
    for cell in cells {
        let Some(levels) = cell_levels(&cell.name) else {
            return FactorialSummary {
                metric: Metric::TestAccuracy,
                fit: None,
                error: Some(format!("{} is not a cell of the factorial grid", cell.name)),
                effects: Vec::new(),
            };
        };
        observations.extend(cell.runs.iter().map(|r| Observation {
            levels: levels.clone(),
            response: r.test_accuracy,
        }));
    }
    match fit_factorial(&factors, &observations) {
        Ok(fit) => {
            let m = fit.anova.terms.len();
            let df = fit.anova.residual.df as f64;
            let effects = fit
                .contrasts
                .iter()
                .map(|c| Effect {
                    factor: c.factor.clone(),
                    level: c.level.clone(),
                    baseline: c.baseline.clone(),
                    estimate: c.estimate,
                    ci95: c.ci95,
                    p: c.p,
                    mdd: min_detectable_effect(c.se, df, ALPHA / m as f64, POWER)
                        .unwrap_or(f64::NAN),
                })
                .collect();
            FactorialSummary {
                metric: Metric::TestAccuracy,
                fit: Some(fit),
                error: None,
                effects,
            }
        }
        Err(e) => FactorialSummary {
            metric: Metric::TestAccuracy,
            fit: None,
            error: Some(e.to_string()),
            effects: Vec::new(),
        },
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
        test_accuracy_ci95_reviews: None,
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

    #[test]
    fn verdicts_follow_sign_significance_and_metric_direction() {
        let acc = Metric::TestAccuracy;
        let loss = Metric::FinalValLoss;
        assert_eq!(Verdict::of(0.01, 0.01, acc, 0.05), Verdict::Better);
        assert_eq!(Verdict::of(-0.01, 0.01, acc, 0.05), Verdict::Worse);
        assert_eq!(
            Verdict::of(0.01, 0.05, acc, 0.05),
            Verdict::Better,
            "an adjusted p of exactly α rejects, as Holm's rule p ≤ α/(m − i + 1)"
        );
        assert_eq!(
            Verdict::of(0.01, 0.0501, acc, 0.05),
            Verdict::NoDetectableDifference
        );
        assert_eq!(
            Verdict::of(-0.01, 0.001, loss, 0.05),
            Verdict::Better,
            "a lower loss is better"
        );
        assert_eq!(Verdict::of(0.01, 0.001, loss, 0.05), Verdict::Worse);
        assert_eq!(
            Verdict::of(0.0, 0.0, acc, 0.05),
            Verdict::NoDetectableDifference
        );
    }
}
