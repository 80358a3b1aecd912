//! Reading the labelled reviews from the official archive layout, packed (feature `archive`) or
//! unpacked.
//!
//! Only `train|test/pos|neg/<id>_<rating>.txt` is read; everything else (`unsup/`, `urls_*.txt`,
//! `*.feat`, the README, stray files) is skipped without being decompressed into memory.

use crate::error::{DataError, Result};
use crate::vocab::RawReview;
use std::path::{Path, PathBuf};
#[cfg(feature = "archive")]
use {
    flate2::read::GzDecoder,
    std::io::{BufReader, Read},
};

/// Reviews per folder in the official dataset.
pub const OFFICIAL_PER_FOLDER: usize = 12_500;

/// Name of the optional manifest that declares other folder sizes (the embedded sample, fixtures).
pub const COUNTS_FILE: &str = "counts.json";

/// The four folders, in the order reviews are stored before shuffling: negatives (label 0) first.
const FOLDERS: [(&str, &str, u8); 4] = [
    ("train", "neg", 0),
    ("train", "pos", 1),
    ("test", "neg", 0),
    ("test", "pos", 1),
];

/// Both labelled splits, each ordered by (label, review id, rating) so the result does not depend
/// on the order of entries in the archive or of a directory listing.
#[derive(Debug, Default)]
pub struct LabeledReviews {
    /// The 25,000 training reviews of the official data.
    pub train: Vec<RawReview>,
    /// The 25,000 test reviews.
    pub test: Vec<RawReview>,
}

/// One review with the keys that order it.
struct Entry {
    folder: usize,
    id: u64,
    rating: u8,
    text: String,
}

#[derive(Default)]
struct Collector {
    entries: Vec<Entry>,
    counts_manifest: Option<Vec<u8>>,
}

impl Collector {
    /// Classifies an entry by its path; returns the folder index and parsed name when it is a review.
    fn review_key(path: &Path) -> Option<(usize, u64, u8)> {
        let mut parts = path.components().rev().map(|c| c.as_os_str().to_str());
        let (file, label, split) = (parts.next()??, parts.next()??, parts.next()??);
        let folder = FOLDERS
            .iter()
            .position(|&(s, l, _)| s == split && l == label)?;
        let (id, rating) = file.strip_suffix(".txt")?.split_once('_')?;
        Some((folder, id.parse().ok()?, rating.parse().ok()?))
    }

    fn add(
        &mut self,
        source: &Path,
        entry: &str,
        key: (usize, u64, u8),
        bytes: Vec<u8>,
    ) -> Result<()> {
        let text = String::from_utf8(bytes).map_err(|e| DataError::InvalidUtf8 {
            path: source.to_owned(),
            entry: entry.to_owned(),
            valid_up_to: e.utf8_error().valid_up_to(),
        })?;
        let (folder, id, rating) = key;
        self.entries.push(Entry {
            folder,
            id,
            rating,
            text,
        });
        Ok(())
    }

    fn finish(mut self, source: &Path) -> Result<LabeledReviews> {
        let expected = match &self.counts_manifest {
            Some(bytes) => parse_counts(bytes).map_err(|message| DataError::MalformedCounts {
                path: source.to_owned(),
                message,
            })?,
            None => [OFFICIAL_PER_FOLDER; 4],
        };
        let mut found = [0usize; 4];
        for e in &self.entries {
            found[e.folder] += 1;
        }
        for (i, &(split, label, _)) in FOLDERS.iter().enumerate() {
            let folder = format!("{split}/{label}");
            if found[i] == 0 {
                return Err(DataError::MissingFolder {
                    path: source.to_owned(),
                    folder,
                });
            }
            if found[i] != expected[i] {
                return Err(DataError::WrongCount {
                    path: source.to_owned(),
                    folder,
                    expected: expected[i],
                    found: found[i],
                });
            }
        }
        self.entries
            .sort_unstable_by_key(|e| (e.folder, e.id, e.rating));
        let mut out = LabeledReviews::default();
        for e in self.entries {
            let (split, _, label) = FOLDERS[e.folder];
            let review = RawReview {
                text: e.text,
                label,
            };
            if split == "train" {
                out.train.push(review)
            } else {
                out.test.push(review)
            }
        }
        Ok(out)
    }
}

