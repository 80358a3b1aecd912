//! What a study runs: its design (the seed's variants one at a time, or the factorial grid of the
//! seed's choices), its configs and how many seeds each gets.

use crate::error::{Result, StudyError};
use crate::stats::linear_model::Factor;
use crate::variants::study_variants;
use imdb_model::{HiddenActivation, Loss, MlpConfig};
use imdb_train::ExperimentConfig;
use serde::{Deserialize, Serialize};

/// Seeds of each of the seed notebook's seven variants in the default study: the smallest number
/// at which each of the six variants' minimum detectable difference from the baseline (80% power,
/// two-sided, at Holm's first-step level 0.05/8 for the family of eight comparisons, from the
/// observed spreads) is at most 0.003 in test accuracy, measured on the full data (seed-to-seed
/// standard deviations 0.003 to 0.008, the widest `three_layers` and `units_32`: MDD 0.0030 at
/// 133 seeds). `docs/results/study-method.md` has the measurement and its wall time.
pub const DEFAULT_SEEDS: usize = 133;

/// Seeds of the two n-gram variants (`bigrams`, `nb_trigrams`) in the default study. Not the
/// seed's variants; their seed-to-seed spread is small (0.0019, 0.0012), so 10 seeds already give
/// an MDD of 0.003 or less against the baseline's 133, and each of their runs costs 2.5–4 baseline
/// runs.
pub const NGRAM_SEEDS: usize = 10;

/// Seeds per cell of the factorial design (48 cells).
pub const FACTORIAL_SEEDS: usize = 5;

/// The kind of study.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Design {
    /// Variants compared one at a time with the baseline (the seed's design, repeated over seeds).
    #[default]
    Variants,
    /// Every combination of the seed's choices ([`factorial_cells`]), analysed with a linear model.
    Factorial,
}

impl std::fmt::Display for Design {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Design::Variants => "variants",
            Design::Factorial => "factorial",
        })
    }
}

impl std::str::FromStr for Design {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "variants" => Ok(Design::Variants),
            "factorial" => Ok(Design::Factorial),
            _ => Err(format!("design {s:?}: expected variants or factorial")),
        }
    }
}

/// How many seeds each variant runs: seed `i` of a variant is its config's seed + `i`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedPlan {
    /// Seeds of every variant not named in `per_variant`.
    pub default: usize,
    /// Variants with a number of their own, in the order given.
    pub per_variant: Vec<(String, usize)>,
}

impl SeedPlan {
    /// `seeds` for every variant.
    pub fn uniform(seeds: usize) -> Self {
        Self {
            default: seeds,
            per_variant: Vec::new(),
        }
    }

    /// The default of `design`: [`DEFAULT_SEEDS`] for the seed's variants and [`NGRAM_SEEDS`] for
    /// the n-gram ones; [`FACTORIAL_SEEDS`] for every cell of the factorial design.
    pub fn default_for(design: Design) -> Self {
        match design {
            Design::Variants => Self {
                default: DEFAULT_SEEDS,
                per_variant: vec![
                    ("bigrams".into(), NGRAM_SEEDS),
                    ("nb_trigrams".into(), NGRAM_SEEDS),
                ],
            },
            Design::Factorial => Self::uniform(FACTORIAL_SEEDS),
        }
    }

    /// This plan with `variant` at `seeds` (replacing an earlier number for it).
    pub fn with(mut self, variant: &str, seeds: usize) -> Self {
        self.per_variant.retain(|(name, _)| name != variant);
        self.per_variant.push((variant.into(), seeds));
        self
    }

    /// The number of seeds of `variant`.
    pub fn of(&self, variant: &str) -> usize {
        self.per_variant
            .iter()
            .find(|(name, _)| name == variant)
            .map_or(self.default, |&(_, n)| n)
    }
}

/// A study: its design, its configs and their seeds. Every folder a study or a shard of it runs
/// into records it (`study.json`), so that folders are only merged when they hold the same study.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StudyPlan {
    /// The design.
    pub design: Design,
    /// The configs (variants, or the factorial's cells), in study order.
    pub configs: Vec<ExperimentConfig>,
    /// Seeds per config.
    pub seeds: SeedPlan,
}

impl StudyPlan {
    /// The seed's variants and the n-gram ones ([`study_variants`]) with the default seeds.
    pub fn variants() -> Self {
        Self::new(
            Design::Variants,
            study_variants(),
            SeedPlan::default_for(Design::Variants),
        )
    }

    /// The factorial grid ([`factorial_cells`]) with [`FACTORIAL_SEEDS`] seeds per cell.
    pub fn factorial() -> Self {
        Self::new(
            Design::Factorial,
            factorial_cells(),
            SeedPlan::default_for(Design::Factorial),
        )
    }

