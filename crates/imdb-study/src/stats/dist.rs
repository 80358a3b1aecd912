//! Distribution functions: the standard normal, Student's t, Fisher's F and the noncentral t.
//!
//! Everything rests on three special functions written out below — `ln Γ` (Lanczos), the
//! regularized incomplete beta (a continued fraction) and the regularized incomplete gamma (a
//! series and a continued fraction) — so no value depends on another crate's version. Each public
//! function is tested against SciPy 1.17.1 (`tools/study-stats/expected_values.py`).
//!
//! Invalid parameters (a non-positive or NaN `df`, a probability outside `[0, 1]`) give `NaN`, as
//! SciPy does, rather than a panic: a report that shows `NaN` is easier to trace than a study that
//! dies half-way. The modules above this one validate their inputs and return typed errors.

use std::f64::consts::{FRAC_1_SQRT_2, PI};

/// `ln √π`, written out because `ln_gamma(0.5)` would carry Lanczos' rounding into every normal
/// probability.
const LN_SQRT_PI: f64 = 0.572_364_942_924_700_1;

/// `ln Γ(x)` for `x > 0`: Lanczos' approximation with g = 7 and nine terms (relative error about
/// 1e-15), with the reflection formula below 1/2.
pub fn ln_gamma(x: f64) -> f64 {
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
        return (PI / (PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + G + 0.5;
    let series = C[1..]
        .iter()
        .enumerate()
        .fold(C[0], |acc, (i, c)| acc + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

/// The remainder of Stirling's series, `ln Γ(x) - ((x - ½)·ln x - x + ½·ln 2π)`, for `x ≥ 10`.
///
/// Eight Bernoulli terms leave an error below 1e-17 at `x = 10`. It exists so that [`ln_beta`] can
/// cancel the large parts of three `ln Γ` analytically instead of in floating point.
fn stirling_remainder(x: f64) -> f64 {
    // B_2k / (2k(2k-1)) for k = 1..8.
    const C: [f64; 8] = [
        1.0 / 12.0,
        -1.0 / 360.0,
        1.0 / 1260.0,
        -1.0 / 1680.0,
        1.0 / 1188.0,
        -691.0 / 360_360.0,
        1.0 / 156.0,
        -3617.0 / 122_400.0,
    ];
    let x2 = 1.0 / (x * x);
    C.iter().rev().fold(0.0, |acc, c| acc * x2 + c) / x
}

/// `ln B(a, b) = ln Γ(a) + ln Γ(b) - ln Γ(a+b)` for `a, b > 0`.
///
/// As R's `lbeta`: when an argument is 10 or more, the `(x - ½)·ln x - x` parts of the three
/// `ln Γ` are combined by hand and only Stirling remainders are added, because subtracting three
/// `ln Γ` of size ~2600 (a t test with 1000 df) would otherwise lose twelve digits to one.
pub fn ln_beta(a: f64, b: f64) -> f64 {
    let (p, q) = if a < b { (a, b) } else { (b, a) };
    let ln_sqrt_2pi = 0.5 * (2.0 * PI).ln();
    if p >= 10.0 {
        let corr = stirling_remainder(p) + stirling_remainder(q) - stirling_remainder(p + q);
        -0.5 * q.ln()
            + ln_sqrt_2pi
            + corr
            + (p - 0.5) * (p / (p + q)).ln()
            + q * (-p / (p + q)).ln_1p()
    } else if q >= 10.0 {
        let corr = stirling_remainder(q) - stirling_remainder(p + q);
        ln_gamma(p) + corr + p - p * (p + q).ln() + (q - 0.5) * (-p / (p + q)).ln_1p()
    } else {
        ln_gamma(p) + ln_gamma(q) - ln_gamma(p + q)
    }
}

/// The regularized incomplete beta function `I_x(a, b)` for `a, b > 0` and `x` in `[0, 1]`.
///
/// Numerical Recipes §6.4: the continued fraction converges fast below `(a+1)/(a+b+2)`; above it
/// the symmetry `I_x(a,b) = 1 - I_{1-x}(b,a)` is used. Callers that need a small upper tail should
/// ask for it directly (swap the arguments) rather than take `1 - I`, which cancels: that is why
/// [`t_sf`] and [`f_sf`] exist.
pub fn regularized_incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    incomplete_beta(a, b, x, 1.0 - x)
}

/// `I_x(a, b)` with `y = 1 - x` supplied by the caller. The distribution functions know `1 - x`
/// exactly as a ratio (`t²/(df + t²)` beside `df/(df + t²)`); recomputing it from a rounded `x`
/// near 1 would lose up to half the digits (a t statistic of 0.005 on 1,700 df gave 3e-12).
fn incomplete_beta(a: f64, b: f64, x: f64, y: f64) -> f64 {
    if a.is_nan() || b.is_nan() || x.is_nan() || y.is_nan() || a <= 0.0 || b <= 0.0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 0.0;
    }
    if y <= 0.0 {
        return 1.0;
    }
    // ln of the larger of x, y through ln_1p of the smaller, which is the accurate one.
    let (ln_x, ln_y) = if x < y {
        (x.ln(), (-x).ln_1p())
    } else {
        ((-y).ln_1p(), y.ln())
    };
    let front = (a * ln_x + b * ln_y - ln_beta(a, b)).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_continued_fraction(b, a, y) / b
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
    for m in 1..=10_000 {
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
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// The regularized incomplete gamma functions `(P(a, x), Q(a, x))`, `P + Q = 1`, for `a > 0`,
/// `x ≥ 0`, with `ln Γ(a)` supplied by the caller (the normal functions pass `ln √π` exactly).
///
/// Numerical Recipes §6.2: the series for `P` below `x < a + 1`, Lentz's continued fraction for
/// `Q` above, each on the side where it converges fast; the other is `1 -` it. Both are returned
/// because the normal CDF wants `Q` in the tails and `P` (i.e. `erf`) near the centre, where it is
/// small and `1 - Q` would cancel.
fn incomplete_gamma(a: f64, x: f64, ln_gamma_a: f64) -> (f64, f64) {
    if x <= 0.0 {
        return (0.0, 1.0);
    }
    let front = (-x + a * x.ln() - ln_gamma_a).exp();
    if x < a + 1.0 {
        let (mut ap, mut term, mut sum) = (a, 1.0 / a, 1.0 / a);
        for _ in 0..10_000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-17 {
                break;
            }
        }
        let p = front * sum;
        (p, 1.0 - p)
    } else {
        const TINY: f64 = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < TINY {
                d = TINY;
            }
            c = b + an / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        let q = front * h;
        (1.0 - q, q)
    }
}

/// The complementary error function, `erfc(z) = Q(1/2, z²)` for `z ≥ 0`.
fn erfc(z: f64) -> f64 {
    if z < 0.0 {
        2.0 - erfc(-z)
    } else {
        incomplete_gamma(0.5, z * z, LN_SQRT_PI).1
    }
}

/// `Φ(x) - 1/2 = erf(x/√2)/2`, with `erf(z) = P(1/2, z²)`: accurate relative to itself near
/// `x = 0`, where `Φ(x)` has only absolute accuracy. Used by [`normal_quantile`] near the median.
fn normal_cdf_minus_half(x: f64) -> f64 {
    0.5 * x.signum() * incomplete_gamma(0.5, 0.5 * x * x, LN_SQRT_PI).0
}

/// The standard normal cumulative distribution function `Φ(x)` (`scipy.stats.norm.cdf`).
///
/// Computed as `erfc(-x/√2)/2`, so the lower tail keeps its relative accuracy far out.
pub fn normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    0.5 * erfc(-x * FRAC_1_SQRT_2)
}

/// The standard normal survival function `1 - Φ(x) = Φ(-x)` (`scipy.stats.norm.sf`).
pub fn normal_sf(x: f64) -> f64 {
    normal_cdf(-x)
}

/// The standard normal quantile `Φ⁻¹(p)` (`scipy.stats.norm.ppf`): `-∞` at 0, `+∞` at 1.
///
/// Acklam's rational approximation (relative error 1.15e-9) refined by two Halley steps on
/// [`normal_cdf`], which brings it to the accuracy of the CDF itself.
pub fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p > 0.5 {
        // 1 - p is exact for p ≥ 1/2 (Sterbenz), and the lower tail is where the CDF is accurate.
        return -normal_quantile(1.0 - p);
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let mut x = if p < 0.02425 {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    for _ in 0..2 {
        // Halley's step for Φ(x) - p = 0: u = (Φ(x) - p)/φ(x), x ← x - u/(1 + x·u/2). Near the
        // median the residual is taken as (Φ(x) - ½) - (p - ½): p - ½ is exact there (Sterbenz)
        // and Φ(x) - ½ keeps its relative accuracy, so a quantile of 1e-5 keeps all its digits.
        let residual = if p > 0.25 {
            normal_cdf_minus_half(x) - (p - 0.5)
        } else {
            normal_cdf(x) - p
        };
        let u = residual * (2.0 * PI).sqrt() * (0.5 * x * x).exp();
        x -= u / (1.0 + 0.5 * x * u);
    }
    x
}

/// `P(|T| ≥ |t|)` for Student's t with `df` degrees of freedom: `I_{df/(df+t²)}(df/2, 1/2)`.
pub fn t_two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    let t2 = t * t;
    incomplete_beta(df / 2.0, 0.5, df / (df + t2), t2 / (df + t2))
}

/// The cumulative distribution function of Student's t with `df > 0` degrees of freedom
/// (`scipy.stats.t.cdf`; `df` may be fractional, as Welch's is).
pub fn t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * t_two_sided_p(t, df);
    if t > 0.0 { 1.0 - tail } else { tail }
}

/// The survival function `P(T > t)` of Student's t (`scipy.stats.t.sf`), accurate in the upper
/// tail where `1 - t_cdf` would cancel.
pub fn t_sf(t: f64, df: f64) -> f64 {
    t_cdf(-t, df)
}

/// The `p` quantile of Student's t with `df > 0` degrees of freedom (`scipy.stats.t.ppf`).
///
/// Solved on the side of the smaller tail by [`t_isf`], so that `p = 1e-6` keeps its relative
/// accuracy. For an upper quantile at a small level (a critical value at `alpha/(2m)`), call
/// [`t_isf`] directly: `1 - alpha` has already lost digits of `alpha`.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p > 0.5 {
        t_isf(1.0 - p, df)
    } else {
        -t_isf(p, df)
    }
}

