//! Loading: pick the source, hit the cache or read and encode, report where it came from.

use crate::cache::{self, Encoded};
use crate::digest::{sha256_file, sha256_hex};
use crate::encode::EncodeOptions;
use crate::error::{DataError, Result};
use crate::reviews::{LabeledReviews, read_directory};
use crate::source::{self, DataSource, Format, official};
use crate::split::Split;
use crate::vocab::{WordIndex, rank_corpus};
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// The encoded IMDB data: both splits as Keras's `imdb.load_data` returns them, plus where they came from.
#[derive(Clone, Debug)]
pub struct Imdb {
    /// Training reviews (25,000 in the full data), shuffled with numpy's `RandomState(seed)`.
    pub train: Arc<Split>,
    /// Test reviews (25,000 in the full data).
    pub test: Arc<Split>,
    /// Word → rank over the training split; `None` for Keras's `imdb.npz` without its
    /// `imdb_word_index.json` beside it.
    pub word_index: Option<WordIndex>,
    /// The options the data was encoded with.
    pub options: EncodeOptions,
    /// Where the data came from and how long it took.
    pub provenance: Provenance,
}

/// Where loaded data came from.
#[derive(Clone, Debug, Serialize)]
pub struct Provenance {
    /// What was read.
    pub kind: SourceKind,
    /// The file or directory read (`None` for the embedded sample).
    pub path: Option<PathBuf>,
    /// SHA-256 of the source file (for a directory: of its file names, sizes and modification times).
    pub checksum: String,
    /// Whether the encoded data came from the cache.
    pub cache_hit: bool,
    /// Wall time of the whole load, in seconds.
    pub load_seconds: f64,
}

/// The kind of source that was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A local file or directory in the given format.
    Local(Format),
    /// The official archive from the cache (downloaded now or earlier).
    Official,
    /// The embedded 10% sample.
    Embedded,
}

/// Loads the IMDB data from a [`DataSource`] with [`EncodeOptions`], through the cache.
///
/// ```
/// use imdb_data::{DataSource, ImdbLoader};
/// let dir = tempfile::tempdir().unwrap();
/// let imdb = ImdbLoader::new(DataSource::Embedded).cache_dir(dir.path()).load().unwrap();
/// assert_eq!((imdb.train.len(), imdb.test.len()), (2_500, 2_500));
/// assert!(imdb.train.max_token().unwrap() < 10_000);
/// ```
#[derive(Clone, Debug)]
pub struct ImdbLoader {
    source: DataSource,
    options: EncodeOptions,
    cache_dir: Option<PathBuf>,
    use_cache: bool,
    quiet: bool,
    url: Option<String>,
}

impl ImdbLoader {
    /// A loader for `source` with the seed notebook's options and the default cache directory.
    pub fn new(source: DataSource) -> Self {
        Self {
            source,
            options: EncodeOptions::default(),
            cache_dir: None,
            use_cache: true,
            quiet: false,
            url: None,
        }
    }

    /// Sets the encoding options.
    pub fn options(mut self, options: EncodeOptions) -> Self {
        self.options = options;
        self
    }

    /// Sets the cache directory (default: [`source::default_cache_dir`]).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Whether to read and write the encoded-data cache (default: yes). The downloaded archive is
    /// kept in the cache directory either way.
    pub fn use_cache(mut self, yes: bool) -> Self {
        self.use_cache = yes;
        self
    }

    /// Downloads the official archive from `url` instead of `$BURN_IMDB_URL` or Stanford's server.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Hides the download progress bar.
    pub fn quiet(mut self, yes: bool) -> Self {
        self.quiet = yes;
        self
    }

    /// Loads and encodes the data.
    ///
    /// # Errors
    /// Invalid options, an unreadable or malformed source, a failed download that is not a network
    /// failure (a checksum mismatch), or a cache that cannot be written. A corrupt cache file is
    /// rebuilt, not an error.
    pub fn load(&self) -> Result<Imdb> {
        let mut loaded = self.load_each(std::slice::from_ref(&self.options))?;
        Ok(loaded.pop().expect("one encoding asked for"))
    }

