//! Where the reviews come from: a path, the cached or downloaded official archive, or the embedded sample.

use crate::error::{DataError, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Environment variable naming a local copy of the data (archive, `aclImdb/` directory or `imdb.npz`).
pub const ENV_DATA: &str = "BURN_IMDB_DATA";
/// Environment variable overriding the cache directory.
pub const ENV_CACHE: &str = "BURN_IMDB_CACHE";
/// Environment variable overriding the download URL (mirrors, tests against a local server).
pub const ENV_URL: &str = "BURN_IMDB_URL";

/// The official Stanford archive (Maas et al., 2011).
pub mod official {
    /// Where Stanford serves it.
    pub const URL: &str = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz";
    /// Its SHA-256; a download with any other digest is discarded.
    pub const SHA256: &str = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe";
    /// Its size in bytes.
    pub const LEN: u64 = 84_125_825;
    /// Its name in the cache directory.
    pub const FILE_NAME: &str = "aclImdb_v1.tar.gz";
}

/// The embedded sample: 10% of the labelled reviews, from the `imdb-sample` crate (feature
/// `sample`; the reviews are for research use, see that crate's `LICENSE`).
#[cfg(feature = "sample")]
pub(crate) const EMBEDDED_SAMPLE: &[u8] = imdb_sample::ARCHIVE;

/// Which data to load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataSource {
    /// A local file or directory; an error if it cannot be read (never a reason to fall back).
    Path(PathBuf),
    /// The official archive from the cache, downloaded first if missing; the embedded sample, with
    /// a loud notice, if the download is impossible (the network fails, or this build has no
    /// `download` feature).
    Official,
    /// The 5,000-review sample compiled into this crate (feature `sample`).
    Embedded,
}

impl DataSource {
    /// The source a user asked for: `arg` if given, else `$BURN_IMDB_DATA`, else [`DataSource::Official`].
    pub fn resolve(arg: Option<PathBuf>) -> Self {
        arg.or_else(|| {
            std::env::var_os(ENV_DATA)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .map_or(DataSource::Official, DataSource::Path)
    }
}

/// The formats a path can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A gzip'd tar in the official layout.
    TarGz,
    /// An unpacked `aclImdb/` directory.
    Directory,
    /// Keras's `imdb.npz`.
    KerasNpz,
}

impl Format {
    /// Detects the format from the path's type and the file's first bytes (not its name).
    ///
    /// # Errors
    /// [`DataError::SourceUnreadable`] if the path cannot be read, [`DataError::UnknownFormat`] if it
    /// is none of the formats.
    pub fn detect(path: &Path) -> Result<Format> {
        let unreadable = |e| DataError::SourceUnreadable {
            path: path.to_owned(),
            source: e,
        };
        let meta = std::fs::metadata(path).map_err(unreadable)?;
        if meta.is_dir() {
            return Ok(Format::Directory);
        }
        let mut magic = [0u8; 4];
        let mut file = std::fs::File::open(path).map_err(unreadable)?;
        let n = file.read(&mut magic).map_err(unreadable)?;
        match &magic[..n] {
            [0x1f, 0x8b, ..] => Ok(Format::TarGz),
            [b'P', b'K', 3, 4] => Ok(Format::KerasNpz),
            _ => Err(DataError::UnknownFormat {
                path: path.to_owned(),
            }),
        }
    }
}

/// The cache directory: `$BURN_IMDB_CACHE`, else the platform cache dir + `burn-imdb`
/// (`~/.cache/burn-imdb` on Linux), else `.burn-imdb-cache` in the working directory.
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os(ENV_CACHE)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("burn-imdb")))
        .unwrap_or_else(|| PathBuf::from(".burn-imdb-cache"))
}

/// The download URL: `$BURN_IMDB_URL`, else the official one.
pub fn download_url() -> String {
    std::env::var(ENV_URL)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| official::URL.to_owned())
}

/// Printed on stderr whenever the embedded sample stands in for the full data.
pub fn embedded_notice(reason: &str) -> String {
    format!(
        "\n*** burn-imdb: USING THE EMBEDDED SAMPLE, NOT THE FULL IMDB DATA ***\n\
         *** why: {reason}\n\
         *** what: 5,000 of the 50,000 labelled reviews (2,500 train + 2,500 test, balanced), compiled in.\n\
         *** effect: accuracy will be lower than on the full data (fewer reviews to learn from).\n\
         *** fix: pass the path of aclImdb_v1.tar.gz, an aclImdb/ directory or Keras's imdb.npz \n\
         ***      (argument or {ENV_DATA}=PATH), or let the program download {} once.\n",
        official::URL
    )
}
