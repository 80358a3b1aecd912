#!/usr/bin/env python3
"""Expected values for the unit tests of crates/imdb-study/src/stats/ (the study's statistics).

Setup (once):  python3 -m venv venv && venv/bin/pip install scipy statsmodels numpy pandas mpmath
Run:           venv/bin/python tools/study-stats/expected_values.py [section ...] \
                   > tools/study-stats/expected_values.out

Every number in a test comment that says "tools/study-stats/expected_values.py, section X" (or just
"section X") is printed by the section X below, as repr (all 17 significant digits); the last run's
output is kept beside this file as expected_values.out. The first line printed gives the versions
(the tests' values came from Python 3.11.7, NumPy 2.4.6, SciPy 1.17.1, statsmodels 0.15.0,
pandas 3.1.1, mpmath 1.4.1). No test runs Python: the values are copied into the Rust tests by hand.
"""
import sys
import platform

import numpy as np
import pandas as pd
import scipy
import statsmodels
import mpmath
from scipy import optimize, special, stats

print(f"# Python {platform.python_version()}, NumPy {np.__version__}, SciPy {scipy.__version__}, "
      f"statsmodels {statsmodels.__version__}, pandas {pd.__version__}, mpmath {mpmath.__version__}")
mpmath.mp.dps = 40

SECTIONS = {}


def section(f):
    SECTIONS[f.__name__] = f
    return f


def show(label, value):
    print(f"{label} = {value!r}")


# --- dist ------------------------------------------------------------------------------------
@section
def gammaln():
    for x in [0.1, 3.7, 52.5, 1000.25]:
        show(f"gammaln({x})", float(special.gammaln(x)))


@section
def betaln():
    for a, b in [(0.5, 0.5), (2.0, 3.5), (0.5, 500.0), (12.5, 3.0), (250.0, 0.5), (229.5, 0.5),
                 (40.0, 60.0), (1000.0, 2000.0)]:
        # SciPy's betaln is off by ~1e-13 relative for large arguments (e.g. (0.5, 500)), so the
        # tests use the 40-digit mpmath value; SciPy's is printed beside it for the record.
        show(f"mpmath log(beta({a}, {b})), scipy betaln",
             (float(mpmath.log(mpmath.beta(a, b))), float(special.betaln(a, b))))


@section
def betainc():
    for a, b, x in [(0.5, 0.5, 0.3), (2.0, 3.0, 0.4), (5.0, 0.5, 0.9), (1.5, 0.5, 0.05),
                    (10.0, 10.0, 0.5), (7.0, 0.5, 0.1), (200.0, 3.5, 0.99),
                    (500.0, 0.5, 0.9999), (229.5, 1.0, 0.97), (400.0, 600.0, 0.41)]:
        show(f"betainc({a}, {b}, {x})", float(special.betainc(a, b, x)))


@section
def norm():
    for x in [0.0, 1.0, -1.959963984540054, -5.0, -20.0, -37.5, 3.3]:
        show(f"norm.cdf({x})", float(stats.norm.cdf(x)))
    show("norm.sf(2.0)", float(stats.norm.sf(2.0)))
    for p in [0.975, 0.5, 0.8, 1e-10, 0.025, 0.02425, 0.999, 0.500004, 0.4999]:
        show(f"norm.ppf({p})", float(stats.norm.ppf(p)))


@section
def t():
    for x, df in [(0.0, 3.0), (1.0, 1.0), (2.0, 5.0), (-1.5, 7.3), (3.2, 2.5), (10.0, 4.0),
                  (0.3, 30.0), (-8.0, 18.0), (0.005, 1700.0), (-0.02, 459.0)]:
        show(f"t.cdf({x}, {df})", float(stats.t.cdf(x, df)))
    show("t.sf(8.0, 18.0)", float(stats.t.sf(8.0, 18.0)))
    for p, df in [(0.975, 1.0), (0.975, 2.5), (0.975, 4.7), (0.975, 18.0), (0.975, 31.0),
                  (0.025, 10.0), (0.999375, 18.0), (1e-6, 3.0), (0.6, 1000.0), (0.5001, 1129.0)]:
        show(f"t.ppf({p}, {df})", float(stats.t.ppf(p, df)))
    for q, df in [(0.00125, 18.0), (0.975, 10.0)]:
        show(f"t.isf({q}, {df})", float(stats.t.isf(q, df)))


