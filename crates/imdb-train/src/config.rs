//! What an experiment is: model, loss, optimizer, schedule and data, in one JSON-able config.

use crate::error::{Result, TrainError};
use crate::weighting::Weighting;
use burn::config::Config;
use imdb_data::EncodeOptions;
use imdb_model::{InputWeights, Loss, MlpConfig};
use serde::{Deserialize, Serialize};

/// RMSprop with Keras's update rule and defaults (`keras.optimizers.RMSprop()`).
///
/// Burn's `RmsPropConfig` differs in defaults (alpha 0.99, momentum 0.9, eps 1e-5) and puts epsilon
/// outside the square root; see the crate docs.
#[derive(Config, Debug, PartialEq)]
pub struct RmsPropKerasConfig {
    /// Learning rate.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Decay of the moving average of squared gradients.
    #[config(default = 0.9)]
    pub rho: f64,
    /// Added to the average before the square root.
    #[config(default = 1e-7)]
    pub epsilon: f64,
}

/// How phase 2 chooses how many epochs to retrain for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EpochSelection {
    /// The epoch with the lowest validation loss (the seed notebook's choice).
    LowestValLoss,
    /// The epoch with the highest validation accuracy.
    HighestValAccuracy,
    /// A fixed number of epochs.
    Fixed(usize),
}

/// One experiment of the study: everything needed to reproduce a run.
#[derive(Config, Debug)]
pub struct ExperimentConfig {
    /// Name, used for the default output directory `artifacts/<name>/`.
    #[config(default = "String::from(\"baseline\")")]
    pub name: String,
    /// The network.
    #[config(default = "MlpConfig::new(10_000)")]
    pub model: MlpConfig,
    /// The loss (binary cross-entropy in the seed).
    #[config(default = "Loss::Bce")]
    pub loss: Loss,
    /// The optimizer.
    #[config(default = "RmsPropKerasConfig::new()")]
    pub optimizer: RmsPropKerasConfig,
    /// Reviews per step.
    #[config(default = 512)]
    pub batch_size: usize,
    /// Epochs of phase 1 (training with validation).
    #[config(default = 20)]
    pub epochs: usize,
    /// The first this-many training reviews validate in phase 1. `None` (the default) keeps the
    /// seed notebook's proportion: 10,000 of the 25,000 reviews on the full data, 40% of the
    /// training reviews on a smaller set (the embedded sample, a `maxlen` filter); see
    /// [`ExperimentConfig::validation_split`].
    pub validation: Option<usize>,
    /// How phase 2's epoch count is chosen.
    #[config(default = "EpochSelection::LowestValLoss")]
    pub selection: EpochSelection,
    /// Seed of initialisation, shuffling and dropout.
    #[config(default = 42)]
    pub seed: u64,
    /// Shuffle the training reviews every epoch, as Keras's `fit` does by default. `None` (the
    /// default, and what a config file without the field means) shuffles; `Some(false)` trains on
    /// the reviews in their order every epoch (Keras's `shuffle=False`, as the Keras-parity test
    /// does to compare step by step). Validation and test order never matter.
    pub shuffle: Option<bool>,
    /// How the features of a row are weighted before the first layer ([`Weighting`], computed
    /// from each phase's training reviews and stored in the model). `None` (the default, the
    /// seed's): multi-hot as it is. Needs `model.input_weights`.
    pub weighting: Option<Weighting>,
    /// How reviews are encoded (Keras's `imdb.load_data` options).
    #[config(default = "EncodeOptions::default()")]
    pub data: EncodeOptions,
}

