//! The statistics of the study: mean, sample standard deviation, Student-t confidence intervals and
//! Welch's two-sample t-test, as pure functions (no statistics crate: the math is small and tested
//! against SciPy here).

use serde::{Deserialize, Serialize};

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

/// The 0.975 quantile of Student's t for 1 to 30 degrees of freedom (two-sided 95%), from SciPy 1.17.1:
///
/// ```python
/// from scipy import stats
/// [float(stats.t.ppf(0.975, df)) for df in range(1, 31)]
/// ```
const T975: [f64; 30] = [
    12.706204736174694,
    4.302652729749462,
    3.1824463052837078,
    2.7764451051977934,
    2.5705818356363146,
    2.4469118511449786,
    2.364624251592784,
    2.306004135204166,
    2.262157162798205,
    2.228138851986274,
    2.200985160091639,
    2.1788128296672284,
    2.1603686564627913,
    2.144786687917804,
    2.131449545559776,
    2.1199052992212546,
    2.1098155778333156,
    2.1009220402410382,
    2.0930240544083087,
    2.085963447265864,
    2.0796138447276795,
    2.0738730679040254,
    2.0686576104190486,
    2.0638985616280245,
    2.0595385527532972,
    2.0555294386428735,
    2.0518305164802846,
    2.0484071417952454,
    2.045229642132703,
    2.0422724563012378,
];

/// The 0.975 quantile of Student's t with `df` degrees of freedom: the table for whole `df` up to
/// 30, else the inverse of [`student_t_cdf`] (Welch's `df` is fractional).
///
/// # Panics
/// If `df` is not finite and positive.
pub fn t_975(df: f64) -> f64 {
    assert!(
        df.is_finite() && df > 0.0,
        "degrees of freedom must be > 0, got {df}"
    );
    if df.fract() == 0.0 && df <= 30.0 {
        T975[df as usize - 1]
    } else {
        t_quantile(0.975, df)
    }
}

/// The `p` quantile (`0.5 < p < 1`) of Student's t by bisection on [`student_t_cdf`].
fn t_quantile(p: f64, df: f64) -> f64 {
    let mut hi = 1.0;
    while student_t_cdf(hi, df) < p {
        hi *= 2.0;
    }
    let mut lo = 0.0;
    // 200 halvings reach the resolution of f64 long before the loop ends.
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if student_t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
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
            let half = t_975((xs.len() - 1) as f64) * s / (xs.len() as f64).sqrt();
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
            t,
            df: na + nb - 2.0,
            p,
        });
    }
    let df = (va + vb).powi(2) / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    let t = diff / se;
    let half = t_975(df) * se;
    Some(TTest {
        diff,
        ci95: [diff - half, diff + half],
        t,
        df,
        p: t_two_sided_p(t, df),
    })
}

/// `P(|T| ≥ |t|)` for Student's t with `df` degrees of freedom: `I_{df/(df+t²)}(df/2, 1/2)`.
pub fn t_two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_infinite() {
        return 0.0;
    }
    regularized_incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
}

/// The cumulative distribution function of Student's t with `df` degrees of freedom.
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * t_two_sided_p(t, df);
    if t > 0.0 { 1.0 - tail } else { tail }
}

/// The regularized incomplete beta function `I_x(a, b)` for `a, b > 0` and `x` in `[0, 1]`
/// (Numerical Recipes §6.4: the continued fraction converges fast on one side of
/// `(a+1)/(a+b+2)`, the symmetry `I_x(a,b) = 1 - I_{1-x}(b,a)` covers the other).
pub fn regularized_incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_continued_fraction(b, a, 1.0 - x) / b
    }
}

