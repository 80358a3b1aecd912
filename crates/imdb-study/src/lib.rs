#![doc = include_str!("../README.md")]
//!
//! ## What is where
//!
//! - [`variants`]: the seed's seven variants ([`seed_variants`]), the `bigrams` one that goes
//!   beyond it ([`study_variants`]) and the JSON configs of the experiments folder
//!   ([`load_experiments`]);
//! - [`runner`]: [`run_study`] runs variants × seeds with [`imdb_train::run_experiment`], reusing
//!   finished runs, then writes the report;
//! - [`stats`]: distributions, Welch's test, Holm, power, the paired bootstrap over reviews and
//!   seeds, the factorial linear model;
//! - [`summary`]: every number of the report ([`Summary`], `summary.json`);
//! - [`claims`]: the seed's one-run conclusions as hypotheses;
//! - [`report`] and [`figures`]: `report.md`, `report.html` and the PNG/SVG figures.
//!
//! Layout of the output folder:
//!
//! ```text
//! <out>/report.md, report.html, summary.json
//! <out>/figures/{test_accuracy, loss_<variant>, compare_<variant>}.{png,svg}
//! <out>/<variant>/seed-<n>/   one run's artifacts (see run_experiment)
//! ```

mod error;

pub mod claims;
pub mod figures;
pub mod report;
pub mod runner;
pub mod stats;
pub mod summary;
pub mod variants;

pub use error::{Result, StudyError};
pub use report::{render_html, render_markdown, write_report};
pub use runner::{
    Shard, StudyOptions, StudyOutcome, StudyRun, run_dir, run_shard, run_study, run_study_parallel,
};
pub use summary::{ALPHA, BASELINE, Summary, summarize};
pub use variants::{load_experiment, load_experiments, seed_variants, select, study_variants};
