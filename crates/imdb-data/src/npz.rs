//! A safe reader for Keras's `imdb.npz`.
//!
//! An `.npz` is a zip of `.npy` files. Keras's `x_train`/`x_test` are numpy *object* arrays
//! (`'descr': '|O'`) whose payload is a Python pickle, and unpickling runs whatever the
//! pickle names. So the pickle is never handed to anything that can call code: a small
//! stack machine here understands only the opcodes and the three numpy names
//! (`_reconstruct`, `ndarray`, `dtype`) that numpy writes for a 1-D object array of lists
//! of ints, treats those names as plain tags, and refuses everything else with
//! [`DataError::HostilePickle`].
//!
//! Accepted pickles, as checked with `python -m pickletools` on real numpy output:
//! - protocol 2 as Python 2 + numpy 1.x wrote Keras's file (`GLOBAL
//!   'numpy.core.multiarray _reconstruct'`, Python 2 `str`s as `SHORT_BINSTRING`, and
//!   `(25000L,)` in the `.npy` header);
//! - protocol 2 from Python 3, where `_reconstruct`'s `b'b'` argument is spelled
//!   `_codecs.encode('b', 'latin1')` (so `_codecs.encode` is a fourth tag, interpreted
//!   only as latin-1 encoding of a string);
//! - protocol 3 (numpy 1.x `np.save`) and 4/5 (numpy 2 `np.save`: `FRAME`,
//!   `SHORT_BINUNICODE`, `STACK_GLOBAL`, `MEMOIZE`), module `numpy._core.multiarray`.
//!
//! Every allocation is bounded by the input: zip entries by their declared size (itself
//! capped, and bounded by the compressed size times deflate's best ratio), lengths in the
//! pickle by the bytes that remain, and the final lists by the pickle's size (so shared
//! references cannot expand a small pickle into a huge result).

use std::collections::HashMap;
use std::fs::File;
use std::io::{ErrorKind, Read, Seek};
use std::path::Path;
use std::rc::Rc;

use zip::ZipArchive;
use zip::result::ZipError;

use crate::error::{DataError, Result};

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
    let mut archive = ZipArchive::new(reader).map_err(|e| match e {
        ZipError::Io(err) if !is_data_error(&err) => DataError::io(path, err),
        other => malformed(path, format!("not a zip archive: {other}")),
    })?;

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
/// Deflate cannot expand more than about 1032:1, so a larger declared size is a lie.
const MAX_DEFLATE_RATIO: u64 = 1032;
/// numpy itself refuses `.npy` headers longer than this (`_MAX_HEADER_SIZE`).
const MAX_HEADER_BYTES: usize = 10_000;

fn malformed(path: &Path, message: impl Into<String>) -> DataError {
    DataError::MalformedNpz {
        path: path.to_path_buf(),
        message: message.into(),
    }
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

/// The bytes of `{key}.npy`, refusing declared sizes the file cannot honestly hold.
fn read_entry<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    path: &Path,
    key: &str,
) -> Result<Vec<u8>> {
    let name = format!("{key}.npy");
    let entry = match archive.by_name(&name) {
        Ok(entry) => entry,
        Err(ZipError::FileNotFound) => {
            return Err(malformed(
                path,
                format!("missing key {key} (no {name} in the archive)"),
            ));
        }
        Err(ZipError::Io(err)) if !is_data_error(&err) => return Err(DataError::io(path, err)),
        Err(other) => return Err(malformed(path, format!("{name}: {other}"))),
    };
    let declared = entry.size();
    let honest_max = entry
        .compressed_size()
        .saturating_mul(MAX_DEFLATE_RATIO)
        .saturating_add(1024)
        .min(MAX_ENTRY_BYTES);
    if declared > honest_max {
        return Err(malformed(
            path,
            format!(
                "{name} claims {declared} bytes uncompressed from {} compressed (limit {honest_max})",
                entry.compressed_size()
            ),
        ));
    }
    // `declared` <= 1 GiB, so the cast cannot truncate; reading one byte more than declared
    // detects an entry that decompresses to more than its header says.
    let mut bytes = Vec::with_capacity(declared as usize);
    entry
        .take(declared + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| {
            if is_data_error(&err) {
                malformed(path, format!("{name}: cannot decompress: {err}"))
            } else {
                DataError::io(path, err)
            }
        })?;
    if bytes.len() as u64 != declared {
        return Err(malformed(
            path,
            format!(
                "{name} decompresses to {} bytes, its zip header says {declared}",
                bytes.len()
            ),
        ));
    }
    Ok(bytes)
}

fn read_object_array<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    path: &Path,
    key: &str,
) -> Result<Vec<Vec<u32>>> {
    let bytes = read_entry(archive, path, key)?;
    parse_object_npy(&bytes, path, key)
}

fn read_label_array<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    path: &Path,
    key: &str,
) -> Result<Vec<u8>> {
    let bytes = read_entry(archive, path, key)?;
    parse_label_npy(&bytes, path, key)
}

