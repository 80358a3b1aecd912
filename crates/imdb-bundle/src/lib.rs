#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
#[cfg(feature = "safetensors")]
pub mod safetensors;

pub use error::{BundleError, Result};

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};
use imdb_data::{EncodeOptions, WordIndex};
use imdb_model::{Mlp, MlpConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The `format` a model directory's manifest declares.
pub const FORMAT: &str = "burn-imdb-model";
/// The layout version this build writes and reads. Bump it when a file changes meaning
/// (the tokenizer's rule included), so old directories fail clearly instead of predicting wrongly.
pub const VERSION: u64 = 1;

/// File names inside a model directory.
pub mod files {
    /// The format and version.
    pub const MANIFEST: &str = "manifest.json";
    /// The model config.
    pub const CONFIG: &str = "config.json";
    /// The weights.
    pub const WEIGHTS: &str = "model.bpk";
    /// The encoding options.
    pub const ENCODING: &str = "encoding.json";
    /// The vocabulary.
    pub const WORD_INDEX: &str = "word_index.json";
}

/// The content of `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`] for directories this crate writes.
    pub format: String,
    /// The layout version ([`VERSION`] when written by this build).
    pub version: u64,
}

impl Manifest {
    /// The manifest this build writes.
    pub fn current() -> Self {
        Self {
            format: FORMAT.to_owned(),
            version: VERSION,
        }
    }
}

/// The files of a model directory as bytes in memory (see the [crate docs](crate) for what
/// each holds), for [`ModelBundle::from_files`]: a program can carry its model with
/// `include_bytes!` and need no file at run time.
#[derive(Clone, Copy, Debug)]
pub struct BundleFiles<'a> {
    /// `manifest.json`.
    pub manifest: &'a [u8],
    /// `config.json`.
    pub config: &'a [u8],
    /// `model.bpk`.
    pub weights: &'a [u8],
    /// `encoding.json`.
    pub encoding: &'a [u8],
    /// `word_index.json`, if the model has a vocabulary.
    pub word_index: Option<&'a [u8]>,
}

/// A trained model with the encoding and vocabulary it was trained with (see the
/// [crate docs](crate)). Checked when built: the config and encoding are valid and the encoding
/// produces no index outside the model's input.
#[derive(Clone, Debug)]
pub struct ModelBundle {
    config: MlpConfig,
    weights: Vec<u8>,
    encoding: EncodeOptions,
    word_index: Option<WordIndex>,
    /// Where it was read from (a directory, or `(in memory)`), for error messages.
    origin: PathBuf,
}

