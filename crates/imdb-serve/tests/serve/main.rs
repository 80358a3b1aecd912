//! imdb-serve end to end, in one test binary sharing one model and one server: the JSON API
//! against the library and every refusal (`api`), 32 clients at once (`load`), and the binary
//! itself (`cli`).

mod api;
mod cli;
mod load;
mod support;