    /// Loads the data once per encoding in `options` (this loader's own options are ignored),
    /// reading the source at most once: each encoding comes from the cache or, on a miss, from
    /// the reviews read once for all misses, which are encoded at the same time on as many
    /// threads as the CPU has (each encoding is independent, so the floats are the same). For
    /// several encodings of one source, as a study has, this saves a decompression and
    /// tokenisation of the archive per extra encoding. Each [`Provenance::load_seconds`] counts
    /// from the start of this call to the end of that encoding.
    ///
    /// # Errors
    /// As [`load`](Self::load); all options are validated before anything is read.
    pub fn load_each(&self, options: &[EncodeOptions]) -> Result<Vec<Imdb>> {
        let started = Instant::now();
        for o in options {
            o.validate()?;
        }
        let cache_dir = self
            .cache_dir
            .clone()
            .unwrap_or_else(source::default_cache_dir);
        let resolved = self.resolve(&cache_dir)?;
        let keys: Vec<String> = options
            .iter()
            .map(|o| cache::key(&resolved.checksum, o))
            .collect();
        let mut cached: Vec<Option<Encoded>> = keys
            .iter()
            .map(|key| self.read_cache(&cache::path(&cache_dir, key), key))
            .collect();
        let hits: Vec<bool> = cached.iter().map(Option::is_some).collect();
        let mut seconds = vec![started.elapsed().as_secs_f64(); options.len()];
        let mut misses: Vec<usize> = (0..options.len()).filter(|&i| !hits[i]).collect();
        // Longest first (n-grams, then width), so that no thread starts a long one last.
        misses.sort_by_key(|&i| {
            let width = options[i].num_words.unwrap_or(usize::MAX);
            std::cmp::Reverse((options[i].ngrams, width))
        });
        if !misses.is_empty() {
            let raw = resolved.read()?;
            // The encodings are independent and the n-gram ones take seconds each: on several
            // threads a study's first load takes about as long as its largest encoding instead
            // of their sum. Each thread holds one encoding's working memory at a time.
            let built: Vec<Result<(Encoded, f64)>> = misses
                .par_iter()
                .map(|&i| {
                    let encoded = encode(&raw, &options[i])?;
                    if self.use_cache {
                        cache::write(&cache::path(&cache_dir, &keys[i]), &keys[i], &encoded)?;
                    }
                    Ok((encoded, started.elapsed().as_secs_f64()))
                })
                .collect();
            for (&i, result) in misses.iter().zip(built) {
                let (encoded, done) = result?;
                cached[i] = Some(encoded);
                seconds[i] = done;
            }
        }
        Ok(cached
            .into_iter()
            .zip(options)
            .zip(hits.into_iter().zip(seconds))
            .map(|((encoded, options), (cache_hit, load_seconds))| {
                let encoded = encoded.expect("every miss was encoded above");
                Imdb {
                    train: Arc::new(encoded.train),
                    test: Arc::new(encoded.test),
                    word_index: encoded.word_index,
                    options: options.clone(),
                    provenance: Provenance {
                        kind: resolved.kind,
                        path: resolved.path.clone(),
                        checksum: resolved.checksum.clone(),
                        cache_hit,
                        load_seconds,
                    },
                }
            })
            .collect())
    }

    /// The encoding cached at `path` under `key`, if this loader uses the cache and it is there;
    /// a corrupt file is reported and rebuilt, not an error.
    fn read_cache(&self, path: &Path, key: &str) -> Option<Encoded> {
        if !self.use_cache {
            return None;
        }
        cache::read(path, key).unwrap_or_else(|e| {
            eprintln!("burn-imdb: ignoring the cache ({e}); rebuilding it");
            None
        })
    }

    fn resolve(&self, cache_dir: &Path) -> Result<Resolved> {
        match &self.source {
            DataSource::Path(path) => Resolved::local(path),
            DataSource::Embedded => Resolved::embedded(),
            DataSource::Official => {
                let dest = cache_dir.join(official::FILE_NAME);
                if !dest.is_file()
                    && let Err(why) = self.download(&dest)?
                {
                    return fallback(&why);
                }
                // Verified when it was downloaded, and only ever renamed into place complete.
                Ok(Resolved {
                    kind: SourceKind::Official,
                    format: Format::TarGz,
                    path: Some(dest),
                    checksum: official::SHA256.to_owned(),
                })
            }
        }
    }

