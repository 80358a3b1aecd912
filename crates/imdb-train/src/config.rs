//! What an experiment is: model, loss, optimizer, schedule and data, in one JSON-able config.

use crate::error::{Result, TrainError};
use burn::config::Config;
use imdb_data::EncodeOptions;
use imdb_model::{Loss, MlpConfig};
use serde::{Deserialize, Serialize};

/// RMSprop with Keras's update rule and defaults (`keras.optimizers.RMSprop()`).
///
/// Burn's `RmsPropConfig` differs in defaults (alpha 0.99, momentum 0.9, eps 1e-5) and puts epsilon
/// outside the square root; see [`crate::rmsprop`].
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
    #[config(default = "MlpConfig::new()")]
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
    /// The first this-many training reviews validate in phase 1.
    #[config(default = 10_000)]
    pub validation: usize,
    /// How phase 2's epoch count is chosen.
    #[config(default = "EpochSelection::LowestValLoss")]
    pub selection: EpochSelection,
    /// Seed of initialisation, shuffling and dropout.
    #[config(default = 42)]
    pub seed: u64,
    /// How reviews are encoded (Keras's `imdb.load_data` options).
    #[config(default = "EncodeOptions::default()")]
    pub data: EncodeOptions,
}

impl ExperimentConfig {
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
        if self.validation == 0 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seed_notebooks() {
        let c = ExperimentConfig::new();
        assert_eq!((c.batch_size, c.epochs, c.validation), (512, 20, 10_000));
        assert_eq!(
            c.optimizer,
            RmsPropKerasConfig::new()
                .with_learning_rate(1e-3)
                .with_rho(0.9)
                .with_epsilon(1e-7)
        );
        assert_eq!(c.selection, EpochSelection::LowestValLoss);
        assert_eq!(c.data.num_words, Some(10_000));
        assert_eq!(c.model.input, 10_000);
        c.validate().unwrap();
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

    #[test]
    fn every_invalid_setting_is_named() {
        let cases: Vec<(ExperimentConfig, &str)> = vec![
            (ExperimentConfig::new().with_batch_size(0), "batch_size"),
            (ExperimentConfig::new().with_epochs(0), "epochs"),
            (ExperimentConfig::new().with_validation(0), "validation"),
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
                ExperimentConfig::new().with_model(MlpConfig::new().with_input(5_000)),
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
            ExperimentConfig::new().with_model(MlpConfig::new().with_dropout(Some(1.5)));
        assert!(matches!(bad_model.validate(), Err(TrainError::Model(_))));
        let bad_data =
            ExperimentConfig::new().with_data(EncodeOptions::default().with_num_words(Some(2)));
        assert!(matches!(bad_data.validate(), Err(TrainError::Data(_))));
    }
}
