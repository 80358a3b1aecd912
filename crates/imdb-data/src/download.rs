//! Verified, atomic downloads: a file either arrives whole with the pinned SHA-256, or not at all.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::ProgressBar;
use sha2::{Digest, Sha256};

use crate::error::{DataError, Result};

/// Also the checksum of a local source; here for the path it had before the crate had features.
pub use crate::digest::sha256_file;

/// Buffer size for streaming reads from the network.
const BUF_LEN: usize = 64 * 1024;

/// What to fetch and how to check it.
#[derive(Debug, Clone, Copy)]
pub struct Download<'a> {
    /// The URL (http or https).
    pub url: &'a str,
    /// The expected SHA-256 of the whole file, in hex (lowercase; compared case-insensitively).
    pub sha256: &'a str,
    /// The expected size in bytes, if known. Used for the progress bar and to tell a cut
    /// connection from a wrong file when the server sends no `Content-Length`.
    pub expected_len: Option<u64>,
}

/// Network timeouts of a download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Limit on establishing the TCP (and TLS) connection.
    pub connect: Duration,
    /// Limit on each single read: a server that stalls this long is given up on.
    /// It is not a limit on the whole download, which may take minutes on a slow line.
    pub read: Duration,
}

impl Timeouts {
    /// The timeouts [`download_verified`] uses: 15 s to connect, 30 s per read.
    pub const DEFAULT: Timeouts = Timeouts {
        connect: Duration::from_secs(15),
        read: Duration::from_secs(30),
    };
}

impl Default for Timeouts {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Downloads `spec.url` to `dest` atomically, with [`Timeouts::DEFAULT`].
///
/// The body is streamed into a temporary file in `dest`'s directory (created if missing) and
/// hashed on the way; a progress bar is drawn on stderr unless `quiet` is set or stderr is not a
/// terminal. The length is checked against `Content-Length` (or `spec.expected_len` when the
/// server sends none) and the SHA-256 against `spec.sha256`; only then is the file fsynced and
/// renamed to `dest`. On any failure the temporary file is deleted and `dest` is left as it was,
/// so nothing half-written is ever mistaken for complete. Returns `dest`.
///
/// # Errors
/// [`DataError::HttpStatus`] for an HTTP error status; [`DataError::Network`] when the
/// connection fails, times out or is cut before the whole body arrived;
/// [`DataError::ChecksumMismatch`] when the body has another digest; [`DataError::Io`] when
/// the directory or temporary file cannot be written.
pub fn download_verified(spec: &Download, dest: &Path, quiet: bool) -> Result<PathBuf> {
    download_verified_with(spec, dest, quiet, Timeouts::DEFAULT)
}

/// [`download_verified`] with explicit timeouts.
///
/// # Errors
/// As [`download_verified`].
pub fn download_verified_with(
    spec: &Download,
    dest: &Path,
    quiet: bool,
    timeouts: Timeouts,
) -> Result<PathBuf> {
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;

    // Beside `dest` ([`crate::atomic`]); dropping it deletes it, which is how every early return
    // below cleans up.
    let file_name = dest
        .file_name()
        .map_or("download".into(), |n| n.to_string_lossy());
    let mut tmp = crate::atomic::AtomicFile::new(dest).map_err(|e| DataError::io(dir, e))?;

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(timeouts.connect))
        .timeout_per_read(Some(timeouts.read))
        .build()
        .into();
    // Ask for the bytes as stored: the digest is of the file, not of a transfer encoding.
    let response = agent
        .get(spec.url)
        .header("Accept-Encoding", "identity")
        .call()
        .map_err(|e| map_ureq_error(spec.url, e))?;
    // ureq drops Content-Length when it decodes a compressed body, so this is always the
    // length of what the reader yields.
    let content_len: Option<u64> = response
        .headers()
        .get("Content-Length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let want_len = content_len.or(spec.expected_len);

    let bar = progress_bar(want_len, &file_name, quiet);
    // The body reader has no size limit (`into_reader`); the expected length and the checksum
    // are what bound a hostile server.
    let streamed = stream_body(
        response.into_body().into_reader(),
        tmp.file(),
        &bar,
        want_len,
    );
    let hasher = match streamed {
        Ok(h) => {
            bar.finish_and_clear();
            h
        }
        Err(e) => {
            // Leave the bar where it stopped, so the user sees how far it got.
            bar.abandon();
            return Err(match e {
                StreamError::Network(message) => network(spec.url, message),
                StreamError::Write(e) => DataError::io(tmp.path(), e),
            });
        }
    };
    let got = crate::digest::hex(&hasher.finalize());
    if !got.eq_ignore_ascii_case(spec.sha256.trim()) {
        return Err(DataError::ChecksumMismatch {
            url: spec.url.to_string(),
            expected: spec.sha256.to_string(),
            got,
        });
    }

    // Synced before the name points at it, and the rename synced too: a crash right after cannot
    // leave a complete-looking `dest` with missing contents.
    tmp.commit().map_err(|e| DataError::io(dest, e))?;
    Ok(dest.to_path_buf())
}

/// Why streaming the body stopped: the two sides map to different [`DataError`] variants.
enum StreamError {
    Network(String),
    Write(io::Error),
}

/// Copies the body into `out`, hashing it, until the server ends it. A body that ends before
/// `want_len` bytes is a cut connection, whether ureq noticed (Content-Length) or not.
fn stream_body(
    mut reader: impl Read,
    out: &mut File,
    bar: &ProgressBar,
    want_len: Option<u64>,
) -> std::result::Result<Sha256, StreamError> {
    let cut = |received: u64| match want_len {
        Some(want) => format!("connection closed after {received} of {want} bytes"),
        None => format!("connection closed after {received} bytes"),
    };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; BUF_LEN];
    let mut received: u64 = 0;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // ureq's own check: the body (Content-Length or chunked) ended early.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(StreamError::Network(cut(received)));
            }
            Err(e) if is_timeout(&e) => {
                return Err(StreamError::Network(format!(
                    "read failed after {received} bytes: timed out ({e})"
                )));
            }
            Err(e) => {
                return Err(StreamError::Network(format!(
                    "read failed after {received} bytes: {e}"
                )));
            }
        };
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(StreamError::Write)?;
        received += n as u64;
        bar.set_position(received);
    }
    if want_len.is_some_and(|want| received < want) {
        return Err(StreamError::Network(cut(received)));
    }
    Ok(hasher)
}

