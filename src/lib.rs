//! IMDB sentiment classification on Burn: the Keras study of a multi-hot MLP, reproduced and extended.
//!
//! The workspace's crates, re-exported:
//! - [`data`]: the IMDB loader (every common source, Keras-compatible encoding, cache) and batchers;
//! - [`model`]: a configurable MLP with optional dropout and Keras-style L2, usable from any Burn project;
//! - [`train`]: the study's protocol on Burn's `Learner`, artifacts and plots;
//! - [`predict`]: classify new text with a trained model directory and explain each decision.

pub use imdb_data as data;
pub use imdb_model as model;
pub use imdb_predict as predict;
pub use imdb_train as train;