/// Parses `{"train/neg": n, "train/pos": n, "test/neg": n, "test/pos": n}`.
fn parse_counts(bytes: &[u8]) -> std::result::Result<[usize; 4], String> {
    let map: std::collections::HashMap<String, usize> =
        serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let mut out = [0; 4];
    for (i, (split, label, _)) in FOLDERS.iter().enumerate() {
        let key = format!("{split}/{label}");
        out[i] = *map.get(&key).ok_or_else(|| format!("no count for {key}"))?;
    }
    Ok(out)
}

/// The most bytes preallocated for one review from its tar header's declared size.
#[cfg(feature = "archive")]
const MAX_PREALLOCATED_REVIEW: u64 = 64 << 10;

/// Reads a gzip'd tar archive in the official layout (the official `aclImdb_v1.tar.gz`, a labelled
/// subset of it, or the embedded sample) as a stream, without extracting anything to disk.
///
/// # Errors
/// [`DataError::CorruptArchive`] for a damaged or truncated gzip/tar stream,
/// [`DataError::InvalidUtf8`] naming the review, [`DataError::MissingFolder`] and
/// [`DataError::WrongCount`] when the layout is incomplete.
#[cfg(feature = "archive")]
pub fn read_tar_gz(reader: impl Read, source: &Path) -> Result<LabeledReviews> {
    let corrupt = |e: std::io::Error| DataError::CorruptArchive {
        path: source.to_owned(),
        source: e,
    };
    let mut archive = tar::Archive::new(GzDecoder::new(BufReader::with_capacity(1 << 16, reader)));
    let mut out = Collector::default();
    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(corrupt)?.into_owned();
        if let Some(key) = Collector::review_key(&path) {
            // The declared size sizes the buffer only up to a generous review (the largest of
            // the 50,000 is 14 KB): a damaged header claiming gigabytes must not allocate them.
            let mut bytes = Vec::with_capacity(entry.size().min(MAX_PREALLOCATED_REVIEW) as usize);
            entry.read_to_end(&mut bytes).map_err(corrupt)?;
            out.add(source, &path.to_string_lossy(), key, bytes)?;
        } else if is_counts_manifest(&path) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(corrupt)?;
            out.counts_manifest = Some(bytes);
        }
    }
    // A gzip stream cut right after a tar entry can still parse: reading to the end checks the
    // gzip trailer (CRC and length), which catches truncation the tar layer cannot see.
    std::io::copy(&mut archive.into_inner(), &mut std::io::sink()).map_err(corrupt)?;
    out.finish(source)
}

/// Opens `path` and reads it with [`read_tar_gz`].
///
/// # Errors
/// [`DataError::SourceUnreadable`] if the file cannot be opened, then as [`read_tar_gz`].
#[cfg(feature = "archive")]
pub fn read_tar_gz_file(path: &Path) -> Result<LabeledReviews> {
    let file = std::fs::File::open(path).map_err(|e| DataError::SourceUnreadable {
        path: path.to_owned(),
        source: e,
    })?;
    read_tar_gz(file, path)
}

#[cfg(feature = "archive")]
fn is_counts_manifest(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == COUNTS_FILE) && path.components().count() <= 2
}

/// The directory holding `train/` and `test/`: `dir` itself, or its `aclImdb/` when it has one.
pub(crate) fn layout_root(dir: &Path) -> PathBuf {
    let inner = dir.join("aclImdb");
    if inner.is_dir() {
        inner
    } else {
        dir.to_owned()
    }
}

/// Reads an unpacked `aclImdb/` directory (or a directory that contains `aclImdb/`).
///
/// # Errors
/// As [`read_tar_gz`], with [`DataError::Io`] naming the file that could not be read.
pub fn read_directory(dir: &Path) -> Result<LabeledReviews> {
    let root = layout_root(dir);
    let mut out = Collector::default();
    let manifest = root.join(COUNTS_FILE);
    if manifest.is_file() {
        out.counts_manifest =
            Some(std::fs::read(&manifest).map_err(|e| DataError::io(&manifest, e))?);
    }
    for (split, label, _) in FOLDERS {
        let folder = root.join(split).join(label);
        let Ok(listing) = std::fs::read_dir(&folder) else {
            continue; // reported as MissingFolder with the others below
        };
        for item in listing {
            let item = item.map_err(|e| DataError::io(&folder, e))?;
            let path = item.path();
            let Some(key) = Collector::review_key(&path) else {
                continue;
            };
            let bytes = std::fs::read(&path).map_err(|e| DataError::io(&path, e))?;
            let entry = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            out.add(dir, &entry, key, bytes)?;
        }
    }
    out.finish(dir)
}
