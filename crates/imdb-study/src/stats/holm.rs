//! Holm–Bonferroni step-down adjustment for a family of hypotheses.
//!
//! The study tests many things at once (every variant against the reference, every factorial
//! effect); reporting each at 5% would find "significant" noise. Holm (1979, Scand. J. Statist.
//! 6:65–70) controls the family-wise error rate at `alpha` under any dependence between the tests
//! and is uniformly more powerful than plain Bonferroni, so it is the default here.
//!
//! With the p-values sorted, `p_(1) ≤ … ≤ p_(m)`, the adjusted p-value of the `i`-th is
//! `min(1, max_{j ≤ i} (m - j + 1)·p_(j))`; a hypothesis is rejected at level `alpha` exactly when
//! its adjusted p-value is at most `alpha`, which is the step-down rule "reject while
//! `p_(i) ≤ alpha/(m - i + 1)`, stop at the first that is not". This matches R's
//! `p.adjust(p, "holm")` and statsmodels' `multipletests(p, method="holm")`.

use serde::{Deserialize, Serialize};

/// Holm-adjusted p-values, in the input order: `min(1, max_{j ≤ i} (m - j + 1)·p_(j))` for the
/// `i`-th smallest. The output is monotone in the input (a smaller raw p never gets a larger
/// adjusted p) and capped at 1. Ties keep their input order, which cannot change the values.
///
/// # Panics
/// If a p-value is NaN or outside `[0, 1]`: a family with a broken member has no meaningful
/// adjustment, and silently dropping it would change `m` for the others.
pub fn holm_adjust(p: &[f64]) -> Vec<f64> {
    for (i, &pi) in p.iter().enumerate() {
        assert!(
            (0.0..=1.0).contains(&pi),
            "p-value {i} is {pi}, not in [0, 1]"
        );
    }
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    // A stable sort keeps tied p-values in input order; total_cmp is safe after the check above.
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![0.0; m];
    let mut running_max: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running_max = running_max.max((m - rank) as f64 * p[i]);
        adjusted[i] = running_max.min(1.0);
    }
    adjusted
}

/// One hypothesis of a [`Family`] and what Holm's procedure decided about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// What is tested, e.g. `"dropout vs none"` or `"loss:activation"`.
    pub hypothesis: String,
    /// The unadjusted p-value.
    pub p: f64,
    /// The Holm-adjusted p-value.
    pub p_adjusted: f64,
    /// Whether the null hypothesis is rejected: `p_adjusted ≤ alpha`.
    pub rejected: bool,
}

/// A family of hypotheses tested together at family-wise level `alpha`, with Holm's decisions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Family {
    /// Name of the family, e.g. `"variants vs baseline"`; reports print it beside the decisions
    /// so a reader knows what the correction was over.
    pub name: String,
    /// The family-wise error rate controlled.
    pub alpha: f64,
    /// One decision per hypothesis, in the order given.
    pub decisions: Vec<Decision>,
}

impl Family {
    /// Adjusts the `(hypothesis, raw p)` pairs together and decides each at family-wise level
    /// `alpha`.
    ///
    /// # Panics
    /// If `alpha` is not in `(0, 1)` or a p-value is NaN or outside `[0, 1]`.
    pub fn new<S: Into<String>>(
        name: impl Into<String>,
        alpha: f64,
        hypotheses: impl IntoIterator<Item = (S, f64)>,
    ) -> Family {
        assert!(
            alpha > 0.0 && alpha < 1.0,
            "alpha must be in (0, 1), got {alpha}"
        );
        let (names, p): (Vec<String>, Vec<f64>) =
            hypotheses.into_iter().map(|(h, p)| (h.into(), p)).unzip();
        let adjusted = holm_adjust(&p);
        let decisions = names
            .into_iter()
            .zip(p)
            .zip(adjusted)
            .map(|((hypothesis, p), p_adjusted)| Decision {
                hypothesis,
                p,
                p_adjusted,
                rejected: p_adjusted <= alpha,
            })
            .collect();
        Family {
            name: name.into(),
            alpha,
            decisions,
        }
    }

    /// The number of hypotheses `m` the family was corrected over.
    pub fn len(&self) -> usize {
        self.decisions.len()
    }

    /// Whether the family has no hypotheses.
    pub fn is_empty(&self) -> bool {
        self.decisions.is_empty()
    }

    /// The decisions whose null hypothesis was rejected, in the order given.
    pub fn rejected(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter().filter(|d| d.rejected)
    }