/// The inverse survival function of Student's t: the `t` with `P(T > t) = q`
/// (`scipy.stats.t.isf`), e.g. the two-sided critical value `t_isf(alpha/2, df)`.
///
/// Bisection on [`t_sf`] (not Newton: the heavy tails of small `df` make Newton overshoot),
/// carried on until the bracket stops shrinking, i.e. to the last bit of `f64`.
pub fn t_isf(q: f64, df: f64) -> f64 {
    if q.is_nan() || df.is_nan() || df <= 0.0 || !(0.0..=1.0).contains(&q) {
        return f64::NAN;
    }
    if q == 0.0 {
        return f64::INFINITY;
    }
    if q == 1.0 {
        return f64::NEG_INFINITY;
    }
    if q == 0.5 {
        return 0.0;
    }
    if q > 0.5 {
        // Symmetry: P(T > -t) = 1 - P(T > t).
        return -t_isf(1.0 - q, df);
    }
    let mut hi = 1.0;
    while t_sf(hi, df) > q {
        hi *= 2.0;
        if hi.is_infinite() {
            return hi;
        }
    }
    let mut lo = 0.0;
    loop {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if t_sf(mid, df) > q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The cumulative distribution function of Fisher's F with `(d1, d2)` degrees of freedom
/// (`scipy.stats.f.cdf`): `I_{d1·x/(d1·x+d2)}(d1/2, d2/2)`.
pub fn f_cdf(x: f64, d1: f64, d2: f64) -> f64 {
    if x.is_nan() || d1.is_nan() || d2.is_nan() || d1 <= 0.0 || d2 <= 0.0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 0.0;
    }
    let (u, v) = (d1 * x, d2);
    incomplete_beta(d1 / 2.0, d2 / 2.0, u / (u + v), v / (u + v))
}

/// The survival function `P(F > x)` of Fisher's F (`scipy.stats.f.sf`): the p-value of an ANOVA
/// F test. Computed as `I_{d2/(d2+d1·x)}(d2/2, d1/2)` so that tiny p-values keep their digits.
pub fn f_sf(x: f64, d1: f64, d2: f64) -> f64 {
    if x.is_nan() || d1.is_nan() || d2.is_nan() || d1 <= 0.0 || d2 <= 0.0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x.is_infinite() {
        return 0.0;
    }
    let (u, v) = (d1 * x, d2);
    incomplete_beta(d2 / 2.0, d1 / 2.0, v / (u + v), u / (u + v))
}

/// The cumulative distribution function of the noncentral t with `df > 0` degrees of freedom and
/// noncentrality `ncp` (`scipy.stats.nct.cdf`): the distribution of the two-sample t statistic
/// when the means truly differ, hence exact power.
///
/// Algorithm AS 243 (Lenth 1989, Applied Statistics 38:185–189) as R's `pnt` implements it: the
/// Poisson-weighted series of incomplete beta functions, summed until the bound on the remainder
/// is below 1e-15 (R stops at 1e-12; the few extra terms bring the largest error against
/// SciPy/Boost over 400 random cases from 8e-13 to 3e-14). For `t < 0` it evaluates
/// `1 - F(-t; -ncp)`, so a tiny lower tail there is accurate to about 1e-14 absolute, not
/// relative — ample for power, which is a sum of two tail probabilities. For `df > 4·10⁵` or `ncp² > 2·ln2·1021` (where `exp(-ncp²/2)` underflows) it
/// uses R's normal approximation.
pub fn nct_cdf(t: f64, df: f64, ncp: f64) -> f64 {
    if t.is_nan() || df.is_nan() || ncp.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if ncp == 0.0 {
        return t_cdf(t, df);
    }
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    let (negdel, tt, del) = if t >= 0.0 {
        (false, t, ncp)
    } else {
        (true, -t, -ncp)
    };
    if df > 4e5 || del * del > 2.0 * std::f64::consts::LN_2 * 1021.0 {
        // Abramowitz & Stegun 26.7.10, as in R's pnt.
        let s = 1.0 / (4.0 * df);
        let z = (tt * (1.0 - s) - del) / (1.0 + tt * tt * 2.0 * s).sqrt();
        return if negdel { normal_sf(z) } else { normal_cdf(z) };
    }
    const ERRMAX: f64 = 1e-15;
    const ITRMAX: usize = 1000;
    let x = tt * tt / (tt * tt + df);
    let y = df / (tt * tt + df); // 1 - x, without the cancellation
    let mut tnc = 0.0;
    if x > 0.0 {
        let lambda = del * del;
        let mut p = 0.5 * (-0.5 * lambda).exp();
        // √(2/π): the odd (half-integer) Poisson weights carry the normal density's constant.
        let mut q = (2.0 / PI).sqrt() * p * del;
        let mut s = 0.5 - p;
        if s < 1e-7 {
            s = -0.5 * (-0.5 * lambda).exp_m1();
        }
        let mut a = 0.5;
        let b = 0.5 * df;
        let rxb = y.powf(b);
        let albeta = ln_beta(0.5, b);
        let mut xodd = incomplete_beta(a, b, x, y);
        let mut godd = 2.0 * rxb * (a * x.ln() - albeta).exp();
        // I_x(1, b) = 1 - y^b; R special-cases tiny b·x, expm1 of b·ln y is accurate everywhere.
        let mut xeven = -(b * y.ln()).exp_m1();
        let mut geven = b * x * rxb;
        tnc = p * xodd + q * xeven;
        for it in 1..=ITRMAX {
            a += 1.0;
            xodd -= godd;
            xeven -= geven;
            godd *= x * (a + b - 1.0) / a;
            geven *= x * (a + b - 0.5) / (a + 0.5);
            p *= lambda / (2 * it) as f64;
            q *= lambda / (2 * it + 1) as f64;
            tnc += p * xodd + q * xeven;
            s -= p;
            // The Poisson weights are exhausted: the rest of the series is below rounding.
            if s <= 0.0 && it > 1 {
                break;
            }
            let errbd = 2.0 * s * (xodd - godd);
            if errbd.abs() < ERRMAX {
                break;
            }
        }
    }
    tnc += normal_cdf(-del);
    let tnc = tnc.min(1.0);
    if negdel { 1.0 - tnc } else { tnc }
}

/// The survival function `P(T > t)` of the noncentral t (`scipy.stats.nct.sf`).
///
/// For `t ≥ 0` this is `1 - F(t)` with `F` from the series, accurate to about 1e-14 absolute;
/// for `t < 0` it is the series for `-t` and `-ncp` directly.
pub fn nct_sf(t: f64, df: f64, ncp: f64) -> f64 {
    if t.is_nan() || df.is_nan() || ncp.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t < 0.0 {
        // P(T > t) = P(-T < -t), and -T is noncentral t with -ncp.
        nct_cdf(-t, df, -ncp)
    } else {
        1.0 - nct_cdf(t, df, ncp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `|got - want| ≤ tol·|want|`: a relative bound.
    fn close(got: f64, want: f64, tol: f64) -> bool {
        (got - want).abs() <= tol * want.abs()
    }

    /// `|got - want| ≤ tol`: an absolute bound, for tail probabilities computed as `1 - F`.
    fn close_abs(got: f64, want: f64, tol: f64) -> bool {
        (got - want).abs() <= tol
    }

    #[test]
    fn ln_gamma_matches_factorials_and_scipy() {
        // Exact: Γ(n) = (n-1)!, Γ(1/2) = √π. Tolerance 1e-14 relative (Lanczos' own accuracy).
        for (x, fact) in [(1.0, 1.0), (2.0, 1.0), (5.0, 24.0), (11.0, 3_628_800.0)] {
            assert!((ln_gamma(x) - f64::ln(fact)).abs() <= 1e-13, "{x}");
        }
        assert!(close(ln_gamma(0.5), LN_SQRT_PI, 1e-14));
        // scipy.special.gammaln(x), SciPy 1.17.1 (tools/study-stats/expected_values.py, section "gammaln");
        // tolerance 1e-13 relative.
        for (x, want) in [
            (0.1, 2.252712651734206),
            (3.7, 1.428072326665388),
            (52.5, 154.38281063467164),
            (1000.25, 5906.9472682711175),
        ] {
            assert!(
                close(ln_gamma(x), want, 1e-13),
                "gammaln({x}) = {}",
                ln_gamma(x)
            );
        }
    }

    #[test]
    fn ln_beta_matches_mpmath() {
        // float(mpmath.log(mpmath.beta(a, b))) at 40 digits, mpmath 1.4.1
        // (tools/study-stats/expected_values.py, section "betaln"); 1e-14 relative. Not SciPy: its
        // special.betaln (1.17.1) is itself off by up to 1.7e-13 relative on the large-argument
        // cases here, which are the point of ln_beta.
        for (a, b, want) in [
            (0.5, 0.5, 1.1447298858494002),
            (2.0, 3.5, -2.7568403652716422),
            (0.5, 500.0, -2.5346891063280625),
            (12.5, 3.0, -7.109419798619222),
            (250.0, 0.5, -2.187865516339755),
            (229.5, 0.5, -2.1450419099471034),
            (40.0, 60.0, -67.96861624748244),
            (1000.0, 2000.0, -1911.8746142144516),
        ] {
            let got = ln_beta(a, b);
            assert!(
                close(got, want, 1e-14),
                "ln B({a}, {b}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn incomplete_beta_matches_scipy() {
        // scipy.special.betainc(a, b, x), SciPy 1.17.1 (section "betainc"); 1e-12 relative.
        // The last three have large parameters (t and F tests with hundreds of df).
        for (a, b, x, want) in [
            (0.5, 0.5, 0.3, 0.36901011956554536),
            (2.0, 3.0, 0.4, 0.5247999999999999),
            (5.0, 0.5, 0.9, 0.3166429150200122),
            (1.5, 0.5, 0.05, 0.00481823046819855),
            (10.0, 10.0, 0.5, 0.5),
            (7.0, 0.5, 0.1, 2.1929784251869382e-08),
            (200.0, 3.5, 0.99, 0.7745576705952791),
            (500.0, 0.5, 0.9999, 0.7518836295709816),
            (229.5, 1.0, 0.97, 0.0009206891265326271),
            (400.0, 600.0, 0.41, 0.7414814534942447),
        ] {
            let got = regularized_incomplete_beta(a, b, x);
            assert!(
                close(got, want, 1e-12),
                "I_{x}({a},{b}) = {got}, want {want}"
            );
        }
        assert!(regularized_incomplete_beta(-1.0, 1.0, 0.5).is_nan());
    }

    #[test]
    fn normal_matches_scipy() {
        // scipy.stats.norm.cdf(x), SciPy 1.17.1 (section "norm"); 1e-14 relative — the lower
        // tail included, which is what erfc buys over 1 - erf.
        for (x, want) in [
            (0.0, 0.5),
            (1.0, 0.8413447460685429),
            (-1.959963984540054, 0.025),
            (-5.0, 2.866515718791933e-07),
            (-20.0, 2.7536241186061556e-89),
            (-37.5, 4.605353009581954e-308),
            (3.3, 0.9995165758576162),
        ] {
            let got = normal_cdf(x);
            assert!(close(got, want, 1e-13), "Φ({x}) = {got}, want {want}");
        }
        assert!(close(normal_sf(2.0), 0.022750131948179195, 1e-13));
        // scipy.stats.norm.ppf(p), SciPy 1.17.1; 1e-13 relative.
        for (p, want) in [
            (0.975, 1.959963984540054),
            (0.5, 0.0),
            (0.8, 0.8416212335729143),
            (1e-10, -6.361340902404056),
            (0.025, -1.9599639845400545),
            (0.02425, -1.972961051311885),
            (0.999, 3.090232306167813),
            // Near the median the quantile keeps its relative accuracy.
            (0.500004, 1.0026513098702025e-05),
            (0.4999, -0.0002506628300880075),
        ] {
            let got = normal_quantile(p);
            assert!(
                (got - want).abs() <= 1e-13 * want.abs(),
                "Φ⁻¹({p}) = {got}, want {want}"
            );
        }
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_quantile(1.0), f64::INFINITY);
        assert!(normal_quantile(1.5).is_nan());
    }

    #[test]
    fn t_matches_scipy() {
        // scipy.stats.t.cdf(t, df), SciPy 1.17.1 (section "t"); 1e-12 relative.
        for (t, df, want) in [
            (0.0, 3.0, 0.5),
            (1.0, 1.0, 0.75),
            (2.0, 5.0, 0.9490302605850708),
            (-1.5, 7.3, 0.08778154640154305),
            (3.2, 2.5, 0.9682944858818092),
            (10.0, 4.0, 0.999718998188642),
            (0.3, 30.0, 0.6168769473578236),
            (-8.0, 18.0, 1.22536026610955e-07),
            // Small t on many df: 1 - x is passed exactly, not recomputed from x ≈ 1.
            (0.005, 1700.0, 0.5019944097687477),
            (-0.02, 459.0, 0.49202603174120385),
        ] {
            let got = t_cdf(t, df);
            assert!(
                close(got, want, 1e-12),
                "cdf({t}, {df}) = {got}, want {want}"
            );
        }
        // scipy.stats.t.sf(t, df): the upper tail without cancellation; 1e-12 relative.
        assert!(close(t_sf(8.0, 18.0), 1.22536026610955e-07, 1e-12));
        // scipy.stats.t.ppf(p, df), SciPy 1.17.1; 1e-12 relative.
        for (p, df, want) in [
            (0.975, 1.0, 12.706204736174694),
            (0.975, 2.5, 3.5746548420036817),
            (0.975, 4.7, 2.62072607535317),
            (0.975, 18.0, 2.1009220402410382),
            (0.975, 31.0, 2.039513446396408),
            (0.025, 10.0, -2.2281388519862753),
            (0.999375, 18.0, 3.8215142137831593),
            (1e-6, 3.0, -103.29946778041935),
            (0.6, 1000.0, 0.25341451583949876),
            (0.5001, 1129.0, 0.00025071834172836667),
        ] {
            let got = t_quantile(p, df);
            assert!(
                close(got, want, 1e-12),
                "ppf({p}, {df}) = {got}, want {want}"
            );
        }
        // scipy.stats.t.isf(q, df), SciPy 1.17.1: a Holm first-step critical value
        // (alpha = 0.05/20, two-sided) that t_quantile(1 - q) would get from a rounded 1 - q;
        // 1e-12 relative.
        assert!(
            close(t_isf(0.00125, 18.0), 3.5101041304634215, 1e-12),
            "{}",
            t_isf(0.00125, 18.0)
        );
        assert!(close(t_isf(0.975, 10.0), -2.228138851986274, 1e-12));
        assert_eq!(t_quantile(0.5, 7.0), 0.0);
        assert!(t_quantile(0.5, 0.0).is_nan());
    }

    #[test]
    fn f_matches_scipy() {
        // scipy.stats.f.cdf(x, d1, d2) and f.sf(x, d1, d2), SciPy 1.17.1 (section "f");
        // 1e-12 relative.
        for (x, d1, d2, cdf, sf) in [
            (1.0, 1.0, 14.0, 0.6657180566053426, 0.3342819433946576),
            (3.5, 2.0, 10.0, 0.9295703722276257, 0.07042962777237427),
            (0.2, 4.0, 40.5, 0.0630995078389775, 0.9369004921610224),
            (45.0, 1.0, 27.0, 0.9999996649347168, 3.3506528329314427e-07),
            (250.0, 2.0, 100.0, 1.0, 1.237193076074425e-39),
        ] {
            assert!(close(f_cdf(x, d1, d2), cdf, 1e-12), "cdf({x},{d1},{d2})");
            assert!(
                close(f_sf(x, d1, d2), sf, 1e-12),
                "sf({x},{d1},{d2}) = {}",
                f_sf(x, d1, d2)
            );
        }
        assert_eq!(f_sf(0.0, 1.0, 1.0), 1.0);
        assert_eq!(f_cdf(-1.0, 1.0, 1.0), 0.0);
    }

    #[test]
    fn nct_matches_scipy() {
        // scipy.stats.nct.cdf(t, df, nc) and nct.sf, SciPy 1.17.1 (section "nct"; SciPy uses
        // Boost's non_central_t). The series stops at a remainder bound of 1e-15 and lower tails
        // for t < 0 come from 1 - F, so: 1e-12 relative for values ≥ 1e-3, 1e-13 absolute below
        // (and for the survival function, 1 - cdf where t ≥ 0).
        for (t, df, nc, cdf) in [
            (2.024394164, 38.0, 3.1622776601683795, 0.13104719832651668),
            (1.0, 5.0, 0.5, 0.6665357026872718),
            (-1.0, 5.0, 0.5, 0.08244409105672337),
            (3.0, 10.0, 2.0, 0.7791719989702087),
            (0.5, 2.5, -1.0, 0.9226440475764485),
            (4.1, 17.3, 2.8, 0.8463546794033642),
            (-2.1, 18.0, 2.8, 1.902320496374038e-06),
            (12.0, 9.0, 8.0, 0.8959151956464381),
            (0.0, 4.0, 1.5, 0.06680720126885809),
        ] {
            let got = nct_cdf(t, df, nc);
            let ok = if cdf >= 1e-3 {
                close(got, cdf, 1e-12)
            } else {
                close_abs(got, cdf, 1e-13)
            };
            assert!(ok, "nct.cdf({t}, {df}, {nc}) = {got}, want {cdf}");
            let sf = nct_sf(t, df, nc);
            assert!(
                close_abs(sf, 1.0 - cdf, 1e-13),
                "nct.sf({t}, {df}, {nc}) = {sf}"
            );
        }
        // With ncp = 0 it is Student's t.
        assert_eq!(nct_cdf(1.3, 6.0, 0.0), t_cdf(1.3, 6.0));
    }
}