    /// Downloads the official archive to `dest`: `Ok(Err(why))` when that is impossible (a
    /// network failure), which falls back to the embedded sample; an error otherwise (a
    /// checksum mismatch is never a reason to fall back).
    #[cfg(feature = "download")]
    fn download(&self, dest: &Path) -> Result<std::result::Result<(), String>> {
        use crate::download::{Download, download_verified};
        let url = self.url.clone().unwrap_or_else(source::download_url);
        let spec = Download {
            url: &url,
            sha256: official::SHA256,
            expected_len: Some(official::LEN),
        };
        eprintln!("burn-imdb: downloading {url} to {}", dest.display());
        match download_verified(&spec, dest, self.quiet) {
            Ok(_) => Ok(Ok(())),
            Err(e @ (DataError::Network { .. } | DataError::HttpStatus { .. })) => {
                Ok(Err(format!("the download failed: {e}")))
            }
            Err(e) => Err(e),
        }
    }

    /// Without the `download` feature the official archive is only read when it already is in
    /// the cache directory.
    #[cfg(not(feature = "download"))]
    fn download(&self, dest: &Path) -> Result<std::result::Result<(), String>> {
        Ok(Err(format!(
            "{} is not in the cache and this build cannot download it \
             (imdb-data without its `download` feature)",
            dest.display()
        )))
    }
}

/// The embedded sample, with the loud notice, when the official archive cannot be had.
#[cfg(feature = "sample")]
fn fallback(why: &str) -> Result<Resolved> {
    eprintln!("{}", source::embedded_notice(why));
    Resolved::embedded()
}

/// Without the embedded sample there is nothing to fall back to.
#[cfg(not(feature = "sample"))]
fn fallback(why: &str) -> Result<Resolved> {
    Err(DataError::NotCompiled {
        feature: "sample",
        what: format!("falling back to the embedded sample ({why})"),
    })
}

/// A source pinned down to a format and a checksum.
struct Resolved {
    kind: SourceKind,
    format: Format,
    /// `None` for the embedded sample.
    path: Option<PathBuf>,
    checksum: String,
}

impl Resolved {
    fn local(path: &Path) -> Result<Self> {
        let format = Format::detect(path)?;
        let checksum = match format {
            Format::Directory => directory_fingerprint(path),
            Format::TarGz | Format::KerasNpz => sha256_file(path)?,
        };
        Ok(Self {
            kind: SourceKind::Local(format),
            format,
            path: Some(path.to_owned()),
            checksum,
        })
    }

    #[cfg(feature = "sample")]
    fn embedded() -> Result<Self> {
        Ok(Self {
            kind: SourceKind::Embedded,
            format: Format::TarGz,
            path: None,
            checksum: sha256_hex(source::EMBEDDED_SAMPLE),
        })
    }

    #[cfg(not(feature = "sample"))]
    fn embedded() -> Result<Self> {
        Err(DataError::NotCompiled {
            feature: "sample",
            what: "the embedded sample".into(),
        })
    }

    /// The source's reviews as word ranks, before any encoding option.
    fn read(&self) -> Result<RankedReviews> {
        let (word_index, train, test) = match (self.format, &self.path) {
            (Format::KerasNpz, Some(path)) => read_npz(path)?,
            (Format::Directory, Some(path)) => ranked(read_directory(path)?),
            (Format::TarGz, Some(path)) => ranked(read_tar_gz_file(path)?),
            (_, None) => ranked(read_embedded()?),
        };
        Ok(RankedReviews {
            word_index,
            train,
            test,
        })
    }
}

#[cfg(feature = "archive")]
fn read_tar_gz_file(path: &Path) -> Result<LabeledReviews> {
    crate::reviews::read_tar_gz_file(path)
}

