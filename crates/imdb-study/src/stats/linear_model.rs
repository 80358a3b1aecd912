//! Ordinary least squares for a balanced full-factorial design with categorical factors: every
//! main effect and every two-way interaction, coefficients, "what is it worth" contrasts, an ANOVA
//! table and Holm-adjusted p-values over the effects.
//!
//! The study's grid (layers × units × loss × activation × regulariser, 48 cells × n seeds) asks
//! "which choices matter, by how much, and do any two interact?". One model answers all of it at
//! once, using every run, instead of many pairwise t tests.
//!
//! **Coding.** Each factor with `L` levels gets `L - 1` sum-to-zero (effect) columns, as R's
//! `contr.sum` and patsy's `Sum`: column `j` is +1 at level `j`, −1 at the last level, 0
//! elsewhere. Interaction columns are products of main-effect columns. The intercept is then the
//! grand mean of the cell means and a main-effect coefficient is a level's deviation from it,
//! averaged over the other factors — which is what makes the contrasts below "averaged over the
//! others" and not "at the others' first level", as treatment coding would.
//!
//! **Balance.** Every cell of the full grid must hold the same number of runs; the fit refuses
//! otherwise ([`ModelError::Unbalanced`]). Balance makes the columns of different terms
//! orthogonal, so each term's sum of squares does not depend on what else is in the model: Types
//! I, II and III coincide, and the sums of squares add up to the total. An unbalanced grid (a
//! crashed run) would need a choice among them; the study should re-run the missing seed instead.
//!
//! **Solving.** The normal equations `XᵀX β = Xᵀy` by Cholesky. That squares the condition number
//! of `X`, which is harmless here: in a balanced design with effect coding `XᵀX` is block-diagonal
//! by term, each block a Kronecker product of `[[2,1],[1,2]]`-like matrices, with condition number
//! at most 9 for two 3-level factors. `(XᵀX)⁻¹` is needed anyway for the standard errors.

use serde::{Deserialize, Serialize};

use crate::stats::dist::{f_sf, t_isf, t_two_sided_p};
use crate::stats::holm::{Family, holm_adjust};

/// A categorical factor of the design.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Factor {
    /// Name, e.g. `"regulariser"`.
    pub name: String,
    /// Level names in order; the first is the baseline of the contrasts, e.g.
    /// `["none", "l2", "dropout"]`.
    pub levels: Vec<String>,
}

impl Factor {
    /// A factor named `name` with the given levels.
    pub fn new(name: &str, levels: &[&str]) -> Factor {
        Factor {
            name: name.to_string(),
            levels: levels.iter().map(|l| l.to_string()).collect(),
        }
    }
}

/// One run: the level index of each factor (in the order of the factors) and the response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// `levels[f]` is the index into `factors[f].levels`.
    pub levels: Vec<usize>,
    /// The response, e.g. test accuracy.
    pub response: f64,
}

/// Why a design cannot be fitted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ModelError {
    /// No factors were given.
    NoFactors,
    /// A factor has fewer than two levels.
    TooFewLevels {
        /// The factor.
        factor: String,
    },
    /// An observation has the wrong number of level indices.
    WrongArity {
        /// Index of the observation.
        observation: usize,
        /// Number of level indices it has.
        found: usize,
        /// Number of factors.
        expected: usize,
    },
    /// A level index is out of range for its factor.
    LevelOutOfRange {
        /// Index of the observation.
        observation: usize,
        /// The factor.
        factor: String,
        /// The index found.
        level: usize,
    },
    /// A response is NaN or infinite.
    NonFiniteResponse {
        /// Index of the observation.
        observation: usize,
    },
    /// The cells of the grid hold different numbers of runs (an empty cell gives `min = 0`).
    Unbalanced {
        /// Fewest runs in a cell.
        min: usize,
        /// Most runs in a cell.
        max: usize,
    },
    /// As many parameters as runs: nothing is left to estimate the error from.
    NoResidualDf {
        /// Number of runs.
        observations: usize,
        /// Number of parameters of the model.
        parameters: usize,
    },
    /// The model fits every run exactly, so there is no error variance to test against.
    ZeroResidual,
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelError::NoFactors => write!(f, "a design needs at least one factor"),
            ModelError::TooFewLevels { factor } => {
                write!(f, "factor {factor} needs at least two levels")
            }
            ModelError::WrongArity {
                observation,
                found,
                expected,
            } => write!(
                f,
                "observation {observation} has {found} levels for {expected} factors"
            ),
            ModelError::LevelOutOfRange {
                observation,
                factor,
                level,
            } => write!(
                f,
                "observation {observation}: level {level} out of range for {factor}"
            ),
            ModelError::NonFiniteResponse { observation } => {
                write!(f, "observation {observation} has a non-finite response")
            }
            ModelError::Unbalanced { min, max } => write!(
                f,
                "unbalanced design: cells hold between {min} and {max} runs; every cell needs the same number"
            ),
            ModelError::NoResidualDf {
                observations,
                parameters,
            } => write!(
                f,
                "{observations} runs for {parameters} parameters leave no residual df"
            ),
            ModelError::ZeroResidual => write!(f, "the model fits exactly; no error variance"),
        }
    }
}

impl std::error::Error for ModelError {}