    /// A plan of `configs`.
    pub fn new(design: Design, configs: Vec<ExperimentConfig>, seeds: SeedPlan) -> Self {
        Self {
            design,
            configs,
            seeds,
        }
    }

    /// Every run: each config with each of its seeds, config by config, seed by seed.
    pub fn runs(&self) -> Vec<ExperimentConfig> {
        self.configs
            .iter()
            .flat_map(|base| {
                let seeds = self.seeds.of(&base.name) as u64;
                (0..seeds).map(move |i| base.clone().with_seed(base.seed + i))
            })
            .collect()
    }

    /// Checks that the plan can run: configs valid, names distinct, at least one seed each and
    /// no seed overflow; a factorial plan holds exactly the grid's cells.
    ///
    /// # Errors
    /// [`StudyError::Invalid`] saying what is wrong; an invalid config's error.
    pub fn check(&self) -> Result<()> {
        let fail = |message: String| Err(StudyError::Invalid { message });
        if self.configs.is_empty() {
            return fail("no variants to run".into());
        }
        for (i, c) in self.configs.iter().enumerate() {
            c.validate()?;
            if self.configs[..i].iter().any(|o| o.name == c.name) {
                return fail(format!("two variants are named {:?}", c.name));
            }
            let seeds = self.seeds.of(&c.name);
            if seeds == 0 {
                return fail(format!("{}: at least one seed is needed", c.name));
            }
            if c.seed.checked_add(seeds as u64 - 1).is_none() {
                return fail(format!(
                    "{}: seed {} + {seeds} seeds overflows",
                    c.name, c.seed
                ));
            }
        }
        if self.design == Design::Factorial {
            if !self.seeds.per_variant.is_empty() {
                return fail(
                    "every cell of a factorial study runs the same number of seeds (a balanced \
                     grid): no per-variant seeds"
                        .into(),
                );
            }
            let grid: Vec<String> = factorial_cells().into_iter().map(|c| c.name).collect();
            let names: Vec<&String> = self.configs.iter().map(|c| &c.name).collect();
            if names.len() != grid.len() || grid.iter().any(|g| !names.contains(&g)) {
                return fail(format!(
                    "a factorial study runs the {} cells of the grid, no more and no fewer",
                    grid.len()
                ));
            }
        }
        Ok(())
    }
}

/// The factors of the factorial design, in the order of a cell's name, each level's name as it
/// appears there; the first level of each is the seed's baseline choice:
/// layers (2, 3) × units (16, 32) × loss (bce, mse) × activation (relu, tanh) × regulariser
/// (none, l2 = L2 λ 0.002 on the hidden kernels, dropout = 0.5 after each hidden layer).
pub fn factorial_factors() -> Vec<Factor> {
    vec![
        Factor::new("layers", &["2", "3"]),
        Factor::new("units", &["16", "32"]),
        Factor::new("loss", &["bce", "mse"]),
        Factor::new("activation", &["relu", "tanh"]),
        Factor::new("regulariser", &["none", "l2", "dropout"]),
    ]
}

/// The name of the cell with these level indices (one per [`factorial_factors`] factor), e.g.
/// `f-l3-u32-mse-tanh-dropout`: a run's folder says its settings.
///
/// # Panics
/// If `levels` does not have one valid index per factor.
pub fn cell_name(levels: &[usize]) -> String {
    let factors = factorial_factors();
    assert_eq!(levels.len(), factors.len(), "one level per factor");
    let level = |f: usize| factors[f].levels[levels[f]].as_str();
    format!(
        "f-l{}-u{}-{}-{}-{}",
        level(0),
        level(1),
        level(2),
        level(3),
        level(4)
    )
}

/// The level indices of the cell named `name`, or `None` if it is not a cell of the grid.
pub fn cell_levels(name: &str) -> Option<Vec<usize>> {
    let factors = factorial_factors();
    let parts: Vec<&str> = name.strip_prefix("f-")?.split('-').collect();
    if parts.len() != factors.len() {
        return None;
    }
    let strip = ["l", "u", "", "", ""];
    factors
        .iter()
        .zip(parts)
        .zip(strip)
        .map(|((factor, part), prefix)| {
            let part = part.strip_prefix(prefix)?;
            factor.levels.iter().position(|l| l == part)
        })
        .collect()
}

