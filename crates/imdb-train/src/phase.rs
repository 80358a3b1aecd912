//! One call of Burn's `Learner`: a phase of the protocol (phase 1 fits with validation, phase 2
//! retrains and evaluates on the test set), resumable from its newest checkpoint.

use burn::module::{Module, ModuleVisitor, Param};
use burn::store::ModuleRecord;
use burn::tensor::{Device, Tensor};
use burn::train::metric::LossMetric;
use burn::train::{Learner, SupervisedTraining};
use imdb_data::ImdbDataset;
use imdb_model::Mlp;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::ExperimentConfig;
use crate::cpu::plan::ExecutionPlan;
use crate::cpu::sparse_grad::SparseGradients;
use crate::data::{MultiHotBatcher, ReviewLoader, Schedule};
use crate::error::{Result, TrainError};
use crate::history::{EpochMetrics, History};
use crate::learner::accuracy::BinaryAccuracyMetric;
use crate::learner::checkpoint::{
    AtomicFileCheckpointer, SaveSchedule, last_complete_checkpoint, read_checkpoint,
};
use crate::learner::classifier::Classifier;
use crate::learner::divergence::{Divergence, StopOnDivergence};
use crate::learner::epoch_end::EpochEnd;
use crate::learner::metric_log::MemoryMetricLog;
use crate::learner::outcome_log::OutcomeLog;
use crate::learner::progress::ProgressRenderer;
use crate::outcomes::ReviewOutcomes;
use crate::protocol::RunOptions;

/// A phase: its name (`fit` or `retrain`), folder and length.
pub(crate) struct Phase {
    pub(crate) name: &'static str,
    pub(crate) dir: PathBuf,
    pub(crate) epochs: usize,
    /// Whether the evaluation split is a validation split (phase 1), or the test set (phase 2,
    /// which also records each test review's outcome).
    pub(crate) has_valid: bool,
}

/// What a phase trained and measured.
pub(crate) struct PhaseOutcome {
    /// The trained model, without autodiff.
    pub(crate) model: Classifier,
    /// One entry per epoch.
    pub(crate) history: Vec<EpochMetrics>,
    /// Phase 2's test outcomes at its last epoch; `None` in phase 1.
    pub(crate) test_outcomes: Option<ReviewOutcomes>,
}

