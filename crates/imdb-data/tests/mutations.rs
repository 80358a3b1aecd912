//! Hostile inputs for the readers of files from strangers: the committed fixtures (Keras's
//! `imdb.npz` in several pickle protocols, a gzipped aclImdb tarball) and an encoded-data cache,
//! each mutated many times (bit flips, truncations, inserted and deleted bytes, bytes set to
//! 0xFF so declared lengths become huge). Every mutant must load or fail with a typed error:
//! never a panic.
//!
//! A bounded random-mutation loop, seeded, so a failure names the case that reproduces it. The
//! knob: `BURN_IMDB_MUTATIONS=N` mutants per file (default 300, a few seconds for the lot; a long
//! local run: 100000).

use imdb_data::{DataSource, EncodeOptions, ImdbLoader};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn cases() -> usize {
    std::env::var("BURN_IMDB_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

/// SplitMix64: the same mutants on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to four mutations of `bytes`.
fn mutate(bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len());
        match rng.below(6) {
            0 => out[at] ^= 1 << rng.below(8),
            1 => out.truncate(at),
            2 => out.insert(at, rng.next() as u8),
            3 if !out.is_empty() => {
                out.remove(at);
            }
            // A run of 0xFF: declared lengths and counts become huge.
            4 => {
                let end = (at + 1 + rng.below(8)).min(out.len());
                out[at..end].fill(0xFF);
            }
            _ => {
                let end = (at + 1 + rng.below(8)).min(out.len());
                out[at..end].fill(0);
            }
        }
        if out.is_empty() {
            break;
        }
    }
    out
}

/// Loads `path` without the cache: `Ok(true)` loaded, `Ok(false)` a typed error, `Err` a panic.
fn load_uncached(path: &Path, cache: &Path) -> Result<bool, String> {
    let loader = ImdbLoader::new(DataSource::Path(path.to_owned()))
        .cache_dir(cache)
        .use_cache(false)
        .quiet(true);
    catching(|| loader.load()).map(|result| result.is_ok())
}

/// Runs `f`, turning a panic into its message. Only panics inside `f`, on this thread, are kept
/// quiet (each would print a backtrace; the test lists them): the test's own assertion failures,
/// and any other thread's panics, still print.
fn catching<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    use std::cell::Cell;
    thread_local!(static QUIET: Cell<bool> = const { Cell::new(false) });
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                default(info)
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    result.map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

/// Where a mutation lands: in the file's bytes (the container's checksums catch most), or inside
/// it, re-wrapped with valid checksums so the parser behind them sees the damage.
#[derive(Clone, Copy, Debug)]
enum Layer {
    File,
    /// The tar stream inside the gzip.
    Tar,
    /// One `.npy` entry inside the zip.
    NpyEntry,
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// The zip's entries, one of them mutated, written back (stored, valid CRCs).
fn mutate_an_entry(npz: &[u8], rng: &mut Rng) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(npz)).unwrap();
    let victim = rng.below(archive.len());
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if i == victim {
            bytes = mutate(&bytes, rng);
        }
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        let name = entry.name().unwrap().into_owned();
        out.start_file(name, options).unwrap();
        out.write_all(&bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// Mutants of `name` (the file keeps its name, so the format is detected as for the original).
fn mutants_of(name: &str, layer: Layer, seed: u64) -> (usize, usize, Vec<String>) {
    let original = std::fs::read(fixture(name)).unwrap();
    let inner = match layer {
        Layer::Tar => gunzip(&original),
        Layer::File | Layer::NpyEntry => original.clone(),
    };
    let dir = tempfile::tempdir().unwrap();
    let file_name = Path::new(name).file_name().unwrap();
    let path = dir.path().join(file_name);
    let mut rng = Rng(seed);
    let (mut ok, mut failures) = (0, Vec::new());
    let n = cases();
    for case in 0..n {
        let mutant = match layer {
            Layer::File => mutate(&original, &mut rng),
            Layer::Tar => gzip(&mutate(&inner, &mut rng)),
            Layer::NpyEntry => mutate_an_entry(&inner, &mut rng),
        };
        std::fs::write(&path, mutant).unwrap();
        match load_uncached(&path, &dir.path().join("cache")) {
            Ok(true) => ok += 1,
            Ok(false) => {}
            Err(panic) => failures.push(format!(
                "{name} ({layer:?}) case {case} (seed {seed}): {panic}"
            )),
        }
    }
    (n, ok, failures)
}

#[test]
fn mutated_archives_and_npz_files_never_panic() {
    let mut all = Vec::new();
    let files = [
        ("tiny_aclImdb.tar.gz", Layer::File),
        ("tiny_aclImdb.tar.gz", Layer::Tar),
        ("npz/imdb_p2.npz", Layer::File),
        ("npz/imdb_p2.npz", Layer::NpyEntry),
        ("npz/imdb_p3.npz", Layer::NpyEntry),
        ("npz/imdb_p4.npz", Layer::NpyEntry),
        ("npz/imdb_py2style.npz", Layer::NpyEntry),
    ];
    for (i, (name, layer)) in files.into_iter().enumerate() {
        let (n, ok, failures) = mutants_of(name, layer, 0xF00D + i as u64);
        let refused = n - ok - failures.len();
        eprintln!(
            "{name} ({layer:?}): {n} mutants, {ok} loaded, {refused} refused, {} panicked",
            failures.len()
        );
        all.extend(failures);
    }
    assert!(all.is_empty(), "{} panics:\n{}", all.len(), all.join("\n"));
}

/// A damaged cache file is refused or re-encoded, never trusted into a panic.
#[test]
fn mutated_cache_files_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let loader = ImdbLoader::new(DataSource::Path(fixture("tiny_aclImdb.tar.gz")))
        .options(EncodeOptions::keras())
        .cache_dir(&cache)
        .quiet(true);
    let good = loader.load().unwrap();
    let file = std::fs::read_dir(cache.join("encoded"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let original = std::fs::read(&file).unwrap();
    let mut rng = Rng(0xCAC4E);
    let (mut same, mut failures) = (0, Vec::new());
    let n = cases();
    for case in 0..n {
        std::fs::write(&file, mutate(&original, &mut rng)).unwrap();
        match catching(|| loader.load()) {
            // Read back or re-encoded: either way the right data.
            Ok(Ok(imdb)) => {
                assert_eq!(
                    (imdb.train, imdb.test),
                    (good.train.clone(), good.test.clone())
                );
                same += 1;
            }
            Ok(Err(_)) => {}
            Err(panic) => failures.push(format!("cache case {case}: {panic}")),
        }
    }
    eprintln!(
        "cache: {n} mutants, {same} gave the right data, {} panicked",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} panics:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
