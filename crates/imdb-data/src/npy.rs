//! The header of numpy's `.npy` format, parsed as data: the magic, the version, and the dict
//! literal numpy writes (`{'descr': '<u4', 'fortran_order': False, 'shape': (25000,), }`).
//!
//! Shared by the two readers of `.npy` entries, Keras's `imdb.npz` ([`crate::npz`]) and the
//! encoded-data cache. The header is refused rather than evaluated when it is anything but
//! that literal, and its declared shape is only returned: each caller checks it against the
//! bytes that follow before it allocates anything for it.

/// numpy itself refuses `.npy` headers longer than this (`_MAX_HEADER_SIZE`).
const MAX_HEADER_BYTES: usize = 10_000;

/// The length of a 1-D shape, `None` for any other.
pub(crate) fn one_dim(shape: &[u64]) -> Option<u64> {
    match shape {
        [n] => Some(*n),
        _ => None,
    }
}

/// `(signed, size)` of a little-endian or byte-order-free integer `descr` such as `<i8`.
#[cfg(feature = "npz")]
pub(crate) fn int_dtype(descr: &str) -> Option<(bool, usize)> {
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
pub(crate) struct Header {
    /// numpy's type string, e.g. `'<u4'` or `'|O'`.
    pub descr: String,
    /// The dimensions, as declared (nothing here checks them against the payload).
    pub shape: Vec<u64>,
}

/// Splits a `.npy` into its header and payload. Messages do not name the array; callers do.
pub(crate) fn parse_header(bytes: &[u8]) -> std::result::Result<(Header, &[u8]), String> {
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
    fn parse(mut self) -> std::result::Result<Header, String> {
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
        Ok(Header {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A numpy-style v1.0 header, padded so the data starts on a 64-byte boundary.
    pub(crate) fn header(descr: &str, shape: &str) -> Vec<u8> {
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

    #[test]
    fn reads_what_numpy_writes() {
        let mut npy = header("<u4", "(3,)");
        npy.extend_from_slice(&[1, 2, 3, 4]);
        let (h, payload) = parse_header(&npy).unwrap();
        assert_eq!((h.descr.as_str(), h.shape.as_slice()), ("<u4", &[3u64][..]));
        assert_eq!(payload, [1, 2, 3, 4]);
        // Python 2 wrote `(25000L,)`; a scalar has shape `()`.
        let (h, _) = parse_header(&header("|O", "(25000L,)")).unwrap();
        assert_eq!(one_dim(&h.shape), Some(25000));
        let (h, _) = parse_header(&header("<f8", "()")).unwrap();
        assert_eq!(one_dim(&h.shape), None);
        // Version 2.0: a 4-byte header length.
        let v1 = header("<i8", "(2, 5)");
        let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
        v2.extend_from_slice(&u32::from(u16::from_le_bytes([v1[8], v1[9]])).to_le_bytes());
        v2.extend_from_slice(&v1[10..]);
        assert_eq!(parse_header(&v2).unwrap().0.shape, [2, 5]);
    }

    #[test]
    fn refuses_anything_but_numpys_literal() {
        let cases: [(&[u8], &str); 8] = [
            (b"\x93NUMPX\x01\x00", "bad magic"),
            (b"\x93NUMPY\x04\x00\x00\x00", "version 4.0"),
            (b"\x93NUMPY\x01\x00\x10", "truncated"),
            (b"\x93NUMPY\x01\x00\xff\xff", "longer than numpy allows"),
            (b"\x93NUMPY\x01\x00\x40\x00{}", "header claims 64 bytes"),
            (b"\x93NUMPY\x01\x00\x0a\x00{'descr':1}", "unexpected value"),
            (b"\x93NUMPY\x01\x00\x0b\x00{'evil':'x'}", "unexpected key"),
            (b"\x93NUMPY\x01\x00\x0c\x00{'descr':'\\''", "escapes"),
        ];
        for (bytes, needle) in cases {
            let err = parse_header(bytes).unwrap_err();
            assert!(err.contains(needle), "{err:?} lacks {needle:?}");
        }
        let no_shape = header("<u4", "(1,)");
        let text = String::from_utf8_lossy(&no_shape[10..]).replace("'shape'", "'shapf'");
        let mut bad = no_shape[..10].to_vec();
        bad.extend_from_slice(text.as_bytes());
        assert!(
            parse_header(&bad)
                .unwrap_err()
                .contains("unexpected key \"shapf\"")
        );
        let huge = header("<u4", "(99999999999999999999999,)");
        assert!(parse_header(&huge).unwrap_err().contains("overflows"));
    }

    #[cfg(feature = "npz")]
    #[test]
    fn integer_dtypes() {
        assert_eq!(int_dtype("<i8"), Some((true, 8)));
        assert_eq!(int_dtype("|u1"), Some((false, 1)));
        for other in [">i8", "|i4", "<f4", "<i3", "|b1", "<u16"] {
            assert_eq!(int_dtype(other), None, "{other}");
        }
    }
}