impl Phase {
    /// Trains `mlp` (on any device: it is moved to the run's) for this phase's epochs on
    /// `train`, evaluating on `eval` after every epoch.
    pub(crate) fn run(
        &self,
        config: &ExperimentConfig,
        mlp: Mlp,
        plan: ExecutionPlan,
        train: ImdbDataset,
        eval: ImdbDataset,
        opts: &RunOptions,
    ) -> Result<PhaseOutcome> {
        let checkpoint_dir = self.dir.join("checkpoint");
        let done = if opts.resume {
            last_complete_checkpoint(&checkpoint_dir).min(self.epochs)
        } else {
            0
        };
        let resume_error = |(path, e): (PathBuf, String)| TrainError::Resume {
            path,
            reason: format!(
                "the checkpoint of epoch {done} cannot be read ({e}); run again without --resume \
                 to start over"
            ),
        };
        // The epochs before `done` come from the checkpoint, read before anything else is done.
        let before = match done {
            0 => Vec::new(),
            _ => read_checkpoint(&checkpoint_dir, done).map_err(resume_error)?,
        };
        let history = History::starting_with(before);

        let device = opts.backend.device();
        let autodiff = device.clone().autodiff();
        // Burn draws a lazily initialised parameter when it is first read, on the device it is
        // then on. Read before the model moves to the run's device, the initial weights are
        // drawn where the model was built (Flex, seeded with the run's seed, for
        // `run_experiment`): a seed then gives the same initial model on every backend.
        materialize(&mlp);
        // Input weights from this phase's training reviews only (never validation or test).
        let mlp = match config.weighting {
            Some(weighting) => {
                mlp.with_input_weights(&weighting.weights(&train, config.model.input))?
            }
            None => mlp,
        };
        // `train()`: a model built on a plain device (or a `valid()` one) is made trainable.
        let gradients = SparseGradients::default();
        let mut model = Classifier {
            mlp: mlp.fork(&autodiff).train(),
            loss: config.loss,
            plan,
            gradients: gradients.clone(),
        };
        if done > 0 {
            // The Learner loads this checkpoint itself; loading it here first gives the model
            // the parameter ids it had when saved (a record restores them), which the optimizer
            // below is built for.
            let path = checkpoint_dir.join(format!("model-{done}.bpk"));
            let record = ModuleRecord::load(&path)
                .map_err(|e| resume_error((path.clone(), e.to_string())))?;
            model = model
                .try_load_record(record)
                .map_err(|e| resume_error((path, e.to_string())))?;
        }
        let first_kernel = model.mlp.hidden_layers()[0].weight.id;
        let optim = plan.optimizer(&config.optimizer, first_kernel, &gradients);

        let batcher = MultiHotBatcher::new(config.model.input, plan.input());
        let loader = |ds, batch_size, schedule, dev: &Device, first| {
            Arc::new(ReviewLoader::new(
                ds,
                batcher.clone(),
                batch_size,
                schedule,
                dev.clone(),
                first,
            ))
        };
        let schedule = Schedule::Training {
            seed: config.seed,
            shuffle: config.shuffles(),
        };
        let train_loader = loader(train, config.batch_size, schedule, &autodiff, done);
        // Evaluation changes no weight: its batch size only changes the speed.
        let eval_batch = plan.eval_batch_size(config.batch_size);
        let eval_loader = loader(eval, eval_batch, Schedule::Evaluation, &device, 0);

        let divergence = Divergence::default();
        let label = format!("[{}:{}]", config.name, self.name);
        let save_every = Duration::try_from_secs_f64(opts.checkpoint_seconds.max(0.0))
            // Negative or NaN: every epoch; infinite: the last epoch only.
            .unwrap_or(Duration::MAX);
        let test_outcomes = Arc::new(Mutex::new(None));
        let mut training = SupervisedTraining::new(&self.dir, train_loader, eval_loader)
            .metrics((BinaryAccuracyMetric::default(), LossMetric::new()))
            .with_metric_logger(MemoryMetricLog::default())
            .with_custom_checkpointers(
                AtomicFileCheckpointer::new(&checkpoint_dir, "model"),
                AtomicFileCheckpointer::new(&checkpoint_dir, "optim"),
                AtomicFileCheckpointer::new(&checkpoint_dir, "scheduler"),
            )
            .with_checkpointing_strategy(EpochEnd::new(
                history.clone(),
                SaveSchedule::new(save_every, self.epochs),
                checkpoint_dir.clone(),
            ))
            .num_epochs(self.epochs)
            .early_stopping(StopOnDivergence::new(divergence.clone()))
            // Burn would install a global tracing subscriber per run; a study runs many.
            .with_application_logger(None)
            .renderer(Box::new(ProgressRenderer::new(
                &label,
                opts.quiet,
                self.has_valid,
            )));
        if !self.has_valid {
            training = training.metric_valid(OutcomeLog::new(test_outcomes.clone()));
        }
        if done > 0 {
            training = training.checkpoint(done);
        }
        let result = training.launch(Learner::new(model, optim, config.optimizer.learning_rate));

        let diverged = *divergence
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((split, epoch, value)) = diverged {
            return Err(TrainError::NonFiniteLoss {
                split,
                epoch,
                value,
            });
        }
        if result.error.is_some() || result.interrupted.is_some() {
            let reason = match (&result.error, &result.interrupted) {
                (Some(e), _) => e.to_string(),
                (None, Some(i)) => i.reason.clone().unwrap_or_else(|| "interrupted".into()),
                (None, None) => unreachable!(),
            };
            let completed = last_complete_checkpoint(&checkpoint_dir);
            return Err(TrainError::Interrupted {
                completed,
                expected: self.epochs,
                reason,
            });
        }
        let history = history.take();
        // Burn ends a phase early only when interrupted or stopped on divergence (both above).
        assert_eq!(history.len(), self.epochs, "one history entry per epoch");
        let test_outcomes = test_outcomes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        Ok(PhaseOutcome {
            model: result.model,
            history,
            test_outcomes,
        })
    }
}

/// Reads every parameter of `mlp` once, in the order the training step first reads them (the
/// hidden layers' kernel then bias, first to last, then the output layer's), which draws the
/// lazily initialised ones from their device's generator.
fn materialize(mlp: &Mlp) {
    struct Read;
    impl ModuleVisitor for Read {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let _ = param.val();
        }
    }
    mlp.visit(&mut Read);
}
