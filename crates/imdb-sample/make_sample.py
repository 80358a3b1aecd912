"""Builds crates/imdb-sample/data/aclImdb_sample.tar.gz from the labelled IMDB archive.

Rule: every review whose numeric id (the part before '_' in <id>_<rating>.txt) is a multiple of 10,
from each of train/pos, train/neg, test/pos, test/neg. Ids run 0..12499 in each folder, so that is
exactly 1,250 reviews per folder: 2,500 train + 2,500 test, balanced, 10% of the labelled data.
The archive keeps the official layout, adds counts.json (the folder sizes the loader checks) and the
dataset's README (its attribution), and is written deterministically (sorted, fixed mtime/owner).

Usage (from the repository root):
    python3 crates/imdb-sample/make_sample.py ../shared/data/aclImdb_labeled.tar.gz \
        crates/imdb-sample/data/aclImdb_sample.tar.gz
"""
import gzip
import io
import json
import re
import sys
import tarfile

src, dst = sys.argv[1], sys.argv[2]
keep = {}
readme = None
pattern = re.compile(r"^aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
with tarfile.open(src, "r:gz") as tar:
    for member in tar:
        m = pattern.match(member.name)
        if m and int(m.group(3)) % 10 == 0:
            keep[member.name] = tar.extractfile(member).read()
        elif member.name == "aclImdb/README":
            readme = tar.extractfile(member).read()

counts = {}
for name in keep:
    folder = "/".join(name.split("/")[1:3])
    counts[folder] = counts.get(folder, 0) + 1
assert sorted(counts.values()) == [1250] * 4, counts

files = dict(keep)
files["aclImdb/counts.json"] = (json.dumps(dict(sorted(counts.items())), indent=1) + "\n").encode()
files["aclImdb/README"] = readme

raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as out:
    for name in sorted(files):
        info = tarfile.TarInfo(name)
        info.size = len(files[name])
        info.mtime = 1303862400  # 2011-04-27, the dataset's release; fixed for reproducibility
        info.mode = 0o644
        out.addfile(info, io.BytesIO(files[name]))
with open(dst, "wb") as f:
    f.write(gzip.compress(raw.getvalue(), compresslevel=9, mtime=0))
print(dst, {k: v for k, v in sorted(counts.items())})
