//! Power of the two-sided two-sample t test: the minimum detectable difference for a number of
//! seeds, and the number of seeds for a difference.
//!
//! A study that finds "no significant difference" has to say how large a difference it could
//! have found; otherwise a null result is uninformative. The power is exact for the pooled-variance
//! test: under a true difference `δ` the t statistic is noncentral t with
//! `df = n_a + n_b - 2` and noncentrality `δ/se`, `se = sd·√(1/n_a + 1/n_b)`, and the power is the
//! probability that it falls beyond `±t_{1-α/2, df}`. This is what statsmodels' `TTestIndPower`,
//! R's `pwr.t.test` and R's `power.t.test(strict = TRUE)` compute. R's `power.t.test` by default
//! (`strict = FALSE`) drops the tail opposite the true difference; that changes the power by less
//! than `α/2` and, at a power of 0.8, in about the seventh digit (see the tests).
//!
//! `alpha` is the level the test is run at, i.e. already corrected for multiplicity: for the
//! first step of Holm over `m` hypotheses pass `alpha/m`, the level the smallest p-value must
//! beat.
//!
//! For unequal standard deviations ([`Spread::Welch`]) there is no exact noncentral distribution
//! for Welch's statistic; the usual approximation is used instead: a noncentral t with the
//! Welch–Satterthwaite degrees of freedom computed from the *assumed population* standard
//! deviations, and noncentrality `δ/se` with
//! `se = √(sd_a²/n_a + sd_b²/n_b)`. `tools/study-stats/expected_values.py` (section "welch_power") checks it
//! by simulation: at the computed 80%-power difference the simulated power of Welch's test was
//! 0.793, 0.799 and 0.793 in three designs (±0.001), i.e. the approximation is slightly
//! optimistic, by under one percentage point.

use serde::{Deserialize, Serialize};

use crate::stats::dist::{nct_cdf, nct_sf, t_isf};

/// The spread of the response in the two groups, as assumed for the power calculation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Spread {
    /// One standard deviation for both groups: the pooled-variance (Student) test, exact.
    Pooled {
        /// The common standard deviation.
        sd: f64,
    },
    /// Different standard deviations: Welch's test, approximated (see the module docs).
    Welch {
        /// Standard deviation of group a.
        sd_a: f64,
        /// Standard deviation of group b.
        sd_b: f64,
    },
}

impl Spread {
    /// The degrees of freedom and the standard error of `mean(a) - mean(b)` with `n_a` and `n_b`
    /// observations (fractional counts allowed, for solving for `n`).
    pub fn df_se(&self, n_a: f64, n_b: f64) -> (f64, f64) {
        match *self {
            Spread::Pooled { sd } => (n_a + n_b - 2.0, sd * (1.0 / n_a + 1.0 / n_b).sqrt()),
            Spread::Welch { sd_a, sd_b } => {
                let (va, vb) = (sd_a * sd_a / n_a, sd_b * sd_b / n_b);
                let df = (va + vb).powi(2) / (va * va / (n_a - 1.0) + vb * vb / (n_b - 1.0));
                (df, (va + vb).sqrt())
            }
        }
    }

    fn check(&self) -> Result<(), PowerError> {
        let sds: &[f64] = match self {
            Spread::Pooled { sd } => &[*sd],
            Spread::Welch { sd_a, sd_b } => &[*sd_a, *sd_b],
        };
        match sds.iter().find(|sd| !(sd.is_finite() && **sd > 0.0)) {
            Some(&sd) => Err(PowerError::Sd(sd)),
            None => Ok(()),
        }
    }
}

/// Why a power calculation has no answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PowerError {
    /// `alpha` must be in `(0, 1)`.
    Alpha(f64),
    /// The target power must be in `(alpha, 1)`: a test has power `alpha` at no difference.
    Power {
        /// The target asked for.
        power: f64,
        /// The level of the test.
        alpha: f64,
    },
    /// A standard deviation must be finite and positive.
    Sd(f64),
    /// Each group needs at least two seeds for a standard deviation.
    TooFewSeeds(usize),
    /// The difference must be finite and non-zero.
    Difference(f64),
    /// The target power is not reached below 2⁴⁰ seeds per group.
    Unreachable,
}