@section
def f():
    for x, d1, d2 in [(1.0, 1.0, 14.0), (3.5, 2.0, 10.0), (0.2, 4.0, 40.5), (45.0, 1.0, 27.0),
                      (250.0, 2.0, 100.0)]:
        show(f"f.cdf({x}, {d1}, {d2}), f.sf", (float(stats.f.cdf(x, d1, d2)),
                                               float(stats.f.sf(x, d1, d2))))


@section
def nct():
    for x, df, nc in [(2.024394164, 38.0, 3.1622776601683795), (1.0, 5.0, 0.5), (-1.0, 5.0, 0.5),
                      (3.0, 10.0, 2.0), (0.5, 2.5, -1.0), (4.1, 17.3, 2.8), (-2.1, 18.0, 2.8),
                      (12.0, 9.0, 8.0), (0.0, 4.0, 1.5)]:
        show(f"nct.cdf({x}, {df}, {nc}), nct.sf", (float(stats.nct.cdf(x, df, nc)),
                                                   float(stats.nct.sf(x, df, nc))))


# --- ttest --------------------------------------------------------------------------------------
@section
def welch():
    for a, b in [([0.8812, 0.8790, 0.8835, 0.8801, 0.8824], [0.8750, 0.8771, 0.8702, 0.8769, 0.8740]),
                 ([0.87, 0.88, 0.89], [0.875, 0.879, 0.883, 0.90])]:
        r = stats.ttest_ind(a, b, equal_var=False)
        ci = r.confidence_interval(0.95)
        show(f"ttest_ind({a}, {b}, equal_var=False): t, p, df, ci",
             (float(r.statistic), float(r.pvalue), float(r.df), float(ci.low), float(ci.high)))


# --- holm ---------------------------------------------------------------------------------------
@section
def holm():
    from statsmodels.stats.multitest import multipletests
    for p in [[0.01, 0.03, 0.04, 0.005], [0.2, 0.001, 0.02, 0.0004, 0.02, 0.75, 0.049, 0.013],
              [0.3, 0.6, 0.9, 0.04]]:
        reject, corrected, _, _ = multipletests(p, alpha=0.05, method="holm")
        show(f"multipletests({p}, alpha=0.05, method='holm'): reject, pvals_corrected",
             ([bool(r) for r in reject], [float(c) for c in corrected]))


# --- power --------------------------------------------------------------------------------------
def t_power(ncp, df, alpha, strict=True):
    """Power of the two-sided t test at level alpha when the statistic is noncentral t(df, ncp);
    strict=True counts rejections in both tails (statsmodels, pwr, R's strict=TRUE), False only
    the upper one (R's power.t.test default)."""
    crit = stats.t.isf(alpha / 2, df)
    p = stats.nct.sf(crit, df, ncp)
    if strict:
        p += stats.nct.cdf(-crit, df, ncp)
    return float(p)


def pooled(n_a, n_b, sd):
    return n_a + n_b - 2, sd * np.sqrt(1 / n_a + 1 / n_b)


def welch_df_se(n_a, n_b, sd_a, sd_b):
    va, vb = sd_a**2 / n_a, sd_b**2 / n_b
    return (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1)), np.sqrt(va + vb)


def root(f, lo, hi):
    return float(optimize.brentq(f, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500))


def increasing_root(f, lo, hi):
    """The root of an increasing f above lo. SciPy 1.17.1's nct.cdf returns NaN far in the lower
    tail (e.g. nct.cdf(-2.1, 18, 10)), so the bracket is grown from hi in small steps and stops at
    the first point where f is positive instead of starting wide."""
    while not f(hi) > 0:
        hi *= 1.1
    return root(f, lo, hi)