impl ModelBundle {
    /// The bundle of a trained `mlp` built from `config`, trained on data encoded with
    /// `encoding` and `word_index` (`None` when the data had no vocabulary).
    ///
    /// # Errors
    /// [`BundleError::InvalidModel`], [`BundleError::InvalidEncoding`] or
    /// [`BundleError::WidthMismatch`] as for a directory; [`BundleError::Weights`] if the
    /// weights cannot be serialised.
    pub fn new(
        config: &MlpConfig,
        mlp: &Mlp,
        encoding: &EncodeOptions,
        word_index: Option<&WordIndex>,
    ) -> Result<Self> {
        let origin = PathBuf::from("(in memory)");
        let weights = mlp
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| BundleError::Weights {
                path: origin.join(files::WEIGHTS),
                message: e.to_string(),
            })?
            .to_vec();
        let bundle = Self {
            config: config.clone(),
            weights,
            encoding: encoding.clone(),
            word_index: word_index.cloned(),
            origin,
        };
        bundle.check()?;
        Ok(bundle)
    }

    /// Reads the model directory `path` (or an experiment's artifacts directory holding
    /// `model/`, see [`resolve`]).
    ///
    /// # Errors
    /// [`BundleError::MissingFile`] naming the file, [`BundleError::IncompatibleVersion`],
    /// [`BundleError::MalformedJson`], [`BundleError::InvalidModel`],
    /// [`BundleError::InvalidEncoding`], [`BundleError::WidthMismatch`] and [`BundleError::Io`].
    pub fn read_dir(path: impl AsRef<Path>) -> Result<Self> {
        let dir = resolve(path.as_ref());
        let read = |name: &str, why: &'static str| -> Result<Vec<u8>> {
            let path = dir.join(name);
            // A directory of that name is as good as no file.
            if !path.is_file() {
                return Err(BundleError::MissingFile { path, why });
            }
            std::fs::read(&path).map_err(|e| BundleError::io(path, e))
        };
        let manifest = read(
            files::MANIFEST,
            "not a burn-imdb model directory, or one written before manifests existed: retrain it",
        )?;
        let config = read(files::CONFIG, "the model's config")?;
        let weights = read(files::WEIGHTS, "the model's weights")?;
        let encoding = read(
            files::ENCODING,
            "the encoding options the model was trained with",
        )?;
        let word_index = match read(files::WORD_INDEX, "") {
            Ok(bytes) => Some(bytes),
            Err(BundleError::MissingFile { .. }) => None,
            Err(e) => return Err(e),
        };
        let files = BundleFiles {
            manifest: &manifest,
            config: &config,
            weights: &weights,
            encoding: &encoding,
            word_index: word_index.as_deref(),
        };
        Self::parse(files, dir)
    }

    /// A bundle from the bytes of a model directory's files: what [`read_dir`](Self::read_dir)
    /// reads, without the files. Errors name the file the bytes stand for.
    ///
    /// # Errors
    /// As [`read_dir`](Self::read_dir), but for missing files.
    pub fn from_files(files: BundleFiles<'_>) -> Result<Self> {
        Self::parse(files, PathBuf::from("(in memory)"))
    }

    fn parse(files: BundleFiles<'_>, origin: PathBuf) -> Result<Self> {
        let at = |name: &str| origin.join(name);
        // The version first, read leniently: a newer layout may have keys this build does not
        // know, and is refused by its version, not by them.
        let manifest: Manifest =
            serde_json::from_slice(files.manifest).map_err(|e| BundleError::MalformedJson {
                path: at(files::MANIFEST),
                message: e.to_string(),
            })?;
        if manifest.format != FORMAT || manifest.version != VERSION {
            return Err(BundleError::IncompatibleVersion {
                path: at(files::MANIFEST),
                format: manifest.format,
                version: manifest.version,
                expected_format: FORMAT,
                expected_version: VERSION,
            });
        }
        let _: Manifest = json(files.manifest, &at(files::MANIFEST))?;
        let config: MlpConfig = json(files.config, &at(files::CONFIG))?;
        let encoding: EncodeOptions = json(files.encoding, &at(files::ENCODING))?;
        let word_index = files
            .word_index
            .map(|bytes| {
                let path = at(files::WORD_INDEX);
                WordIndex::from_json(bytes, &path).map_err(|e| BundleError::MalformedJson {
                    path,
                    message: e.to_string(),
                })
            })
            .transpose()?;
        let bundle = Self {
            config,
            weights: files.weights.to_vec(),
            encoding,
            word_index,
            origin,
        };
        bundle.check()?;
        Ok(bundle)
    }

    /// The config and encoding are valid, and every index the encoding can produce is a
    /// column of the model (with a fixed `num_words`, the widths are equal).
    fn check(&self) -> Result<()> {
        self.config
            .validate()
            .map_err(|source| BundleError::InvalidModel {
                path: self.origin.join(files::CONFIG),
                source,
            })?;
        self.encoding
            .validate()
            .map_err(|source| BundleError::InvalidEncoding {
                path: self.origin.join(files::ENCODING),
                source,
            })?;
        let input = self.config.input;
        let encoding = &self.encoding;
        let (vocabulary, fits) = match encoding.num_words {
            Some(n) => (n, n == input),
            None => {
                let words = self.word_index.as_ref().map_or(0, WordIndex::len) as u64;
                let largest = [
                    words + u64::from(encoding.index_from),
                    encoding.start_char.map_or(0, u64::from),
                    encoding.oov_char.map_or(0, u64::from),
                ]
                .into_iter()
                .max()
                .map_or(0, |m| m as usize + 1);
                (largest, largest <= input)
            }
        };
        if !fits {
            return Err(BundleError::WidthMismatch {
                path: self.origin.clone(),
                vocabulary,
                input,
            });
        }
        Ok(())
    }

    /// Writes the bundle as the model directory `dir`, whole: built in a temp directory beside
    /// it and swapped in ([`imdb_data::atomic::replace_dir`]), so a reader (or a crash) finds
    /// the old model or the new one, never a mix or none. The manifest is written last.
    ///
    /// # Errors
    /// [`BundleError::Io`] naming the file that could not be written.
    #[cfg(feature = "write")]
    pub fn write_dir(&self, dir: &Path) -> Result<()> {
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(parent).map_err(|e| BundleError::io(parent, e))?;
        let tmp = tempfile::Builder::new()
            .prefix(".model-")
            .tempdir_in(parent)
            .map_err(|e| BundleError::io(parent, e))?;
        let write = |name: &str, bytes: &[u8]| {
            let path = tmp.path().join(name);
            std::fs::write(&path, bytes).map_err(|e| BundleError::io(dir.join(name), e))
        };
        write(files::CONFIG, to_json(&self.config).as_bytes())?;
        write(files::WEIGHTS, &self.weights)?;
        write(files::ENCODING, to_json(&self.encoding).as_bytes())?;
        if let Some(index) = &self.word_index {
            write(files::WORD_INDEX, &index.to_json_bytes())?;
        }
        write(files::MANIFEST, to_json(&Manifest::current()).as_bytes())?;
        imdb_data::atomic::replace_dir(tmp.path(), dir).map_err(|e| BundleError::io(dir, e))
    }

    /// The model, on `device`, with its weights, in inference mode ([`Module::valid`]).
    ///
    /// # Errors
    /// [`BundleError::Weights`] naming the weights file if they do not parse or do not fit the
    /// config.
    pub fn model(&self, device: &Device) -> Result<Mlp> {
        let weights_error = |e: &dyn std::fmt::Display| BundleError::Weights {
            path: self.origin.join(files::WEIGHTS),
            message: e.to_string(),
        };
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(self.weights.clone()))
            .map_err(|e| weights_error(&e))?;
        let mlp = self
            .config
            .try_init(device)
            .map_err(|source| BundleError::InvalidModel {
                path: self.origin.join(files::CONFIG),
                source,
            })?
            .try_load_record(record)
            .map_err(|e| weights_error(&e))?;
        Ok(mlp.valid())
    }

    /// The model's config.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    /// The encoding options of the training data.
    pub fn encoding(&self) -> &EncodeOptions {
        &self.encoding
    }

    /// The training vocabulary, if the training data had one.
    pub fn word_index(&self) -> Option<&WordIndex> {
        self.word_index.as_ref()
    }

    /// The weights as burnpack bytes (the content of `model.bpk`).
    pub fn weights(&self) -> &[u8] {
        &self.weights
    }

    /// Where the bundle was read from: its directory, or `(in memory)`.
    pub fn origin(&self) -> &Path {
        &self.origin
    }
}