impl std::fmt::Display for PowerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PowerError::Alpha(a) => write!(f, "alpha must be in (0, 1), got {a}"),
            PowerError::Power { power, alpha } => {
                write!(
                    f,
                    "target power must be in (alpha = {alpha}, 1), got {power}"
                )
            }
            PowerError::Sd(sd) => write!(f, "standard deviation must be finite and > 0, got {sd}"),
            PowerError::TooFewSeeds(n) => write!(f, "each group needs at least 2 seeds, got {n}"),
            PowerError::Difference(d) => {
                write!(f, "difference must be finite and non-zero, got {d}")
            }
            PowerError::Unreachable => {
                write!(f, "target power not reached below 2^40 seeds per group")
            }
        }
    }
}

impl std::error::Error for PowerError {}

/// The power of the two-sided test at level `alpha` with `df` degrees of freedom when the t
/// statistic has noncentrality `ncp`. `strict` counts rejections in both tails (the probability
/// that the test rejects at all); without it only the tail of the true difference counts, as in
/// R's `power.t.test` default — kept for the tests that reproduce R's published numbers.
fn power_at(ncp: f64, df: f64, alpha: f64, strict: bool) -> f64 {
    let crit = t_isf(alpha / 2.0, df);
    let ncp = ncp.abs();
    let upper = nct_sf(crit, df, ncp);
    if strict {
        upper + nct_cdf(-crit, df, ncp)
    } else {
        upper
    }
}

/// Bisection for the root of an increasing `f` in `[lo, hi]` (`f(lo) < 0 ≤ f(hi)`), carried on
/// until the bracket stops shrinking. Bisection rather than Brent: it is ~60 steps of cheap
/// functions here, and it cannot be thrown off by the flat ends of a power curve.
fn bisect_increasing(mut lo: f64, mut hi: f64, f: impl Fn(f64) -> f64) -> f64 {
    loop {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            return mid;
        }
        if f(mid) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
}

fn check_alpha_power(alpha: f64, power: f64) -> Result<(), PowerError> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(PowerError::Alpha(alpha));
    }
    if !(power > alpha && power < 1.0) {
        return Err(PowerError::Power { power, alpha });
    }
    Ok(())
}

/// The power of the two-sided two-sample t test at level `alpha` (both tails) to detect a true
/// difference `diff` with `n_a` and `n_b` seeds.
pub fn power(
    diff: f64,
    n_a: usize,
    n_b: usize,
    spread: Spread,
    alpha: f64,
) -> Result<f64, PowerError> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(PowerError::Alpha(alpha));
    }
    spread.check()?;
    if n_a.min(n_b) < 2 {
        return Err(PowerError::TooFewSeeds(n_a.min(n_b)));
    }
    if !diff.is_finite() {
        return Err(PowerError::Difference(diff));
    }
    let (df, se) = spread.df_se(n_a as f64, n_b as f64);
    Ok(power_at(diff / se, df, alpha, true))
}

/// The minimum detectable difference of a design: the smallest true difference that the test
/// detects with the target power.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mdd {
    /// The difference, in the response's units (positive; the test is symmetric).
    pub diff: f64,
    /// Seeds in group a.
    pub n_a: usize,
    /// Seeds in group b.
    pub n_b: usize,
    /// The level the test is run at.
    pub alpha: f64,
    /// The target power.
    pub power: f64,
    /// Degrees of freedom of the test.
    pub df: f64,
    /// Standard error of the difference of means.
    pub se: f64,
    /// The two-sided critical value `t_{1-α/2, df}`.
    pub critical_t: f64,
    /// The noncentrality at which the power is reached: `diff = ncp·se`.
    pub ncp: f64,
}