/// A model coefficient (in effect coding) with its inference.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Coefficient {
    /// `"(Intercept)"`, `"factor[level]"` or `"a[level]:b[level]"`.
    pub name: String,
    /// The estimate.
    pub estimate: f64,
    /// Its standard error.
    pub se: f64,
    /// `estimate / se`.
    pub t: f64,
    /// Two-sided p-value on the residual df.
    pub p: f64,
    /// 95% confidence interval.
    pub ci95: [f64; 2],
}

/// A difference between two levels of one factor, averaged over the other factors, in the
/// response's units: "what switching from `baseline` to `level` is worth".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Contrast {
    /// The factor.
    pub factor: String,
    /// The level compared.
    pub level: String,
    /// The level it is compared with (the factor's first level).
    pub baseline: String,
    /// Marginal mean of `level` minus marginal mean of `baseline`.
    pub estimate: f64,
    /// Its standard error.
    pub se: f64,
    /// `estimate / se`.
    pub t: f64,
    /// Two-sided p-value on the residual df (not adjusted for multiplicity).
    pub p: f64,
    /// 95% confidence interval.
    pub ci95: [f64; 2],
}

/// A two-way interaction as numbers a reader can look at: the marginal means of every pair of
/// levels (averaged over the other factors) and, for each non-first level of both factors, how
/// much the first factor's effect changes with the second.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairMeans {
    /// `"a:b"`, as in the ANOVA table.
    pub term: String,
    /// The first factor's name.
    pub a: String,
    /// The second factor's name.
    pub b: String,
    /// `means[i][j]`: the fitted mean at level `i` of `a` and `j` of `b`, averaged over the other
    /// factors (in a balanced design, the observed mean of those runs).
    pub means: Vec<Vec<f64>>,
    /// The standard error of each of `means`.
    pub se: Vec<Vec<f64>>,
    /// For `i ≥ 1` of `a` and `j ≥ 1` of `b`, in that order (`a` slowest).
    pub contrasts: Vec<InteractionContrast>,
}

/// A difference of differences: `(a_level − a_baseline at b_level) − (a_level − a_baseline at
/// b_baseline)`, i.e. how much switching `a` is worth more (or less) when `b` is switched too.
/// Zero when the two choices do not interact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InteractionContrast {
    /// The level of the first factor compared.
    pub a_level: String,
    /// The first factor's first level.
    pub a_baseline: String,
    /// The level of the second factor at which the first one's effect is taken.
    pub b_level: String,
    /// The second factor's first level.
    pub b_baseline: String,
    /// The difference of differences.
    pub estimate: f64,
    /// Its standard error.
    pub se: f64,
    /// `estimate / se`.
    pub t: f64,
    /// Two-sided p-value on the residual df (not adjusted for multiplicity).
    pub p: f64,
    /// 95% confidence interval.
    pub ci95: [f64; 2],
}

/// One row of the ANOVA table: a main effect or a two-way interaction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnovaRow {
    /// `"factor"` or `"a:b"`.
    pub term: String,
    /// Degrees of freedom of the term.
    pub df: usize,
    /// Sum of squares (Type I = II = III in a balanced design).
    pub sum_sq: f64,
    /// `sum_sq / df`.
    pub mean_sq: f64,
    /// `mean_sq / residual mean square`.
    pub f: f64,
    /// `P(F(df, residual df) > f)`.
    pub p: f64,
    /// Holm-adjusted p over the family of all terms of the table.
    pub p_holm: f64,
}

/// A sum of squares with its degrees of freedom (the residual and total rows).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SumOfSquares {
    /// Degrees of freedom.
    pub df: usize,
    /// Sum of squares.
    pub sum_sq: f64,
    /// `sum_sq / df`.
    pub mean_sq: f64,
}

/// The analysis-of-variance table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Anova {
    /// Main effects in factor order, then two-way interactions in pair order
    /// (`0:1, 0:2, …, 1:2, …`).
    pub terms: Vec<AnovaRow>,
    /// The residual row.
    pub residual: SumOfSquares,
    /// The total (about the mean) row: `N - 1` df.
    pub total: SumOfSquares,
}

/// The fitted model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FactorialFit {
    /// The factors, as given.
    pub factors: Vec<Factor>,
    /// Number of runs.
    pub observations: usize,
    /// Runs per cell.
    pub per_cell: usize,
    /// Coefficients: intercept, main effects, interactions (the order of [`Anova::terms`]).
    pub coefficients: Vec<Coefficient>,
    /// For each factor, each level against the first.
    pub contrasts: Vec<Contrast>,
    /// The ANOVA table.
    pub anova: Anova,
    /// Every two-way interaction's marginal means and contrasts, in the order of the ANOVA's
    /// interaction rows.
    pub pairs: Vec<PairMeans>,
    /// Residual standard deviation, `√(RSS / df)`.
    pub sigma: f64,
    /// `1 - RSS / TSS`.
    pub r_squared: f64,
}

impl FactorialFit {
    /// The ANOVA terms as a Holm [`Family`] at family-wise level `alpha`: which effects the data
    /// support once the number of effects tested is accounted for.
    pub fn effects_family(&self, alpha: f64) -> Family {
        Family::new(
            "factorial effects (main + two-way)",
            alpha,
            self.anova.terms.iter().map(|r| (r.term.clone(), r.p)),
        )
    }

    /// The ANOVA row of `term` (`"units"`, `"loss:activation"`).
    pub fn term(&self, term: &str) -> Option<&AnovaRow> {
        self.anova.terms.iter().find(|r| r.term == term)
    }

