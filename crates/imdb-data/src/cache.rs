//! The encoded-dataset cache: one `.npz` per (source checksum, encoding options), written atomically.
//!
//! Without the `cache` feature the key is still computed (it then names nothing), [`read`] finds
//! nothing and [`write`] does nothing: every load reads and encodes its source.
//!
//! Arrays: `{train,test}_tokens` (u32), `{train,test}_offsets` (u64), `{train,test}_labels` (u8),
//! `word_index` (UTF-8 bytes of Keras's JSON format, empty when the source has none) and `key`
//! (UTF-8 bytes of the cache key, checked on load so a renamed file is never trusted).

use crate::digest::sha256_hex;
use crate::encode::EncodeOptions;
use crate::error::Result;
use crate::split::Split;
use crate::vocab::WordIndex;
use std::path::{Path, PathBuf};
#[cfg(feature = "cache")]
use {
    crate::error::DataError,
    crate::npy::{one_dim, parse_header},
    crate::zip_entry::{Entries, EntryError},
    npyz::WriterBuilder,
    std::fs::File,
    std::io::{BufReader, BufWriter, Write},
    zip::write::SimpleFileOptions,
    zip::{CompressionMethod, ZipWriter},
};

/// Bumped whenever tokenization, ranking or the file layout changes, so stale caches are not reused.
const CACHE_FORMAT: u32 = 1;

/// What the cache stores: both encoded splits and the word index.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Encoded {
    pub train: Split,
    pub test: Split,
    pub word_index: Option<WordIndex>,
}

/// The cache key: a digest of the format version, the source's checksum and the options.
pub(crate) fn key(source_checksum: &str, options: &EncodeOptions) -> String {
    let options = serde_json::to_string(options).expect("options always serialise");
    sha256_hex(format!(
        "burn-imdb-cache-v{CACHE_FORMAT}\n{source_checksum}\n{options}"
    ))
}

/// The cache file for `key` under `cache_dir`.
pub(crate) fn path(cache_dir: &Path, key: &str) -> PathBuf {
    cache_dir
        .join("encoded")
        .join(format!("imdb-{}.npz", &key[..32]))
}

/// Reads a cache file. `Ok(None)` when there is none.
///
/// # Errors
/// [`DataError::CorruptCache`] if the file exists but is damaged or belongs to another key.
#[cfg(feature = "cache")]
pub(crate) fn read(path: &Path, key: &str) -> Result<Option<Encoded>> {
    let corrupt = |message: String| DataError::CorruptCache {
        path: path.to_owned(),
        message,
    };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(corrupt(e.to_string())),
    };
    let mut npz = Entries::open(BufReader::new(file)).map_err(|e| match e {
        EntryError::Damaged(message) => corrupt(message),
        EntryError::Missing => corrupt("not a zip archive".into()),
        EntryError::Io(e) => corrupt(e.to_string()),
    })?;
    let stored_key: Vec<u8> = read_vec(&mut npz, "key", path)?;
    if stored_key != key.as_bytes() {
        return Err(corrupt("written for another source or options".into()));
    }
    let mut split = |prefix: &str| -> Result<Split> {
        let tokens: Vec<u32> = read_vec(&mut npz, &format!("{prefix}_tokens"), path)?;
        let offsets: Vec<u64> = read_vec(&mut npz, &format!("{prefix}_offsets"), path)?;
        let labels: Vec<u8> = read_vec(&mut npz, &format!("{prefix}_labels"), path)?;
        let offsets: Vec<usize> = offsets.into_iter().map(|o| o as usize).collect();
        if !Split::parts_are_consistent(&tokens, &offsets, &labels) {
            return Err(corrupt(format!(
                "{prefix}: offsets do not match tokens and labels"
            )));
        }
        Ok(Split::from_parts(tokens, offsets, labels))
    };
    let train = split("train")?;
    let test = split("test")?;
    let index_bytes: Vec<u8> = read_vec(&mut npz, "word_index", path)?;
    let word_index = if index_bytes.is_empty() {
        None
    } else {
        Some(WordIndex::from_json_bytes(&index_bytes).map_err(corrupt)?)
    };
    Ok(Some(Encoded {
        train,
        test,
        word_index,
    }))
}

/// Element types the cache stores, read straight from their little-endian bytes (npyz's generic
/// reader goes element by element through the zip reader, which made warm loads several times slower).
#[cfg(feature = "cache")]
trait Plain: Sized {
    /// numpy's type string, e.g. `<u4`.
    const DESCR: &'static str;
    fn from_le(bytes: &[u8]) -> Self;
}

#[cfg(feature = "cache")]
impl Plain for u8 {
    const DESCR: &'static str = "|u1";
    fn from_le(bytes: &[u8]) -> Self {
        bytes[0]
    }
}

#[cfg(feature = "cache")]
impl Plain for u32 {
    const DESCR: &'static str = "<u4";
    fn from_le(bytes: &[u8]) -> Self {
        u32::from_le_bytes(bytes.try_into().expect("4-byte chunks"))
    }
}

#[cfg(feature = "cache")]
impl Plain for u64 {
    const DESCR: &'static str = "<u8";
    fn from_le(bytes: &[u8]) -> Self {
        u64::from_le_bytes(bytes.try_into().expect("8-byte chunks"))
    }
}

