//! imdb-serve end to end, in one test binary sharing one model and one server: the JSON API
//! against the library and every refusal (`api`), the page in a real browser (`browser`),
//! 32 clients at once (`load`), and the binary itself (`cli`).

mod api;
mod browser;
mod cli;
mod load;
mod support;
