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
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Counts every byte allocated, so a case can be held to a bound derived from its input's size.
#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The counters are process-wide: the tests of this file take turns so that each counts only
/// its own loads.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `f` and returns its result with the bytes allocated meanwhile (fresh allocations plus
/// growth by `realloc`). That total bounds the most held at once, and it catches an allocation
/// sized from a declared length even when the OS would hand out the pages lazily.
fn allocated_bytes<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let region = Region::new(ALLOCATOR);
    let out = f();
    let change = region.change();
    (
        out,
        change.bytes_allocated + change.bytes_reallocated.max(0) as usize,
    )
}

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

/// The most a reader may hold at once for an input of `len` bytes: its fixed buffers (the gzip
/// window, buffered readers, the word-index tables) plus what the input can honestly become.
/// Deflate expands at most 1032:1 and encoding a review's text at most quadruples it (a token id
/// of 4 bytes for each word of at least 2 bytes with its separator, plus offsets), so a reader
/// past this bound trusted a length the file declared instead of the bytes it has.
fn allocation_bound(len: usize, compressed: bool) -> usize {
    const FIXED: usize = 4 << 20;
    let expansion = if compressed { 1032 } else { 1 };
    FIXED + 4 * expansion * len
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
    let entries = zip::ZipArchive::new(std::io::Cursor::new(npz))
        .unwrap()
        .len();
    let victim = rng.below(entries);
    rewrite_zip(npz, |i, _, bytes| {
        if i == victim {
            mutate(&bytes, rng)
        } else {
            bytes
        }
    })
}

/// The zip `npz` with every entry passed through `edit(index, name, bytes)`, written back
/// stored with valid CRCs (so the reader behind the zip layer sees what `edit` made).
fn rewrite_zip(npz: &[u8], mut edit: impl FnMut(usize, &str, Vec<u8>) -> Vec<u8>) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(npz)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        let name = entry.name().unwrap().into_owned();
        let bytes = edit(i, &name, bytes);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
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
    let (mut ok, mut failures, mut most) = (0, Vec::new(), 0);
    let n = cases();
    for case in 0..n {
        let mutant = match layer {
            Layer::File => mutate(&original, &mut rng),
            Layer::Tar => gzip(&mutate(&inner, &mut rng)),
            Layer::NpyEntry => mutate_an_entry(&inner, &mut rng),
        };
        let len = mutant.len();
        std::fs::write(&path, mutant).unwrap();
        let (outcome, bytes) = allocated_bytes(|| load_uncached(&path, &dir.path().join("cache")));
        let bound = allocation_bound(len, true);
        most = most.max(bytes);
        if bytes > bound {
            failures.push(format!(
                "{name} ({layer:?}) case {case} (seed {seed}): allocated {bytes} bytes for a \
                 {len}-byte input (bound {bound})"
            ));
        }
        match outcome {
            Ok(true) => ok += 1,
            Ok(false) => {}
            Err(panic) => failures.push(format!(
                "{name} ({layer:?}) case {case} (seed {seed}): {panic}"
            )),
        }
    }
    eprintln!("{name} ({layer:?}): at most {most} bytes allocated by one load");
    (n, ok, failures)
}

#[test]
fn mutated_archives_and_npz_files_never_panic() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
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
            "{name} ({layer:?}): {n} mutants, {ok} loaded, {refused} refused, {} failed",
            failures.len()
        );
        all.extend(failures);
    }
    assert!(
        all.is_empty(),
        "{} failures:\n{}",
        all.len(),
        all.join("\n")
    );
}

/// The tiny archive loaded once through a fresh cache: the loader, what it loaded, and the cache
/// file it wrote (its path and bytes), for tests that damage that file and load again.
struct Cached {
    loader: ImdbLoader,
    good: imdb_data::Imdb,
    file: PathBuf,
    bytes: Vec<u8>,
    source_len: usize,
}

impl Cached {
    fn new(cache: &Path) -> Self {
        let source = fixture("tiny_aclImdb.tar.gz");
        let loader = ImdbLoader::new(DataSource::Path(source.clone()))
            .options(EncodeOptions::keras())
            .cache_dir(cache)
            .quiet(true);
        let good = loader.load().unwrap();
        let mut files = std::fs::read_dir(cache.join("encoded")).unwrap();
        let file = files.next().unwrap().unwrap().path();
        assert!(files.next().is_none(), "one cache file");
        let bytes = std::fs::read(&file).unwrap();
        let source_len = std::fs::metadata(&source).unwrap().len() as usize;
        Self {
            loader,
            good,
            file,
            bytes,
            source_len,
        }
    }
}

