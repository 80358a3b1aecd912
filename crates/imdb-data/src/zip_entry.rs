//! One entry of a zip archive (an `.npz` is a zip of `.npy` files), read with every size the
//! archive declares checked against the bytes it has, so that a damaged or hostile file cannot
//! make the reader allocate what it only claims.
//!
//! Shared by the two readers of `.npz` files: Keras's `imdb.npz` ([`crate::npz`]) and the
//! encoded-data cache.

use std::io::{ErrorKind, Read, Seek, SeekFrom};

use zip::result::ZipError;
use zip::{CompressionMethod, ZipArchive};

/// Deflate cannot expand more than about 1032:1, so a larger declared size is a lie.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Why an entry could not be read. Callers turn it into their own typed error, naming the file.
#[derive(Debug)]
pub(crate) enum EntryError {
    /// The archive has no entry of that name.
    Missing,
    /// The archive or the entry is damaged: the message says how.
    Damaged(String),
    /// Reading the file failed (the disk, not the data).
    Io(std::io::Error),
}

/// Decoders report corrupt data as I/O errors of these kinds (zip's CRC check uses `Other`, a
/// damaged compression-method field `Unsupported`); they mean a bad file, not a failing disk.
fn is_data_error(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        ErrorKind::InvalidData
            | ErrorKind::InvalidInput
            | ErrorKind::UnexpectedEof
            | ErrorKind::Unsupported
            | ErrorKind::Other
    )
}

impl EntryError {
    fn from_io(err: std::io::Error, what: &str) -> Self {
        if is_data_error(&err) {
            EntryError::Damaged(format!("{what}: {err}"))
        } else {
            EntryError::Io(err)
        }
    }

    fn from_zip(err: ZipError, what: &str) -> Self {
        match err {
            ZipError::Io(err) => EntryError::from_io(err, what),
            ZipError::FileNotFound => EntryError::Missing,
            other => EntryError::Damaged(format!("{what}: {other}")),
        }
    }
}

/// A zip archive and the length of the file holding it, the bound on every size it declares.
pub(crate) struct Entries<R> {
    archive: ZipArchive<R>,
    file_len: u64,
}

impl<R: Read + Seek> Entries<R> {
    /// Reads the archive's directory.
    ///
    /// # Errors
    /// [`EntryError::Damaged`] if it is not a zip archive, [`EntryError::Io`] if reading fails.
    pub(crate) fn open(mut reader: R) -> Result<Self, EntryError> {
        let file_len = reader
            .seek(SeekFrom::End(0))
            .and_then(|len| reader.rewind().map(|()| len))
            .map_err(EntryError::Io)?;
        let archive =
            ZipArchive::new(reader).map_err(|e| EntryError::from_zip(e, "not a zip archive"))?;
        Ok(Entries { archive, file_len })
    }

    /// The bytes of entry `name`, at most `max_bytes` of them.
    ///
    /// The size the entry declares is believed only as far as the file can honestly hold it: a
    /// stored entry no larger than its compressed size, a deflated one no larger than its
    /// compressed size times deflate's best ratio, and neither larger than the file allows. So
    /// what is allocated here is bounded by the file's length.
    ///
    /// # Errors
    /// [`EntryError::Missing`], [`EntryError::Damaged`] (a declared size beyond those bounds, a
    /// stream that does not decompress or decompresses to another size, a bad checksum), or
    /// [`EntryError::Io`].
    pub(crate) fn read(&mut self, name: &str, max_bytes: u64) -> Result<Vec<u8>, EntryError> {
        let entry = self
            .archive
            .by_name(name)
            .map_err(|e| EntryError::from_zip(e, name))?;
        let declared = entry.size();
        let compressed = entry.compressed_size().min(self.file_len);
        let expansion = match entry.compression() {
            CompressionMethod::Stored => compressed,
            _ => compressed
                .saturating_mul(MAX_DEFLATE_RATIO)
                .saturating_add(1024),
        };
        let honest_max = expansion.min(max_bytes);
        if declared > honest_max {
            return Err(EntryError::Damaged(format!(
                "{name} claims {declared} bytes uncompressed from {} compressed (limit {honest_max})",
                entry.compressed_size()
            )));
        }
        let capacity = usize::try_from(declared).map_err(|_| {
            EntryError::Damaged(format!("{name} of {declared} bytes does not fit in memory"))
        })?;
        // Reading one byte more than declared detects an entry that decompresses to more than
        // its header says.
        let mut bytes = Vec::with_capacity(capacity);
        entry
            .take(declared.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| EntryError::from_io(e, &format!("{name}: cannot decompress")))?;
        if bytes.len() as u64 != declared {
            return Err(EntryError::Damaged(format!(
                "{name} decompresses to {} bytes, its zip header says {declared}",
                bytes.len()
            )));
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    fn zip_of(entries: &[(&str, &[u8], CompressionMethod)]) -> Vec<u8> {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes, method) in entries {
            let options = zip::write::SimpleFileOptions::default().compression_method(*method);
            out.start_file(*name, options).unwrap();
            out.write_all(bytes).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    /// Sets the uncompressed size of every entry, in the local and the central headers.
    fn declare_size(zip: &mut [u8], size: u32) {
        for at in 0..zip.len().saturating_sub(30) {
            if zip[at..].starts_with(b"PK\x03\x04") {
                zip[at + 22..at + 26].copy_from_slice(&size.to_le_bytes());
            } else if zip[at..].starts_with(b"PK\x01\x02") {
                zip[at + 24..at + 28].copy_from_slice(&size.to_le_bytes());
            }
        }
    }

    #[test]
    fn reads_stored_and_deflated_entries() {
        let text = b"the same words again and again and again ".repeat(100);
        let zip = zip_of(&[
            ("a.npy", &text, CompressionMethod::Stored),
            ("b.npy", &text, CompressionMethod::Deflated),
        ]);
        let mut entries = Entries::open(Cursor::new(zip)).unwrap();
        assert_eq!(entries.read("a.npy", u64::MAX).unwrap(), text);
        assert_eq!(entries.read("b.npy", u64::MAX).unwrap(), text);
        assert!(matches!(
            entries.read("c.npy", u64::MAX),
            Err(EntryError::Missing)
        ));
        let err = entries.read("a.npy", 100).unwrap_err();
        assert!(matches!(err, EntryError::Damaged(m) if m.contains("limit 100")));
    }

    #[test]
    fn declared_sizes_beyond_the_file_are_refused_before_allocating() {
        for method in [CompressionMethod::Stored, CompressionMethod::Deflated] {
            let mut zip = zip_of(&[("a.npy", b"0123456789", method)]);
            declare_size(&mut zip, 0x7fff_fff0);
            let mut entries = Entries::open(Cursor::new(zip)).unwrap();
            match entries.read("a.npy", u64::MAX) {
                Err(EntryError::Damaged(m)) => assert!(m.contains("claims 2147483632"), "{m}"),
                other => panic!("{method:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_size_that_lies_the_other_way_is_damaged() {
        let mut zip = zip_of(&[("a.npy", b"0123456789", CompressionMethod::Deflated)]);
        declare_size(&mut zip, 4);
        let mut entries = Entries::open(Cursor::new(zip)).unwrap();
        assert!(matches!(
            entries.read("a.npy", u64::MAX),
            Err(EntryError::Damaged(_))
        ));
    }

    #[test]
    fn not_a_zip_is_damaged() {
        let err = Entries::open(Cursor::new(b"plain text".to_vec()))
            .err()
            .unwrap();
        assert!(matches!(err, EntryError::Damaged(m) if m.contains("not a zip")));
    }
}