/// The minimum detectable difference at `power` (e.g. 0.8) for a two-sided test at level `alpha`
/// with `n_a` and `n_b` seeds. With `df` and `se` fixed by the design, power depends on the
/// difference only through `ncp = diff/se`, so this solves `power(ncp) = target` and scales.
pub fn min_detectable_difference(
    n_a: usize,
    n_b: usize,
    spread: Spread,
    alpha: f64,
    power: f64,
) -> Result<Mdd, PowerError> {
    check_alpha_power(alpha, power)?;
    spread.check()?;
    if n_a.min(n_b) < 2 {
        return Err(PowerError::TooFewSeeds(n_a.min(n_b)));
    }
    let (df, se) = spread.df_se(n_a as f64, n_b as f64);
    let critical_t = t_isf(alpha / 2.0, df);
    // The power at ncp = crit + 10 exceeds 1 - 1e-20 for any df ≥ 1, so it brackets the root.
    let ncp = bisect_increasing(0.0, critical_t + 10.0, |ncp| {
        power_at(ncp, df, alpha, true) - power
    });
    Ok(Mdd {
        diff: ncp * se,
        n_a,
        n_b,
        alpha,
        power,
        df,
        se,
        critical_t,
        ncp,
    })
}

/// The minimum detectable value of an estimate with standard error `se` and `df` degrees of
/// freedom, tested two-sided at level `alpha` by `estimate / se` against Student's t: the true
/// value the test detects with the target `power` (exact under the noncentral t). For a
/// contrast of a linear model, whose se and residual df the fit gives; with the se and df of a
/// pooled two-sample test it is [`min_detectable_difference`].
pub fn min_detectable_effect(se: f64, df: f64, alpha: f64, power: f64) -> Result<f64, PowerError> {
    check_alpha_power(alpha, power)?;
    if !(se.is_finite() && se > 0.0) {
        return Err(PowerError::Sd(se));
    }
    if !(df.is_finite() && df >= 1.0) {
        return Err(PowerError::TooFewSeeds(df.max(0.0) as usize));
    }
    let critical_t = t_isf(alpha / 2.0, df);
    let ncp = bisect_increasing(0.0, critical_t + 10.0, |ncp| {
        power_at(ncp, df, alpha, true) - power
    });
    Ok(ncp * se)
}

/// How many seeds per group a difference needs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleSize {
    /// Seeds per group: `n_exact` rounded up, and at least 2.
    pub n: usize,
    /// The real-valued solution of `power(n) = target` (what R's `power.t.test` prints as `n`).
    pub n_exact: f64,
    /// The power actually reached with `n` seeds per group (≥ the target).
    pub power_at_n: f64,
    /// The difference to detect.
    pub diff: f64,
    /// The level of the test.
    pub alpha: f64,
    /// The target power.
    pub power: f64,
}

/// The number of seeds per group (equal groups) for the two-sided test at level `alpha` to
/// detect a true difference `diff` with the target `power`.
pub fn seeds_per_group(
    diff: f64,
    spread: Spread,
    alpha: f64,
    power: f64,
) -> Result<SampleSize, PowerError> {
    check_alpha_power(alpha, power)?;
    spread.check()?;
    if !(diff.is_finite() && diff != 0.0) {
        return Err(PowerError::Difference(diff));
    }
    let n_exact = solve_n(diff, spread, alpha, power, true)?;
    let n = (n_exact.ceil() as usize).max(2);
    let (df, se) = spread.df_se(n as f64, n as f64);
    Ok(SampleSize {
        n,
        n_exact,
        power_at_n: power_at(diff / se, df, alpha, true),
        diff,
        alpha,
        power,
    })
}