@section
def power():
    from statsmodels.stats.power import TTestIndPower
    sm = TTestIndPower()
    # R 4.x documentation of power.t.test, "Examples" (outputs as printed by R):
    #   power.t.test(n = 20, delta = 1)                 -> power = 0.8689528
    #   power.t.test(power = .90, delta = 1)            -> n = 22.02110
    #   power.t.test(power = .90, delta = 1, alternative = "one.sided") -> n = 17.84713
    # pwr 1.3 (Cross Validated question 'Power calculations'):
    #   pwr.t.test(d = 2/3, power = 0.9, sig.level = 0.05, type = "two.sample") -> n = 48.26427
    df, se = pooled(20, 20, 1.0)
    show("power n=20 delta=1 sd=1 alpha=.05: non-strict, strict",
         (t_power(1 / se, df, 0.05, strict=False), t_power(1 / se, df, 0.05)))

    def n_root(delta, power, alpha, strict):
        return increasing_root(lambda n: t_power(delta / pooled(n, n, 1.0)[1], 2 * n - 2, alpha, strict) - power,
                    1.5, 2.0)

    show("n for power .9, delta 1, alpha .05, non-strict", n_root(1.0, 0.9, 0.05, False))
    show("n for power .9, delta 1, one-sided .05 (= non-strict two-sided .10)",
         n_root(1.0, 0.9, 0.10, False))
    show("n for power .9, d 2/3, alpha .05, strict", n_root(2 / 3, 0.9, 0.05, True))

    # statsmodels: power at a difference, and the minimum detectable difference at power 0.8.
    for n_a, n_b, sd, alpha, diff in [(10, 10, 0.003, 0.05, 0.004), (10, 10, 0.003, 0.05 / 20, 0.004),
                                      (5, 8, 0.01, 0.01, 0.02), (20, 20, 1.0, 0.05 / 48, 1.2),
                                      (3, 3, 0.5, 0.05, 1.5)]:
        ratio = n_b / n_a
        p_sm = float(sm.power(effect_size=diff / sd, nobs1=n_a, alpha=alpha, ratio=ratio))
        es_sm = float(sm.solve_power(effect_size=None, nobs1=n_a, alpha=alpha, power=0.8, ratio=ratio))
        def f(d):
            return float(sm.power(effect_size=d, nobs1=n_a, alpha=alpha, ratio=ratio)) - 0.8
        es = increasing_root(f, 1e-6, 0.25)
        show(f"n_a={n_a} n_b={n_b} sd={sd} alpha={alpha!r} diff={diff}: statsmodels power, "
             f"MDD(0.8) by brentq on statsmodels' power, MDD from solve_power",
             (p_sm, es * sd, es_sm * sd))
    # statsmodels: seeds per group for a difference (continuous nobs1 with ratio 1).
    for diff, sd, alpha, pw in [(0.004, 0.003, 0.05 / 20, 0.8), (0.5, 1.0, 0.05, 0.8),
                                (0.002, 0.003, 0.01, 0.9)]:
        n_sm = float(sm.solve_power(effect_size=diff / sd, nobs1=None, alpha=alpha, power=pw, ratio=1.0))
        n = increasing_root(lambda n: float(sm.power(effect_size=diff / sd, nobs1=n, alpha=alpha, ratio=1.0)) - pw,
                 1.5, 2.0)
        show(f"diff={diff} sd={sd} alpha={alpha!r} power={pw}: n by brentq on statsmodels' power, "
             f"n from solve_power", (n, n_sm))


@section
def welch_power():
    # Unequal sds: the Welch test's power approximated by the noncentral t with the
    # Welch-Satterthwaite df of the population sds and ncp = diff/se (no library does this, so the
    # formula is computed here with scipy.stats.nct, then checked by simulation).
    rng = np.random.default_rng(20240607)
    for n_a, n_b, sd_a, sd_b, alpha in [(10, 12, 0.002, 0.004, 0.005), (10, 10, 0.003, 0.0015, 0.05),
                                        (4, 6, 1.0, 3.0, 0.05)]:
        df, se = welch_df_se(n_a, n_b, sd_a, sd_b)
        ncp = increasing_root(lambda c: t_power(c, df, alpha) - 0.8, 0.0, 1.0)
        mdd = ncp * se
        reps = 200_000
        a = rng.normal(mdd, sd_a, (reps, n_a))
        b = rng.normal(0.0, sd_b, (reps, n_b))
        p = stats.ttest_ind(a, b, axis=1, equal_var=False).pvalue
        sim = float(np.mean(p < alpha))
        show(f"welch n_a={n_a} n_b={n_b} sd_a={sd_a} sd_b={sd_b} alpha={alpha}: df, se, MDD(0.8), "
             f"power at MDD computed, simulated power at MDD ({reps} reps, se 0.0009)",
             (float(df), float(se), float(mdd), t_power(ncp, df, alpha), sim))
        n = increasing_root(lambda n: t_power(mdd / welch_df_se(n, n, sd_a, sd_b)[1],
                                   welch_df_se(n, n, sd_a, sd_b)[0], alpha) - 0.9, 1.5, 2.0)
        show("  equal n per group for power 0.9 at that MDD", n)