/// The model directory for `path`: `path` itself when it holds a manifest (or is not an
/// experiment directory), else `path/model` (an experiment's artifacts directory).
pub fn resolve(path: &Path) -> PathBuf {
    let nested = path.join("model");
    if !path.join(files::MANIFEST).exists() && nested.is_dir() {
        nested
    } else {
        path.to_owned()
    }
}

/// `bytes` (the file `path`) as a `T`, strictly: an unknown key is an error naming it
/// ([`imdb_data::json`]).
fn json<T: serde::de::DeserializeOwned + Serialize>(bytes: &[u8], path: &Path) -> Result<T> {
    imdb_data::json::from_slice(bytes, path).map_err(|e| match e {
        imdb_data::DataError::UnknownField {
            path,
            field,
            suggestion,
            ..
        } => BundleError::UnknownField {
            path,
            field,
            suggestion,
        },
        other => BundleError::MalformedJson {
            path: path.to_owned(),
            message: match other {
                imdb_data::DataError::MalformedJson { message, .. } => message,
                other => other.to_string(),
            },
        },
    })
}

#[cfg(feature = "write")]
fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("configs, options and manifests always serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> ModelBundle {
        let device = Device::flex();
        device.seed(3);
        let config = MlpConfig::new(10_000).with_hidden(vec![8]);
        let mlp = config.init(&device);
        let index = WordIndex::from_json(br#"{"good": 1, "bad": 2}"#, Path::new("x")).unwrap();
        ModelBundle::new(&config, &mlp, &EncodeOptions::default(), Some(&index)).unwrap()
    }

    /// A directory and the bytes of its files give the same bundle, and the same model.
    #[cfg(feature = "write")]
    #[test]
    fn a_directory_and_its_bytes_give_the_same_bundle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model");
        let original = bundle();
        original.write_dir(&path).unwrap();
        let read = |name: &str| std::fs::read(path.join(name)).unwrap();
        let (manifest, config, weights, encoding, index) = (
            read(files::MANIFEST),
            read(files::CONFIG),
            read(files::WEIGHTS),
            read(files::ENCODING),
            read(files::WORD_INDEX),
        );
        let from_bytes = ModelBundle::from_files(BundleFiles {
            manifest: &manifest,
            config: &config,
            weights: &weights,
            encoding: &encoding,
            word_index: Some(&index),
        })
        .unwrap();
        let from_dir = ModelBundle::read_dir(&path).unwrap();
        for b in [&from_bytes, &from_dir] {
            assert_eq!(b.config(), original.config());
            assert_eq!(b.weights(), original.weights());
            assert_eq!(b.encoding(), original.encoding());
            assert_eq!(b.word_index(), original.word_index());
        }
        let device = Device::flex();
        let values = |m: Mlp| {
            m.hidden_layers()[0]
                .weight
                .val()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        assert_eq!(
            values(from_bytes.model(&device).unwrap()),
            values(from_dir.model(&device).unwrap())
        );
    }

    /// Errors of a bundle built from bytes name the file the bytes stand for.
    #[test]
    fn errors_name_the_file() {
        let original = bundle();
        let files = BundleFiles {
            manifest: br#"{"format": "burn-imdb-model", "version": 1}"#,
            config: b"{not json",
            weights: original.weights(),
            encoding: b"{}",
            word_index: None,
        };
        let err = ModelBundle::from_files(files).unwrap_err();
        assert!(
            matches!(&err, BundleError::MalformedJson { path, .. } if path.ends_with(files::CONFIG)),
            "{err}"
        );
        let newer = BundleFiles {
            manifest: br#"{"format": "burn-imdb-model", "version": 99}"#,
            ..files
        };
        assert!(matches!(
            ModelBundle::from_files(newer),
            Err(BundleError::IncompatibleVersion { version: 99, .. })
        ));
    }
}