/// Whether a body read failed on ureq's per-read timeout (ureq wraps its own error in an
/// `io::Error` of kind `Other`).
fn is_timeout(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::TimedOut
        || e.get_ref()
            .and_then(|inner| inner.downcast_ref::<ureq::Error>())
            .is_some_and(|inner| matches!(inner, ureq::Error::Timeout(_)))
}

fn network(url: &str, message: String) -> DataError {
    DataError::Network {
        url: url.to_string(),
        message,
    }
}

/// Status errors keep their code; everything else keeps ureq's message and its innermost cause
/// (e.g. "timeout: per read" or "Connection refused") but not the URL, which `Network` prints.
fn map_ureq_error(url: &str, err: ureq::Error) -> DataError {
    let mut message = match err {
        ureq::Error::StatusCode(status) => {
            return DataError::HttpStatus {
                url: url.to_string(),
                status,
            };
        }
        ureq::Error::Timeout(ref which) => format!("timed out ({which})"),
        ref other => other.to_string(),
    };
    let mut cause = std::error::Error::source(&err);
    while let Some(inner) = cause.and_then(std::error::Error::source) {
        cause = Some(inner);
    }
    if let Some(cause) = cause {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(&format!(": {cause}"));
        }
    }
    network(url, message)
}

fn progress_bar(len: Option<u64>, name: &str, quiet: bool) -> ProgressBar {
    let template = match len {
        Some(_) => "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        None => "{spinner} {msg} {bytes} {bytes_per_sec}",
    };
    let bar = crate::progress::bar(len, template, quiet);
    bar.set_message(name.to_string());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::net::TcpListener;
    use std::thread::{self, JoinHandle};
    use std::time::Instant;

    /// Short timeouts so the stall test finishes in well under a second.
    const FAST: Timeouts = Timeouts {
        connect: Duration::from_secs(2),
        read: Duration::from_millis(300),
    };

    /// How the test server answers one connection.
    enum Reply {
        /// A complete response with Content-Length.
        Ok(Vec<u8>),
        /// A 200 without Content-Length, closed after the body (close-delimited).
        OkNoLength(Vec<u8>),
        /// Announces Content-Length = the full body but sends only the first half, then closes.
        Cut(Vec<u8>),
        /// Announces the full body, sends half, then goes quiet until the client hangs up.
        Stall(Vec<u8>),
        /// A 404 with a short body.
        NotFound,
        /// Reads the request and never answers, until the client gives up.
        Silent,
    }

    /// Serves one connection per reply on 127.0.0.1, then exits. Every wait is bounded
    /// (accept deadline, socket timeouts) so a failing test cannot leave it hanging.
    fn serve(replies: Vec<Reply>) -> (String, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/aclImdb_v1.tar.gz",
            listener.local_addr().unwrap()
        );
        listener.set_nonblocking(true).unwrap();
        let handle = thread::spawn(move || {
            for reply in replies {
                let deadline = Instant::now() + Duration::from_secs(10);
                let mut stream = loop {
                    match listener.accept() {
                        Ok((s, _)) => break s,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            if Instant::now() > deadline {
                                return;
                            }
                            thread::sleep(Duration::from_millis(5));
                        }
                        Err(_) => return,
                    }
                };
                stream.set_nonblocking(false).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                stream
                    .set_write_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                // Consume the request head, so closing does not turn into a reset.
                let mut lines = io::BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while lines.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let _ = match reply {
                    Reply::Ok(body) => {
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        stream
                            .write_all(head.as_bytes())
                            .and_then(|_| stream.write_all(&body))
                    }
                    Reply::OkNoLength(body) => stream
                        .write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                        .and_then(|_| stream.write_all(&body)),
                    Reply::Cut(body) => {
                        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                        stream
                            .write_all(head.as_bytes())
                            .and_then(|_| stream.write_all(&body[..body.len() / 2]))
                    }
                    Reply::Stall(body) => {
                        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                        stream
                            .write_all(head.as_bytes())
                            .and_then(|_| stream.write_all(&body[..body.len() / 2]))
                            .and_then(|_| io::copy(&mut lines, &mut io::sink()).map(|_| ()))
                    }
                    Reply::NotFound => stream.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
                    ),
                    // Returns when the client hangs up (EOF) or after the 5 s socket timeout.
                    Reply::Silent => io::copy(&mut lines, &mut io::sink()).map(|_| ()),
                };
                let _ = stream.flush();
                // Dropping `stream` (and its clone) closes the connection.
            }
        });
        (url, handle)
    }

    /// A few hundred KB of deterministic, non-repeating-looking bytes.
    fn fixture() -> Vec<u8> {
        let mut x: u32 = 0x1234_5678;
        (0..300_000)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 24) as u8
            })
            .collect()
    }

    fn hex_of(bytes: &[u8]) -> String {
        crate::digest::hex(&Sha256::digest(bytes))
    }

    use crate::atomic::listing;

    #[test]
    fn downloads_verifies_and_renames() {
        let body = fixture();
        let (url, server) = serve(vec![Reply::Ok(body.clone())]);
        let dir = tempfile::tempdir().unwrap();
        // A missing parent directory is created.
        let dest = dir.path().join("sub").join("aclImdb_v1.tar.gz");
        let sha = hex_of(&body);
        let spec = Download {
            url: &url,
            sha256: &sha,
            expected_len: Some(body.len() as u64),
        };
        let got = download_verified_with(&spec, &dest, true, FAST).unwrap();
        server.join().unwrap();
        assert_eq!(got, dest);
        assert_eq!(fs::read(&dest).unwrap(), body);
        assert_eq!(listing(&dir.path().join("sub")), ["aclImdb_v1.tar.gz"]);
        assert_eq!(sha256_file(&dest).unwrap(), sha);
    }

    #[test]
    fn close_delimited_body_without_content_length() {
        let body = fixture();
        let (url, server) = serve(vec![Reply::OkNoLength(body.clone())]);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f.bin");
        let sha = hex_of(&body);
        let spec = Download {
            url: &url,
            sha256: &sha,
            expected_len: None,
        };
        download_verified_with(&spec, &dest, true, FAST).unwrap();
        server.join().unwrap();
        assert_eq!(fs::read(&dest).unwrap(), body);
        assert_eq!(listing(dir.path()), ["f.bin"]);
    }

    #[test]
    fn checksum_mismatch_discards_the_file() {
        let body = fixture();
        let (url, server) = serve(vec![Reply::Ok(body.clone())]);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f.bin");
        let wrong = "0".repeat(64);
        let spec = Download {
            url: &url,
            sha256: &wrong,
            expected_len: None,
        };
        let err = download_verified_with(&spec, &dest, true, FAST).unwrap_err();
        server.join().unwrap();
        match err {
            DataError::ChecksumMismatch {
                url: u,
                expected,
                got,
            } => {
                assert_eq!(u, url);
                assert_eq!(expected, wrong);
                assert_eq!(got, hex_of(&body));
            }
            other => panic!("expected ChecksumMismatch, got {other:?}"),
        }
        assert!(!dest.exists());
        assert!(listing(dir.path()).is_empty());
    }

    #[test]
    fn connection_cut_mid_file_is_a_network_error() {
        let body = fixture();
        let (url, server) = serve(vec![Reply::Cut(body.clone())]);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f.bin");
        let sha = hex_of(&body);
        let spec = Download {
            url: &url,
            sha256: &sha,
            expected_len: None,
        };
        let err = download_verified_with(&spec, &dest, true, FAST).unwrap_err();
        server.join().unwrap();
        let expected = format!(
            "connection closed after {} of {} bytes",
            body.len() / 2,
            body.len()
        );
        assert!(
            matches!(&err, DataError::Network { message, .. } if *message == expected),
            "{err:?}"
        );
        assert!(!dest.exists());
        assert!(listing(dir.path()).is_empty());
    }

    #[test]
    fn short_body_without_content_length_is_caught_by_expected_len() {
        let body = fixture();
        let half = body[..body.len() / 2].to_vec();
        let (url, server) = serve(vec![Reply::OkNoLength(half)]);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f.bin");
        let sha = hex_of(&body);
        let spec = Download {
            url: &url,
            sha256: &sha,
            expected_len: Some(body.len() as u64),
        };
        let err = download_verified_with(&spec, &dest, true, FAST).unwrap_err();
        server.join().unwrap();
        assert!(
            matches!(&err, DataError::Network { message, .. } if message.contains("closed after 150000 of 300000")),
            "{err:?}"
        );
        assert!(listing(dir.path()).is_empty());
    }

    #[test]
    fn http_404_is_an_http_status_error() {
        let (url, server) = serve(vec![Reply::NotFound]);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f.bin");
        let sha = "0".repeat(64);
        let spec = Download {
            url: &url,
            sha256: &sha,
            expected_len: None,
        };
        let err = download_verified_with(&spec, &dest, true, FAST).unwrap_err();
        server.join().unwrap();
        assert!(
            matches!(err, DataError::HttpStatus { status: 404, .. }),
            "{err:?}"
        );
        assert!(listing(dir.path()).is_empty());
    }

    #[test]
    fn silent_server_times_out() {
        let (url, server) = serve(vec![Reply::Silent]);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f.bin");
        let sha = "0".repeat(64);
        let spec = Download {
            url: &url,
            sha256: &sha,
            expected_len: None,
        };
        let start = Instant::now();
        let err = download_verified_with(&spec, &dest, true, FAST).unwrap_err();
        let elapsed = start.elapsed();
        server.join().unwrap();
        assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
        assert!(
            matches!(&err, DataError::Network { message, .. } if message.contains("timed out")),
            "{err:?}"
        );
        assert!(listing(dir.path()).is_empty());
    }

    #[test]
    fn stall_mid_body_is_a_network_error() {
        let body = fixture();
        let (url, server) = serve(vec![Reply::Stall(body.clone())]);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f.bin");
        let sha = hex_of(&body);
        let spec = Download {
            url: &url,
            sha256: &sha,
            expected_len: None,
        };
        let start = Instant::now();
        let err = download_verified_with(&spec, &dest, true, FAST).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(3));
        server.join().unwrap();
        assert!(
            matches!(&err, DataError::Network { message, .. }
                if message.starts_with("read failed after 150000 bytes") && message.contains("timed out")),
            "{err:?}"
        );
        assert!(listing(dir.path()).is_empty());
    }

    #[test]
    fn refused_connection_is_a_network_error() {
        // Bind then drop: the port is (almost certainly) closed for the moment.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let url = format!("http://{addr}/f.bin");
        let dir = tempfile::tempdir().unwrap();
        let sha = "0".repeat(64);
        let spec = Download {
            url: &url,
            sha256: &sha,
            expected_len: None,
        };
        let err = download_verified_with(&spec, &dir.path().join("f.bin"), true, FAST).unwrap_err();
        assert!(matches!(err, DataError::Network { .. }), "{err:?}");
    }

    #[test]
    fn failed_downloads_leave_an_existing_dest_alone() {
        let body = fixture();
        let (url, server) = serve(vec![
            Reply::Ok(body.clone()),
            Reply::Cut(body.clone()),
            Reply::NotFound,
        ]);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f.bin");
        fs::write(&dest, b"the earlier, good copy").unwrap();
        let wrong = "0".repeat(64);
        let right = hex_of(&body);
        for sha in [&wrong, &right, &right] {
            let spec = Download {
                url: &url,
                sha256: sha,
                expected_len: None,
            };
            download_verified_with(&spec, &dest, true, FAST).unwrap_err();
            assert_eq!(fs::read(&dest).unwrap(), b"the earlier, good copy");
            assert_eq!(listing(dir.path()), ["f.bin"]);
        }
        server.join().unwrap();
    }

    #[test]
    fn sha256_file_known_vectors() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        let abc = dir.path().join("abc");
        fs::write(&empty, b"").unwrap();
        fs::write(&abc, b"abc").unwrap();
        assert_eq!(
            sha256_file(&empty).unwrap(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_file(&abc).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // Larger than one buffer, so block boundaries are exercised.
        let big = dir.path().join("big");
        let body = fixture();
        fs::write(&big, &body).unwrap();
        assert_eq!(sha256_file(&big).unwrap(), hex_of(&body));
        assert!(matches!(
            sha256_file(&dir.path().join("nope")),
            Err(DataError::Io { .. })
        ));
    }
}
