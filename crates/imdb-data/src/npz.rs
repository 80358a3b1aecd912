//! A safe reader for Keras's `imdb.npz`.
//!
//! An `.npz` is a zip of `.npy` files; Keras's `x_train`/`x_test` are numpy *object* arrays
//! (`'descr': '|O'`) whose payload is a Python pickle, and `y_train`/`y_test` integer arrays.
//! Three parsers, one job each, read it without executing anything from it:
//! - the zip container (`zip_entry`): every declared size checked against the file;
//! - the `.npy` header (`npy`): numpy's dict literal, parsed as data, never evaluated;
//! - the pickle (`pickle`): a stack machine that knows only what numpy writes for a 1-D object
//!   array of lists of ints, and refuses anything else with [`DataError::HostilePickle`].
//!
//! Every allocation is bounded by the input's size: zip entries by what their compressed bytes
//! can honestly hold (and a hard cap), arrays by their payload, the pickle's lists by the
//! pickle's size.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;

use crate::error::{DataError, Result};
use crate::npy::{int_dtype, one_dim, parse_header};
use crate::pickle::{Fault, decode_object_array};
use crate::zip_entry::{Entries, EntryError};

/// The four arrays of Keras's `imdb.npz`, exactly as stored in the file.
///
/// The word indices are the file's own (1 = the most frequent word, up to 88586 in Keras's
/// file): Keras's `load_data` adds `start_char` and `index_from` *after* reading, and this
/// reader applies neither. Labels are 0 (negative) or 1 (positive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KerasNpz {
    /// Training reviews as lists of word indices.
    pub x_train: Vec<Vec<u32>>,
    /// Training labels, one per review in `x_train`.
    pub y_train: Vec<u8>,
    /// Test reviews as lists of word indices.
    pub x_test: Vec<Vec<u32>>,
    /// Test labels, one per review in `x_test`.
    pub y_test: Vec<u8>,
}

/// Reads Keras's `imdb.npz` (keys `x_train`, `y_train`, `x_test`, `y_test`) without
/// executing anything from it.
///
/// Zip entries may be stored or deflated. `x_*` must be 1-D object arrays of lists of
/// non-negative ints that fit `u32`; `y_*` 1-D little-endian integer arrays (`i1`..`i8`,
/// `u1`..`u8`) holding only 0 and 1, as long as the matching `x_*`.
///
/// # Errors
///
/// - [`DataError::Io`] if the file cannot be opened or read;
/// - [`DataError::MalformedNpz`] if it is not a zip, a key is missing, a `.npy` header is
///   bad, a dtype or shape is unexpected, a pickle is truncated or corrupt, a value is out
///   of range, or `x` and `y` lengths differ;
/// - [`DataError::HostilePickle`] if an object array's pickle uses an opcode or a global
///   that numpy does not write for a list-of-ints array (nothing is executed either way).
pub fn read_keras_npz(path: &Path) -> Result<KerasNpz> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    read_npz_from(std::io::BufReader::new(file), path)
}

/// [`read_keras_npz`] on any seekable reader; `path` only names the source in errors.
fn read_npz_from<R: Read + Seek>(reader: R, path: &Path) -> Result<KerasNpz> {
    let mut archive = Entries::open(reader).map_err(|e| entry_error(path, "", e))?;

    let x_train = read_object_array(&mut archive, path, "x_train")?;
    let y_train = read_label_array(&mut archive, path, "y_train")?;
    let x_test = read_object_array(&mut archive, path, "x_test")?;
    let y_test = read_label_array(&mut archive, path, "y_test")?;

    for (x, y, xs, ys) in [
        ("x_train", "y_train", x_train.len(), y_train.len()),
        ("x_test", "y_test", x_test.len(), y_test.len()),
    ] {
        if xs != ys {
            return Err(malformed(
                path,
                format!("{x} has {xs} reviews but {y} has {ys} labels"),
            ));
        }
    }
    Ok(KerasNpz {
        x_train,
        y_train,
        x_test,
        y_test,
    })
}

/// Hard cap on one decompressed entry; Keras's largest, `x_train.npy`, is tens of MB.
const MAX_ENTRY_BYTES: u64 = 1 << 30;

