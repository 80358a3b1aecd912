"""The project's tokeniser and review order, ported to Python for the peer baselines.

Mirrors, rule for rule:

- ``crates/imdb-data/src/tokenize.rs`` (``for_each_token`` / ``lowercase_without_tags``):
  1. HTML tags are removed: a ``<`` followed by an ASCII letter or ``/``, up to the next ``>``
     at most 64 *bytes* (UTF-8) later, is replaced by one space. Any other ``<`` is kept.
  2. The text is lower-cased (Unicode-aware; Rust ``str::to_lowercase`` vs Python ``str.lower``,
     both full Unicode case mapping with the final-sigma rule).
  3. A word is a maximal run of alphanumeric characters; an apostrophe (``'`` or U+2019) between
     two alphanumeric characters stays inside the word. Everything else separates words.
     "Alphanumeric" is Rust's ``char::is_alphanumeric``: the Unicode ``Alphabetic`` property or
     a general category ``Nd``/``Nl``/``No``. That is ``[\\p{Alphabetic}\\p{N}]`` in the
     ``regex`` module (Python's own ``str.isalnum`` is a slightly different set: it lacks the
     combining marks that are ``Other_Alphabetic``, e.g. Devanagari vowel signs).
- ``crates/imdb-data/src/reviews.rs``: only ``train|test/pos|neg/<id>_<rating>.txt`` is read
  (UTF-8, strict), and each split is ordered by (folder, numeric id, rating) with the folders in
  the order train/neg, train/pos, test/neg, test/pos, so negatives (label 0) come first.
- ``crates/imdb-data/src/encode.rs`` + ``numpy_rng.rs``: one ``numpy.random.RandomState(seed)``
  (seed 113, as Keras's ``imdb.load_data``) shuffles an index array over the training reviews,
  then, with the same generator, one over the test reviews. The seed notebook's validation split
  is the first 10,000 reviews of the shuffled training split (``dataset.rs``, ``seed_split``).

Run as a script, it checks itself against the Rust unit tests' expected values.
"""

from __future__ import annotations


import re as _re
import tarfile
from typing import Iterator, List, Tuple

import numpy as np
import regex

MAX_TAG_BYTES = 64
_APOSTROPHES = "'\u2019"
# A word: alnum run, optionally continued by an apostrophe that is followed by more alnum. This is
# the same as the Rust state machine: the apostrophe is kept only when a word has started and the
# next character is alphanumeric.
_ALNUM = r"[\p{Alphabetic}\p{N}]"
_WORD = regex.compile(_ALNUM + r"+(?:['\u2019]" + _ALNUM + r"+)*")
_REVIEW = _re.compile(r"(?:^|/)(train|test)/(pos|neg)/([^/]+)_([^/]+)\.txt$")
FOLDERS = [("train", "neg", 0), ("train", "pos", 1), ("test", "neg", 0), ("test", "pos", 1)]


def lowercase_without_tags(text: str) -> str:
    """``lowercase_without_tags`` of tokenize.rs: strip tags (byte window of 64), lower-case."""
    data = text.encode("utf-8")
    out = bytearray()
    rest = 0  # index into data
    while True:
        lt = data.find(b"<", rest)
        if lt < 0:
            break
        out += data[rest:lt]
        after = lt + 1
        nxt = data[after : after + 1]
        starts_tag = bool(nxt) and (nxt.isalpha() or nxt == b"/")  # bytes.isalpha is ASCII-only
        gt = data.find(b">", after, min(len(data), after + MAX_TAG_BYTES))
        if starts_tag and gt >= 0:
            out += b" "
            rest = gt + 1
        else:
            out += b"<"
            rest = after
    out += data[rest:]
    return out.decode("utf-8").lower()


def tokenize(text: str) -> List[str]:
    """The tokens of ``text``, as ``imdb_data::tokenize::tokenize`` returns them."""
    return _WORD.findall(lowercase_without_tags(text))