impl ExperimentConfig {
    /// Reads an experiment config file strictly: a key the config does not have (a typo such as
    /// `"dropuot"`) is refused, naming the file, the key's path and the closest known key,
    /// instead of being ignored while the default trains. Keys left out take their defaults, so
    /// files written before a field existed still load. Call [`validate`](Self::validate) to
    /// check the values.
    ///
    /// # Errors
    /// [`TrainError::Io`] if the file cannot be read; [`TrainError::Data`] with
    /// [`imdb_data::DataError::UnknownField`] or [`imdb_data::DataError::MalformedJson`] naming
    /// the file.
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
        Ok(imdb_data::json::from_slice(&bytes, path)?)
    }

    /// Whether training shuffles its reviews every epoch ([`shuffle`](Self::shuffle)).
    pub fn shuffles(&self) -> bool {
        self.shuffle.unwrap_or(true)
    }

    /// Checks every setting, the model's included, before any work starts.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] naming the setting, [`TrainError::Model`] for the model, or
    /// [`TrainError::Data`] for the encoding options.
    pub fn validate(&self) -> Result<()> {
        self.model.validate()?;
        self.data.validate()?;
        let invalid = |field, value: String, reason| {
            Err(TrainError::InvalidConfig {
                field,
                value,
                reason,
            })
        };
        let o = &self.optimizer;
        if !(o.learning_rate.is_finite() && o.learning_rate > 0.0) {
            return invalid(
                "optimizer.learning_rate",
                o.learning_rate.to_string(),
                "must be finite and > 0",
            );
        }
        if !(o.rho.is_finite() && (0.0..1.0).contains(&o.rho)) {
            return invalid("optimizer.rho", o.rho.to_string(), "must be in [0, 1)");
        }
        if !(o.epsilon.is_finite() && o.epsilon > 0.0) {
            return invalid(
                "optimizer.epsilon",
                o.epsilon.to_string(),
                "must be finite and > 0",
            );
        }
        if self.batch_size == 0 {
            return invalid("batch_size", "0".into(), "must be at least 1");
        }
        if self.epochs == 0 {
            return invalid("epochs", "0".into(), "must be at least 1");
        }
        if self.validation == Some(0) {
            return invalid("validation", "0".into(), "must be at least 1");
        }
        if let EpochSelection::Fixed(n) = self.selection
            && n == 0
        {
            return invalid(
                "selection",
                "fixed(0)".into(),
                "a fixed epoch count must be at least 1",
            );
        }
        if let Some(n) = self.data.num_words
            && n != self.model.input
        {
            return invalid(
                "model.input",
                self.model.input.to_string(),
                "must equal data.num_words (the width of the multi-hot vectors)",
            );
        }
        if let Some((field, value)) = self.weighting.as_ref().and_then(Weighting::invalid) {
            return invalid(field, value, "must be finite and > 0");
        }
        let weights = self.model.input_weights == Some(InputWeights::PerFeature);
        if self.weighting.is_some() != weights {
            return invalid(
                "model.input_weights",
                format!("{:?}", self.model.input_weights),
                "must be \"per_feature\" exactly when a weighting is set (the model holds the weights)",
            );
        }
        if self.name.is_empty() || self.name.contains(['/', '\\']) || self.name.starts_with('.') {
            return invalid(
                "name",
                format!("{:?}", self.name),
                "must be a plain file name",
            );
        }
        Ok(())
    }
}

/// The seed notebook validates on the first 10,000 of its 25,000 training reviews.
const SEED_VALIDATION: usize = 10_000;
/// The training reviews of the full IMDB data.
const SEED_TRAIN_REVIEWS: usize = 25_000;

/// How many training reviews validate in phase 1, and why that many.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationSplit {
    /// The first this-many training reviews validate.
    pub reviews: usize,
    /// Where the number came from, for people and `results.json`.
    pub rule: String,
}