# --- bootstrap ----------------------------------------------------------------------------------
@section
def percentile():
    show("numpy.percentile([1, 2, 4, 8, 16], [2.5, 50, 97.5])",
         [float(v) for v in np.percentile([1, 2, 4, 8, 16], [2.5, 50, 97.5])])


# --- linear_model -------------------------------------------------------------------------------
SMALL = [0.8812, 0.8790, 0.8835, 0.8801, 0.8824, 0.8843, 0.8750, 0.8771, 0.8702, 0.8769, 0.8740,
         0.8781, 0.8860, 0.8851, 0.8877, 0.8899, 0.8842, 0.8836, 0.8795, 0.8803, 0.8788, 0.8820,
         0.8813, 0.8776]


@section
def anova():
    """The 2x2x3 design with 2 runs per cell of linear_model's tests: a slowest, then b, then c,
    then the replicate."""
    import itertools
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm
    rows = [dict(a=a, b=b, c=c) for a, b, c in itertools.product(range(2), range(2), range(3))
            for _ in range(2)]
    df = pd.DataFrame(rows)
    df["y"] = SMALL
    formula = ("y ~ C(a, Sum) + C(b, Sum) + C(c, Sum) + C(a, Sum):C(b, Sum)"
               " + C(a, Sum):C(c, Sum) + C(b, Sum):C(c, Sum)")
    m = smf.ols(formula, df).fit()
    pd.set_option("display.precision", 17)
    pd.set_option("display.width", 200)
    for typ in (1, 2, 3):
        table = anova_lm(m, typ=typ)
        print(f"anova_lm(m, typ={typ}):")
        print(table.to_string())
    table = anova_lm(m, typ=2)
    for term, r in table.iterrows():
        show(f"typ=2 {term}: df, sum_sq, F, p",
             (float(r["df"]), float(r["sum_sq"]), float(r["F"]), float(r["PR(>F)"])))
    ci = m.conf_int()
    for name in m.params.index:
        show(f"coef {name}: est, se, p, ci",
             (float(m.params[name]), float(m.bse[name]), float(m.pvalues[name]),
              [float(ci.loc[name, 0]), float(ci.loc[name, 1])]))
    # Contrasts "level - first level", averaged over the other factors, as rows of L over
    # m.params: with Sum coding level j < L-1 has effect beta_j, the last level -sum(beta).
    names = list(m.params.index)

    def level_vector(factor, levels, level):
        v = np.zeros(len(names))
        for j in range(levels - 1):
            col = names.index(f"C({factor}, Sum)[S.{j}]")
            v[col] = 1.0 if level == j else (-1.0 if level == levels - 1 else 0.0)
        return v

    for factor, levels in [("a", 2), ("b", 2), ("c", 3)]:
        for level in range(1, levels):
            L = level_vector(factor, levels, level) - level_vector(factor, levels, 0)
            t = m.t_test(L)
            ci = t.conf_int(alpha=0.05)[0]
            show(f"contrast {factor}[{level}] - {factor}[0]: est, se, p, ci",
                 (float(t.effect[0]), float(t.sd[0][0]), float(t.pvalue), [float(ci[0]), float(ci[1])]))


# --- rng ---------------------------------------------------------------------------------------
M64 = (1 << 64) - 1


def splitmix64(state):
    """A line-by-line port of https://prng.di.unimi.it/splitmix64.c; yields forever."""
    while True:
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        yield z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


def xoshiro256starstar(seed):
    """A port of https://prng.di.unimi.it/xoshiro256starstar.c, state from SplitMix64(seed)."""
    sm = splitmix64(seed)
    s = [next(sm) for _ in range(4)]
    while True:
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        yield result


@section
def rng():
    sm = splitmix64(1234567)
    show("splitmix64(1234567) first 3", [next(sm) for _ in range(3)])
    x = xoshiro256starstar(42)
    show("xoshiro256** seeded by splitmix64(42), first 3", [next(x) for _ in range(3)])


if __name__ == "__main__":
    names = sys.argv[1:] or list(SECTIONS)
    for name in names:
        print(f"\n## {name}")
        SECTIONS[name]()