/// Parses a whole `.npy` holding a 1-D object array of lists of ints.
fn parse_object_npy(bytes: &[u8], path: &Path, key: &str) -> Result<Vec<Vec<u32>>> {
    let (header, payload) =
        parse_npy_header(bytes).map_err(|m| malformed(path, format!("{key}.npy: {m}")))?;
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
    decode_pickle(payload, len).map_err(|fault| match fault {
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
        parse_npy_header(bytes).map_err(|m| malformed(path, format!("{key}.npy: {m}")))?;
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

fn one_dim(shape: &[u64]) -> Option<u64> {
    match shape {
        [n] => Some(*n),
        _ => None,
    }
}

/// `(signed, size)` of a little-endian or byte-order-free integer `descr` such as `<i8`.
fn int_dtype(descr: &str) -> Option<(bool, usize)> {
    let b = descr.as_bytes();
    if b.len() != 3 {
        return None;
    }
    let signed = match b[1] {
        b'i' => true,
        b'u' => false,
        _ => return None,
    };
    let size = match b[2] {
        b'1' => 1,
        b'2' => 2,
        b'4' => 4,
        b'8' => 8,
        _ => return None,
    };
    // '|' is what numpy writes for 1-byte types; '>' would need byte swapping Keras never needs.
    match b[0] {
        b'<' => Some((signed, size)),
        b'|' if size == 1 => Some((signed, size)),
        _ => None,
    }
}

/// The `.npy` header keys that matter here. `fortran_order` is checked to be a bool but not
/// kept: it does not change the layout of the 1-D arrays accepted.
#[derive(Debug)]
struct NpyHeader {
    descr: String,
    shape: Vec<u64>,
}

/// Splits a `.npy` into its header and payload. Messages do not name the array; callers do.
fn parse_npy_header(bytes: &[u8]) -> std::result::Result<(NpyHeader, &[u8]), String> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    if bytes.len() < 8 || &bytes[..6] != MAGIC {
        return Err("not a .npy file (bad magic)".into());
    }
    let (len_bytes, start) = match (bytes[6], bytes[7]) {
        (1, 0) => (2, 10),
        (2, 0) | (3, 0) => (4, 12),
        (major, minor) => return Err(format!("unsupported .npy version {major}.{minor}")),
    };
    let Some(len_field) = bytes.get(8..8 + len_bytes) else {
        return Err("truncated .npy header length".into());
    };
    let header_len = len_field
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | b as usize);
    if header_len > MAX_HEADER_BYTES {
        return Err(format!(
            "header of {header_len} bytes is longer than numpy allows ({MAX_HEADER_BYTES})"
        ));
    }
    let Some(text) = bytes.get(start..start + header_len) else {
        return Err(format!(
            "header claims {header_len} bytes but the file has {}",
            bytes.len() - start.min(bytes.len())
        ));
    };
    let text = std::str::from_utf8(text).map_err(|_| "header is not UTF-8".to_string())?;
    let header = HeaderParser { s: text, pos: 0 }
        .parse()
        .map_err(|m| format!("bad header {:?}: {m}", text.trim_end()))?;
    Ok((header, &bytes[start + header_len..]))
}

/// A value in the header's dict literal.
enum HeaderValue {
    Str(String),
    Bool(bool),
    Tuple(Vec<u64>),
}

/// Parses exactly the dict literal numpy writes (`{'descr': '<i8', 'fortran_order': False,
/// 'shape': (25000,), }`), including Python 2's `25000L`. Anything else is refused rather
/// than evaluated.
struct HeaderParser<'a> {
    s: &'a str,
    pos: usize,
}

impl HeaderParser<'_> {
    fn parse(mut self) -> std::result::Result<NpyHeader, String> {
        self.expect(b'{')?;
        let mut descr = None;
        let mut fortran_order = None;
        let mut shape = None;
        loop {
            self.skip_ws();
            if self.eat(b'}') {
                break;
            }
            let key = self.string()?;
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            let value = self.value()?;
            let slot_taken = match (key.as_str(), value) {
                ("descr", HeaderValue::Str(s)) => descr.replace(s).is_some(),
                ("fortran_order", HeaderValue::Bool(b)) => fortran_order.replace(b).is_some(),
                ("shape", HeaderValue::Tuple(t)) => shape.replace(t).is_some(),
                ("descr" | "fortran_order" | "shape", _) => {
                    return Err(format!("key {key:?} has an unsupported value"));
                }
                _ => return Err(format!("unexpected key {key:?}")),
            };
            if slot_taken {
                return Err(format!("key {key:?} appears twice"));
            }
            self.skip_ws();
            if self.eat(b',') {
                continue;
            }
            self.skip_ws();
            self.expect(b'}')?;
            break;
        }
        self.skip_ws();
        if self.pos != self.s.len() {
            return Err("text after the dict".into());
        }
        fortran_order.ok_or("no 'fortran_order'")?;
        Ok(NpyHeader {
            descr: descr.ok_or("no 'descr'")?,
            shape: shape.ok_or("no 'shape'")?,
        })
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected {:?} at offset {}", c as char, self.pos))
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(format!("expected a string at offset {}", self.pos)),
        };
        let start = self.pos + 1;
        let Some(len) = self.s.as_bytes()[start..].iter().position(|&b| b == quote) else {
            return Err("unterminated string".into());
        };
        let body = &self.s[start..start + len];
        // numpy never writes escapes; refusing them keeps this a literal, not an evaluator.
        if body.contains('\\') {
            return Err("escapes in strings are not supported".into());
        }
        self.pos = start + len + 1;
        Ok(body.to_string())
    }

    fn value(&mut self) -> std::result::Result<HeaderValue, String> {
        let rest = &self.s[self.pos..];
        if rest.starts_with("True") {
            self.pos += 4;
            return Ok(HeaderValue::Bool(true));
        }
        if rest.starts_with("False") {
            self.pos += 5;
            return Ok(HeaderValue::Bool(false));
        }
        match self.peek() {
            Some(b'\'' | b'"') => Ok(HeaderValue::Str(self.string()?)),
            Some(b'(') => {
                self.pos += 1;
                let mut dims = Vec::new();
                loop {
                    self.skip_ws();
                    if self.eat(b')') {
                        break;
                    }
                    dims.push(self.int()?);
                    self.skip_ws();
                    if !self.eat(b',') {
                        self.expect(b')')?;
                        break;
                    }
                }
                Ok(HeaderValue::Tuple(dims))
            }
            Some(b'[') => Err("structured dtypes are not supported".into()),
            _ => Err(format!("unexpected value at offset {}", self.pos)),
        }
    }

    fn int(&mut self) -> std::result::Result<u64, String> {
        let start = self.pos;
        let mut value: u64 = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d - b'0')))
                .ok_or("dimension overflows u64")?;
            self.pos += 1;
        }
        if self.pos == start {
            return Err(format!("expected a dimension at offset {start}"));
        }
        // Python 2 wrote longs as `25000L`; numpy strips the suffix too (`_filter_header`).
        if !self.eat(b'L') {
            self.eat(b'l');
        }
        Ok(value)
    }
}