impl ExperimentConfig {
    /// The validation split of phase 1 for data with `train_reviews` training reviews.
    ///
    /// An explicit [`validation`](Self::validation) is taken as it is. The default is the seed's
    /// 10,000 when there are at least 25,000 training reviews (the full data: the seed's protocol
    /// unchanged), else the seed's proportion, 40%, rounded (1,000 of the embedded sample's 2,500).
    ///
    /// # Errors
    /// [`TrainError::Data`] with [`imdb_data::DataError::ValidationSplit`] when the split leaves
    /// no review to validate or none to train on, naming both numbers.
    pub fn validation_split(&self, train_reviews: usize) -> Result<ValidationSplit> {
        let split = match self.validation {
            Some(reviews) => ValidationSplit {
                reviews,
                rule: "set in the config".into(),
            },
            None if train_reviews >= SEED_TRAIN_REVIEWS => ValidationSplit {
                reviews: SEED_VALIDATION,
                rule: "the seed's 10,000".into(),
            },
            None => ValidationSplit {
                reviews: (train_reviews * 2 + 2) / 5,
                rule: format!(
                    "the seed's proportion, 40% (its 10,000 of 25,000), as this data has {train_reviews} training reviews"
                ),
            },
        };
        if split.reviews == 0 || split.reviews >= train_reviews {
            return Err(imdb_data::DataError::ValidationSplit {
                validation: split.reviews,
                reviews: train_reviews,
            }
            .into());
        }
        Ok(split)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seed_notebooks() {
        let c = ExperimentConfig::new();
        assert_eq!((c.batch_size, c.epochs, c.validation), (512, 20, None));
        assert_eq!(
            c.optimizer,
            RmsPropKerasConfig::new()
                .with_learning_rate(1e-3)
                .with_rho(0.9)
                .with_epsilon(1e-7)
        );
        assert_eq!(c.selection, EpochSelection::LowestValLoss);
        assert!(c.shuffles(), "Keras's fit shuffles by default");
        assert_eq!(c.data.num_words, Some(10_000));
        assert_eq!(c.model.input, 10_000);
        c.validate().unwrap();
    }

    #[test]
    fn default_validation_is_the_seeds_on_full_data_and_its_proportion_below() {
        let c = ExperimentConfig::new();
        // The full data: the seed's protocol, unchanged.
        assert_eq!(c.validation_split(25_000).unwrap().reviews, 10_000);
        // The embedded sample (2,500 training reviews) and a `maxlen`-filtered set: 40%.
        let sample = c.validation_split(2_500).unwrap();
        assert_eq!(sample.reviews, 1_000);
        assert!(
            sample.rule.contains("40%") && sample.rule.contains("2500"),
            "{}",
            sample.rule
        );
        assert_eq!(c.validation_split(11_999).unwrap().reviews, 4_800); // 4,799.6 rounded
        assert_eq!(c.validation_split(3).unwrap().reviews, 1);
        // Too few reviews to split at all.
        assert!(matches!(
            c.validation_split(1),
            Err(TrainError::Data(imdb_data::DataError::ValidationSplit {
                validation: 0,
                reviews: 1
            }))
        ));
    }

    #[test]
    fn an_explicit_validation_that_does_not_fit_names_both_sizes() {
        let c = ExperimentConfig::new().with_validation(Some(10_000));
        assert_eq!(c.validation_split(25_000).unwrap().reviews, 10_000);
        let err = c.validation_split(2_500).unwrap_err();
        assert!(
            matches!(
                err,
                TrainError::Data(imdb_data::DataError::ValidationSplit {
                    validation: 10_000,
                    reviews: 2_500
                })
            ),
            "{err}"
        );
        let text = err.to_string();
        assert!(text.contains("10000") && text.contains("2500"), "{text}");
    }

    #[test]
    fn json_round_trip() {
        let c = ExperimentConfig::new()
            .with_name("tanh".into())
            .with_selection(EpochSelection::Fixed(4));
        let json = serde_json::to_string_pretty(&c).unwrap();
        let back: ExperimentConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back.name, "tanh");
        assert_eq!(back.selection, EpochSelection::Fixed(4));
        assert_eq!(serde_json::to_string_pretty(&back).unwrap(), json);
    }

    /// Config files written before `shuffle` existed still load, and shuffle.
    #[test]
    fn a_config_without_shuffle_shuffles() {
        let mut json: serde_json::Value = serde_json::to_value(ExperimentConfig::new()).unwrap();
        json.as_object_mut().unwrap().remove("shuffle").unwrap();
        let c: ExperimentConfig = serde_json::from_value(json).unwrap();
        assert_eq!(c.shuffle, None);
        assert!(c.shuffles());
        assert!(!ExperimentConfig::new().with_shuffle(Some(false)).shuffles());
    }

    #[test]
    fn every_invalid_setting_is_named() {
        let cases: Vec<(ExperimentConfig, &str)> = vec![
            (ExperimentConfig::new().with_batch_size(0), "batch_size"),
            (ExperimentConfig::new().with_epochs(0), "epochs"),
            (
                ExperimentConfig::new().with_validation(Some(0)),
                "validation",
            ),
            (
                ExperimentConfig::new().with_selection(EpochSelection::Fixed(0)),
                "selection",
            ),
            (
                ExperimentConfig::new()
                    .with_optimizer(RmsPropKerasConfig::new().with_learning_rate(-1.0)),
                "optimizer.learning_rate",
            ),
            (
                ExperimentConfig::new().with_optimizer(RmsPropKerasConfig::new().with_rho(1.0)),
                "optimizer.rho",
            ),
            (
                ExperimentConfig::new()
                    .with_optimizer(RmsPropKerasConfig::new().with_epsilon(f64::NAN)),
                "optimizer.epsilon",
            ),
            (
                ExperimentConfig::new().with_model(MlpConfig::new(5_000)),
                "model.input",
            ),
            (ExperimentConfig::new().with_name("../x".into()), "name"),
        ];
        for (c, field) in cases {
            match c.validate() {
                Err(TrainError::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: expected InvalidConfig, got {other:?}"),
            }
        }
        let bad_model =
            ExperimentConfig::new().with_model(MlpConfig::new(10_000).with_dropout(Some(1.5)));
        assert!(matches!(bad_model.validate(), Err(TrainError::Model(_))));
        let bad_data =
            ExperimentConfig::new().with_data(EncodeOptions::default().with_num_words(Some(2)));
        assert!(matches!(bad_data.validate(), Err(TrainError::Data(_))));
    }
}