#[cfg(not(feature = "archive"))]
fn read_tar_gz_file(path: &Path) -> Result<LabeledReviews> {
    Err(DataError::NotCompiled {
        feature: "archive",
        what: format!("the .tar.gz archive {}", path.display()),
    })
}

#[cfg(feature = "sample")]
fn read_embedded() -> Result<LabeledReviews> {
    crate::reviews::read_tar_gz(source::EMBEDDED_SAMPLE, Path::new("<embedded sample>"))
}

#[cfg(not(feature = "sample"))]
fn read_embedded() -> Result<LabeledReviews> {
    // Not reached: without the sample, `Resolved::embedded` has already refused.
    Resolved::embedded().map(|_| LabeledReviews::default())
}

/// Both splits as word ranks over the training split, and the word index when the source has one.
struct RankedReviews {
    word_index: Option<WordIndex>,
    train: Split,
    test: Split,
}

/// `raw` encoded with `options`: n-grams added if asked for, then Keras's filtering and shuffle.
fn encode(raw: &RankedReviews, options: &EncodeOptions) -> Result<Encoded> {
    let (word_index, ngram_train, ngram_test);
    let (word_index, train, test) = match (options.ngrams, &raw.word_index) {
        (1, index) => (index.clone(), &raw.train, &raw.test),
        (n, Some(index)) => {
            let keep = options.kept_ranks();
            (word_index, ngram_train, ngram_test) =
                crate::ngrams::add_ngrams(index, &raw.train, &raw.test, n, keep)?;
            (Some(word_index), &ngram_train, &ngram_test)
        }
        (ngrams, None) => {
            return Err(DataError::InvalidOption {
                name: "ngrams",
                value: ngrams.to_string(),
                reason: "n-grams are spelled from the word index, and this source has none \
                         (put Keras's imdb_word_index.json beside imdb.npz)",
            });
        }
    };
    let (train, test) = options.encode(train, test)?;
    Ok(Encoded {
        train,
        test,
        word_index,
    })
}

fn ranked(reviews: LabeledReviews) -> (Option<WordIndex>, Split, Split) {
    let (index, train, test) = rank_corpus(&reviews.train, &reviews.test);
    (Some(index), train, test)
}

/// Keras's `imdb.npz` already holds word ranks; its word index, if present, is the
/// `imdb_word_index.json` that Keras downloads beside it.
#[cfg(feature = "npz")]
fn read_npz(path: &Path) -> Result<(Option<WordIndex>, Split, Split)> {
    let npz = crate::npz::read_keras_npz(path)?;
    let split = |x: Vec<Vec<u32>>, y: Vec<u8>| -> Split { x.into_iter().zip(y).collect() };
    let index_path = path.with_file_name("imdb_word_index.json");
    let word_index = if index_path.is_file() {
        Some(WordIndex::load_json(&index_path)?)
    } else {
        None
    };
    Ok((
        word_index,
        split(npz.x_train, npz.y_train),
        split(npz.x_test, npz.y_test),
    ))
}

#[cfg(not(feature = "npz"))]
fn read_npz(path: &Path) -> Result<(Option<WordIndex>, Split, Split)> {
    Err(DataError::NotCompiled {
        feature: "npz",
        what: format!("Keras's imdb.npz at {}", path.display()),
    })
}

/// Hashing 50,000 files' contents would cost as much as reading them, so a directory is identified
/// by its review files' names, sizes and modification times instead.
fn directory_fingerprint(dir: &Path) -> String {
    let root = crate::reviews::layout_root(dir);
    let mut lines = Vec::new();
    for sub in [
        "counts.json",
        "train/neg",
        "train/pos",
        "test/neg",
        "test/pos",
    ] {
        let path = root.join(sub);
        let entries: Vec<PathBuf> = match std::fs::read_dir(&path) {
            Ok(listing) => listing.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(_) => vec![path],
        };
        for p in entries {
            if let Ok(meta) = std::fs::metadata(&p) {
                let mtime = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
                lines.push(format!("{}\t{}\t{:?}", p.display(), meta.len(), mtime));
            }
        }
    }
    lines.sort_unstable();
    format!("dir:{}", sha256_hex(lines.join("\n")))
}