/// Why a pickle was not accepted.
#[derive(Debug)]
enum Fault {
    /// Truncated or inconsistent bytes, or content that is not a list of lists of `u32`.
    Malformed(String),
    /// A well-formed request the reader will not interpret: an opcode or global numpy does
    /// not write here, or a whitelisted global called in a way numpy never does.
    Refused(String),
}

type VmResult<T> = std::result::Result<T, Fault>;

fn corrupt<T>(message: impl Into<String>) -> VmResult<T> {
    Err(Fault::Malformed(message.into()))
}

fn refuse<T>(message: impl Into<String>) -> VmResult<T> {
    Err(Fault::Refused(message.into()))
}

/// The callables the VM knows by name. They are tags: `REDUCE` on them builds inert values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Global {
    Reconstruct,
    Ndarray,
    Dtype,
    CodecsEncode,
}

/// A pickle value. Mutable objects (lists, arrays) live in arenas and are referred to by
/// index, which gives Python's sharing semantics for memo references without `Rc` cycles;
/// immutable ones are `Rc` so that `BINGET` never copies data.
#[derive(Debug, Clone)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Str(Rc<String>),
    /// Python 3 `bytes` and Python 2 `str` (`SHORT_BINSTRING`), which are the same bytes.
    Bytes(Rc<Vec<u8>>),
    Tuple(Rc<TupleObj>),
    List(usize),
    Global(Global),
    Array(usize),
    /// Only the object dtype can be made, so no state is needed.
    Dtype,
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Global(_) => "global",
            Value::Array(_) => "ndarray",
            Value::Dtype => "dtype",
        }
    }

    /// Text of a `str` or of Python 2 `str` bytes.
    fn text(&self) -> Option<&[u8]> {
        match self {
            Value::Str(s) => Some(s.as_bytes()),
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// numpy writes `False`/`True`; C code of old versions may have written 0/1.
    fn flag(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Int(0) => Some(false),
            Value::Int(1) => Some(true),
            _ => None,
        }
    }
}

/// numpy's tuples nest two deep (`(1, (n,), ...)`); a bound keeps dropping a hostile chain
/// of `TUPLE1`s from recursing a million frames deep.
const MAX_TUPLE_DEPTH: u8 = 4;

/// An immutable tuple with its nesting depth, recorded once so checking it stays O(1).
#[derive(Debug)]
struct TupleObj {
    depth: u8,
    items: Vec<Value>,
}

impl TupleObj {
    fn as_slice(&self) -> &[Value] {
        &self.items
    }

    fn iter(&self) -> std::slice::Iter<'_, Value> {
        self.items.iter()
    }
}

/// What `BUILD` put into an array: its length and the list holding its objects.
#[derive(Debug, Clone, Copy)]
struct ArrayState {
    len: u64,
    list: usize,
}

mod op {
    pub const MARK: u8 = b'(';
    pub const STOP: u8 = b'.';
    pub const BININT: u8 = b'J';
    pub const BININT1: u8 = b'K';
    pub const BININT2: u8 = b'M';
    pub const NONE: u8 = b'N';
    pub const REDUCE: u8 = b'R';
    pub const BINSTRING: u8 = b'T';
    pub const SHORT_BINSTRING: u8 = b'U';
    pub const BINUNICODE: u8 = b'X';
    pub const APPEND: u8 = b'a';
    pub const BUILD: u8 = b'b';
    pub const GLOBAL: u8 = b'c';
    pub const APPENDS: u8 = b'e';
    pub const BINGET: u8 = b'h';
    pub const LONG_BINGET: u8 = b'j';
    pub const EMPTY_LIST: u8 = b']';
    pub const BINPUT: u8 = b'q';
    pub const LONG_BINPUT: u8 = b'r';
    pub const TUPLE: u8 = b't';
    pub const EMPTY_TUPLE: u8 = b')';
    pub const BINBYTES: u8 = b'B';
    pub const SHORT_BINBYTES: u8 = b'C';
    pub const PROTO: u8 = 0x80;
    pub const TUPLE1: u8 = 0x85;
    pub const TUPLE2: u8 = 0x86;
    pub const TUPLE3: u8 = 0x87;
    pub const NEWTRUE: u8 = 0x88;
    pub const NEWFALSE: u8 = 0x89;
    pub const LONG1: u8 = 0x8a;
    pub const SHORT_BINUNICODE: u8 = 0x8c;
    pub const STACK_GLOBAL: u8 = 0x93;
    pub const MEMOIZE: u8 = 0x94;
    pub const FRAME: u8 = 0x95;
}

