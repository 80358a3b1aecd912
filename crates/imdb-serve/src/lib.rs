//! A local web page and JSON API for a trained burn-imdb model: type a review, see its
//! probability, its label and the words that decided it, tinted in the review's own text.
//!
//! - [`App`]: a loaded model ([`App::load`], or [`App::new`] from a
//!   [`SentimentClassifier`](imdb_predict::SentimentClassifier)) and what it answers: the page
//!   at `/` (`/?review=…` opens it with that review classified), `POST /api/predict` and
//!   `GET /api/model`.
//! - [`Server`]: HTTP/1.1 on a [`TcpListener`](std::net::TcpListener), a thread per connection
//!   (at most [`limits::MAX_CONNECTIONS`]), every size and wait bounded ([`limits`]); a bad
//!   request gets a JSON error and the server carries on.
//! - [`train_sample_model`]: the embedded sample's quick model, for `--sample` and the tests.
//!
//! The `imdb-serve` binary wraps them: `cargo run -p imdb-serve -- --model artifacts/baseline`.
//! `docs/guide/serve.md` describes the page, the API, the limits and the measured load.
//!
//! ```no_run
//! use burn::tensor::Device;
//! use imdb_serve::{App, Server};
//! let app = App::load("artifacts/baseline", &Device::flex())?;
//! let server = Server::bind("127.0.0.1:0", app)?;
//! println!("serving {}", server.url());
//! server.run()?;
//! # Ok::<(), imdb_serve::ServeError>(())
//! ```

mod app;
mod error;
mod http;
pub mod limits;
mod page;
mod sample;
mod server;

pub use app::{App, ModelInfo, TOP_WORDS};
pub use error::{Result, ServeError};
pub use sample::train_sample_model;
pub use server::{Server, ServerHandle};
