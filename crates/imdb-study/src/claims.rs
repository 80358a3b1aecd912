//! The seed notebook's conclusions, each drawn from a single run, as testable hypotheses.
//!
//! A claim names two variants, a metric and (where the seed stated one) the direction it saw. The
//! study tests it over seeds, and over test reviews and seeds where the metric is test accuracy,
//! with the eight claims as one family of tests (Holm); whether a claim holds is computed, never
//! written in advance.

use super::summary::{Comparison, Metric, Verdict};
use serde::{Deserialize, Serialize};

/// Which way the seed saw a variant move a metric, relative to the reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The variant's value is higher.
    Higher,
    /// The variant's value is lower.
    Lower,
}

/// A conclusion of the seed notebook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// The variant the claim is about.
    pub variant: String,
    /// What it is compared with.
    pub reference: String,
    /// The metric.
    pub metric: Metric,
    /// The direction the seed saw; `None` where the seed only made the comparison.
    pub expected: Option<Direction>,
    /// The seed's claim in words (a paraphrase, attributed to the seed in the report).
    pub seed_says: String,
}

/// Whether the repeated runs support a directional claim, after the family's correction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Support {
    /// A significant difference in the claimed direction.
    Supported,
    /// No significant difference: the single run's difference is within the noise.
    NotSupported,
    /// A significant difference in the opposite direction.
    Contradicted,
}

/// A claim and what the study found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimOutcome {
    /// The claim.
    pub claim: Claim,
    /// The tests of variant against reference; `None` if either was not run.
    pub comparison: Option<Comparison>,
    /// For a directional claim that could be tested: whether the runs support it over seeds
    /// (Welch, Holm-adjusted in the claims' family).
    pub support: Option<Support>,
    /// The same over test reviews and seeds (the paired bootstrap, Holm-adjusted); `None` where
    /// there is no bootstrap (a validation-loss claim, or runs without per-review outcomes).
    pub support_with_reviews: Option<Support>,
}

fn claim(
    variant: &str,
    reference: &str,
    metric: Metric,
    expected: Option<Direction>,
    seed_says: &str,
) -> Claim {
    Claim {
        variant: variant.into(),
        reference: reference.into(),
        metric,
        expected,
        seed_says: seed_says.into(),
    }
}

/// The seed notebook's conclusions, as the project's issue 5 records them. The seed made the MSE,
/// tanh and L2-accuracy comparisons without a direction we can hold it to, so those are
/// undirected: the report says what the repeated runs show.
pub fn seed_claims() -> Vec<Claim> {
    use Direction::{Higher, Lower};
    use Metric::{FinalValLoss, TestAccuracy};
    vec![
        claim(
            "three_layers",
            "baseline",
            TestAccuracy,
            Some(Lower),
            "three hidden layers lower test accuracy",
        ),
        claim(
            "units_32",
            "baseline",
            TestAccuracy,
            Some(Higher),
            "32 units per layer raise test accuracy",
        ),
        claim(
            "mse",
            "baseline",
            TestAccuracy,
            None,
            "MSE instead of binary cross-entropy changes test accuracy",
        ),
        claim(
            "tanh",
            "baseline",
            TestAccuracy,
            None,
            "tanh instead of relu changes test accuracy",
        ),
        claim(
            "l2",
            "baseline",
            FinalValLoss,
            Some(Lower),
            "L2 regularization makes the model resist over-fitting (lower validation loss late in training)",
        ),
        claim(
            "l2",
            "baseline",
            TestAccuracy,
            None,
            "L2 regularization changes test accuracy",
        ),
        claim(
            "dropout",
            "baseline",
            FinalValLoss,
            Some(Lower),
            "dropout makes the model resist over-fitting (lower validation loss late in training)",
        ),
        claim(
            "dropout",
            "l2",
            TestAccuracy,
            Some(Higher),
            "dropout beats L2 (higher test accuracy)",
        ),
    ]
}

impl Claim {
    /// The outcome of the claim given its `comparison` (from its family's tests).
    pub fn judge(&self, comparison: Option<Comparison>) -> ClaimOutcome {
        let judged = |diff: f64, verdict: Verdict| -> Option<Support> {
            let expected = self.expected?;
            let moved = if diff > 0.0 {
                Direction::Higher
            } else {
                Direction::Lower
            };
            Some(match verdict {
                Verdict::NotTested => return None,
                Verdict::NoDetectableDifference => Support::NotSupported,
                _ if moved == expected => Support::Supported,
                _ => Support::Contradicted,
            })
        };
        let support = comparison
            .as_ref()
            .and_then(|c| judged(c.test.as_ref()?.diff, c.verdict));
        let support_with_reviews = comparison
            .as_ref()
            .and_then(|c| c.bootstrap.as_ref())
            .and_then(|b| judged(b.diff, b.verdict));
        ClaimOutcome {
            claim: self.clone(),
            comparison,
            support,
            support_with_reviews,
        }
    }
}

impl Support {
    /// The finding in words.
    pub fn label(self) -> &'static str {
        match self {
            Support::Supported => "supported",
            Support::NotSupported => "not supported",
            Support::Contradicted => "contradicted",
        }
    }
}