    /// The contrast of `level` against the first level of `factor`.
    pub fn contrast(&self, factor: &str, level: &str) -> Option<&Contrast> {
        self.contrasts
            .iter()
            .find(|c| c.factor == factor && c.level == level)
    }

    /// The marginal means and contrasts of the interaction `term` (`"loss:activation"`).
    pub fn pair(&self, term: &str) -> Option<&PairMeans> {
        self.pairs.iter().find(|p| p.term == term)
    }

    /// The coefficient called `name`.
    pub fn coefficient(&self, name: &str) -> Option<&Coefficient> {
        self.coefficients.iter().find(|c| c.name == name)
    }
}

/// A term of the model: which factors, and which columns of `X` hold it.
struct Term {
    name: String,
    columns: std::ops::Range<usize>,
}

/// The effect-coded value of column `j` (`0 ≤ j < L - 1`) at `level` of an `L`-level factor.
fn effect_code(level: usize, j: usize, levels: usize) -> f64 {
    if level == j {
        1.0
    } else if level == levels - 1 {
        -1.0
    } else {
        0.0
    }
}

/// Fits intercept + all main effects + all two-way interactions by least squares.
pub fn fit_factorial(
    factors: &[Factor],
    observations: &[Observation],
) -> Result<FactorialFit, ModelError> {
    let per_cell = check_design(factors, observations)?;
    let k = factors.len();
    let sizes: Vec<usize> = factors.iter().map(|f| f.levels.len()).collect();

    // Columns: intercept, then mains, then interactions, each with its term for the ANOVA.
    let mut names = vec!["(Intercept)".to_string()];
    let mut terms = Vec::new();
    for (f, factor) in factors.iter().enumerate() {
        let start = names.len();
        names.extend((0..sizes[f] - 1).map(|j| format!("{}[{}]", factor.name, factor.levels[j])));
        terms.push(Term {
            name: factor.name.clone(),
            columns: start..names.len(),
        });
    }
    let mut pairs = Vec::new();
    for a in 0..k {
        for b in a + 1..k {
            let start = names.len();
            for ja in 0..sizes[a] - 1 {
                for jb in 0..sizes[b] - 1 {
                    names.push(format!(
                        "{}[{}]:{}[{}]",
                        factors[a].name,
                        factors[a].levels[ja],
                        factors[b].name,
                        factors[b].levels[jb]
                    ));
                }
            }
            pairs.push((a, b));
            terms.push(Term {
                name: format!("{}:{}", factors[a].name, factors[b].name),
                columns: start..names.len(),
            });
        }
    }
    let p = names.len();
    let n = observations.len();
    if n <= p {
        return Err(ModelError::NoResidualDf {
            observations: n,
            parameters: p,
        });
    }

    // The design matrix, row by row (n × p, a few hundred by a few dozen).
    let row = |obs: &Observation| -> Vec<f64> {
        let mut x = Vec::with_capacity(p);
        x.push(1.0);
        let mains: Vec<Vec<f64>> = (0..k)
            .map(|f| {
                (0..sizes[f] - 1)
                    .map(|j| effect_code(obs.levels[f], j, sizes[f]))
                    .collect()
            })
            .collect();
        for m in &mains {
            x.extend(m);
        }
        for &(a, b) in &pairs {
            for xa in &mains[a] {
                for xb in &mains[b] {
                    x.push(xa * xb);
                }
            }
        }
        x
    };
    let x: Vec<Vec<f64>> = observations.iter().map(row).collect();
    let y: Vec<f64> = observations.iter().map(|o| o.response).collect();

    let mut xtx = vec![vec![0.0; p]; p];
    let mut xty = vec![0.0; p];
    for (xi, yi) in x.iter().zip(&y) {
        // Effect-coded rows are mostly zeros; both triangles are accumulated in the same order,
        // so the matrix comes out exactly symmetric.
        for ((row, rhs), &xa) in xtx.iter_mut().zip(&mut xty).zip(xi) {
            if xa == 0.0 {
                continue;
            }
            *rhs += xa * yi;
            for (cell, &xb) in row.iter_mut().zip(xi) {
                *cell += xa * xb;
            }
        }
    }
    let chol = cholesky(&xtx).expect("a balanced full-factorial design has full column rank");
    let beta = chol.solve(&xty);
    let v = chol.inverse(); // (XᵀX)⁻¹; times σ² it is the covariance of β.

    let rss: f64 = x
        .iter()
        .zip(&y)
        .map(|(xi, yi)| {
            let fitted: f64 = xi.iter().zip(&beta).map(|(a, b)| a * b).sum();
            (yi - fitted).powi(2)
        })
        .sum();
    let df_res = n - p;
    let sigma2 = rss / df_res as f64;
    let mean_y = y.iter().sum::<f64>() / n as f64;
    let tss: f64 = y.iter().map(|yi| (yi - mean_y).powi(2)).sum();
    // Relative to the spread of the data: an exact fit up to rounding is still an exact fit.
    if sigma2 <= tss * 1e-28 || sigma2 == 0.0 {
        return Err(ModelError::ZeroResidual);
    }
    let dfr = df_res as f64;
    let t_crit = t_isf(0.025, dfr);
    let infer = |estimate: f64, variance: f64| {
        let se = (sigma2 * variance).sqrt();
        let t = estimate / se;
        (
            se,
            t,
            t_two_sided_p(t, dfr),
            [estimate - t_crit * se, estimate + t_crit * se],
        )
    };

    let coefficients = names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let (se, t, p, ci95) = infer(beta[j], v[j][j]);
            Coefficient {
                name: name.clone(),
                estimate: beta[j],
                se,
                t,
                p,
                ci95,
            }
        })
        .collect();

    // Contrast level ℓ − level 0 of factor f. The level effects are α_j = β_j for j < L−1 and
    // α_{L−1} = −Σ_j β_j, so the contrast is c·β with c_j = [j = ℓ] − [j = 0], and both terms
    // become −1 on every column when they refer to the last level.
    let mut contrasts = Vec::new();
    for (f, factor) in factors.iter().enumerate() {
        let cols = terms[f].columns.clone();
        let level_vector = |level: usize| -> Vec<f64> {
            (0..sizes[f] - 1)
                .map(|j| effect_code(level, j, sizes[f]))
                .collect()
        };
        let base = level_vector(0);
        for level in 1..sizes[f] {
            let c: Vec<f64> = level_vector(level)
                .iter()
                .zip(&base)
                .map(|(a, b)| a - b)
                .collect();
            let estimate: f64 = c.iter().zip(&beta[cols.clone()]).map(|(a, b)| a * b).sum();
            let variance = quadratic_form(&c, &v, cols.start);
            let (se, t, p, ci95) = infer(estimate, variance);
            contrasts.push(Contrast {
                factor: factor.name.clone(),
                level: factor.levels[level].clone(),
                baseline: factor.levels[0].clone(),
                estimate,
                se,
                t,
                p,
                ci95,
            });
        }
    }

    // Two-way marginal means: intercept + the two main effects + their interaction at the
    // levels' effect codes (the other factors' codes average to zero over a balanced grid).
    let mut pair_means = Vec::new();
    for (t, &(a, b)) in pairs.iter().enumerate() {
        let inter = terms[k + t].columns.start;
        let weights = |i: usize, j: usize| -> Vec<f64> {
            let ca: Vec<f64> = (0..sizes[a] - 1)
                .map(|x| effect_code(i, x, sizes[a]))
                .collect();
            let cb: Vec<f64> = (0..sizes[b] - 1)
                .map(|y| effect_code(j, y, sizes[b]))
                .collect();
            let mut w = vec![0.0; p];
            w[0] = 1.0;
            for (x, v) in ca.iter().enumerate() {
                w[terms[a].columns.start + x] = *v;
            }
            for (y, v) in cb.iter().enumerate() {
                w[terms[b].columns.start + y] = *v;
            }
            for (x, va) in ca.iter().enumerate() {
                for (y, vb) in cb.iter().enumerate() {
                    w[inter + x * (sizes[b] - 1) + y] = va * vb;
                }
            }
            w
        };
        let dot = |w: &[f64]| w.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>();
        let grid = |f: &dyn Fn(&[f64]) -> f64| -> Vec<Vec<f64>> {
            (0..sizes[a])
                .map(|i| (0..sizes[b]).map(|j| f(&weights(i, j))).collect())
                .collect()
        };
        let means = grid(&|w| dot(w));
        let se = grid(&|w| (sigma2 * quadratic_form(w, &v, 0)).sqrt());
        let mut contrasts = Vec::new();
        for i in 1..sizes[a] {
            for j in 1..sizes[b] {
                let (w11, w01, w10, w00) =
                    (weights(i, j), weights(0, j), weights(i, 0), weights(0, 0));
                let c: Vec<f64> = (0..p).map(|x| w11[x] - w01[x] - w10[x] + w00[x]).collect();
                let estimate = dot(&c);
                let (se, t, p_value, ci95) = infer(estimate, quadratic_form(&c, &v, 0));
                contrasts.push(InteractionContrast {
                    a_level: factors[a].levels[i].clone(),
                    a_baseline: factors[a].levels[0].clone(),
                    b_level: factors[b].levels[j].clone(),
                    b_baseline: factors[b].levels[0].clone(),
                    estimate,
                    se,
                    t,
                    p: p_value,
                    ci95,
                });
            }
        }
        pair_means.push(PairMeans {
            term: terms[k + t].name.clone(),
            a: factors[a].name.clone(),
            b: factors[b].name.clone(),
            means,
            se,
            contrasts,
        });
    }

    // Each term's sum of squares as the Wald form β_Tᵀ (V_TT)⁻¹ β_T: the increase in RSS when the
    // term is dropped from the full model (Type III), which in a balanced design is also Types I
    // and II.
    let mut rows: Vec<AnovaRow> = terms
        .iter()
        .map(|term| {
            let cols = term.columns.clone();
            let block: Vec<Vec<f64>> = cols
                .clone()
                .map(|a| cols.clone().map(|b| v[a][b]).collect())
                .collect();
            let b_t = &beta[cols.clone()];
            let sum_sq = b_t
                .iter()
                .zip(
                    cholesky(&block)
                        .expect("a block of a positive definite matrix")
                        .solve(b_t),
                )
                .map(|(a, b)| a * b)
                .sum::<f64>();
            let df = cols.len();
            let mean_sq = sum_sq / df as f64;
            let f = mean_sq / sigma2;
            AnovaRow {
                term: term.name.clone(),
                df,
                sum_sq,
                mean_sq,
                f,
                p: f_sf(f, df as f64, dfr),
                p_holm: f64::NAN,
            }
        })
        .collect();
    let adjusted = holm_adjust(&rows.iter().map(|r| r.p).collect::<Vec<_>>());
    for (r, a) in rows.iter_mut().zip(adjusted) {
        r.p_holm = a;
    }

    Ok(FactorialFit {
        factors: factors.to_vec(),
        observations: n,
        per_cell,
        coefficients,
        contrasts,
        anova: Anova {
            terms: rows,
            residual: SumOfSquares {
                df: df_res,
                sum_sq: rss,
                mean_sq: sigma2,
            },
            total: SumOfSquares {
                df: n - 1,
                sum_sq: tss,
                mean_sq: tss / (n - 1) as f64,
            },
        },
        pairs: pair_means,
        sigma: sigma2.sqrt(),
        r_squared: 1.0 - rss / tss,
    })
}