    /// The decision about `hypothesis`, if the family has it.
    pub fn get(&self, hypothesis: &str) -> Option<&Decision> {
        self.decisions.iter().find(|d| d.hypothesis == hypothesis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Holm's step-down rule as usually stated, written independently of `holm_adjust`: walk the
    /// sorted p-values, reject while `p_(i) ≤ alpha/(m - i + 1)`, stop at the first failure.
    fn step_down(p: &[f64], alpha: f64) -> Vec<bool> {
        let mut order: Vec<usize> = (0..p.len()).collect();
        order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
        let mut rejected = vec![false; p.len()];
        for (rank, &i) in order.iter().enumerate() {
            if p[i] <= alpha / (p.len() - rank) as f64 {
                rejected[i] = true;
            } else {
                break;
            }
        }
        rejected
    }

    #[test]
    fn wikipedia_example() {
        // Wikipedia, "Holm–Bonferroni method", section "Example": four hypotheses with
        // unadjusted p-values 0.01, 0.03, 0.04, 0.005 at α = 0.05; "hypotheses one and four are
        // rejected while hypotheses two and three are not". Adjusted p-values by hand:
        // H4: 4·0.005 = 0.02; H1: max(0.02, 3·0.01) = 0.03; H2: max(0.03, 2·0.03) = 0.06;
        // H3: max(0.06, 1·0.04) = 0.06 — and statsmodels 0.15.0's
        // multipletests([0.01, 0.03, 0.04, 0.005], alpha=0.05, method='holm') returns
        // reject [True, False, False, True], pvals_corrected [0.03, 0.06, 0.06, 0.02]
        // (tools/study-stats/expected_values.py, section "holm"). Tolerance 1e-15 (a few multiplications).
        let p = [0.01, 0.03, 0.04, 0.005];
        let adj = holm_adjust(&p);
        for (got, want) in adj.iter().zip([0.03, 0.06, 0.06, 0.02]) {
            assert!((got - want).abs() < 1e-15, "{adj:?}");
        }
        let family = Family::new(
            "wikipedia",
            0.05,
            ["H1", "H2", "H3", "H4"].into_iter().zip(p),
        );
        let rejected: Vec<&str> = family.rejected().map(|d| d.hypothesis.as_str()).collect();
        assert_eq!(rejected, ["H1", "H4"]);
        assert_eq!(family.len(), 4);
        assert_eq!(family.get("H3").unwrap().p, 0.04);
        assert_eq!(step_down(&p, 0.05), [true, false, false, true]);
    }

    #[test]
    fn matches_statsmodels() {
        // statsmodels 0.15.0: multipletests(p, alpha=0.05, method='holm')[1] (pvals_corrected)
        // and [0] (reject), tools/study-stats/expected_values.py section "holm"; 1e-15 absolute. The family
        // has ties (0.02 twice), a p-value that caps at 1, and an input order that is not sorted.
        let p = [0.2, 0.001, 0.02, 0.0004, 0.02, 0.75, 0.049, 0.013];
        let want = [0.4, 0.007, 0.1, 0.0032, 0.1, 0.75, 0.147, 0.078];
        let want_rejected = [false, true, false, true, false, false, false, false];
        let adj = holm_adjust(&p);
        for (got, want) in adj.iter().zip(want) {
            assert!((got - want).abs() < 1e-15, "{adj:?}");
        }
        let family = Family::new("mixed", 0.05, (0..p.len()).map(|i| (format!("H{i}"), p[i])));
        let rejected: Vec<bool> = family.decisions.iter().map(|d| d.rejected).collect();
        assert_eq!(rejected, want_rejected);
        assert_eq!(step_down(&p, 0.05), want_rejected);

        // A second family where the cap at 1 matters for several members.
        // multipletests([0.3, 0.6, 0.9, 0.04], method='holm')[1] = [0.9, 1.0, 1.0, 0.16].
        let adj = holm_adjust(&[0.3, 0.6, 0.9, 0.04]);
        for (got, want) in adj.iter().zip([0.9, 1.0, 1.0, 0.16]) {
            assert!((got - want).abs() < 1e-15, "{adj:?}");
        }
    }

    #[test]
    fn adjusted_values_are_monotone_and_agree_with_the_step_down_rule() {
        // A property check over pseudo-random families: the adjusted p is never below the raw p,
        // never above 1, ordered like the raw p, and "adjusted ≤ α" is exactly the step-down rule.
        let mut rng = crate::stats::rng::Xoshiro256::seed_from_u64(3);
        for m in 1..=12 {
            for _ in 0..50 {
                // Cubing skews towards small p-values so that rejections happen.
                let p: Vec<f64> = (0..m).map(|_| rng.next_f64().powi(3)).collect();
                let adj = holm_adjust(&p);
                for i in 0..m {
                    assert!(adj[i] >= p[i] && adj[i] <= 1.0);
                    for j in 0..m {
                        if p[i] <= p[j] {
                            assert!(adj[i] <= adj[j], "{p:?} → {adj:?}");
                        }
                    }
                }
                for alpha in [0.01, 0.05, 0.1] {
                    let by_adjusted: Vec<bool> = adj.iter().map(|&a| a <= alpha).collect();
                    assert_eq!(by_adjusted, step_down(&p, alpha), "{p:?} at {alpha}");
                }
            }
        }
        assert!(holm_adjust(&[]).is_empty());
        assert_eq!(holm_adjust(&[0.03]), [0.03]);
    }

    #[test]
    #[should_panic(expected = "not in [0, 1]")]
    fn rejects_nan() {
        holm_adjust(&[0.1, f64::NAN]);
    }
}