/// The name of every pickle opcode (protocols 0-5), so refusals say what was seen.
fn opcode_name(code: u8) -> Option<&'static str> {
    Some(match code {
        b'(' => "MARK",
        b'.' => "STOP",
        b'0' => "POP",
        b'1' => "POP_MARK",
        b'2' => "DUP",
        b'F' => "FLOAT",
        b'I' => "INT",
        b'J' => "BININT",
        b'K' => "BININT1",
        b'L' => "LONG",
        b'M' => "BININT2",
        b'N' => "NONE",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        b'R' => "REDUCE",
        b'S' => "STRING",
        b'T' => "BINSTRING",
        b'U' => "SHORT_BINSTRING",
        b'V' => "UNICODE",
        b'X' => "BINUNICODE",
        b'a' => "APPEND",
        b'b' => "BUILD",
        b'c' => "GLOBAL",
        b'd' => "DICT",
        b'}' => "EMPTY_DICT",
        b'e' => "APPENDS",
        b'g' => "GET",
        b'h' => "BINGET",
        b'i' => "INST",
        b'j' => "LONG_BINGET",
        b'l' => "LIST",
        b']' => "EMPTY_LIST",
        b'o' => "OBJ",
        b'p' => "PUT",
        b'q' => "BINPUT",
        b'r' => "LONG_BINPUT",
        b's' => "SETITEM",
        b't' => "TUPLE",
        b')' => "EMPTY_TUPLE",
        b'u' => "SETITEMS",
        b'G' => "BINFLOAT",
        b'B' => "BINBYTES",
        b'C' => "SHORT_BINBYTES",
        0x80 => "PROTO",
        0x81 => "NEWOBJ",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x85 => "TUPLE1",
        0x86 => "TUPLE2",
        0x87 => "TUPLE3",
        0x88 => "NEWTRUE",
        0x89 => "NEWFALSE",
        0x8a => "LONG1",
        0x8b => "LONG4",
        0x8c => "SHORT_BINUNICODE",
        0x8d => "BINUNICODE8",
        0x8e => "BINBYTES8",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x92 => "NEWOBJ_EX",
        0x93 => "STACK_GLOBAL",
        0x94 => "MEMOIZE",
        0x95 => "FRAME",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => return None,
    })
}

fn describe_opcode(code: u8) -> String {
    match opcode_name(code) {
        Some(name) => format!("opcode {name} (0x{code:02x})"),
        None => format!("unknown opcode 0x{code:02x}"),
    }
}

/// Only numpy's own names, under the modules numpy 1.x (`numpy.core`) and 2.x (`numpy._core`)
/// write, plus the `_codecs.encode` Python 3 uses for `bytes` in protocol 2.
fn resolve_global(module: &str, name: &str) -> VmResult<Global> {
    const MULTIARRAY: [&str; 2] = ["numpy.core.multiarray", "numpy._core.multiarray"];
    let numpy_type = module == "numpy" || MULTIARRAY.contains(&module);
    match name {
        "_reconstruct" if MULTIARRAY.contains(&module) => Ok(Global::Reconstruct),
        "ndarray" if numpy_type => Ok(Global::Ndarray),
        "dtype" if numpy_type => Ok(Global::Dtype),
        "encode" if module == "_codecs" => Ok(Global::CodecsEncode),
        _ => refuse(format!(
            "global {}.{} is not allowed (only numpy's _reconstruct, ndarray and dtype)",
            module.escape_debug(),
            name.escape_debug()
        )),
    }
}

/// Runs the pickle of a 1-D object array of `expected_len` lists of ints and returns them.
fn decode_pickle(data: &[u8], expected_len: u64) -> VmResult<Vec<Vec<u32>>> {
    let mut vm = Vm {
        data,
        pos: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        lists: Vec::new(),
        arrays: Vec::new(),
    };
    let top = vm.run()?;
    vm.into_lists(top, expected_len)
}

struct Vm<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    /// Python's metastack: `MARK` saves the current stack here and starts an empty one.
    marks: Vec<Vec<Value>>,
    /// Keyed by index rather than a Vec: `LONG_BINPUT 4000000000` must not allocate.
    memo: HashMap<u32, Value>,
    lists: Vec<Vec<Value>>,
    arrays: Vec<Option<ArrayState>>,
}