/// The real `n > 1` per group at which the power equals the target (power grows with `n`).
fn solve_n(
    diff: f64,
    spread: Spread,
    alpha: f64,
    power: f64,
    strict: bool,
) -> Result<f64, PowerError> {
    let f = |n: f64| {
        let (df, se) = spread.df_se(n, n);
        power_at(diff / se, df, alpha, strict) - power
    };
    let mut hi = 2.0;
    while f(hi) < 0.0 {
        hi *= 2.0;
        if hi > (1u64 << 40) as f64 {
            return Err(PowerError::Unreachable);
        }
    }
    // At n → 1 the degrees of freedom vanish and the power with them, so (1, hi] brackets it.
    Ok(bisect_increasing(1.0, hi, f))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, tol: f64) -> bool {
        (got - want).abs() <= tol * want.abs()
    }

    const SD1: Spread = Spread::Pooled { sd: 1.0 };

    #[test]
    fn reproduces_r_power_t_test_documentation() {
        // R's ?power.t.test, "Examples" (R 3.x–4.x; output as printed by R):
        //   power.t.test(n = 20, delta = 1)          → power = 0.8689528
        //   power.t.test(power = .90, delta = 1)     → n = 22.02110
        //   power.t.test(power = .90, delta = 1, alternative = "one.sided") → n = 17.84713
        // R's default is strict = FALSE (upper tail only), reproduced with power_at(.., false).
        // Power: R prints 7 digits, so 5e-8 absolute. n: R solves with uniroot at
        // tol = .Machine$double.eps^0.25 ≈ 1.2e-4, so the printed n is only that close to the
        // root; the 1e-9 comparisons are against the exact roots from SciPy 1.17.1
        // (tools/study-stats/expected_values.py, section "power": brentq on scipy.stats.nct, xtol 1e-15).
        let (df, se) = SD1.df_se(20.0, 20.0);
        let r_default = power_at(1.0 / se, df, 0.05, false);
        assert!((r_default - 0.8689528).abs() < 5e-8, "{r_default}");
        assert!(close(r_default, 0.8689528016921269, 1e-9), "{r_default}");
        // Strict (both tails, the public function): SciPy 0.8689530277239895.
        let strict = power(1.0, 20, 20, SD1, 0.05).unwrap();
        assert!(close(strict, 0.8689530277239895, 1e-9), "{strict}");

        let n = solve_n(1.0, SD1, 0.05, 0.9, false).unwrap();
        assert!((n - 22.02110).abs() < 1.3e-4, "{n}");
        assert!(close(n, 22.02109557009694, 1e-9), "{n}");
        // One-sided at 0.05 is the upper tail of two-sided at 0.10.
        let n = solve_n(1.0, SD1, 0.10, 0.9, false).unwrap();
        assert!((n - 17.84713).abs() < 1.3e-4, "{n}");
        assert!(close(n, 17.84712062653836, 1e-9), "{n}");
    }

    #[test]
    fn reproduces_pwr_t_test() {
        // pwr.t.test(d = 2/3, power = 0.9, sig.level = 0.05, type = "two.sample") → n = 48.26427
        // (R package pwr, which counts both tails; quoted in the Cross Validated question "Power
        // calculations"). Exact root from SciPy: 48.26427385741768 (section "power"), 1e-9.
        let s = seeds_per_group(2.0 / 3.0, SD1, 0.05, 0.9).unwrap();
        assert!((s.n_exact - 48.26427).abs() < 1.3e-4, "{s:?}");
        assert!(close(s.n_exact, 48.26427385741768, 1e-9), "{s:?}");
        assert_eq!(s.n, 49);
        assert!(s.power_at_n >= 0.9);
        // 48 seeds fall short, which is why n rounds up.
        assert!(power(2.0 / 3.0, 48, 48, SD1, 0.05).unwrap() < 0.9);
    }

    #[test]
    fn matches_statsmodels_tt_ind_power() {
        // statsmodels 0.15.0, TTestIndPower() (section "power"):
        //   power(effect_size=diff/sd, nobs1=n_a, alpha, ratio=n_b/n_a)              → `pw`
        //   brentq(lambda d: power(d, n_a, alpha, ratio) - 0.8) · sd (xtol 1e-15)    → `mdd`
        //   solve_power(effect_size=None, nobs1=n_a, alpha, power=0.8, ratio) · sd   → `mdd_sm`
        // pw and mdd to 1e-9 relative; mdd_sm only to 2e-6, the tolerance of statsmodels' own
        // root finder (it differs from the brentq root by up to 1.1e-6 relative).
        #[rustfmt::skip]
        let cases = [
            (10, 10, 0.003, 0.05, 0.004, 0.8049130635046313, 0.003974842177737693, 0.003974842104992466),
            (10, 10, 0.003, 0.05 / 20.0, 0.004, 0.34007150864945673, 0.005948579930104416, 0.005948586573960189),
            (5, 8, 0.01, 0.01, 0.02, 0.6555075619271691, 0.0230304300361089, 0.023030429886821614),
            (20, 20, 1.0, 0.05 / 48.0, 1.2, 0.5979544862589997, 1.402811674636725, 1.4028127833837125),
            (3, 3, 0.5, 0.05, 1.5, 0.7825543870581168, 1.5354461331818448, 1.5354461347995094),
        ];
        for (n_a, n_b, sd, alpha, diff, pw, mdd, mdd_sm) in cases {
            let spread = Spread::Pooled { sd };
            let got = power(diff, n_a, n_b, spread, alpha).unwrap();
            assert!(
                close(got, pw, 1e-9),
                "power {n_a},{n_b},{sd},{alpha}: {got} vs {pw}"
            );
            // The power is symmetric in the sign of the difference.
            assert_eq!(power(-diff, n_a, n_b, spread, alpha).unwrap(), got);
            let m = min_detectable_difference(n_a, n_b, spread, alpha, 0.8).unwrap();
            assert!(
                close(m.diff, mdd, 1e-9),
                "mdd {n_a},{n_b},{sd},{alpha}: {m:?} vs {mdd}"
            );
            assert!(close(m.diff, mdd_sm, 2e-6));
            assert!(close(
                power(m.diff, n_a, n_b, spread, alpha).unwrap(),
                0.8,
                1e-12
            ));
            assert_eq!(m.df, (n_a + n_b - 2) as f64);
        }
        // statsmodels: brentq on power over nobs1 (ratio 1) → `n`; solve_power(nobs1=None) →
        // `n_sm` (1e-7 relative, statsmodels' solver tolerance).
        #[rustfmt::skip]
        let cases = [
            (0.004, 0.003, 0.05 / 20.0, 0.8, 19.15549891649654, 19.155500391046633),
            (0.5, 1.0, 0.05, 0.8, 63.76561019095226, 63.76561058891169),
            (0.002, 0.003, 0.01, 0.9, 68.63650724868734, 68.63650728299505),
        ];
        for (diff, sd, alpha, target, n, n_sm) in cases {
            let s = seeds_per_group(diff, Spread::Pooled { sd }, alpha, target).unwrap();
            assert!(close(s.n_exact, n, 1e-9), "{s:?} vs {n}");
            assert!(close(s.n_exact, n_sm, 1e-7), "{s:?} vs {n_sm}");
            assert_eq!(s.n, n.ceil() as usize);
        }
    }

    #[test]
    fn welch_approximation_matches_its_formula() {
        // The noncentral-t approximation for unequal sds, computed in Python with scipy.stats.nct
        // (section "welch_power": Welch–Satterthwaite df and se from the population sds, brentq
        // for the 0.8 noncentrality); 1e-9 relative. Simulated power of Welch's test at these
        // differences (200,000 runs each): 0.793, 0.799, 0.793.
        #[rustfmt::skip]
        let cases = [
            (10, 12, 0.002, 0.004, 0.005, 16.74774774774775, 0.0013165611772087665, 0.005454025664608273, 14.034206586904402),
            (10, 10, 0.003, 0.0015, 0.05, 13.235294117647058, 0.0010606601717798212, 0.0032103857072453825, 12.883539660762947),
            (4, 6, 1.0, 3.0, 0.05, 6.504424778761062, 1.3228756555322954, 4.383196927082324, 7.274099620193916),
        ];
        for (n_a, n_b, sd_a, sd_b, alpha, df, se, mdd, n90) in cases {
            let spread = Spread::Welch { sd_a, sd_b };
            let m = min_detectable_difference(n_a, n_b, spread, alpha, 0.8).unwrap();
            assert!(close(m.df, df, 1e-12) && close(m.se, se, 1e-12), "{m:?}");
            assert!(close(m.diff, mdd, 1e-9), "{m:?} vs {mdd}");
            let s = seeds_per_group(mdd, spread, alpha, 0.9).unwrap();
            assert!(close(s.n_exact, n90, 1e-9), "{s:?} vs {n90}");
        }
        // Equal sds make Welch's df at most the pooled df, so its MDD is at least the pooled one.
        let pooled =
            min_detectable_difference(6, 9, Spread::Pooled { sd: 1.0 }, 0.05, 0.8).unwrap();
        let welch = min_detectable_difference(
            6,
            9,
            Spread::Welch {
                sd_a: 1.0,
                sd_b: 1.0,
            },
            0.05,
            0.8,
        )
        .unwrap();
        assert!(welch.diff >= pooled.diff && welch.df <= pooled.df);
    }

    #[test]
    fn mdd_shrinks_with_seeds_and_grows_with_correction() {
        let sd = Spread::Pooled { sd: 0.003 };
        let mdd = |n, alpha| {
            min_detectable_difference(n, n, sd, alpha, 0.8)
                .unwrap()
                .diff
        };
        assert!(mdd(20, 0.05) < mdd(10, 0.05) && mdd(10, 0.05) < mdd(5, 0.05));
        assert!(mdd(10, 0.05 / 20.0) > mdd(10, 0.05));
        // With many seeds the t test becomes the z test: MDD → (z_{1-α/2} + z_{0.8})·se.
        let big = min_detectable_difference(100_000, 100_000, sd, 0.05, 0.8).unwrap();
        let z = 1.959963984540054 + 0.8416212335729143; // norm.ppf(0.975) + norm.ppf(0.8)
        assert!(close(big.diff, z * big.se, 1e-4), "{big:?}");
    }

    #[test]
    fn the_effect_form_is_the_pooled_difference_form() {
        // Same se and df as the pooled two-sample design: the same answer, to the last digits of
        // the bisection (statsmodels' value for (10, 10, sd 0.003, α 0.05): 0.003974842177737693).
        let m = min_detectable_difference(10, 10, Spread::Pooled { sd: 0.003 }, 0.05, 0.8).unwrap();
        let e = min_detectable_effect(m.se, m.df, 0.05, 0.8).unwrap();
        assert!(close(e, 0.003974842177737693, 1e-9), "{e}");
        assert_eq!(
            min_detectable_effect(0.0, 5.0, 0.05, 0.8),
            Err(PowerError::Sd(0.0))
        );
    }

    #[test]
    fn invalid_arguments_are_typed_errors() {
        assert_eq!(power(1.0, 1, 5, SD1, 0.05), Err(PowerError::TooFewSeeds(1)));
        assert_eq!(power(1.0, 5, 5, SD1, 0.0), Err(PowerError::Alpha(0.0)));
        assert_eq!(
            power(1.0, 5, 5, Spread::Pooled { sd: 0.0 }, 0.05),
            Err(PowerError::Sd(0.0))
        );
        assert_eq!(
            min_detectable_difference(5, 5, SD1, 0.05, 0.04),
            Err(PowerError::Power {
                power: 0.04,
                alpha: 0.05
            })
        );
        assert_eq!(
            seeds_per_group(0.0, SD1, 0.05, 0.8),
            Err(PowerError::Difference(0.0))
        );
        // At no difference the strict power is exactly the level.
        assert!(close(power(0.0, 7, 7, SD1, 0.05).unwrap(), 0.05, 1e-12));
    }
}
