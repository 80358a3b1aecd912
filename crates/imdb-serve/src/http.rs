//! Just enough HTTP/1.1 for a local page and a JSON API, on a blocking [`TcpStream`]:
//! requests one after another on a connection (keep-alive), bodies by `Content-Length` only,
//! every size bounded and every wait timed ([`crate::limits`]).
//!
//! The request head is parsed by `httparse`; what is ours is the framing around it, and that
//! is where the bounds live: a declared body over the limit is refused before a byte of it is
//! read (no buffer is ever sized by a client), and a connection whose framing is in doubt is
//! closed after its answer.

use crate::limits::{IO_TIMEOUT, MAX_BODY_BYTES, MAX_HEAD_BYTES, MAX_HEADERS, REQUEST_TIMEOUT};
use serde::Serialize;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// A request, body read.
#[derive(Debug)]
pub(crate) struct Request {
    /// `GET`, `POST`, … as sent.
    pub method: String,
    /// The request target: path and query.
    pub target: String,
    /// Headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body (empty without `Content-Length`).
    pub body: Vec<u8>,
}

impl Request {
    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The target's path, before any `?`.
    pub fn path(&self) -> &str {
        self.target.split_once('?').map_or(&self.target, |(p, _)| p)
    }

    /// The target's query, after the first `?`.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }
}

/// A response, body whole.
#[derive(Debug)]
pub(crate) struct Response {
    /// The status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Headers beyond those every response carries.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// `value` as JSON.
    pub fn json(status: u16, value: &impl Serialize) -> Self {
        Self {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: serde_json::to_vec(value).expect("the API's types serialize"),
        }
    }

    /// `{"error": message}`, the body of every refusal.
    pub fn error(status: u16, message: impl Into<String>) -> Self {
        #[derive(Serialize)]
        struct Error {
            error: String,
        }
        Self::json(
            status,
            &Error {
                error: message.into(),
            },
        )
    }

