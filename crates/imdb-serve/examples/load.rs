//! Load benchmark: requests per second and latency of `POST /api/predict` with one review.
//!
//! ```text
//! cargo run -p imdb-serve --release --example load -- --model artifacts/baseline
//! cargo run -p imdb-serve --release --example load -- --url http://127.0.0.1:8080/
//! ```
//!
//! Without `--url` it starts the server in this process on a free loopback port. Each run
//! first measures one client alone (latency without contention), then `--clients` clients at
//! once, each on its own kept-alive connection sending `--requests` requests; every answer must
//! be a 200 with the same label. It prints each run and the median over `--runs`.
//! `docs/guide/serve.md` records the figures.

use anyhow::{Context, Result, bail, ensure};
use burn::tensor::Device;
use clap::Parser;
use imdb_serve::{App, Server};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A review of typical length (about 1,000 characters, near the IMDB data's median).
const REVIEW: &str = "I went in expecting very little from this one, and for the first half \
hour that is about what I got: a slow setup, a handful of characters who all seem to speak in \
the same voice, and a score that tells you what to feel before the scene has earned it. Then \
something changes. The lead actress, who had been wasted on exposition, is finally given \
room, and she is wonderful in a quiet, unshowy way; the scene in the kitchen with her father \
is the best thing in the film and one of the most honest moments I have seen in a drama this \
year. The direction tightens up, the editing stops lingering, and the story, which looked \
predictable, takes two turns I did not see coming. It is not perfect. The villain is a \
cartoon, the ending is rushed, and a subplot about a missing letter goes nowhere. But the \
performances carry it, the photography is often beautiful, and I left the theatre moved. \
Worth seeing, especially on a big screen, if you can forgive a weak first act.";

/// Measures the server's throughput and latency for one-review requests.
#[derive(Parser)]
struct Args {
    /// The model to serve in this process (ignored with `--url`).
    #[arg(long, default_value = "artifacts/baseline")]
    model: PathBuf,
    /// Measure a server already running there instead.
    #[arg(long)]
    url: Option<String>,
    /// Clients at once.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Requests per client per run.
    #[arg(long, default_value_t = 100)]
    requests: usize,
    /// Runs (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// The review sent (default: a typical one of about 1,000 characters).
    #[arg(long)]
    review: Option<String>,
}

/// One run's figures.
#[derive(Clone, Copy, Debug)]
struct Figures {
    single_p50: Duration,
    single_p99: Duration,
    rps: f64,
    p50: Duration,
    p99: Duration,
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(
        args.clients > 0 && args.requests > 0 && args.runs > 0,
        "counts must be positive"
    );
    let review = args.review.clone().unwrap_or_else(|| REVIEW.to_owned());
    let body = serde_json::json!({ "reviews": [review] }).to_string();
    // Kept alive for the whole benchmark when the server runs here.
    let mut _server = None;
    let addr = match &args.url {
        Some(url) => address_of(url)?,
        None => {
            let app = App::load(&args.model, &Device::flex())
                .with_context(|| format!("loading {}", args.model.display()))?;
            let handle = Server::bind("127.0.0.1:0", app)?.spawn();
            let addr = handle.addr();
            _server = Some(handle);
            addr
        }
    };
    let label = {
        let mut client = Client::connect(addr)?;
        for _ in 0..200 {
            client.predict(&body)?;
        }
        client.predict(&body)?
    };
    println!(
        "{} clients x {} requests of one review ({} characters), label {label}; {} runs",
        args.clients,
        args.requests,
        review.chars().count(),
        args.runs
    );
    let mut runs = Vec::new();
    for run in 1..=args.runs {
        let figures = measure(addr, &body, &label, &args)?;
        println!(
            "run {run}: 1 client p50 {:.2} ms p99 {:.2} ms | {} clients {:.0} req/s p50 {:.2} ms p99 {:.2} ms",
            ms(figures.single_p50),
            ms(figures.single_p99),
            args.clients,
            figures.rps,
            ms(figures.p50),
            ms(figures.p99),
        );
        runs.push(figures);
    }
    let median_of = |f: fn(&Figures) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "median: 1 client p50 {:.2} ms p99 {:.2} ms | {} clients {:.0} req/s p50 {:.2} ms p99 {:.2} ms",
        median_of(|f| ms(f.single_p50)),
        median_of(|f| ms(f.single_p99)),
        args.clients,
        median_of(|f| f.rps),
        median_of(|f| ms(f.p50)),
        median_of(|f| ms(f.p99)),
    );
    Ok(())
}

fn measure(addr: SocketAddr, body: &str, label: &str, args: &Args) -> Result<Figures> {
    let mut client = Client::connect(addr)?;
    let mut single = Vec::with_capacity(args.requests);
    for _ in 0..args.requests {
        let start = Instant::now();
        ensure!(client.predict(body)? == label, "the label changed");
        single.push(start.elapsed());
    }
    let start = Instant::now();
    let latencies = std::thread::scope(|s| {
        let clients: Vec<_> = (0..args.clients)
            .map(|_| {
                s.spawn(|| -> Result<Vec<Duration>> {
                    let mut client = Client::connect(addr)?;
                    let mut times = Vec::with_capacity(args.requests);
                    for _ in 0..args.requests {
                        let start = Instant::now();
                        ensure!(client.predict(body)? == label, "the label changed");
                        times.push(start.elapsed());
                    }
                    Ok(times)
                })
            })
            .collect();
        clients
            .into_iter()
            .map(|c| c.join().expect("client thread"))
            .collect::<Result<Vec<_>>>()
    })?;
    let wall = start.elapsed();
    let mut all: Vec<Duration> = latencies.into_iter().flatten().collect();
    let rps = all.len() as f64 / wall.as_secs_f64();
    Ok(Figures {
        single_p50: percentile(&mut single, 0.50),
        single_p99: percentile(&mut single, 0.99),
        rps,
        p50: percentile(&mut all, 0.50),
        p99: percentile(&mut all, 0.99),
    })
}

/// The `q` quantile (nearest rank).
fn percentile(times: &mut [Duration], q: f64) -> Duration {
    times.sort();
    let rank = ((q * times.len() as f64).ceil() as usize).clamp(1, times.len());
    times[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn address_of(url: &str) -> Result<SocketAddr> {
    let host = url
        .strip_prefix("http://")
        .context("only http:// URLs")?
        .trim_end_matches('/');
    host.to_socket_addrs()?
        .next()
        .with_context(|| format!("no address for {host}"))
}

/// A kept-alive connection sending `POST /api/predict`.
struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Self {
            reader: BufReader::new(stream),
        })
    }

    /// Sends `body` and returns the first prediction's label.
    fn predict(&mut self, body: &str) -> Result<String> {
        let request = format!(
            "POST /api/predict HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.reader.get_mut().write_all(request.as_bytes())?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        if !line.starts_with("HTTP/1.1 200 ") {
            bail!("unexpected status: {line:?}");
        }
        let mut length = None;
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = Some(value.trim().parse::<usize>()?);
            }
        }
        let mut answer = vec![0; length.context("no Content-Length")?];
        self.reader.read_exact(&mut answer)?;
        let answer: serde_json::Value = serde_json::from_slice(&answer)?;
        answer["predictions"][0]["label"]
            .as_str()
            .map(str::to_owned)
            .context("no label in the answer")
    }
}
