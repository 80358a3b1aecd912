//! The `imdb-serve` binary: what it says without a model, and that it serves on the port it
//! prints.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_imdb-serve");

#[test]
fn without_a_model_it_says_how_to_make_one() {
    let missing = tempfile::tempdir().unwrap().path().join("no-model");
    let out = Command::new(BIN)
        .arg("--model")
        .arg(&missing)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cargo run --example baseline"), "{stderr}");
    assert!(stderr.contains("--sample"), "{stderr}");
    assert!(stderr.contains("no-model"), "{stderr}");
}

/// Kills the server when the test ends, passed or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn with_sample_and_port_0_it_serves_on_the_port_it_prints() {
    let mut server = Running(
        Command::new(BIN)
            .args(["--sample", "--port", "0"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(server.0.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("the server printed its URL").unwrap();
        if let Some(rest) = line.strip_prefix("serving ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let addr = url
        .strip_prefix("http://")
        .and_then(|a| a.strip_suffix('/'))
        .unwrap();
    let stream = TcpStream::connect(addr).unwrap();
    let mut conn = crate::support::Conn::from_stream(stream);
    let reply = conn.request("GET", "/api/model", &[], b"");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["variant"], "baseline");
    let reply = conn.request(
        "POST",
        "/api/predict",
        &[("Content-Type", "application/json")],
        crate::support::predict_body(&[crate::support::POSITIVE]).as_bytes(),
    );
    assert_eq!(reply.json()["predictions"][0]["label"], "positive");
}