/// Validates the design and returns the number of runs per cell.
fn check_design(factors: &[Factor], observations: &[Observation]) -> Result<usize, ModelError> {
    if factors.is_empty() {
        return Err(ModelError::NoFactors);
    }
    if let Some(f) = factors.iter().find(|f| f.levels.len() < 2) {
        return Err(ModelError::TooFewLevels {
            factor: f.name.clone(),
        });
    }
    let cells: usize = factors.iter().map(|f| f.levels.len()).product();
    let mut counts = vec![0usize; cells];
    for (i, obs) in observations.iter().enumerate() {
        if obs.levels.len() != factors.len() {
            return Err(ModelError::WrongArity {
                observation: i,
                found: obs.levels.len(),
                expected: factors.len(),
            });
        }
        if !obs.response.is_finite() {
            return Err(ModelError::NonFiniteResponse { observation: i });
        }
        // The cell's index in mixed radix, first factor most significant.
        let mut cell = 0;
        for (factor, &level) in factors.iter().zip(&obs.levels) {
            if level >= factor.levels.len() {
                return Err(ModelError::LevelOutOfRange {
                    observation: i,
                    factor: factor.name.clone(),
                    level,
                });
            }
            cell = cell * factor.levels.len() + level;
        }
        counts[cell] += 1;
    }
    let (min, max) = (
        *counts.iter().min().expect("at least one cell"),
        *counts.iter().max().expect("at least one cell"),
    );
    if min != max || min == 0 {
        return Err(ModelError::Unbalanced { min, max });
    }
    Ok(min)
}