impl<'a> Vm<'a> {
    /// Executes up to `STOP` and returns the single value left.
    fn run(&mut self) -> VmResult<Value> {
        let first = self.byte()?;
        if first != op::PROTO {
            return refuse(format!(
                "pickle starts with {}, numpy writes PROTO 2 or later",
                describe_opcode(first)
            ));
        }
        let protocol = self.byte()?;
        if !(2..=5).contains(&protocol) {
            return refuse(format!("pickle protocol {protocol}, expected 2 to 5"));
        }
        loop {
            let at = self.pos;
            let code = self.byte()?;
            let stop = self.step(code).map_err(|fault| match fault {
                Fault::Malformed(m) => {
                    Fault::Malformed(format!("{m} (at {} at byte {at})", describe_opcode(code)))
                }
                Fault::Refused(m) => Fault::Refused(format!("{m} (at byte {at})")),
            })?;
            if stop {
                break;
            }
        }
        if self.pos != self.data.len() {
            return corrupt(format!("{} bytes after STOP", self.data.len() - self.pos));
        }
        if !self.marks.is_empty() {
            return corrupt("MARK left open at STOP");
        }
        match (self.stack.pop(), self.stack.len()) {
            (Some(top), 0) => Ok(top),
            (_, n) => corrupt(format!("{} values on the stack at STOP, expected 1", n + 1)),
        }
    }