fn malformed(path: &Path, message: impl Into<String>) -> DataError {
    DataError::MalformedNpz {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn entry_error(path: &Path, key: &str, err: EntryError) -> DataError {
    match err {
        EntryError::Missing => malformed(
            path,
            format!("missing key {key} (no {key}.npy in the archive)"),
        ),
        EntryError::Damaged(message) => malformed(path, message),
        EntryError::Io(err) => DataError::io(path, err),
    }
}

/// The bytes of `{key}.npy`.
fn read_entry<R: Read + Seek>(archive: &mut Entries<R>, path: &Path, key: &str) -> Result<Vec<u8>> {
    archive
        .read(&format!("{key}.npy"), MAX_ENTRY_BYTES)
        .map_err(|e| entry_error(path, key, e))
}

fn read_object_array<R: Read + Seek>(
    archive: &mut Entries<R>,
    path: &Path,
    key: &str,
) -> Result<Vec<Vec<u32>>> {
    let bytes = read_entry(archive, path, key)?;
    parse_object_npy(&bytes, path, key)
}

fn read_label_array<R: Read + Seek>(
    archive: &mut Entries<R>,
    path: &Path,
    key: &str,
) -> Result<Vec<u8>> {
    let bytes = read_entry(archive, path, key)?;
    parse_label_npy(&bytes, path, key)
}

/// Parses a whole `.npy` holding a 1-D object array of lists of ints.
fn parse_object_npy(bytes: &[u8], path: &Path, key: &str) -> Result<Vec<Vec<u32>>> {
    let (header, payload) =
        parse_header(bytes).map_err(|m| malformed(path, format!("{key}.npy: {m}")))?;
    if !matches!(header.descr.as_str(), "|O" | "|O8" | "|O4") {
        return Err(malformed(
            path,
            format!(
                "{key} has dtype {:?}, expected an object array ('|O') of lists",
                header.descr
            ),
        ));
    }
    let len = one_dim(&header.shape).ok_or_else(|| {
        malformed(
            path,
            format!("{key} has shape {:?}, expected 1-D", header.shape),
        )
    })?;
    decode_object_array(payload, len).map_err(|fault| match fault {
        Fault::Malformed(m) => malformed(path, format!("{key}.npy: {m}")),
        Fault::Refused(m) => DataError::HostilePickle {
            path: path.to_path_buf(),
            array: key.to_string(),
            message: m,
        },
    })
}

/// Parses a whole `.npy` holding 1-D little-endian integer labels that must be 0 or 1.
fn parse_label_npy(bytes: &[u8], path: &Path, key: &str) -> Result<Vec<u8>> {
    let (header, payload) =
        parse_header(bytes).map_err(|m| malformed(path, format!("{key}.npy: {m}")))?;
    let (signed, size) = int_dtype(&header.descr).ok_or_else(|| {
        malformed(
            path,
            format!(
                "{key} has dtype {:?}, expected a little-endian integer (i1..i8, u1..u8)",
                header.descr
            ),
        )
    })?;
    let len = one_dim(&header.shape).ok_or_else(|| {
        malformed(
            path,
            format!("{key} has shape {:?}, expected 1-D", header.shape),
        )
    })?;
    // Compare before allocating so a hostile shape cannot size the Vec.
    if len.checked_mul(size as u64) != Some(payload.len() as u64) {
        return Err(malformed(
            path,
            format!(
                "{key} has {len} items of {size} bytes but {} bytes of data",
                payload.len()
            ),
        ));
    }
    let mut labels = Vec::with_capacity(payload.len() / size);
    for (i, item) in payload.chunks_exact(size).enumerate() {
        let mut buf = [0u8; 8];
        buf[..size].copy_from_slice(item);
        let negative = signed && item[size - 1] & 0x80 != 0;
        if negative || buf[1..].iter().any(|&b| b != 0) || buf[0] > 1 {
            let value = if signed {
                let shift = 64 - 8 * size as u32;
                ((i64::from_le_bytes(buf) << shift) >> shift).to_string()
            } else {
                u64::from_le_bytes(buf).to_string()
            };
            return Err(malformed(
                path,
                format!("{key}[{i}] = {value}, labels must be 0 or 1"),
            ));
        }
        labels.push(buf[0]);
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npy::tests::header as npy_header;
    use std::io::Write;
    use std::path::PathBuf;
    use zip::ZipArchive;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/npz")
            .join(name)
    }

    // The same literals as X_TRAIN .. Y_TEST in fixtures/make_npz_fixtures.py.
    fn x_train() -> Vec<Vec<u32>> {
        vec![
            vec![1, 14, 22, 16, 43, 530, 973],
            vec![],
            vec![1, 88586],
            vec![9999, 0, 2, 3],
            vec![7],
            vec![1, 2, 4294967295],
            vec![5, 5, 5, 5, 5],
            (0..1001u32)
                .map(|i| (i * 37) % 10000)
                .chain([9999])
                .collect(),
            vec![300, 70000],
            vec![256, 65535, 65536],
        ]
    }
    const Y_TRAIN: [u8; 10] = [1, 0, 1, 1, 0, 1, 0, 0, 1, 0];
    fn x_test() -> Vec<Vec<u32>> {
        vec![
            vec![1, 2, 3],
            vec![88586, 88585],
            vec![],
            vec![42],
            vec![1000, 2000, 3000, 4000],
            vec![9999],
            vec![11, 12],
            vec![0],
            vec![1, 1, 1],
            vec![77, 88, 99],
        ]
    }
    const Y_TEST: [u8; 10] = [0, 1, 0, 1, 1, 0, 0, 1, 1, 0];

    fn expected() -> KerasNpz {
        KerasNpz {
            x_train: x_train(),
            y_train: Y_TRAIN.to_vec(),
            x_test: x_test(),
            y_test: Y_TEST.to_vec(),
        }
    }

    /// All entries of a fixture, in order, for building variants of it.
    fn members(name: &str) -> Vec<(String, Vec<u8>)> {
        let mut z = ZipArchive::new(File::open(fixture(name)).unwrap()).unwrap();
        (0..z.len())
            .map(|i| {
                let mut e = z.by_index(i).unwrap();
                let mut b = Vec::new();
                e.read_to_end(&mut b).unwrap();
                (e.name().unwrap().into_owned(), b)
            })
            .collect()
    }

    fn member<'a>(members: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
        &members.iter().find(|(n, _)| n == name).unwrap().1
    }

    fn replace(members: &mut [(String, Vec<u8>)], name: &str, bytes: Vec<u8>) {
        members.iter_mut().find(|(n, _)| n == name).unwrap().1 = bytes;
    }

    fn write_npz(dir: &tempfile::TempDir, members: &[(String, Vec<u8>)]) -> PathBuf {
        let path = dir.path().join("t.npz");
        let mut z = zip::ZipWriter::new(File::create(&path).unwrap());
        for (name, bytes) in members {
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            z.start_file(name.as_str(), opts).unwrap();
            z.write_all(bytes).unwrap();
        }
        z.finish().unwrap();
        path
    }

    fn npy_i8(values: &[i64]) -> Vec<u8> {
        let mut out = npy_header("<i8", &format!("({},)", values.len()));
        for v in values {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    fn parse(npy: &[u8]) -> Result<Vec<Vec<u32>>> {
        parse_object_npy(npy, Path::new("t.npz"), "x_train")
    }

    fn assert_malformed(err: DataError, needles: &[&str]) {
        match err {
            DataError::MalformedNpz { ref message, .. } => {
                for n in needles {
                    assert!(message.contains(n), "{message:?} lacks {n:?}");
                }
            }
            other => panic!("expected MalformedNpz, got {other:?}"),
        }
    }

    fn assert_hostile(err: DataError, needle: &str) {
        match err {
            DataError::HostilePickle {
                ref array,
                ref message,
                ..
            } => {
                assert_eq!(array, "x_train");
                assert!(message.contains(needle), "{message:?} lacks {needle:?}");
            }
            other => panic!("expected HostilePickle, got {other:?}"),
        }
    }

    #[test]
    fn reads_protocol_2_python3() {
        assert_eq!(read_keras_npz(&fixture("imdb_p2.npz")).unwrap(), expected());
    }

    #[test]
    fn reads_protocol_3() {
        assert_eq!(read_keras_npz(&fixture("imdb_p3.npz")).unwrap(), expected());
    }

    #[test]
    fn reads_protocol_4_deflated() {
        assert_eq!(read_keras_npz(&fixture("imdb_p4.npz")).unwrap(), expected());
    }

    #[test]
    fn reads_python2_style_protocol_2() {
        assert_eq!(
            read_keras_npz(&fixture("imdb_py2style.npz")).unwrap(),
            expected()
        );
    }

    #[test]
    fn many_reviews_use_long_binput_and_batched_appends() {
        // Mirrors many_x_train()/many_y_train() in make_npz_fixtures.py.
        let got = read_keras_npz(&fixture("imdb_many_p2.npz")).unwrap();
        let x: Vec<Vec<u32>> = (0..1200u32)
            .map(|i| (0..i % 5).map(|j| (i * 7 + j) % 10000).collect())
            .collect();
        let y: Vec<u8> = (0..1200).map(|i| (i % 2) as u8).collect();
        assert_eq!(got.x_train, x);
        assert_eq!(got.y_train, y);
        assert_eq!(got.x_test, vec![vec![1], vec![], vec![2, 3]]);
        assert_eq!(got.y_test, vec![1, 0, 1]);
    }

    #[test]
    fn hostile_global_is_refused() {
        let err = read_keras_npz(&fixture("hostile_global.npz")).unwrap_err();
        assert_hostile(err, "os.system");
    }

    #[test]
    fn out_of_range_words_are_malformed() {
        let m = members("imdb_p2.npz");
        let good = member(&m, "x_train.npy");
        let u32_max = b"\x8a\x05\xff\xff\xff\xff\x00";
        assert_eq!(good.windows(7).filter(|w| w == u32_max).count(), 1);
        for (bad, shown) in [
            (b"\x8a\x05\x00\x00\x00\x00\x01", "4294967296"),
            (b"\x8a\x05\xff\xff\xff\xff\xff", "-1"),
        ] {
            let pos = good.windows(7).position(|w| w == u32_max).unwrap();
            let mut npy = good.to_vec();
            npy[pos..pos + 7].copy_from_slice(bad);
            assert_malformed(
                parse(&npy).unwrap_err(),
                &["x_train", "review 5 word 2", shown],
            );
        }
    }

    #[test]
    fn truncated_pickle_is_malformed() {
        let m = members("imdb_p2.npz");
        let good = member(&m, "x_train.npy");
        let err = parse(&good[..good.len() / 2]).unwrap_err();
        assert_malformed(err, &["x_train", "truncated"]);
    }

    #[test]
    fn trailing_bytes_after_stop_are_malformed() {
        let m = members("imdb_p2.npz");
        let mut npy = member(&m, "x_train.npy").to_vec();
        npy.push(b'N');
        assert_malformed(parse(&npy).unwrap_err(), &["after STOP"]);
    }

    #[test]
    fn every_truncation_errors_and_no_corruption_panics() {
        for name in [
            "imdb_p2.npz",
            "imdb_p3.npz",
            "imdb_p4.npz",
            "imdb_py2style.npz",
        ] {
            let m = members(name);
            let good = member(&m, "x_train.npy");
            assert!(parse(good).is_ok(), "{name}");
            for cut in 0..good.len() {
                assert!(parse(&good[..cut]).is_err(), "{name} cut at {cut} parsed");
            }
            // Flipping any one byte may or may not parse, but must never panic.
            for at in 0..good.len() {
                for mask in [0x01, 0x80, 0xff] {
                    let mut bad = good.to_vec();
                    bad[at] ^= mask;
                    let _ = parse(&bad);
                }
            }
        }
    }

    #[test]
    fn damaged_archives_error_and_never_panic() {
        // The zip layer sees the damage first here: truncations must all fail; flips in
        // the central directory or in the deflate stream may fail anywhere, but quietly.
        let path = Path::new("t.npz");
        for name in ["imdb_p2.npz", "imdb_p4.npz"] {
            let good = std::fs::read(fixture(name)).unwrap();
            assert!(read_npz_from(std::io::Cursor::new(&good), path).is_ok());
            for cut in 0..good.len() {
                let got = read_npz_from(std::io::Cursor::new(&good[..cut]), path);
                assert!(got.is_err(), "{name} cut at {cut} parsed");
            }
            for at in 0..good.len() {
                let mut bad = good.clone();
                bad[at] ^= 0xff;
                if let Err(e) = read_npz_from(std::io::Cursor::new(&bad), path) {
                    assert!(
                        !matches!(e, DataError::Io { .. }),
                        "{name} flip at {at}: {e}"
                    );
                }
            }
        }
    }

    #[test]
    fn bad_header_is_malformed() {
        let err = read_keras_npz(&fixture("bad_header.npz")).unwrap_err();
        assert_malformed(err, &["x_train.npy", "bad header"]);
    }

    #[test]
    fn header_lengths_beyond_the_file_are_malformed() {
        let mut npy = npy_header("|O", "(1,)");
        npy[8..10].copy_from_slice(&9000u16.to_le_bytes());
        assert_malformed(parse(&npy).unwrap_err(), &["header claims 9000 bytes"]);
    }

    #[test]
    fn wrong_x_dtype_is_malformed() {
        let err = read_keras_npz(&fixture("wrong_dtype.npz")).unwrap_err();
        assert_malformed(err, &["x_train", "<f8"]);
    }

    #[test]
    fn wrong_y_dtype_is_malformed() {
        let err = read_keras_npz(&fixture("wrong_dtype_y.npz")).unwrap_err();
        assert_malformed(err, &["y_train", "<f8"]);
    }

    #[test]
    fn other_label_dtypes_are_read_and_checked() {
        let path = Path::new("t.npz");
        for descr in ["|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8"] {
            let size: usize = descr[2..].parse().unwrap();
            let mut npy = npy_header(descr, "(3,)");
            for v in [1u8, 0, 1] {
                let mut item = vec![0u8; size];
                item[0] = v;
                npy.extend_from_slice(&item);
            }
            assert_eq!(
                parse_label_npy(&npy, path, "y_test").unwrap(),
                vec![1, 0, 1]
            );
            // All bits set is -1 or the type's maximum: out of range either way.
            let mut bad = npy_header(descr, "(4,)");
            bad.extend_from_slice(&npy[npy.len() - 3 * size..]);
            bad.extend_from_slice(&vec![0xff; size]);
            let shown = if descr.as_bytes()[1] == b'i' {
                "= -1,".to_string()
            } else {
                format!("= {},", (1u128 << (8 * size)) - 1)
            };
            let err = parse_label_npy(&bad, path, "y_test").unwrap_err();
            assert_malformed(err, &["y_test[3]", &shown, "must be 0 or 1"]);
        }
        for descr in [">i8", "|b1", "<f4", "<i3"] {
            let npy = npy_header(descr, "(0,)");
            assert_malformed(parse_label_npy(&npy, path, "y_test").unwrap_err(), &[descr]);
        }
    }

    #[test]
    fn labels_other_than_0_or_1_are_malformed() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = members("imdb_p2.npz");
        replace(
            &mut m,
            "y_test.npy",
            npy_i8(&[0, 1, 0, 1, 1, 0, 0, 2, 1, 0]),
        );
        let err = read_keras_npz(&write_npz(&dir, &m)).unwrap_err();
        assert_malformed(err, &["y_test[7] = 2"]);
    }

    #[test]
    fn missing_key_is_malformed() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = members("imdb_p4.npz");
        m.retain(|(n, _)| n != "y_test.npy");
        let err = read_keras_npz(&write_npz(&dir, &m)).unwrap_err();
        assert_malformed(err, &["missing key y_test"]);
    }

    #[test]
    fn non_zip_file_is_malformed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("imdb.npz");
        std::fs::write(&path, b"this is not a zip archive at all").unwrap();
        assert_malformed(read_keras_npz(&path).unwrap_err(), &["not a zip"]);
    }

    #[test]
    fn missing_file_is_io() {
        let err = read_keras_npz(&fixture("no_such_file.npz")).unwrap_err();
        assert!(matches!(err, DataError::Io { .. }), "{err:?}");
    }

    #[test]
    fn x_and_y_lengths_must_match() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = members("imdb_p2.npz");
        replace(&mut m, "y_train.npy", npy_i8(&[1, 0, 1, 1, 0, 1, 0, 0, 1]));
        let err = read_keras_npz(&write_npz(&dir, &m)).unwrap_err();
        assert_malformed(err, &["x_train has 10 reviews but y_train has 9 labels"]);
    }

    #[test]
    fn header_shape_must_match_the_pickle() {
        let m = members("imdb_p4.npz");
        let good = member(&m, "x_train.npy");
        let hlen = u16::from_le_bytes([good[8], good[9]]) as usize;
        let mut npy = npy_header("|O", "(11,)");
        npy.extend_from_slice(&good[10 + hlen..]);
        assert_malformed(parse(&npy).unwrap_err(), &["header shape (11,)"]);
    }
}