    /// An HTML page.
    pub fn html(status: u16, body: String) -> Self {
        Self {
            status,
            content_type: "text/html; charset=utf-8",
            headers: Vec::new(),
            body: body.into_bytes(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The status line, headers and (unless `head_only`) body, as sent.
    pub(crate) fn to_bytes(&self, keep_alive: bool, head_only: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        let reason = reason(self.status);
        let connection = if keep_alive { "keep-alive" } else { "close" };
        // Writing into a Vec cannot fail.
        let _ = write!(
            out,
            "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
             Connection: {connection}\r\nCache-Control: no-store\r\n\
             X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n",
            self.status,
            self.content_type,
            self.body.len(),
        );
        for (name, value) in &self.headers {
            let _ = write!(out, "{name}: {value}\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if !head_only {
            out.extend_from_slice(&self.body);
        }
        out
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Serves the requests of one connection with `handle` until the client closes it, asks to,
/// goes quiet for [`IO_TIMEOUT`], or sends something that leaves the framing in doubt.
pub(crate) fn serve_connection(stream: TcpStream, handle: &dyn Fn(&Request) -> Response) {
    // Setting options on a fresh socket fails only if it is already dead; reads will say so.
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut writer = write_half;
    let mut reader = BufReader::new(stream);
    loop {
        let started = Instant::now();
        let head = match read_head(&mut reader, started) {
            Ok(Some(head)) => head,
            // Closed, reset or quiet between requests: nothing to answer.
            Ok(None) | Err(HeadError::Closed) => return,
            Err(HeadError::TooLarge(what)) => {
                return refuse(&mut reader, &mut writer, &Response::error(431, what));
            }
            Err(HeadError::Malformed(what)) => {
                return refuse(&mut reader, &mut writer, &Response::error(400, what));
            }
        };
        let body_len = match head.body_length() {
            Ok(n) => n,
            Err(response) => return refuse(&mut reader, &mut writer, &response),
        };
        match head.header("expect") {
            None => {}
            Some(e) if e.eq_ignore_ascii_case("100-continue") => {
                // The client waits for this before sending the body.
                let go_on = b"HTTP/1.1 100 Continue\r\n\r\n";
                if body_len > 0 && writer.write_all(go_on).is_err() {
                    return;
                }
            }
            Some(e) => {
                let response = Response::error(417, format!("unsupported Expect: {e}"));
                return refuse(&mut reader, &mut writer, &response);
            }
        }
        let Ok(body) = read_body(&mut reader, body_len, started) else {
            return;
        };
        let keep_alive = head.keep_alive();
        let head_only = head.method == "HEAD";
        let request = Request {
            method: head.method,
            target: head.target,
            headers: head.headers,
            body,
        };
        let response = handle(&request);
        if writer
            .write_all(&response.to_bytes(keep_alive, head_only))
            .is_err()
            || !keep_alive
        {
            return;
        }
    }
}

/// Answers `response` and closes the connection without reading what else the client sent:
/// after a refusal the next request's start is unknown.
fn refuse(reader: &mut BufReader<TcpStream>, writer: &mut TcpStream, response: &Response) {
    if writer.write_all(&response.to_bytes(false, false)).is_err() {
        return;
    }
    let _ = writer.shutdown(Shutdown::Write);
    // Closing a socket with unread bytes makes the kernel send a reset, which can destroy the
    // response before the client reads it (a client still sending a refused body). So read and
    // drop what keeps coming for a moment, within a bound.
    let stream = reader.get_ref();
    let _ = stream.set_read_timeout(Some(Duration::from_millis(250)));
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut left = 2 * MAX_BODY_BYTES;
    let mut buf = [0; 16 << 10];
    while left > 0 && Instant::now() < deadline {
        match reader.get_mut().read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}

/// The request line and headers.
#[derive(Debug)]
struct Head {
    method: String,
    target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    version: u8,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the client keeps the connection open: HTTP/1.1 unless it says `close`,
    /// HTTP/1.0 only if it says `keep-alive`.
    fn keep_alive(&self) -> bool {
        let has = |token: &str| {
            self.headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
                .flat_map(|(_, v)| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        };
        if self.version == 0 {
            has("keep-alive")
        } else {
            !has("close")
        }
    }

    /// The body's length from `Content-Length`, or the response refusing the request.
    fn body_length(&self) -> Result<usize, Response> {
        if self.header("transfer-encoding").is_some() {
            return Err(Response::error(
                411,
                "chunked bodies are not accepted: send the body with a Content-Length",
            ));
        }
        let mut length: Option<u64> = None;
        for (_, value) in self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        {
            let value = value.trim();
            let n = value
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| value.parse::<u64>().ok())
                .flatten()
                .filter(|_| !value.is_empty());
            match (n, length) {
                (None, _) => {
                    return Err(Response::error(400, format!("bad Content-Length: {value}")));
                }
                (Some(n), Some(m)) if n != m => {
                    return Err(Response::error(400, "conflicting Content-Length headers"));
                }
                (Some(n), _) => length = Some(n),
            }
        }
        let length = length.unwrap_or(0);
        if length > MAX_BODY_BYTES as u64 {
            return Err(Response::error(
                413,
                format!("the body is {length} bytes; the limit is {MAX_BODY_BYTES}"),
            ));
        }
        Ok(length as usize)
    }
}

#[derive(Debug)]
enum HeadError {
    /// The connection failed, closed inside the head or went quiet: nothing to answer.
    Closed,
    /// Over [`MAX_HEAD_BYTES`] or [`MAX_HEADERS`].
    TooLarge(String),
    /// Not an HTTP/1.x request.
    Malformed(String),
}

/// Reads the next request's head; `None` if the connection closes cleanly before one starts.
fn read_head(reader: &mut impl BufRead, started: Instant) -> Result<Option<Head>, HeadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut blank_lines = 0;
    loop {
        let room = (MAX_HEAD_BYTES + 1).saturating_sub(buf.len()) as u64;
        let n = reader
            .by_ref()
            .take(room)
            .read_until(b'\n', &mut buf)
            .map_err(|_| HeadError::Closed)?;
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(HeadError::Closed)
            };
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(HeadError::TooLarge(format!(
                "the request line and headers exceed {MAX_HEAD_BYTES} bytes"
            )));
        }
        if started.elapsed() > REQUEST_TIMEOUT {
            return Err(HeadError::Closed);
        }
        // A client may send blank lines between requests (RFC 9112 §2.2); a few are skipped.
        if buf == b"\r\n" || buf == b"\n" {
            blank_lines += 1;
            if blank_lines > 4 {
                return Err(HeadError::Malformed("not an HTTP request".into()));
            }
            buf.clear();
            continue;
        }
        if buf.ends_with(b"\n\r\n") || buf.ends_with(b"\n\n") {
            break;
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    match parsed.parse(&buf) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(HeadError::Malformed("incomplete request head".into()));
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(HeadError::TooLarge(format!(
                "more than {MAX_HEADERS} headers"
            )));
        }
        Err(e) => return Err(HeadError::Malformed(format!("bad request head: {e}"))),
    }
    let (Some(method), Some(target), Some(version)) = (parsed.method, parsed.path, parsed.version)
    else {
        return Err(HeadError::Malformed("incomplete request line".into()));
    };
    Ok(Some(Head {
        method: method.to_owned(),
        target: target.to_owned(),
        version,
        headers: parsed
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_owned(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
    }))
}

/// Reads exactly `len` bytes of body (at most [`MAX_BODY_BYTES`], checked by the caller).
fn read_body(reader: &mut impl Read, len: usize, started: Instant) -> io::Result<Vec<u8>> {
    let mut body = vec![0; len];
    let mut filled = 0;
    while filled < len {
        let n = reader.read(&mut body[filled..])?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        filled += n;
        if started.elapsed() > REQUEST_TIMEOUT {
            return Err(io::ErrorKind::TimedOut.into());
        }
    }
    Ok(body)
}

/// The value of the first `name=value` pair of a query string (`a=1&b=2`), percent-decoded
/// with `+` as a space, as browsers encode forms and links. Bytes that are not UTF-8 become
/// U+FFFD.
pub(crate) fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(key) == name).then(|| percent_decode(value))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |i: usize| bytes.get(i).and_then(|&b| (b as char).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'+', _, _) => out.push(b' '),
            (b'%', Some(high), Some(low)) => {
                // Two hex digits: at most 0xff.
                out.push((high * 16 + low) as u8);
                i += 2;
            }
            // A `%` not followed by two hex digits stands for itself, as browsers read it.
            (b, _, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn head(raw: &str) -> Result<Option<Head>, HeadError> {
        read_head(&mut Cursor::new(raw.as_bytes().to_vec()), Instant::now())
    }

    #[test]
    fn reads_a_head_and_its_framing() {
        let h = head("\r\nPOST /api/predict?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(
            (h.method.as_str(), h.target.as_str()),
            ("POST", "/api/predict?x=1")
        );
        assert_eq!(h.body_length().unwrap(), 12);
        assert!(h.keep_alive());
        let h = head("GET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert!(!h.keep_alive());
        let h = head("GET / HTTP/1.1\r\nConnection: Keep-Alive, Close\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!h.keep_alive());
        assert!(head("").unwrap().is_none());
    }

    #[test]
    fn refuses_what_it_cannot_frame_or_bound() {
        let status = |raw: &str| {
            head(raw)
                .unwrap()
                .unwrap()
                .body_length()
                .unwrap_err()
                .status
        };
        assert_eq!(
            status("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n"),
            400
        );
        assert_eq!(status("POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n"), 400);
        assert_eq!(
            status("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
            400
        );
        assert_eq!(
            status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            411
        );
        let over = MAX_BODY_BYTES + 1;
        assert_eq!(
            status(&format!(
                "POST / HTTP/1.1\r\nContent-Length: {over}\r\n\r\n"
            )),
            413
        );
        assert!(matches!(
            head("HELLO\r\n\r\n"),
            Err(HeadError::Malformed(_))
        ));
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_HEAD_BYTES));
        assert!(matches!(head(&long), Err(HeadError::TooLarge(_))));
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: y\r\n")).collect();
        assert!(matches!(
            head(&format!("GET / HTTP/1.1\r\n{many}\r\n")),
            Err(HeadError::TooLarge(_))
        ));
    }

    #[test]
    fn decodes_query_parameters() {
        assert_eq!(
            query_param("review=Great+film%21&x=1", "review").unwrap(),
            "Great film!"
        );
        assert_eq!(
            query_param("a=1&review=caf%C3%A9%20au%20lait", "review").unwrap(),
            "café au lait"
        );
        assert_eq!(query_param("review=100%&x", "review").unwrap(), "100%");
        assert_eq!(query_param("review=%zz%4", "review").unwrap(), "%zz%4");
        assert_eq!(query_param("review=%ff", "review").unwrap(), "\u{fffd}");
        assert_eq!(query_param("review", "review").unwrap(), "");
        assert!(query_param("reviews=1", "review").is_none());
    }
}
