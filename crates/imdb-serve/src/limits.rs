//! Every bound the server puts on a client, so that no request can take the server down or hold
//! it for long. A request over a size limit is answered with a JSON error (status in each
//! constant's doc) and the server carries on.

use std::time::Duration;

/// Largest request body, in bytes: 1 MiB. Over it: 413, without reading the body.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Most reviews in one `POST /api/predict`. Over it: 413.
pub const MAX_REVIEWS: usize = 100;

/// Longest review, in characters (Unicode scalar values), in the API and in a `/?review=` link:
/// 20,000, above the longest review of the IMDB data (13,704). Over it: 413.
pub const MAX_REVIEW_CHARS: usize = 20_000;

/// Largest request line and headers together, in bytes: 64 KiB, so a `/?review=` link holds
/// a review of some 20,000 plain characters (fewer once percent-encoded). Over it: 431.
pub const MAX_HEAD_BYTES: usize = 64 << 10;

/// Most headers in one request. Over it: 431.
pub const MAX_HEADERS: usize = 64;

/// Most connections served at once; one more is answered 503 and closed.
pub const MAX_CONNECTIONS: usize = 256;

/// Longest wait for a client's next bytes (and for a keep-alive connection's next request),
/// and for it to take a response: then the connection is closed.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest time a client may take to send one whole request (head and body), however it
/// trickles the bytes: then the connection is closed.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