/// The 1-D array `{name}.npy`. Its bytes are bounded by the file (see [`Entries::read`]) and its
/// declared shape is checked against them before anything is sized from it.
#[cfg(feature = "cache")]
fn read_vec<T: Plain>(
    npz: &mut Entries<BufReader<File>>,
    name: &str,
    path: &Path,
) -> Result<Vec<T>> {
    let corrupt = |message: String| DataError::CorruptCache {
        path: path.to_owned(),
        message,
    };
    let bytes = npz
        .read(&format!("{name}.npy"), u64::MAX)
        .map_err(|e| match e {
            EntryError::Missing => corrupt(format!("no {name}.npy in the archive")),
            EntryError::Damaged(message) => corrupt(message),
            EntryError::Io(e) => corrupt(format!("{name}: {e}")),
        })?;
    let (header, payload) =
        parse_header(&bytes).map_err(|m| corrupt(format!("{name}.npy: {m}")))?;
    if header.descr != T::DESCR {
        return Err(corrupt(format!(
            "{name}: dtype {:?}, expected {:?}",
            header.descr,
            T::DESCR
        )));
    }
    let size = std::mem::size_of::<T>();
    let len = one_dim(&header.shape)
        .ok_or_else(|| corrupt(format!("{name}: shape {:?}, expected 1-D", header.shape)))?;
    if len.checked_mul(size as u64) != Some(payload.len() as u64) {
        return Err(corrupt(format!(
            "{name}: {} bytes for {len} elements of {size} bytes",
            payload.len()
        )));
    }
    Ok(payload.chunks_exact(size).map(T::from_le).collect())
}

/// Writes a cache file atomically ([`crate::atomic`]), so an interrupted write never leaves a
/// file a later run would trust.
#[cfg(feature = "cache")]
pub(crate) fn write(path: &Path, key: &str, data: &Encoded) -> Result<()> {
    // Errors name the cache file, not the temp file beside it (which is deleted on failure).
    let io = |e: std::io::Error| DataError::io(path, e);
    let mut tmp = crate::atomic::AtomicFile::new(path).map_err(io)?;
    {
        let mut npz = ZipWriter::new(BufWriter::with_capacity(1 << 20, tmp.file()));
        write_array(&mut npz, "key", key.as_bytes()).map_err(io)?;
        for (prefix, split) in [("train", &data.train), ("test", &data.test)] {
            write_array(&mut npz, &format!("{prefix}_tokens"), split.flat_tokens()).map_err(io)?;
            let offsets: Vec<u64> = split.offsets().iter().map(|&o| o as u64).collect();
            write_array(&mut npz, &format!("{prefix}_offsets"), &offsets).map_err(io)?;
            write_array(&mut npz, &format!("{prefix}_labels"), split.labels()).map_err(io)?;
        }
        let index = data
            .word_index
            .as_ref()
            .map(WordIndex::to_json_bytes)
            .unwrap_or_default();
        write_array(&mut npz, "word_index", &index).map_err(io)?;
        let mut buffered = npz.finish().map_err(|e| io(e.into()))?;
        buffered.flush().map_err(io)?;
    }
    tmp.commit().map_err(io)
}

/// Writes `data` as the 1-D array `{name}.npy` of the archive, as numpy's `savez` would.
#[cfg(feature = "cache")]
fn write_array<T, W>(npz: &mut ZipWriter<W>, name: &str, data: &[T]) -> std::io::Result<()>
where
    T: npyz::AutoSerialize + Copy,
    W: std::io::Write + std::io::Seek,
{
    // Stored, not deflated: the cache exists to make the second load fast. Large-file (zip64)
    // records, as numpy writes them, since a 1,000,000-term bigram encoding can pass 4 GiB.
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .large_file(true);
    npz.start_file(format!("{name}.npy"), options)?;
    // npyz writes an element at a time; buffered, the zip writer (and its CRC) sees large
    // chunks instead of 4-byte writes. Writing the caches had been a fifth of a study's first
    // load in perf, most of it the zip writer's per-call work.
    let mut buffered = BufWriter::with_capacity(1 << 16, &mut *npz);
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[data.len() as u64])
        .writer(&mut buffered)
        .begin_nd()?;
    writer.extend(data.iter().copied())?;
    writer.finish()?;
    buffered.flush()
}

/// No cache file is read without the `cache` feature.
#[cfg(not(feature = "cache"))]
pub(crate) fn read(_path: &Path, _key: &str) -> Result<Option<Encoded>> {
    Ok(None)
}

/// No cache file is written without the `cache` feature.
#[cfg(not(feature = "cache"))]
pub(crate) fn write(_path: &Path, _key: &str, _data: &Encoded) -> Result<()> {
    Ok(())
}

#[cfg(all(test, feature = "cache"))]
mod tests {
    use super::*;

    fn sample() -> Encoded {
        Encoded {
            train: [(vec![1, 5, 9], 1), (vec![], 0)].into_iter().collect(),
            test: [(vec![1, 2], 0)].into_iter().collect(),
            word_index: Some(WordIndex::from_ranked(vec!["the".into(), "film".into()])),
        }
    }

    #[test]
    fn round_trip_and_key_check() {
        let dir = tempfile::tempdir().unwrap();
        let options = EncodeOptions::default();
        let k = key("abc", &options);
        let p = path(dir.path(), &k);
        assert!(read(&p, &k).unwrap().is_none());
        write(&p, &k, &sample()).unwrap();
        assert_eq!(read(&p, &k).unwrap(), Some(sample()));
        // Only the finished file is left behind.
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
        let other = key("abc", &options.clone().with_num_words(Some(5000)));
        assert_ne!(other, k);
        assert!(matches!(
            read(&p, &other),
            Err(DataError::CorruptCache { .. })
        ));
    }

    #[test]
    fn damaged_file_is_corrupt_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let k = key("abc", &EncodeOptions::default());
        let p = path(dir.path(), &k);
        write(&p, &k, &sample()).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
        assert!(matches!(read(&p, &k), Err(DataError::CorruptCache { .. })));
    }
}
