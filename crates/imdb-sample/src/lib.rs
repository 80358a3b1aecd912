#![doc = include_str!("../README.md")]

/// The sample archive: a gzip'd tar of `aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`,
/// `aclImdb/counts.json` and `aclImdb/README` (see the [crate docs](crate)). The reviews are
/// for research use, see `LICENSE`.
pub const ARCHIVE: &[u8] = include_bytes!("../data/aclImdb_sample.tar.gz");

/// The SHA-256 of [`ARCHIVE`], lower-case hex (what `make_sample.py` reproduces).
pub const SHA256: &str = "14120047db0d580673cc803410514ded8870bbce8f8275d70d187c7b11d4ddab";

/// Reviews in [`ARCHIVE`]: 2,500 for training and 2,500 for testing.
pub const REVIEWS: usize = 5_000;

/// Reviews in each of the four folders (`train/neg`, `train/pos`, `test/neg`, `test/pos`).
pub const PER_FOLDER: usize = 1_250;

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn the_archive_is_the_one_make_sample_writes() {
        let hex: String = Sha256::digest(ARCHIVE)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, SHA256);
        assert_eq!(REVIEWS, 4 * PER_FOLDER);
    }
}