/// Lentz's evaluation of the continued fraction of `I_x(a, b)` (Numerical Recipes' `betacf`).
fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let nonzero = |v: f64| if v.abs() < TINY { TINY } else { v };
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / nonzero(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=1000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        // The even step of the recurrence.
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / nonzero(1.0 + aa * d);
        c = nonzero(1.0 + aa / c);
        h *= d * c;
        // The odd step.
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / nonzero(1.0 + aa * d);
        c = nonzero(1.0 + aa / c);
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// `ln Γ(x)` for `x > 0`: Lanczos' approximation with g = 7, nine terms (relative error ~1e-15).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1-x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + G + 0.5;
    let series = C[1..]
        .iter()
        .enumerate()
        .fold(C[0], |acc, (i, c)| acc + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
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
        //            = 0.024841377118...
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
    fn ln_gamma_matches_factorials() {
        for (x, fact) in [(1.0, 1.0), (2.0, 1.0), (5.0, 24.0), (11.0, 3_628_800.0)] {
            assert!(close(ln_gamma(x), f64::ln(fact), 1e-13), "{x}");
        }
        // Γ(1/2) = √π.
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-13
        ));
    }

    #[test]
    fn incomplete_beta_matches_scipy() {
        // scipy.special.betainc(a, b, x), SciPy 1.17.1.
        for (a, b, x, want) in [
            (0.5, 0.5, 0.3, 0.36901011956554536),
            (2.0, 3.0, 0.4, 0.5247999999999999),
            (5.0, 0.5, 0.9, 0.3166429150200122),
            (1.5, 0.5, 0.05, 0.00481823046819855),
            (10.0, 10.0, 0.5, 0.5),
        ] {
            let got = regularized_incomplete_beta(a, b, x);
            assert!(
                close(got, want, 1e-12),
                "I_{x}({a},{b}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn t_cdf_matches_scipy() {
        // scipy.stats.t.cdf(t, df), SciPy 1.17.1.
        for (t, df, want) in [
            (0.0, 3.0, 0.5),
            (1.0, 1.0, 0.75),
            (2.0, 5.0, 0.9490302605850708),
            (-1.5, 7.3, 0.08778154640154305),
            (3.2, 2.5, 0.9682944858818092),
            (10.0, 4.0, 0.999718998188642),
            (0.3, 30.0, 0.6168769473578236),
        ] {
            let got = student_t_cdf(t, df);
            assert!(
                close(got, want, 1e-12),
                "cdf({t}, {df}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn quantiles_match_the_table_and_scipy() {
        // The bisection reproduces every table entry.
        for (i, &want) in T975.iter().enumerate() {
            let got = t_quantile(0.975, (i + 1) as f64);
            assert!(close(got, want, 1e-10), "df {}: {got} vs {want}", i + 1);
        }
        // scipy.stats.t.ppf(0.975, df) for fractional df, SciPy 1.17.1.
        for (df, want) in [
            (2.5, 3.5746548420036817),
            (4.7, 2.62072607535317),
            (7.9, 2.311094927866423),
        ] {
            assert!(close(t_975(df), want, 1e-10), "df {df}");
        }
        assert!(close(t_975(31.0), 2.0395134463964077, 1e-9));
    }

    #[test]
    fn welch_matches_scipy() {
        // scipy.stats.ttest_ind(a, b, equal_var=False) → statistic, pvalue, df; SciPy 1.17.1.
        let a = [0.8812, 0.8790, 0.8835, 0.8801, 0.8824];
        let b = [0.8750, 0.8771, 0.8702, 0.8769, 0.8740];
        let w = welch(&a, &b).unwrap();
        assert!(close(w.t, 4.440444213432049, 1e-10), "{w:?}");
        assert!(close(w.p, 0.003236855450867352, 1e-9), "{w:?}");
        assert!(close(w.df, 6.791309098530403, 1e-10), "{w:?}");
        assert!(
            w.ci95[0] > 0.0,
            "a significant difference excludes 0: {w:?}"
        );

        let w = welch(&[0.87, 0.88, 0.89], &[0.875, 0.879, 0.883, 0.90]).unwrap();
        assert!(close(w.t, -0.5330751587507017, 1e-10), "{w:?}");
        assert!(close(w.p, 0.6182221136624769, 1e-9), "{w:?}");
        assert!(close(w.df, 4.697042806700506, 1e-10), "{w:?}");
        assert!(w.ci95[0] < 0.0 && w.ci95[1] > 0.0, "{w:?}");
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
