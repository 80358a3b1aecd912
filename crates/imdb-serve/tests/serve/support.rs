//! What the tests share: one model trained on the embedded sample, one server on an ephemeral
//! port, the classifier it must agree with, and a small HTTP client that can also misbehave.

use burn::tensor::Device;
use imdb_predict::{Explanation, Prediction, SentimentClassifier};
use imdb_serve::{App, Server, ServerHandle, TOP_WORDS, train_sample_model};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

pub const POSITIVE: &str = "A wonderful, moving film. The acting is excellent and the story is \
    beautiful; one of the best movies I have seen. Highly recommended!";
pub const NEGATIVE: &str = "An awful, boring mess. The worst acting and a stupid plot; a waste \
    of time, terrible from start to finish.";

/// The sample's baseline (seed 42), trained once per test binary into Cargo's per-target temp
/// dir (not `/tmp`), and left there.
pub fn model_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = tempfile::Builder::new()
            .prefix("serve-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap()
            .keep();
        train_sample_model(&root).unwrap()
    })
}

/// The server all tests talk to, started once, in this process.
pub fn server() -> SocketAddr {
    static SERVER: OnceLock<ServerHandle> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let app = App::load(model_dir(), &Device::flex()).unwrap();
            Server::bind("127.0.0.1:0", app).unwrap().spawn()
        })
        .addr()
}

/// What the server must answer: the library's own classifier on the same model.
pub fn classifier() -> &'static SentimentClassifier {
    static CLASSIFIER: OnceLock<SentimentClassifier> = OnceLock::new();
    CLASSIFIER.get_or_init(|| {
        SentimentClassifier::load(model_dir(), &Device::flex())
            .unwrap()
            .with_top_k(TOP_WORDS)
    })
}

/// An HTTP response as received.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One client connection, kept alive across requests.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn open() -> Self {
        Self::from_stream(TcpStream::connect(server()).unwrap())
    }

    pub fn from_stream(stream: TcpStream) -> Self {
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        Self {
            reader: BufReader::new(stream),
        }
    }

    /// Sends `raw` as it is.
    pub fn send_raw(&mut self, raw: &[u8]) {
        self.reader.get_mut().write_all(raw).unwrap();
    }

    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n");
        for (name, value) in headers {
            raw.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() {
            raw.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        raw.push_str("\r\n");
        let mut bytes = raw.into_bytes();
        bytes.extend_from_slice(body);
        self.send_raw(&bytes);
        self.read_reply()
    }

    /// Reads one final response (skipping `100 Continue`).
    pub fn read_reply(&mut self) -> Reply {
        self.read(false)
    }

    /// Reads the status and headers of a response to `HEAD`, which has no body.
    pub fn read_head_reply(&mut self) -> Reply {
        self.read(true)
    }

    fn read(&mut self, head_only: bool) -> Reply {
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            let status: u16 = line
                .split(' ')
                .nth(1)
                .unwrap_or_else(|| panic!("no status line: {line:?}"))
                .parse()
                .unwrap();
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                self.reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap();
                headers.push((name.to_owned(), value.trim().to_owned()));
            }
            if status == 100 {
                continue;
            }
            let mut reply = Reply {
                status,
                headers,
                body: Vec::new(),
            };
            let len: usize = reply.header("content-length").unwrap().parse().unwrap();
            reply.body = vec![0; if head_only { 0 } else { len }];
            self.reader.read_exact(&mut reply.body).unwrap();
            return reply;
        }
    }

    /// Whether the server closed the connection (reads end).
    pub fn is_closed(&mut self) -> bool {
        let mut byte = [0];
        matches!(self.reader.read(&mut byte), Ok(0) | Err(_))
    }
}

pub fn get(path: &str) -> Reply {
    Conn::open().request("GET", path, &[], b"")
}

pub fn post_json(body: &str) -> Reply {
    Conn::open().request(
        "POST",
        "/api/predict",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

pub fn predict_body(reviews: &[&str]) -> String {
    serde_json::json!({ "reviews": reviews }).to_string()
}

/// `a == b` up to the last bits that serde_json's default float parser may get wrong (it is
/// not correctly rounded without its `float_roundtrip` feature); the server prints the f64s
/// exactly.
pub fn same_float(a: f64, b: f64) -> bool {
    (a - b).abs() <= 4.0 * f64::EPSILON * a.abs().max(b.abs())
}

/// Asserts that one answer of `POST /api/predict` is the classifier's prediction and explanation.
pub fn assert_answer(answer: &Value, expected: &Explanation) {
    let Prediction {
        probability,
        label,
        logit,
        top_words,
    } = &expected.prediction;
    let f = |v: &Value| v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert!(
        same_float(f(&answer["probability"]), *probability),
        "{answer}"
    );
    assert!(same_float(f(&answer["logit"]), *logit), "{answer}");
    assert_eq!(answer["label"], label.to_string(), "{answer}");
    let words = answer["top_words"].as_array().unwrap();
    assert_eq!(words.len(), top_words.len(), "{answer}");
    for (got, want) in words.iter().zip(top_words) {
        assert_eq!(got["word"], want.word.as_str());
        assert!(
            same_float(f(&got["effect"]), want.effect),
            "{got} vs {want:?}"
        );
    }
    let terms = answer["terms"].as_array().unwrap();
    assert_eq!(terms.len(), expected.terms.len(), "{answer}");
    for (got, want) in terms.iter().zip(&expected.terms) {
        assert_eq!(got["term"], want.term.as_str());
        assert_eq!(got["words"], want.words);
        assert_eq!(
            (got["start"].as_u64(), got["end"].as_u64()),
            (Some(want.start as u64), Some(want.end as u64))
        );
        match want.effect {
            None => assert!(got["effect"].is_null(), "{got}"),
            Some(e) => assert!(same_float(f(&got["effect"]), e), "{got} vs {want:?}"),
        }
    }
}

/// Every byte but unreserved ASCII as `%XX`, as `encodeURIComponent` does.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
