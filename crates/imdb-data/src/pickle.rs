//! A pickle reader that executes nothing: just enough of Python's pickle machine to read the
//! payload numpy writes for a 1-D *object* array of lists of ints (Keras's `x_train`/`x_test`).
//!
//! Unpickling runs whatever the pickle names, so the pickle is never handed to anything that can
//! call code: this stack machine understands only the opcodes and the three numpy names
//! (`_reconstruct`, `ndarray`, `dtype`) that numpy writes for such an array, treats those names as
//! plain tags, and refuses everything else ([`Fault::Refused`]).
//!
//! Accepted pickles, as checked with `python -m pickletools` on real numpy output:
//! - protocol 2 as Python 2 + numpy 1.x wrote Keras's file (`GLOBAL
//!   'numpy.core.multiarray _reconstruct'`, Python 2 `str`s as `SHORT_BINSTRING`);
//! - protocol 2 from Python 3, where `_reconstruct`'s `b'b'` argument is spelled
//!   `_codecs.encode('b', 'latin1')` (so `_codecs.encode` is a fourth tag, interpreted
//!   only as latin-1 encoding of a string);
//! - protocol 3 (numpy 1.x `np.save`) and 4/5 (numpy 2 `np.save`: `FRAME`,
//!   `SHORT_BINUNICODE`, `STACK_GLOBAL`, `MEMOIZE`), module `numpy._core.multiarray`.
//!
//! Every allocation is bounded by the input: lengths in the pickle by the bytes that remain, memo
//! indices by a map rather than a vector, tuple nesting by a constant, and the final lists by the
//! pickle's size (so shared references cannot expand a small pickle into a huge result).

use std::collections::HashMap;
use std::rc::Rc;

/// Why a pickle was not accepted.
#[derive(Debug)]
pub(crate) enum Fault {
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
///
/// # Errors
/// [`Fault::Malformed`] for truncated or inconsistent bytes, [`Fault::Refused`] for anything
/// numpy does not write for such an array (nothing is executed either way).
pub(crate) fn decode_object_array(data: &[u8], expected_len: u64) -> VmResult<Vec<Vec<u32>>> {
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

    /// A protocol-2 object-array pickle in Python 2 + numpy 1.x style (as in the pickletools
    /// listing of the `imdb_py2style.npz` fixture) whose outer list is filled by `body`.
    fn p2_pickle(len: u32, body: &[u8]) -> Vec<u8> {
        let mut p = b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R(K\x01J".to_vec();
        p.extend_from_slice(&len.to_le_bytes());
        p.extend_from_slice(b"\x85cnumpy\ndtype\nU\x02O8\x89\x88\x87R(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb\x89](");
        p.extend_from_slice(body);
        p.extend_from_slice(b"etb.");
        p
    }

    fn assert_refused(pickle: &[u8], needle: &str) {
        match decode_object_array(pickle, 1) {
            Err(Fault::Refused(message)) => {
                assert!(message.contains(needle), "{message:?} lacks {needle:?}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn assert_corrupt(result: VmResult<Vec<Vec<u32>>>, needle: &str) {
        match result {
            Err(Fault::Malformed(message)) => {
                assert!(message.contains(needle), "{message:?} lacks {needle:?}");
            }
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn reads_a_list_of_lists() {
        let body = b"](K\x01K\x02e](e](M\x10\x27e";
        let got = decode_object_array(&p2_pickle(3, body), 3).unwrap();
        assert_eq!(got, vec![vec![1, 2], vec![], vec![10000]]);
        // The header's shape and the pickle's must agree.
        assert_corrupt(
            decode_object_array(&p2_pickle(3, body), 4),
            "header shape (4,)",
        );
    }

    #[test]
    fn other_globals_are_refused_in_both_spellings() {
        // GLOBAL (protocol 2) and STACK_GLOBAL (protocol 4) of builtins.eval.
        assert_refused(b"\x80\x02cbuiltins\neval\n.", "builtins.eval");
        assert_refused(
            b"\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93.",
            "builtins.eval",
        );
        // numpy, but not one of the three names.
        assert_refused(
            b"\x80\x02cnumpy.core.multiarray\nscalar\n.",
            "numpy.core.multiarray.scalar",
        );
    }

    #[test]
    fn unknown_and_unsupported_opcodes_are_refused() {
        assert_refused(b"\x80\x02\xff.", "0xff");
        // INST, a real opcode that imports and calls.
        assert_refused(b"\x80\x02(ios\nsystem\n.", "INST");
        // EMPTY_DICT inside the outer list: valid pickle, but not a list of ints.
        assert_refused(&p2_pickle(1, b"}"), "EMPTY_DICT");
        // A pickle that does not start with PROTO (protocol 0/1).
        assert_refused(b"].", "PROTO");
    }

    #[test]
    fn allowed_globals_called_oddly_are_refused() {
        // _codecs.encode with another codec, dtype('i8') and _reconstruct with a shape.
        assert_refused(
            b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00bX\x05\x00\x00\x00utf-8\x86R.",
            "CodecsEncode",
        );
        assert_refused(b"\x80\x02cnumpy\ndtype\nU\x02i8\x89\x88\x87R.", "\"i8\"");
        assert_refused(
            b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x05\x85U\x01b\x87R.",
            "Reconstruct",
        );
    }

    #[test]
    fn memo_references_share_lists_like_python() {
        // The list is memoized while empty and filled afterwards; BINGET must see it full.
        let body = b"]q\x05(K\x01K\x02eh\x05";
        let got = decode_object_array(&p2_pickle(2, body), 2).unwrap();
        assert_eq!(got, vec![vec![1, 2], vec![1, 2]]);
    }

    #[test]
    fn long_memo_indices_work() {
        let body = b"]r\x00\x01\x00\x00(K\x01K\x02ej\x00\x01\x00\x00";
        let got = decode_object_array(&p2_pickle(2, body), 2).unwrap();
        assert_eq!(got, vec![vec![1, 2], vec![1, 2]]);
        // A huge index must not size anything.
        let body = b"]r\xff\xff\xff\xff";
        assert_eq!(
            decode_object_array(&p2_pickle(1, body), 1).unwrap(),
            vec![Vec::<u32>::new()]
        );
        let body = b"]j\xfe\xff\xff\xff";
        assert_corrupt(
            decode_object_array(&p2_pickle(1, body), 1),
            "memo 4294967294 was never set",
        );
    }

    #[test]
    fn deeply_nested_tuples_are_refused_without_recursion() {
        let mut p = b"\x80\x02)".to_vec();
        p.extend(std::iter::repeat_n(0x85u8, 1_000_000));
        p.push(b'.');
        assert_refused(&p, "nested deeper");
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
        let got = decode_object_array(&p2_pickle(5000, &body), 5000);
        assert_corrupt(got, "repeated references");
    }

    #[test]
    fn lengths_beyond_the_data_are_corrupt_before_allocating() {
        // BINBYTES and BINUNICODE declaring 4 GiB, FRAME declaring 2^64 - 1.
        for (pickle, needle) in [
            (&b"\x80\x02B\xff\xff\xff\xff"[..], "needs 4294967295 bytes"),
            (b"\x80\x02X\xff\xff\xff\xff", "needs 4294967295 bytes"),
            (b"\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\xff", "FRAME of"),
        ] {
            assert_corrupt(decode_object_array(pickle, 1), needle);
        }
    }
}