    /// One opcode; `Ok(true)` at `STOP`.
    fn step(&mut self, code: u8) -> VmResult<bool> {
        match code {
            op::STOP => return Ok(true),
            // Frames only batch reads for the unpickler; their contents are ordinary opcodes.
            op::FRAME => {
                let len = self.u64()?;
                if len > self.remaining() as u64 {
                    return corrupt(format!(
                        "FRAME of {len} bytes but {} remain",
                        self.remaining()
                    ));
                }
            }
            op::GLOBAL => {
                let module = self.line()?;
                let name = self.line()?;
                let global = resolve_global(module, name)?;
                self.stack.push(Value::Global(global));
            }
            op::STACK_GLOBAL => {
                let name = self.pop()?;
                let module = self.pop()?;
                match (&module, &name) {
                    (Value::Str(m), Value::Str(n)) => {
                        let global = resolve_global(m, n)?;
                        self.stack.push(Value::Global(global));
                    }
                    _ => {
                        return refuse(format!(
                            "STACK_GLOBAL on a {} and a {}, not two strings",
                            module.kind(),
                            name.kind()
                        ));
                    }
                }
            }
            op::BININT => {
                let b = self.take(4)?;
                let v = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                self.stack.push(Value::Int(i64::from(v)));
            }
            op::BININT1 => {
                let v = self.byte()?;
                self.stack.push(Value::Int(i64::from(v)));
            }
            op::BININT2 => {
                let v = self.u16()?;
                self.stack.push(Value::Int(i64::from(v)));
            }
            op::LONG1 => {
                let n = self.byte()? as usize;
                let b = self.take(n)?;
                if n > 8 {
                    return corrupt(format!("LONG1 integer of {n} bytes is out of range"));
                }
                let mut buf = [0u8; 8];
                buf[..n].copy_from_slice(b);
                // Two's complement of n bytes: sign-extend from the top byte.
                let v = if n == 0 {
                    0
                } else {
                    let shift = 64 - 8 * n as u32;
                    (i64::from_le_bytes(buf) << shift) >> shift
                };
                self.stack.push(Value::Int(v));
            }
            op::NONE => self.stack.push(Value::None),
            op::NEWTRUE => self.stack.push(Value::Bool(true)),
            op::NEWFALSE => self.stack.push(Value::Bool(false)),
            op::MARK => {
                let saved = std::mem::take(&mut self.stack);
                self.marks.push(saved);
            }
            op::EMPTY_TUPLE => self.push_tuple(Vec::new())?,
            op::TUPLE => {
                let items = self.pop_mark()?;
                self.push_tuple(items)?;
            }
            op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                let n = usize::from(code - op::TUPLE1 + 1);
                if self.stack.len() < n {
                    return corrupt("stack underflow");
                }
                let items = self.stack.split_off(self.stack.len() - n);
                self.push_tuple(items)?;
            }
            op::EMPTY_LIST => {
                self.lists.push(Vec::new());
                self.stack.push(Value::List(self.lists.len() - 1));
            }
            op::APPEND => {
                let item = self.pop()?;
                let list = self.top_list("APPEND")?;
                self.lists[list].push(item);
            }
            op::APPENDS => {
                let items = self.pop_mark()?;
                let list = self.top_list("APPENDS")?;
                self.lists[list].extend(items);
            }
            op::REDUCE => {
                let args = self.pop()?;
                let callable = self.pop()?;
                let result = self.reduce(&callable, &args)?;
                self.stack.push(result);
            }
            op::BUILD => {
                let state = self.pop()?;
                let target = self
                    .stack
                    .last()
                    .ok_or(Fault::Malformed("stack underflow".into()))?;
                match *target {
                    Value::Array(id) => self.build_array(id, &state)?,
                    Value::Dtype => {
                        // The dtype's state only repeats what 'O8' already fixed (byte order
                        // '|', no fields); its contents change nothing here.
                        if !matches!(state, Value::Tuple(_)) {
                            return refuse(format!("dtype state is a {}", state.kind()));
                        }
                    }
                    ref other => {
                        return refuse(format!("BUILD on a {}", other.kind()));
                    }
                }
            }
            op::BINPUT => {
                let idx = u32::from(self.byte()?);
                self.put(idx)?;
            }
            op::LONG_BINPUT => {
                let idx = self.u32()?;
                self.put(idx)?;
            }
            op::MEMOIZE => {
                let idx = u32::try_from(self.memo.len())
                    .map_err(|_| Fault::Malformed("memo overflow".into()))?;
                self.put(idx)?;
            }
            op::BINGET => {
                let idx = u32::from(self.byte()?);
                self.get(idx)?;
            }
            op::LONG_BINGET => {
                let idx = self.u32()?;
                self.get(idx)?;
            }
            op::SHORT_BINBYTES | op::SHORT_BINSTRING => {
                let n = self.byte()? as usize;
                let b = self.take(n)?.to_vec();
                self.stack.push(Value::Bytes(Rc::new(b)));
            }
            op::BINBYTES => {
                let n = self.u32()? as usize;
                let b = self.take(n)?.to_vec();
                self.stack.push(Value::Bytes(Rc::new(b)));
            }
            op::BINSTRING => {
                // Python reads this length as signed.
                let n = self.u32()? as i32;
                let Ok(n) = usize::try_from(n) else {
                    return corrupt("BINSTRING with a negative length");
                };
                let b = self.take(n)?.to_vec();
                self.stack.push(Value::Bytes(Rc::new(b)));
            }
            op::BINUNICODE | op::SHORT_BINUNICODE => {
                let n = if code == op::BINUNICODE {
                    self.u32()? as usize
                } else {
                    self.byte()? as usize
                };
                let b = self.take(n)?;
                let s = std::str::from_utf8(b)
                    .map_err(|_| Fault::Malformed("string is not UTF-8".into()))?;
                self.stack.push(Value::Str(Rc::new(s.to_string())));
            }
            other => {
                return refuse(format!(
                    "{} is not one numpy writes for a list-of-ints object array",
                    describe_opcode(other)
                ));
            }
        }
        Ok(false)
    }

    /// `REDUCE` on a tag: only the exact calls numpy's pickles contain.
    fn reduce(&mut self, callable: &Value, args: &Value) -> VmResult<Value> {
        let Value::Tuple(args) = args else {
            return refuse(format!("REDUCE with a {} for arguments", args.kind()));
        };
        let Value::Global(global) = callable else {
            return refuse(format!("REDUCE calls a {}", callable.kind()));
        };
        match (global, args.as_slice()) {
            // _reconstruct(ndarray, (0,), b'b'): numpy's empty placeholder that BUILD fills.
            (Global::Reconstruct, [Value::Global(Global::Ndarray), Value::Tuple(shape), tc])
                if matches!(shape.as_slice(), [Value::Int(0)]) && tc.text() == Some(b"b") =>
            {
                self.arrays.push(None);
                Ok(Value::Array(self.arrays.len() - 1))
            }
            // dtype('O8', False, True): the object dtype ('O4' on 32-bit writers).
            (Global::Dtype, [descr, align, copy])
                if align.flag() == Some(false) && copy.flag() == Some(true) =>
            {
                match descr.text() {
                    Some(b"O8" | b"O4") => Ok(Value::Dtype),
                    Some(other) => refuse(format!(
                        "numpy.dtype({:?}) is not the object dtype",
                        String::from_utf8_lossy(other)
                    )),
                    None => refuse(format!("numpy.dtype of a {}", descr.kind())),
                }
            }
            // Python 3 spells protocol-2 bytes as _codecs.encode(str, 'latin1').
            (Global::CodecsEncode, [Value::Str(s), Value::Str(enc)])
                if matches!(enc.as_str(), "latin1" | "latin-1") =>
            {
                let bytes = s
                    .chars()
                    .map(|c| u8::try_from(u32::from(c)))
                    .collect::<std::result::Result<Vec<u8>, _>>()
                    .map_err(|_| Fault::Refused("_codecs.encode of a non-latin-1 string".into()))?;
                Ok(Value::Bytes(Rc::new(bytes)))
            }
            _ => refuse(format!(
                "{global:?} called with arguments numpy does not write: ({})",
                args.iter().map(Value::kind).collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// `BUILD` with `(1, (n,), dtype('O8'), is_fortran, [objects])`, numpy's array state.
    fn build_array(&mut self, id: usize, state: &Value) -> VmResult<()> {
        let Value::Tuple(items) = state else {
            return refuse(format!("ndarray state is a {}", state.kind()));
        };
        let [
            Value::Int(1),
            Value::Tuple(shape),
            Value::Dtype,
            fortran,
            Value::List(list),
        ] = items.as_slice()
        else {
            return refuse(format!(
                "ndarray state ({}) is not (1, shape, object dtype, flag, list)",
                items.iter().map(Value::kind).collect::<Vec<_>>().join(", ")
            ));
        };
        let (Some(_), [Value::Int(len)]) = (fortran.flag(), shape.as_slice()) else {
            return refuse("ndarray state is not that of a 1-D array");
        };
        let len = u64::try_from(*len).map_err(|_| Fault::Malformed("negative shape".into()))?;
        if self.arrays[id].is_some() {
            return refuse("ndarray built twice");
        }
        self.arrays[id] = Some(ArrayState { len, list: *list });
        Ok(())
    }

    /// Turns the final array into owned lists, refusing more integers than the pickle has
    /// bytes: each int costs at least two bytes unless memo references repeat a list.
    fn into_lists(self, top: Value, expected_len: u64) -> VmResult<Vec<Vec<u32>>> {
        let Value::Array(id) = top else {
            return corrupt(format!("pickle holds a {}, not an ndarray", top.kind()));
        };
        let Some(state) = self.arrays[id] else {
            return corrupt("ndarray was never filled (no BUILD)");
        };
        let objects = &self.lists[state.list];
        if state.len != expected_len || objects.len() as u64 != expected_len {
            return corrupt(format!(
                "header shape ({expected_len},) but the pickle holds shape ({},) with {} objects",
                state.len,
                objects.len()
            ));
        }
        let budget = self.data.len();
        let mut total = 0usize;
        let mut out = Vec::with_capacity(objects.len());
        for (i, object) in objects.iter().enumerate() {
            let Value::List(list) = *object else {
                return corrupt(format!("review {i} is a {}, not a list", object.kind()));
            };
            let items = &self.lists[list];
            total = total.saturating_add(items.len());
            if total > budget {
                return corrupt(format!(
                    "the reviews hold more integers than the pickle has bytes ({budget}): repeated references"
                ));
            }
            let mut review = Vec::with_capacity(items.len());
            for (j, item) in items.iter().enumerate() {
                match *item {
                    Value::Int(v) => match u32::try_from(v) {
                        Ok(w) => review.push(w),
                        Err(_) => {
                            return corrupt(format!(
                                "review {i} word {j} is {v}, not a word index in 0..=4294967295"
                            ));
                        }
                    },
                    ref other => {
                        return corrupt(format!(
                            "review {i} word {j} is a {}, not an int",
                            other.kind()
                        ));
                    }
                }
            }
            out.push(review);
        }
        Ok(out)
    }

    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// The next `n` bytes; a length from the pickle is checked against what is left before
    /// anything is allocated for it.
    fn take(&mut self, n: usize) -> VmResult<&'a [u8]> {
        if n > self.remaining() {
            return corrupt(format!(
                "truncated: needs {n} bytes, {} remain",
                self.remaining()
            ));
        }
        let data: &'a [u8] = self.data;
        let s = &data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn byte(&mut self) -> VmResult<u8> {
        if self.pos >= self.data.len() {
            return corrupt("truncated: ended before STOP");
        }
        self.pos += 1;
        Ok(self.data[self.pos - 1])
    }

    fn u16(&mut self) -> VmResult<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> VmResult<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> VmResult<u64> {
        let b = self.take(8)?;
        let mut buf = [0u8; 8];
        buf.copy_from_slice(b);
        Ok(u64::from_le_bytes(buf))
    }

    /// A `GLOBAL` argument: text up to `\n`, which must come before the end of the data.
    fn line(&mut self) -> VmResult<&'a str> {
        let data: &'a [u8] = self.data;
        let rest = &data[self.pos..];
        let Some(len) = rest.iter().position(|&b| b == b'\n') else {
            return corrupt("truncated: GLOBAL name without newline");
        };
        self.pos += len + 1;
        std::str::from_utf8(&rest[..len])
            .map_err(|_| Fault::Malformed("GLOBAL name is not UTF-8".into()))
    }

    fn push_tuple(&mut self, items: Vec<Value>) -> VmResult<()> {
        let inner = items
            .iter()
            .map(|v| match v {
                Value::Tuple(t) => t.depth,
                _ => 0,
            })
            .max()
            .unwrap_or(0);
        if inner >= MAX_TUPLE_DEPTH {
            return refuse(format!(
                "tuples nested deeper than {MAX_TUPLE_DEPTH}, numpy writes 2"
            ));
        }
        self.stack.push(Value::Tuple(Rc::new(TupleObj {
            depth: inner + 1,
            items,
        })));
        Ok(())
    }

    fn pop(&mut self) -> VmResult<Value> {
        self.stack
            .pop()
            .ok_or_else(|| Fault::Malformed("stack underflow".into()))
    }

    fn pop_mark(&mut self) -> VmResult<Vec<Value>> {
        let Some(outer) = self.marks.pop() else {
            return corrupt("no MARK to pop to");
        };
        Ok(std::mem::replace(&mut self.stack, outer))
    }

    fn top_list(&self, opname: &str) -> VmResult<usize> {
        match self.stack.last() {
            Some(Value::List(id)) => Ok(*id),
            Some(other) => refuse(format!("{opname} to a {}", other.kind())),
            None => corrupt("stack underflow"),
        }
    }

    fn put(&mut self, idx: u32) -> VmResult<()> {
        let top = self
            .stack
            .last()
            .ok_or_else(|| Fault::Malformed("memoize with an empty stack".into()))?;
        self.memo.insert(idx, top.clone());
        Ok(())
    }

    fn get(&mut self, idx: u32) -> VmResult<()> {
        let value = self
            .memo
            .get(&idx)
            .ok_or_else(|| Fault::Malformed(format!("memo {idx} was never set")))?
            .clone();
        self.stack.push(value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::PathBuf;

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

    /// A numpy-style v1.0 header, padded so the data starts on a 64-byte boundary.
    fn npy_header(descr: &str, shape: &str) -> Vec<u8> {
        let mut text =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + text.len() + 1) % 64 != 0 {
            text.push(' ');
        }
        text.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(text.len() as u16).to_le_bytes());
        out.extend_from_slice(text.as_bytes());
        out
    }

    fn npy_i8(values: &[i64]) -> Vec<u8> {
        let mut out = npy_header("<i8", &format!("({},)", values.len()));
        for v in values {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// A protocol-2 object-array pickle in Python 2 + numpy 1.x style (as in the
    /// pickletools listing of imdb_py2style.npz) whose outer list is filled by `body`.
    fn p2_pickle(len: u32, body: &[u8]) -> Vec<u8> {
        let mut p = b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R(K\x01J".to_vec();
        p.extend_from_slice(&len.to_le_bytes());
        p.extend_from_slice(b"\x85cnumpy\ndtype\nU\x02O8\x89\x88\x87R(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb\x89](");
        p.extend_from_slice(body);
        p.extend_from_slice(b"etb.");
        p
    }

    fn object_npy(len: u32, pickle: &[u8]) -> Vec<u8> {
        let mut out = npy_header("|O", &format!("({len},)"));
        out.extend_from_slice(pickle);
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
    fn other_globals_are_refused_in_both_spellings() {
        // GLOBAL (protocol 2) and STACK_GLOBAL (protocol 4) of builtins.eval.
        let p2 = b"\x80\x02cbuiltins\neval\n.".to_vec();
        assert_hostile(parse(&object_npy(1, &p2)).unwrap_err(), "builtins.eval");
        let p4 = b"\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93.".to_vec();
        assert_hostile(parse(&object_npy(1, &p4)).unwrap_err(), "builtins.eval");
        // numpy, but not one of the three names.
        let p = b"\x80\x02cnumpy.core.multiarray\nscalar\n.".to_vec();
        assert_hostile(
            parse(&object_npy(1, &p)).unwrap_err(),
            "numpy.core.multiarray.scalar",
        );
    }

    #[test]
    fn unknown_and_unsupported_opcodes_are_refused() {
        let unknown = b"\x80\x02\xff.".to_vec();
        assert_hostile(parse(&object_npy(1, &unknown)).unwrap_err(), "0xff");
        // INST, a real opcode that imports and calls.
        let inst = b"\x80\x02(ios\nsystem\n.".to_vec();
        assert_hostile(parse(&object_npy(1, &inst)).unwrap_err(), "INST");
        // EMPTY_DICT inside the outer list: valid pickle, but not a list of ints.
        let dict = p2_pickle(1, b"}");
        assert_hostile(parse(&object_npy(1, &dict)).unwrap_err(), "EMPTY_DICT");
        // A pickle that does not start with PROTO (protocol 0/1).
        assert_hostile(parse(&object_npy(1, b"].")).unwrap_err(), "PROTO");
    }

    #[test]
    fn allowed_globals_called_oddly_are_refused() {
        // _codecs.encode with another codec, dtype('i8') and _reconstruct with a shape.
        let enc = b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00bX\x05\x00\x00\x00utf-8\x86R.";
        assert_hostile(parse(&object_npy(1, enc)).unwrap_err(), "CodecsEncode");
        let dt = b"\x80\x02cnumpy\ndtype\nU\x02i8\x89\x88\x87R.";
        assert_hostile(parse(&object_npy(1, dt)).unwrap_err(), "\"i8\"");
        let rc =
            b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x05\x85U\x01b\x87R.";
        assert_hostile(parse(&object_npy(1, rc)).unwrap_err(), "Reconstruct");
    }

    #[test]
    fn memo_references_share_lists_like_python() {
        // The list is memoized while empty and filled afterwards; BINGET must see it full.
        let body = b"]q\x05(K\x01K\x02eh\x05";
        let got = parse(&object_npy(2, &p2_pickle(2, body))).unwrap();
        assert_eq!(got, vec![vec![1, 2], vec![1, 2]]);
    }

    #[test]
    fn long_memo_indices_work() {
        let body = b"]r\x00\x01\x00\x00(K\x01K\x02ej\x00\x01\x00\x00";
        let got = parse(&object_npy(2, &p2_pickle(2, body))).unwrap();
        assert_eq!(got, vec![vec![1, 2], vec![1, 2]]);
        // A huge index must not size anything.
        let body = b"]r\xff\xff\xff\xff";
        assert_eq!(
            parse(&object_npy(1, &p2_pickle(1, body))).unwrap(),
            vec![Vec::<u32>::new()]
        );
        let body = b"]j\xfe\xff\xff\xff";
        let err = parse(&object_npy(1, &p2_pickle(1, body))).unwrap_err();
        assert_malformed(err, &["memo 4294967294 was never set"]);
    }

    #[test]
    fn deeply_nested_tuples_are_refused_without_recursion() {
        let mut p = b"\x80\x02)".to_vec();
        p.extend(std::iter::repeat_n(0x85u8, 1_000_000));
        p.push(b'.');
        assert_hostile(parse(&object_npy(1, &p)).unwrap_err(), "nested deeper");
    }

    #[test]
    fn repeated_references_cannot_expand_past_the_input() {
        // One list of 1000 ints referenced 5000 times: 5 million ints from ~13 KB.
        let mut body = b"]q\x01(".to_vec();
        for i in 0..1000u16 {
            body.push(b'M');
            body.extend_from_slice(&i.to_le_bytes());
        }
        body.push(b'e');
        body.extend(std::iter::repeat_n(*b"h\x01", 4999).flatten());
        let err = parse(&object_npy(5000, &p2_pickle(5000, &body))).unwrap_err();
        assert_malformed(err, &["repeated references"]);
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
