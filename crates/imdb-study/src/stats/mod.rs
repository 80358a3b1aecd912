//! The study's statistics: pure functions and plain structs over `f64`.
//!
//! Every distribution function, the least-squares solver and the random number generator are
//! written out here, so a number the study reports cannot change because another crate changed.
//! Expected values in the tests come from SciPy 1.17.1, statsmodels 0.15.0 and mpmath 1.4.1 via
//! `tools/study-stats/expected_values.py` (its output beside it, `expected_values.out`; the
//! folder's README says how to rerun it), or from published examples (R's `power.t.test`
//! documentation, Wikipedia's Holm example), each cited at its test.
//!
//! | module | what it is for |
//! | --- | --- |
//! | [`dist`] | normal, Student t, F and noncentral t distribution functions and quantiles |
//! | [`ttest`] | mean, sample sd, the t interval of a mean, Welch's two-sample test (per-seed summaries) |
//! | [`holm`] | Holm–Bonferroni adjustment and decisions for a family of hypotheses |
//! | [`power`] | minimum detectable difference for a number of seeds, and seeds needed for a difference |
//! | [`bootstrap`] | paired bootstrap over test reviews *and* seeds, on per-review correctness bitsets |
//! | [`linear_model`] | OLS + ANOVA of the balanced factorial grid (main effects + two-way interactions) |
//! | [`rng`] | the fixed PRNG (xoshiro256** seeded by SplitMix64) behind the bootstrap |
//!
//! # Example
//!
//! Compare two variants by Welch's test over seeds, correct for the number of comparisons, and
//! say what difference the design could have detected:
//!
//! ```
//! use imdb_study::stats::holm::Family;
//! use imdb_study::stats::power::{min_detectable_difference, Spread};
//! use imdb_study::stats::ttest::{sample_std, welch};
//!
//! let dropout = [0.8812, 0.8790, 0.8835, 0.8801, 0.8824];
//! let baseline = [0.8750, 0.8771, 0.8702, 0.8769, 0.8740];
//! let l2 = [0.8760, 0.8749, 0.8771, 0.8745, 0.8757];
//!
//! let tests = [("dropout", welch(&dropout, &baseline).unwrap()), ("l2", welch(&l2, &baseline).unwrap())];
//! let family = Family::new("regularisers vs baseline", 0.05, tests.iter().map(|(h, t)| (*h, t.p)));
//! assert!(family.get("dropout").unwrap().rejected);
//! assert!(!family.get("l2").unwrap().rejected);
//!
//! // With 5 seeds per side and the baseline's spread, at Holm's first-step level (alpha/m),
//! // which true difference would we have found 80% of the time?
//! let sd = sample_std(&baseline).unwrap();
//! let mdd = min_detectable_difference(5, 5, Spread::Pooled { sd }, 0.05 / 2.0, 0.8).unwrap();
//! assert!(mdd.diff > 0.004 && mdd.diff < 0.007, "{mdd:?}");
//! ```
//!
//! The bootstrap and the factorial model take per-review correctness and per-run accuracies; see
//! [`bootstrap::paired_bootstrap`] and [`linear_model::fit_factorial`].

pub mod bootstrap;
pub mod dist;
pub mod holm;
pub mod linear_model;
pub mod power;
pub mod rng;
pub mod ttest;

pub use ttest::{Estimate, TTest, mean, sample_std, welch};
