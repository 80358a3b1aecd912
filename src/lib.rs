//! burn-imdb: placeholder
pub use imdb_data as data;
pub use imdb_model as model;