/// A damaged cache file is refused or re-encoded, never trusted into a panic.
#[test]
fn mutated_cache_files_never_panic() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let Cached {
        loader,
        good,
        file,
        bytes: original,
        source_len,
    } = Cached::new(&dir.path().join("cache"));
    let mut rng = Rng(0xCAC4E);
    let (mut same, mut failures, mut most) = (0, Vec::new(), 0);
    let n = cases();
    for case in 0..n {
        let mutant = mutate(&original, &mut rng);
        // A refused cache is re-encoded from the source, which the load also reads.
        let bound = allocation_bound(mutant.len(), false) + allocation_bound(source_len, true);
        std::fs::write(&file, &mutant).unwrap();
        let (outcome, bytes) = allocated_bytes(|| catching(|| loader.load()));
        most = most.max(bytes);
        if bytes > bound {
            failures.push(format!(
                "cache case {case}: allocated {bytes} bytes for a {}-byte cache (bound {bound})",
                mutant.len()
            ));
        }
        match outcome {
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
        "cache: {n} mutants, {same} gave the right data, {} failed; at most {most} bytes \
         allocated by one load",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A v1.0 `.npy` with its header's `'shape': (...)` replaced by `shape`, re-padded as numpy pads.
fn with_shape(npy: &[u8], shape: &str) -> Vec<u8> {
    let header_len = u16::from_le_bytes([npy[8], npy[9]]) as usize;
    let text = std::str::from_utf8(&npy[10..10 + header_len]).unwrap();
    let start = text.find("'shape': (").unwrap() + "'shape': ".len();
    let end = start + text[start..].find(')').unwrap() + 1;
    let mut text = format!("{}{shape}{}", &text[..start], &text[end..]);
    text = text.trim_end().to_string();
    while (10 + text.len() + 1) % 64 != 0 {
        text.push(' ');
    }
    text.push('\n');
    let mut out = npy[..8].to_vec();
    out.extend_from_slice(&(text.len() as u16).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&npy[10 + header_len..]);
    out
}

/// The zip `npz` with entry `name` passed through `edit`.
fn edit_entry(npz: &[u8], name: &str, edit: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    rewrite_zip(
        npz,
        |_, entry, bytes| {
            if entry == name { edit(&bytes) } else { bytes }
        },
    )
}

/// The gzipped tarball with the first review's declared size set to 8 GiB (its header checksum
/// recomputed, so the tar layer believes it).
fn tar_with_huge_entry(tar_gz: &[u8]) -> Vec<u8> {
    let mut tar = gunzip(tar_gz);
    let header = (0..tar.len())
        .step_by(512)
        .find(|&at| tar[at..at + 100].starts_with(b"aclImdb/test/neg/"))
        .unwrap();
    let h = &mut tar[header..header + 512];
    h[124..136].copy_from_slice(b"77777777777\0");
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    gzip(&tar)
}

/// The mutations above rarely hit a length field exactly; these cases do, each a well-formed
/// file whose one declared length is far beyond its bytes: a tar entry of 8 GiB, `.npy` shapes
/// of 2^31 and 2^62 items in the cache and in Keras's file. Each must fail (or, for the cache,
/// be rebuilt) without panicking and without allocating what the length claims.
#[test]
fn declared_lengths_beyond_the_input_are_not_trusted() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let source = fixture("tiny_aclImdb.tar.gz");
    let mut cases: Vec<(String, PathBuf, Vec<u8>)> = Vec::new();

    let tarball = tar_with_huge_entry(&std::fs::read(&source).unwrap());
    cases.push((
        "tar entry of 8 GiB".into(),
        dir.path().join("huge.tar.gz"),
        tarball,
    ));
    for (file, key) in [
        ("npz/imdb_p4.npz", "x_train.npy"),
        ("npz/imdb_p4.npz", "y_test.npy"),
    ] {
        let npz = std::fs::read(fixture(file)).unwrap();
        for shape in ["(2147483648,)", "(4611686018427387904,)"] {
            let bytes = edit_entry(&npz, key, |npy| with_shape(npy, shape));
            let path = dir.path().join(format!("{}-{shape}.npz", &key[..7]));
            cases.push((format!("{file} {key} of shape {shape}"), path, bytes));
        }
    }

    let mut failures = Vec::new();
    for (what, path, bytes) in &cases {
        let bound = allocation_bound(bytes.len(), true);
        std::fs::write(path, bytes).unwrap();
        let (outcome, allocated) = allocated_bytes(|| load_uncached(path, &dir.path().join("c")));
        match outcome {
            Ok(false) if allocated <= bound => {}
            Ok(false) => failures.push(format!("{what}: allocated {allocated} (bound {bound})")),
            Ok(true) => failures.push(format!("{what}: loaded")),
            Err(panic) => failures.push(format!("{what}: panicked: {panic}")),
        }
    }

    // The cache: each array's shape in turn claims more items than the file holds.
    let Cached {
        loader,
        good,
        file,
        bytes: original,
        source_len,
    } = Cached::new(&dir.path().join("cache"));
    for key in [
        "key",
        "train_tokens",
        "train_offsets",
        "test_labels",
        "word_index",
    ] {
        for shape in ["(2147483648,)", "(4611686018427387904,)"] {
            let what = format!("cache {key}.npy of shape {shape}");
            let bytes = edit_entry(&original, &format!("{key}.npy"), |npy| {
                with_shape(npy, shape)
            });
            let bound = allocation_bound(bytes.len(), false) + allocation_bound(source_len, true);
            std::fs::write(&file, &bytes).unwrap();
            let (outcome, allocated) = allocated_bytes(|| catching(|| loader.load()));
            match outcome {
                Ok(Ok(imdb)) if allocated <= bound && imdb.train == good.train => {}
                Ok(Ok(_)) if allocated > bound => {
                    failures.push(format!("{what}: allocated {allocated} (bound {bound})"))
                }
                Ok(Ok(_)) => failures.push(format!("{what}: wrong data")),
                Ok(Err(e)) => failures.push(format!("{what}: not rebuilt: {e}")),
                Err(panic) => failures.push(format!("{what}: panicked: {panic}")),
            }
        }
    }
    eprintln!(
        "{} files with a huge declared length, {} failed",
        cases.len() + 10,
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
