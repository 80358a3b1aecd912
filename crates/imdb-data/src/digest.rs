//! SHA-256 as lowercase hex: the checksums of sources (files, the embedded sample, directory
//! listings), cache keys and downloads.

use crate::error::{DataError, Result};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Buffer size for streaming reads from disk.
const BUF_LEN: usize = 64 * 1024;

/// Lower-case hex of `bytes` (digests in cache keys, checksums and download checks).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of `bytes`, as lowercase hex.
pub(crate) fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    hex(&Sha256::digest(bytes))
}

/// The SHA-256 of a file, as lowercase hex, read in 64 KiB blocks.
///
/// # Errors
/// [`DataError::Io`] when the file cannot be opened or read.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; BUF_LEN];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(DataError::io(path, e)),
        }
    }
    Ok(hex(&hasher.finalize()))
}