/// The 48 cells of the factorial design, the first factor slowest: each an [`ExperimentConfig`]
/// of the seed's protocol (as [`crate::seed_variants`]) with the cell's settings, named by
/// [`cell_name`]. The first cell, `f-l2-u16-bce-relu-none`, is the seed's baseline under another
/// name (its runs are not shared with the `baseline` variant's: the name is part of a run's
/// config and folder).
pub fn factorial_cells() -> Vec<ExperimentConfig> {
    let sizes: Vec<usize> = factorial_factors().iter().map(|f| f.levels.len()).collect();
    let count: usize = sizes.iter().product();
    (0..count)
        .map(|cell| {
            let mut levels = vec![0; sizes.len()];
            let mut rest = cell;
            for (level, size) in levels.iter_mut().zip(&sizes).rev() {
                *level = rest % size;
                rest /= size;
            }
            cell_config(&levels)
        })
        .collect()
}

fn cell_config(levels: &[usize]) -> ExperimentConfig {
    let layers = [2, 3][levels[0]];
    let units = [16, 32][levels[1]];
    let mut model = MlpConfig::new(10_000)
        .with_hidden(vec![units; layers])
        .with_activation([HiddenActivation::Relu, HiddenActivation::Tanh][levels[3]]);
    match levels[4] {
        1 => model = model.with_l2(Some(0.002)),
        2 => model = model.with_dropout(Some(0.5)),
        _ => {}
    }
    ExperimentConfig::new()
        .with_name(cell_name(levels))
        .with_model(model)
        .with_loss([Loss::Bce, Loss::Mse][levels[2]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::variants::seed_variants;

    #[test]
    fn the_grid_has_48_named_cells_and_the_seed_variants_among_them() {
        let cells = factorial_cells();
        assert_eq!(cells.len(), 48);
        assert_eq!(cells[0].name, "f-l2-u16-bce-relu-none");
        assert_eq!(cells[47].name, "f-l3-u32-mse-tanh-dropout");
        for c in &cells {
            c.validate().unwrap();
            let levels = cell_levels(&c.name).unwrap();
            assert_eq!(cell_name(&levels), c.name);
        }
        // Each of the seed's variants is the cell of its one changed setting, but for its name.
        let json = |c: &ExperimentConfig| {
            let mut v = serde_json::to_value(c).unwrap();
            v["name"] = "".into();
            v
        };
        let cell = |name: &str| cells.iter().find(|c| c.name == name).unwrap();
        for (variant, name) in seed_variants().iter().zip([
            "f-l2-u16-bce-relu-none",
            "f-l3-u16-bce-relu-none",
            "f-l2-u32-bce-relu-none",
            "f-l2-u16-mse-relu-none",
            "f-l2-u16-bce-tanh-none",
            "f-l2-u16-bce-relu-l2",
            "f-l2-u16-bce-relu-dropout",
        ]) {
            assert_eq!(json(variant), json(cell(name)), "{}", variant.name);
        }
        for bad in [
            "baseline",
            "f-l4-u16-bce-relu-none",
            "f-l2-u16-bce-relu",
            "f-2-u16-bce-relu-none",
        ] {
            assert_eq!(cell_levels(bad), None, "{bad}");
        }
    }

    #[test]
    fn seed_plans_and_checks() {
        let plan = SeedPlan::default_for(Design::Variants);
        assert_eq!(plan.of("baseline"), DEFAULT_SEEDS);
        assert_eq!(plan.of("bigrams"), NGRAM_SEEDS);
        let plan = plan.with("bigrams", 3).with("tanh", 2);
        assert_eq!((plan.of("bigrams"), plan.of("tanh")), (3, 2));
        let study = StudyPlan::new(
            Design::Variants,
            seed_variants()[..2].to_vec(),
            SeedPlan::uniform(2).with("three_layers", 3),
        );
        let runs: Vec<(String, u64)> = study.runs().into_iter().map(|c| (c.name, c.seed)).collect();
        assert_eq!(
            runs,
            [
                ("baseline".into(), 42),
                ("baseline".into(), 43),
                ("three_layers".into(), 42),
                ("three_layers".into(), 43),
                ("three_layers".into(), 44)
            ]
        );
        study.check().unwrap();
        let none = StudyPlan::new(Design::Variants, seed_variants(), SeedPlan::uniform(0));
        assert!(none.check().unwrap_err().to_string().contains("seed"));
        let partial = StudyPlan::new(Design::Factorial, seed_variants(), SeedPlan::uniform(2));
        assert!(
            partial
                .check()
                .unwrap_err()
                .to_string()
                .contains("48 cells")
        );
        StudyPlan::factorial().check().unwrap();
        assert_eq!(StudyPlan::factorial().runs().len(), 48 * FACTORIAL_SEEDS);
    }
}
