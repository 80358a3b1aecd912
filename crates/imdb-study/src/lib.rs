#![doc = include_str!("../README.md")]
//!
//! ## What is where
//!
//! - [`design`]: what a study runs ([`StudyPlan`]): the variants design or the factorial grid
//!   ([`factorial_cells`]), and how many seeds each config gets ([`SeedPlan`]);
//! - [`variants`]: the seed's seven variants ([`seed_variants`]), the n-gram ones that go beyond
//!   it ([`study_variants`]) and the JSON configs of an experiments folder ([`load_experiments`]);
//! - [`runner`]: [`run_study`] runs the plan with [`imdb_train::run_experiment`], reusing
//!   finished runs, over several processes ([`run_study_parallel`]) or as shards on several
//!   machines ([`run_shard`], [`merge`]), then writes the report;
//! - [`stats`]: distributions, Welch's test, Holm, power, the paired bootstrap over reviews and
//!   seeds, the factorial linear model;
//! - [`summary`]: every number of the report ([`Summary`], `summary.json`);
//! - [`claims`]: the seed's one-run conclusions as hypotheses;
//! - [`report`] and [`figures`]: `report.md`, `report.html` and the PNG/SVG figures.
//!
//! Layout of a study's folder:
//!
//! ```text
//! <out>/report.md, report.html, summary.json, study.json
//! <out>/figures/{forest, test_accuracy, loss_<variant>, compare_<variant>}.{png,svg}
//!               (factorial: {effects, interactions}.{png,svg})
//! <out>/<variant>/seed-<n>/   one run's artifacts (see run_experiment)
//! ```

mod error;

pub mod claims;
pub mod design;
pub mod figures;
pub mod report;
pub mod runner;
pub mod stats;
pub mod summary;
pub mod variants;

pub use design::{
    DEFAULT_SEEDS, Design, FACTORIAL_SEEDS, NGRAM_SEEDS, SeedPlan, StudyPlan, factorial_cells,
};
pub use error::{Result, StudyError};
pub use report::{render_html, render_markdown, write_report};
pub use runner::{
    Manifest, RUNS_PER_PROCESS, Shard, StudyOptions, StudyOutcome, StudyRun, WORKER_MORE,
    WorkerOutcome, exit_when_parent_ends, merge, run_dir, run_shard, run_study, run_study_parallel,
    run_worker,
};
pub use summary::{ALPHA, BASELINE, Summary, summarize};
pub use variants::{load_experiment, load_experiments, seed_variants, select, study_variants};
