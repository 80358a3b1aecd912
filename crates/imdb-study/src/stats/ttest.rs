//! Per-seed summaries: mean, sample standard deviation, the Student-t interval of a mean and
//! Welch's two-sample t-test: the study's former `stats.rs` (same formulas, same SciPy values in
//! the tests) on [`crate::stats::dist`], so that the study has one source for all of them.

use serde::{Deserialize, Serialize};

use crate::stats::dist::{t_quantile, t_two_sided_p};

/// Arithmetic mean; `None` for no values.
pub fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// Sample standard deviation (divisor `n - 1`); `None` for fewer than two values.
pub fn sample_std(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs)?;
    let ss: f64 = xs.iter().map(|x| (x - m).powi(2)).sum();
    Some((ss / (xs.len() - 1) as f64).sqrt())
}

/// A mean with its spread over `n` values.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Number of values.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// Sample standard deviation; `None` below two values.
    pub std: Option<f64>,
    /// 95% confidence interval of the mean, `mean ± t(0.975, n-1)·std/√n`; `None` below two values.
    pub ci95: Option<[f64; 2]>,
}

impl Estimate {
    /// The estimate of `xs`; `None` for no values.
    pub fn of(xs: &[f64]) -> Option<Estimate> {
        let m = mean(xs)?;
        let std = sample_std(xs);
        let ci95 = std.map(|s| {
            let half = t_quantile(0.975, (xs.len() - 1) as f64) * s / (xs.len() as f64).sqrt();
            [m - half, m + half]
        });
        Some(Estimate {
            n: xs.len(),
            mean: m,
            std,
            ci95,
        })
    }
}

/// Welch's two-sample t-test of `mean(a) - mean(b)` (unequal variances, two-sided).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TTest {
    /// `mean(a) - mean(b)`.
    pub diff: f64,
    /// 95% confidence interval of the difference, `diff ± t(0.975, df)·se`.
    pub ci95: [f64; 2],
    /// Standard error of the difference, `√(s_a²/n_a + s_b²/n_b)`.
    pub se: f64,
    /// The t statistic (±infinity when both samples have zero spread but different means).
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
}

/// Welch's t-test of `a` against `b`; `None` unless each has at least two values.
///
/// When both samples have no spread at all (identical runs), the difference is either exactly
/// zero (p = 1) or certain (p = 0), and `df` is taken as `na + nb - 2`.
pub fn welch(a: &[f64], b: &[f64]) -> Option<TTest> {
    let (ma, mb) = (mean(a)?, mean(b)?);
    let (sa, sb) = (sample_std(a)?, sample_std(b)?);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (va, vb) = (sa * sa / na, sb * sb / nb);
    let se = (va + vb).sqrt();
    let diff = ma - mb;
    if se == 0.0 {
        let (t, p) = if diff == 0.0 {
            (0.0, 1.0)
        } else {
            (diff.signum() * f64::INFINITY, 0.0)
        };
        return Some(TTest {
            diff,
            ci95: [diff, diff],
            se,
            t,
            df: na + nb - 2.0,
            p,
        });
    }
    let df = (va + vb).powi(2) / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    let t = diff / se;
    let half = t_quantile(0.975, df) * se;
    Some(TTest {
        diff,
        ci95: [diff - half, diff + half],
        se,
        t,
        df,
        p: t_two_sided_p(t, df),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1.0)
    }

    #[test]
    fn mean_std_and_interval_by_hand() {
        // mean = 2.64/3 = 0.88; deviations ±0.01 and 0 → std = sqrt(0.0002/2) = 0.01;
        // half-width = t(0.975, 2)·0.01/√3 = 4.302652729749462·0.01/1.7320508075688772
        //            = 0.024841377118... (t from scipy.stats.t.ppf(0.975, 2), SciPy 1.17.1).
        let e = Estimate::of(&[0.87, 0.88, 0.89]).unwrap();
        assert_eq!(e.n, 3);
        assert!(close(e.mean, 0.88, 1e-12));
        assert!(close(e.std.unwrap(), 0.01, 1e-12));
        let [lo, hi] = e.ci95.unwrap();
        assert!(close(lo, 0.88 - 0.024_841_377_118, 1e-11), "{lo}");
        assert!(close(hi, 0.88 + 0.024_841_377_118, 1e-11), "{hi}");

        let one = Estimate::of(&[0.5]).unwrap();
        assert_eq!((one.mean, one.std, one.ci95), (0.5, None, None));
        assert_eq!(Estimate::of(&[]), None);
    }

    #[test]
    fn welch_matches_scipy() {
        // scipy.stats.ttest_ind(a, b, equal_var=False) → statistic, pvalue, df and
        // .confidence_interval(0.95), SciPy 1.17.1 (tools/study-stats/expected_values.py, section "welch";
        // the first three are the values the former stats.rs tests used);
        // 1e-10 relative (p: 1e-9).
        let a = [0.8812, 0.8790, 0.8835, 0.8801, 0.8824];
        let b = [0.8750, 0.8771, 0.8702, 0.8769, 0.8740];
        let w = welch(&a, &b).unwrap();
        assert!(close(w.t, 4.440444213432049, 1e-10), "{w:?}");
        assert!(close(w.p, 0.003236855450867352, 1e-9), "{w:?}");
        assert!(close(w.df, 6.791309098530403, 1e-10), "{w:?}");
        assert!(close(w.ci95[0], 0.003063356818710802, 1e-10), "{w:?}");
        assert!(close(w.ci95[1], 0.010136643181289299, 1e-10), "{w:?}");

        let w = welch(&[0.87, 0.88, 0.89], &[0.875, 0.879, 0.883, 0.90]).unwrap();
        assert!(close(w.t, -0.5330751587507017, 1e-10), "{w:?}");
        assert!(close(w.p, 0.6182221136624769, 1e-9), "{w:?}");
        assert!(close(w.df, 4.697042806700506, 1e-10), "{w:?}");
        assert!(close(w.ci95[0], -0.025148287955459, 1e-10), "{w:?}");
        assert!(close(w.ci95[1], 0.016648287955459046, 1e-10), "{w:?}");
    }

    #[test]
    fn welch_edge_cases() {
        assert_eq!(welch(&[0.9], &[0.8, 0.85]), None);
        let same = welch(&[0.9, 0.9], &[0.9, 0.9]).unwrap();
        assert_eq!((same.p, same.t), (1.0, 0.0));
        let certain = welch(&[0.9, 0.9], &[0.8, 0.8]).unwrap();
        assert_eq!((certain.p, certain.t), (0.0, f64::INFINITY));
    }
}