def _review_key(name: str):
    m = _REVIEW.search(name)
    if not m:
        return None
    split, label, rid, rating = m.groups()
    try:
        folder = FOLDERS.index((split, label, 0 if label == "neg" else 1))
        # Rust parses u64 / u8: digits only (a leading '+' is also accepted by Rust's parser).
        key = (folder, int(rid), int(rating))
    except ValueError:
        return None
    if not (0 <= key[2] <= 255) or key[1] < 0:
        return None
    return key


def read_reviews(path: str) -> Tuple[List[Tuple[str, int]], List[Tuple[str, int]]]:
    """(train, test): lists of (text, label) in the order of reviews.rs (before shuffling)."""
    entries = []
    with tarfile.open(path, "r:gz") as tar:
        for member in tar:
            if not member.isfile():
                continue
            key = _review_key(member.name)
            if key is None:
                continue
            text = tar.extractfile(member).read().decode("utf-8")  # strict, like String::from_utf8
            entries.append((key, text))
    entries.sort(key=lambda e: e[0])
    train, test = [], []
    for (folder, _, _), text in entries:
        split, _, label = FOLDERS[folder]
        (train if split == "train" else test).append((text, label))
    return train, test


def keras_order(n_train: int, n_test: int, seed: int = 113):
    """The permutations encode.rs applies: train first, then test, from one RandomState(seed)."""
    rng = np.random.RandomState(seed)
    train_idx = np.arange(n_train)
    rng.shuffle(train_idx)
    test_idx = np.arange(n_test)
    rng.shuffle(test_idx)
    return train_idx, test_idx


def load(path: str, seed: int = 113):
    """Tokenised, shuffled data: ``(train_tokens, train_labels, test_tokens, test_labels)``.

    Tokens are lists of str; labels are numpy int arrays. Order is the project's (Keras's).
    """
    train, test = read_reviews(path)
    ti, si = keras_order(len(train), len(test), seed)
    tr = [train[i] for i in ti]
    te = [test[i] for i in si]
    return (
        [tokenize(t) for t, _ in tr],
        np.array([l for _, l in tr]),
        [tokenize(t) for t, _ in te],
        np.array([l for _, l in te]),
    )


def iter_tokens(texts) -> Iterator[List[str]]:
    for t in texts:
        yield tokenize(t)


def _self_test() -> None:
    # The Rust unit tests and doctest of tokenize.rs, verbatim.
    assert tokenize("Don't miss it!<br /><br />A <i>10/10</i> film.") == [
        "don't", "miss", "it", "a", "10", "10", "film"]
    assert tokenize("Great.<br /><br />Really") == ["great", "really"]
    assert tokenize("<I>Jaws</I> rocks") == ["jaws", "rocks"]
    assert tokenize("a<br/>b<BR>c") == ["a", "b", "c"]
    assert tokenize("1 < 2 and 3 > 2") == ["1", "2", "and", "3", "2"]
    assert tokenize("<3 this") == ["3", "this"]
    long = "<b" + "x " * 100 + " end"
    assert tokenize(long)[-1] == "end"
    wide = "<b" + "é" * 40 + "> é"
    assert tokenize(wide)[-1] == "é"
    assert tokenize("ÉCOLE Straße ÀÖ") == ["école", "straße", "àö"]
    assert tokenize("'Don't' say 'director's cut' it’s rock'n'roll '") == [
        "don't", "say", "director's", "cut", "it’s", "rock'n'roll"]
    assert tokenize("dogs' toys") == ["dogs", "toys"]
    assert tokenize("well-made, (very) good...10/10!!") == [
        "well", "made", "very", "good", "10", "10"]
    assert tokenize("") == [] and tokenize(" .,;!? ") == []
    # numpy_rng.rs's test of the 25,000-review permutation.
    ti, _ = keras_order(25_000, 25_000)
    assert list(ti[:5]) == [7798, 13226, 18078, 793, 17499], ti[:5]
    assert list(ti[-3:]) == [22690, 4828, 14501], ti[-3:]
    print("imdb_tokens.py: all checks against the Rust tests pass")


if __name__ == "__main__":
    _self_test()