/// `cᵀ V_{S,S} c` for the square block of `v` starting at row and column `start`.
fn quadratic_form(c: &[f64], v: &[Vec<f64>], start: usize) -> f64 {
    c.iter()
        .enumerate()
        .map(|(a, ca)| {
            c.iter()
                .enumerate()
                .map(|(b, cb)| ca * v[start + a][start + b] * cb)
                .sum::<f64>()
        })
        .sum()
}

/// The Cholesky factor `L` (lower triangular, `A = L Lᵀ`) of a symmetric positive definite matrix.
struct Cholesky {
    l: Vec<Vec<f64>>,
}

/// Cholesky–Banachiewicz; `None` if `a` is not (numerically) positive definite.
fn cholesky(a: &[Vec<f64>]) -> Option<Cholesky> {
    let n = a.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - s;
                // Relative to the diagonal: a rank-deficient X leaves rounding-level pivots.
                if d <= a[i][i] * 1e-12 {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    Some(Cholesky { l })
}

impl Cholesky {
    /// Solves `A x = b` by forward and back substitution.
    fn solve(&self, b: &[f64]) -> Vec<f64> {
        let n = b.len();
        let l = &self.l;
        let mut z = vec![0.0; n];
        for i in 0..n {
            let s: f64 = (0..i).map(|k| l[i][k] * z[k]).sum();
            z[i] = (b[i] - s) / l[i][i];
        }
        let mut x = vec![0.0; n];
        for i in (0..n).rev() {
            let s: f64 = (i + 1..n).map(|k| l[k][i] * x[k]).sum();
            x[i] = (z[i] - s) / l[i][i];
        }
        x
    }

    /// `A⁻¹`, column by column.
    fn inverse(&self) -> Vec<Vec<f64>> {
        let n = self.l.len();
        let mut inv = vec![vec![0.0; n]; n];
        for j in 0..n {
            let mut e = vec![0.0; n];
            e[j] = 1.0;
            for (i, x) in self.solve(&e).into_iter().enumerate() {
                inv[i][j] = x;
            }
        }
        inv
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::rng::Xoshiro256;

    fn close(got: f64, want: f64, tol: f64) -> bool {
        (got - want).abs() <= tol * want.abs()
    }

    /// All cells of the grid in mixed-radix order (first factor slowest), `per_cell` runs each,
    /// with the response from `f(levels, replicate)`.
    fn grid(
        sizes: &[usize],
        per_cell: usize,
        mut f: impl FnMut(&[usize], usize) -> f64,
    ) -> Vec<Observation> {
        let cells: usize = sizes.iter().product();
        let mut out = Vec::new();
        for cell in 0..cells {
            let mut levels = vec![0; sizes.len()];
            let mut rest = cell;
            for (i, s) in sizes.iter().enumerate().rev() {
                levels[i] = rest % s;
                rest /= s;
            }
            for r in 0..per_cell {
                out.push(Observation {
                    response: f(&levels, r),
                    levels: levels.clone(),
                });
            }
        }
        out
    }

    fn study_factors() -> Vec<Factor> {
        vec![
            Factor::new("layers", &["2", "3"]),
            Factor::new("units", &["16", "32"]),
            Factor::new("loss", &["bce", "mse"]),
            Factor::new("activation", &["relu", "tanh"]),
            Factor::new("regulariser", &["none", "l2", "dropout"]),
        ]
    }

    #[test]
    fn recovers_known_effects_of_the_study_grid() {
        // The study's 2×2×2×2×3 grid, 5 seeds per cell (240 runs, 21 parameters). The truth:
        // layers no effect; units 32 − 16 = +0.004; loss mse − bce = −0.003; activation
        // tanh − relu = +0.002; regulariser l2 − none = +0.003, dropout − none = +0.005; one
        // interaction, loss × activation, of +0.0015 on the ±1 effect-coded product (so tanh −
        // relu is 0.002 − 2·0.0015 = −0.001 under bce and 0.002 + 0.003 = +0.005 under mse,
        // +0.002 on average); noise N(0, 0.001²).
        // Tolerances: each estimate within 4.5 standard errors of the truth (the largest of the
        // 7 contrasts and 1 coefficient exceeding 4.5 se has probability ~5e-5).
        let factors = study_factors();
        let reg_effect = [0.0, 0.003, 0.005];
        let mut rng = Xoshiro256::seed_from_u64(17);
        let obs = grid(&[2, 2, 2, 2, 3], 5, |l, _| {
            let pm = |level: usize| if level == 0 { 1.0 } else { -1.0 };
            0.88 + 0.004 * l[1] as f64 - 0.003 * l[2] as f64
                + 0.002 * l[3] as f64
                + reg_effect[l[4]]
                + 0.0015 * pm(l[2]) * pm(l[3])
                + 0.001 * rng.next_normal()
        });
        let fit = fit_factorial(&factors, &obs).unwrap();
        assert_eq!(
            (fit.observations, fit.per_cell, fit.coefficients.len()),
            (240, 5, 21)
        );
        assert_eq!(fit.anova.residual.df, 219);
        for (factor, level, truth) in [
            ("layers", "3", 0.0),
            ("units", "32", 0.004),
            ("loss", "mse", -0.003),
            ("activation", "tanh", 0.002),
            ("regulariser", "l2", 0.003),
            ("regulariser", "dropout", 0.005),
        ] {
            let c = fit.contrast(factor, level).unwrap();
            assert!((c.estimate - truth).abs() < 4.5 * c.se, "{c:?} vs {truth}");
            assert_eq!(
                c.baseline,
                factors.iter().find(|f| f.name == factor).unwrap().levels[0]
            );
        }
        // A 2-level contrast in a balanced design has variance 4σ²/N exactly.
        let units = fit.contrast("units", "32").unwrap();
        assert!(close(units.se, 2.0 * fit.sigma / 240f64.sqrt(), 1e-12));
        let inter = fit.coefficient("loss[bce]:activation[relu]").unwrap();
        assert!(
            (inter.estimate - 0.0015).abs() < 4.5 * inter.se,
            "{inter:?}"
        );
        assert!((fit.sigma - 0.001).abs() < 0.0002, "{}", fit.sigma);

        // The interaction as a difference of differences: tanh − relu is −0.001 under bce and
        // +0.005 under mse, so (mse, tanh) changes it by +0.006 = 4 × 0.0015 (within 4.5 se).
        let pair = fit.pair("loss:activation").unwrap();
        assert_eq!((pair.a.as_str(), pair.b.as_str()), ("loss", "activation"));
        let dod = &pair.contrasts[0];
        assert_eq!(
            (dod.a_level.as_str(), dod.b_level.as_str()),
            ("mse", "tanh")
        );
        assert!((dod.estimate - 0.006).abs() < 4.5 * dod.se, "{dod:?}");
        assert!(close(dod.estimate, 4.0 * inter.estimate, 1e-9));
        // In a balanced design the fitted marginal means are the observed ones.
        for (i, j) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            let runs: Vec<f64> = obs
                .iter()
                .filter(|o| o.levels[2] == i && o.levels[3] == j)
                .map(|o| o.response)
                .collect();
            let observed = runs.iter().sum::<f64>() / runs.len() as f64;
            assert!((pair.means[i][j] - observed).abs() < 1e-12, "{i},{j}");
            // Each averages 60 runs: se = σ/√60.
            assert!(close(pair.se[i][j], fit.sigma / 60f64.sqrt(), 1e-9));
        }
        // Ten pairs; the 3-level regulariser's pairs have two contrasts each.
        assert_eq!(fit.pairs.len(), 10);
        assert_eq!(fit.pair("layers:regulariser").unwrap().contrasts.len(), 2);

        // Holm over the 15 terms: the real effects and the real interaction survive, layers and
        // the nine null interactions do not.
        let family = fit.effects_family(0.05);
        assert_eq!(family.len(), 15);
        let rejected: Vec<&str> = family.rejected().map(|d| d.hypothesis.as_str()).collect();
        assert_eq!(
            rejected,
            [
                "units",
                "loss",
                "activation",
                "regulariser",
                "loss:activation"
            ],
            "{:#?}",
            fit.anova.terms
        );
        for row in &fit.anova.terms {
            assert_eq!(row.p_holm, family.get(&row.term).unwrap().p_adjusted);
        }

        // Balance: the terms' sums of squares and the residual add up to the total.
        let explained: f64 = fit.anova.terms.iter().map(|r| r.sum_sq).sum();
        assert!(close(
            explained + fit.anova.residual.sum_sq,
            fit.anova.total.sum_sq,
            1e-10
        ));
    }

    /// The 2×2×3 dataset with 2 runs per cell of tools/study-stats/expected_values.py, section "anova", in
    /// the order of `grid(&[2, 2, 3], 2, …)`: a (slowest), b, c, replicate (fastest).
    const SMALL: [f64; 24] = [
        0.8812, 0.8790, 0.8835, 0.8801, 0.8824, 0.8843, 0.8750, 0.8771, 0.8702, 0.8769, 0.8740,
        0.8781, 0.8860, 0.8851, 0.8877, 0.8899, 0.8842, 0.8836, 0.8795, 0.8803, 0.8788, 0.8820,
        0.8813, 0.8776,
    ];

    fn small_fit() -> FactorialFit {
        let factors = [
            Factor::new("a", &["0", "1"]),
            Factor::new("b", &["0", "1"]),
            Factor::new("c", &["0", "1", "2"]),
        ];
        let mut i = 0;
        let obs = grid(&[2, 2, 3], 2, |_, _| {
            i += 1;
            SMALL[i - 1]
        });
        fit_factorial(&factors, &obs).unwrap()
    }

    #[test]
    fn anova_matches_statsmodels() {
        // statsmodels 0.15.0 (tools/study-stats/expected_values.py, section "anova"):
        //   m = ols("y ~ C(a, Sum) + C(b, Sum) + C(c, Sum) + C(a, Sum):C(b, Sum)"
        //           " + C(a, Sum):C(c, Sum) + C(b, Sum):C(c, Sum)", df).fit()
        //   anova_lm(m, typ=2)   (typ=1 and typ=3 print the same sums of squares)
        // 1e-9 relative for sum_sq, F and p; df exact.
        let fit = small_fit();
        #[rustfmt::skip]
        let want = [
            ("a", 1, 0.00012240166666666624, 26.985840080838855, 0.000135874174659824),
            ("b", 1, 0.00024193500000000171, 53.33930000918683, 3.889270615681376e-06),
            ("c", 2, 2.2108333333316093e-06, 0.24371071245765275, 0.786970757859794),
            ("a:b", 1, 2.0166666666639699e-07, 0.04446135877475996, 0.8360358830979615),
            ("a:c", 2, 2.4555833333335115e-05, 2.7069067335076418, 0.10141922377434827),
            ("b:c", 2, 1.2752499999998423e-05, 1.4057689531631763, 0.2777436512670333),
        ];
        for (row, (term, df, ss, f, p)) in fit.anova.terms.iter().zip(want) {
            assert_eq!((row.term.as_str(), row.df), (term, df));
            assert!(close(row.sum_sq, ss, 1e-9), "{row:?} vs ss {ss}");
            assert!(close(row.f, f, 1e-9), "{row:?} vs F {f}");
            assert!(close(row.p, p, 1e-9), "{row:?} vs p {p}");
        }
        assert_eq!(fit.anova.residual.df, 14);
        assert!(close(
            fit.anova.residual.sum_sq,
            6.350083333333307e-05,
            1e-9
        ));
        assert_eq!(fit.anova.total.df, 23);
    }

    #[test]
    fn coefficients_and_contrasts_match_statsmodels() {
        // statsmodels 0.15.0, same model (section "anova"): m.params, m.bse, m.pvalues,
        // m.conf_int() for the Sum-coded coefficients, and m.t_test(L) for the contrasts
        // (effect, sd, pvalue, conf_int) with L the rows below; 1e-9 relative.
        let fit = small_fit();
        #[rustfmt::skip]
        let want = [
            ("(Intercept)", 0.880741666666667, 0.00043473046292711616, 1.125162634934672e-39, [0.8798092625569486, 0.8816740707763854]),
            ("a[0]", -0.00225833333333333, 0.00043473046292711616, 0.000135874174659824, [-0.003190737443051753, -0.001325929223614907]),
            ("b[0]", 0.003175000000000011, 0.00043473046292711605, 3.889270615681383e-06, [0.002242595890281588, 0.004107404109718434]),
            ("c[0]", -0.00034166666666649915, 0.0006148017166482618, 0.5871640897333544, [-0.0016602852042427046, 0.0009769518709097063]),
            ("c[1]", 0.000395833333333202, 0.0006148017166482617, 0.530086696995645, [-0.0009227852042430032, 0.0017144518709094072]),
            ("a[0]:b[0]", 9.16666666666054e-05, 0.00043473046292711616, 0.8360358830979615, [-0.0008407374430518177, 0.0010240707763850285]),
            ("a[0]:c[0]", -6.666666666654646e-05, 0.0006148017166482617, 0.915188620079143, [-0.0013852852042427516, 0.001251951870909659]),
            ("a[0]:c[1]", -0.0012041666666667767, 0.0006148017166482616, 0.07038519867329669, [-0.0025227852042429815, 0.00011445187090942835]),
            ("b[0]:c[0]", -0.0007499999999998203, 0.0006148017166482611, 0.24265298907802732, [-0.0020686185375760244, 0.0005686185375763839]),
            ("b[0]:c[1]", 0.0009874999999999953, 0.0006148017166482619, 0.13054083099554806, [-0.00033111853757621036, 0.002306118537576201]),
        ];
        assert_eq!(fit.coefficients.len(), want.len());
        for (name, est, se, p, ci) in want {
            let c = fit.coefficient(name).unwrap();
            assert!(close(c.estimate, est, 1e-9), "{c:?}");
            assert!(close(c.se, se, 1e-9), "{c:?}");
            assert!(close(c.p, p, 1e-9), "{c:?}");
            assert!(
                close(c.ci95[0], ci[0], 1e-9) && close(c.ci95[1], ci[1], 1e-9),
                "{c:?}"
            );
        }
        #[rustfmt::skip]
        let want = [
            ("a", "1", 0.00451666666666666, 0.0008694609258542323, 0.000135874174659824, [0.002651858447229814, 0.006381474886103506]),
            ("b", "1", -0.006350000000000022, 0.0008694609258542321, 3.889270615681376e-06, [-0.008214808219436869, -0.004485191780563176]),
            ("c", "1", 0.0007374999999997012, 0.0010648678098153538, 0.4999043196219901, [-0.0015464143028844574, 0.0030214143028838595]),
            ("c", "2", 0.0002874999999997963, 0.0010648678098153538, 0.791109579091435, [-0.0019964143028843623, 0.0025714143028839546]),
        ];
        assert_eq!(fit.contrasts.len(), want.len());
        for (factor, level, est, se, p, ci) in want {
            let c = fit.contrast(factor, level).unwrap();
            assert_eq!(c.baseline, "0");
            assert!(close(c.estimate, est, 1e-9), "{c:?}");
            assert!(close(c.se, se, 1e-9), "{c:?}");
            assert!(close(c.p, p, 1e-9), "{c:?}");
            assert!(
                close(c.ci95[0], ci[0], 1e-9) && close(c.ci95[1], ci[1], 1e-9),
                "{c:?}"
            );
        }
        // A 2-level contrast is −2× its coefficient, with the same p (and the ANOVA's).
        let a = fit.contrast("a", "1").unwrap();
        assert!(close(
            a.estimate,
            -2.0 * fit.coefficient("a[0]").unwrap().estimate,
            1e-12
        ));
        assert!(close(a.p, fit.term("a").unwrap().p, 1e-9));
    }

    #[test]
    fn refuses_unbalanced_and_malformed_designs() {
        let factors = [
            Factor::new("a", &["x", "y"]),
            Factor::new("b", &["u", "v", "w"]),
        ];
        let mut obs = grid(&[2, 3], 2, |l, r| {
            (l[0] + l[1] + r) as f64 * 0.1 + 0.01 * r as f64
        });
        assert!(fit_factorial(&factors, &obs).is_ok());
        let dropped = obs.pop().unwrap();
        assert_eq!(
            fit_factorial(&factors, &obs),
            Err(ModelError::Unbalanced { min: 1, max: 2 })
        );
        obs.push(dropped.clone());
        obs.push(dropped);
        assert_eq!(
            fit_factorial(&factors, &obs),
            Err(ModelError::Unbalanced { min: 2, max: 3 })
        );
        obs.pop();
        // An empty cell is unbalanced too.
        let missing: Vec<Observation> =
            obs.iter().filter(|o| o.levels != [1, 2]).cloned().collect();
        assert_eq!(
            fit_factorial(&factors, &missing),
            Err(ModelError::Unbalanced { min: 0, max: 2 })
        );
        let mut bad = obs.clone();
        bad[0].levels = vec![0, 3];
        assert!(matches!(
            fit_factorial(&factors, &bad),
            Err(ModelError::LevelOutOfRange {
                observation: 0,
                level: 3,
                ..
            })
        ));
        bad[0].levels = vec![0];
        assert!(matches!(
            fit_factorial(&factors, &bad),
            Err(ModelError::WrongArity { .. })
        ));
        // One run per cell: 6 runs for 1 + 1 + 2 + 2 = 6 parameters.
        let once = grid(&[2, 3], 1, |l, _| l[0] as f64 + l[1] as f64);
        assert_eq!(
            fit_factorial(&factors, &once),
            Err(ModelError::NoResidualDf {
                observations: 6,
                parameters: 6
            })
        );
        // Identical replicates: nothing left to estimate the error from.
        let exact = grid(&[2, 3], 2, |l, _| l[0] as f64 + 0.5 * l[1] as f64);
        assert_eq!(
            fit_factorial(&factors, &exact),
            Err(ModelError::ZeroResidual)
        );
        assert_eq!(fit_factorial(&[], &[]), Err(ModelError::NoFactors));
        assert!(matches!(
            fit_factorial(&[Factor::new("a", &["only"])], &[]),
            Err(ModelError::TooFewLevels { .. })
        ));
    }

    #[test]
    fn cholesky_solves_and_inverts() {
        // A = [[4, 2, 0.4], [2, 5, 1], [0.4, 1, 3]]: A·A⁻¹ = I and A·x = b to rounding.
        let a = vec![
            vec![4.0, 2.0, 0.4],
            vec![2.0, 5.0, 1.0],
            vec![0.4, 1.0, 3.0],
        ];
        let c = cholesky(&a).unwrap();
        let inv = c.inverse();
        let dot = |row: &[f64], x: &[f64]| row.iter().zip(x).map(|(a, b)| a * b).sum::<f64>();
        for (i, row) in a.iter().enumerate() {
            for j in 0..3 {
                let column: Vec<f64> = inv.iter().map(|r| r[j]).collect();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((dot(row, &column) - want).abs() < 1e-14);
            }
        }
        let b = [1.0, 2.0, 3.0];
        let x = c.solve(&b);
        for (row, bi) in a.iter().zip(b) {
            assert!((dot(row, &x) - bi).abs() < 1e-14);
        }
        assert!(cholesky(&[vec![1.0, 1.0], vec![1.0, 1.0]]).is_none());
    }
}
