#!/usr/bin/env python3
"""Runs every shell command that README.md and the book in docs/ show, as a newcomer would, and
checks what it did.

A newcomer's machine: a fresh copy of the repository (tracked and untracked-but-not-ignored
files only: no artifacts/, no target/), no BURN_IMDB_DATA, no network (BURN_IMDB_URL points at a
closed local port), an empty BURN_IMDB_CACHE. Commands that set BURN_IMDB_DATA themselves read
the shared data at ../shared/data/, as the pages say; the copy gets a ../shared beside it.

The pages, in this order: README.md, docs/README.md (the book's index), then every page the index
links to, in the order of its links. Every Markdown file under docs/ must be linked from the
index, so no page escapes the harness.

Rules, so that the pages and this harness cannot drift apart:
- every line of a ```sh block is a command (a trailing backslash continues it); `#` lines are
  comments and may not hide a cargo command;
- every command must have an entry in COMMANDS below, and every entry must be on some page;
- an inline code span that is a cargo command, on any page, must be a block command somewhere;
- every relative link and image of every page must resolve: the file exists inside the
  repository and a `#fragment` names a heading of the page it points to (GitHub's anchors).
Every problem is reported as FILE:LINE.

Commands run in page order in the one copy (the predict command reads the model the baseline
wrote, so a page with predict comes after the README, whose baseline runs first). A command shown
on several pages runs once, where it is first shown. A few long ones get a documented short form:
arguments appended to the page's command, listed in SHORT_FORMS and printed with the command. The
test command is run by .ci/run itself, in CI's fresh clone, so it is not run twice here.

Usage: python3 .ci/readme_commands.py [--only TEXT]   (from the repository root; it shares the
checkout's build cache, CARGO_TARGET_DIR or target/, so Burn is not built again; --only runs just
the commands containing TEXT, for a quick local check: the page rules are checked all the same).
Exit status 0 when every command passed; the last line reads "N passed, M failed".
"""

import atexit
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FULL_DATA = "BURN_IMDB_DATA=../shared/data/aclImdb_labeled.tar.gz"
TIMEOUT_S = 1200


class Failed(Exception):
    pass


def need(condition, message):
    if not condition:
        raise Failed(message)


def results(cwd, run_dir):
    path = cwd / run_dir / "results.json"
    need(path.is_file(), f"{path.relative_to(cwd)} was not written")
    return json.loads(path.read_text())


def check_baseline_sample(cwd, out, err):
    r = results(cwd, "artifacts/baseline")
    need("embedded sample" in err.lower(), "no notice that the embedded sample is used")
    need(len(r["history"]) == 20, f"{len(r['history'])} history rows, expected 20")
    need(r["train_reviews"] == 2500, f"train_reviews {r['train_reviews']}")
    need(r["validation_reviews"] == 1000, f"validation_reviews {r['validation_reviews']}")
    need("40%" in r["validation_rule"], f"validation_rule {r['validation_rule']!r}")
    need(r["test_accuracy"] > 0.75, f"test accuracy {r['test_accuracy']} on the sample")
    need(re.search(r"Epoch 20/20 - loss: \S+ - accuracy: \S+ - val_loss:", out),
         "no Keras-style line for epoch 20")
    need("test accuracy" in out, "no summary")
    for f in ["model/model.bpk", "loss.png", "accuracy.svg", "history.csv"]:
        need((cwd / "artifacts/baseline" / f).is_file(), f"artifacts/baseline/{f} missing")


def check_baseline_full(cwd, out, err):
    r = results(cwd, "artifacts/baseline")
    need(len(r["history"]) == 20, f"{len(r['history'])} history rows, expected 20")
    need((r["train_reviews"], r["validation_reviews"], r["test_reviews"]) == (25000, 10000, 25000),
         f"splits {r['train_reviews']}/{r['validation_reviews']}/{r['test_reviews']}")
    need(r["test_accuracy"] > 0.86, f"test accuracy {r['test_accuracy']} on the full data")
    need("embedded sample" not in err.lower(), "fell back to the embedded sample")


def check_predict(cwd, out, err):
    lines = out.strip().splitlines()
    need(len(lines) == 2, f"{len(lines)} output lines for 2 inputs")
    for i, line in enumerate(lines, 1):
        need(re.match(rf"arg:{i}: [01]\.\d{{4}} (positive|negative) ", line), f"line {line!r}")
    need(" positive " in lines[0] and " negative " in lines[1], f"labels in {lines}")


def check_data_stats_full(cwd, out, err):
    need(re.search(r"^train reviews\s+25000$", out, re.M), "train reviews line")
    need(re.search(r"^test labels\s+12500 positive / 12500 negative$", out, re.M), "test labels")
    need(re.search(r"^max word index\s+9999$", out, re.M), "max word index line")


def check_data_stats_json(cwd, out, err):
    stats = json.loads(out)
    keys = ["train", "test", "max_index", "train_pos", "train_neg", "test_pos", "test_neg",
            "load_seconds", "cache_hit"]
    missing = [k for k in keys if k not in stats]
    need(not missing, f"keys missing: {missing}")
    need((stats["train"], stats["test"], stats["max_index"]) == (2500, 2500, 9999), str(stats))
    need(stats["source"] == "embedded", f"source {stats['source']}")


def study_check(out_dir, variants, seeds):
    def check(cwd, out, err):
        report = cwd / out_dir / "report.md"
        need(report.is_file(), f"{out_dir}/report.md was not written")
        summary = json.loads((cwd / out_dir / "summary.json").read_text())
        names = sorted(v["name"] for v in summary["variants"])
        need(names == sorted(variants), f"variants {names}")
        for v in summary["variants"]:
            need(len(v["runs"]) == seeds, f"{v['name']}: {len(v['runs'])} runs")
    return check


ALL_VARIANTS = ["baseline", "three_layers", "units_32", "mse", "tanh", "l2", "dropout", "bigrams",
                "nb_trigrams"]


def check_bigrams(cwd, out, err):
    r = results(cwd, "artifacts/bigrams")
    need(r["name"] == "bigrams", r["name"])
    need(r["train_reviews"] == 25000, f"train_reviews {r['train_reviews']}")
    need(r["test_accuracy"] > 0.895, f"test accuracy {r['test_accuracy']}")


def check_nb_trigrams(cwd, out, err):
    r = results(cwd, "artifacts/nb_trigrams")
    need(r["name"] == "nb_trigrams", r["name"])
    need(r["train_reviews"] == 25000, f"train_reviews {r['train_reviews']}")
    # One seed; the 5-seed mean is in the README.
    need(r["test_accuracy"] > 0.91, f"test accuracy {r['test_accuracy']}")


def check_bench(cwd, out, err):
    report = json.loads(out)
    need(report.get("training"), f"no training runs in {sorted(report)}")
    need(report["load_warm_seconds"] > 0, "no warm data load timed")


def shard_check(folder):
    """A shard writes its runs and study.json for the merge, and no report."""
    def check(cwd, out, err):
        need((cwd / folder / "study.json").is_file(), f"{folder}: no study.json")
        need(not (cwd / folder / "report.md").exists(), f"{folder}: a shard wrote a report")
    return check


def check_export(cwd, out, err):
    export = cwd / "artifacts/baseline/export"
    for f in ["model.safetensors", "model.pytorch.safetensors", "reviews.json"]:
        need((export / f).is_file(), f"artifacts/baseline/export/{f} missing")
    reviews = json.loads((export / "reviews.json").read_text())
    need(len(reviews) > 0 and all({"text", "ids", "logit"} <= set(r) for r in reviews),
         f"reviews.json entries: {reviews[:1]}")


def check_experiments_unchanged(cwd, out, err):
    # The copy's index holds the files as copied (see fresh_copy): a difference from it, or a
    # new file, means the command rewrote them.
    git = lambda *args: subprocess.run(["git", *args, "--", "assets/experiments"], cwd=cwd,
                                       capture_output=True, text=True, check=True).stdout
    changed = git("diff", "--name-only") + git("ls-files", "--others", "--exclude-standard")
    need(changed == "", f"assets/experiments/ out of date with study_variants(): {changed}")


class Server:
    """A command that serves until stopped (docs/guide/serve.md): started in the background and
    ready once it prints `serving URL`, then `check(url)`; it runs until the harness ends, so
    that the page's `curl` commands after it talk to it."""

    def __init__(self, check):
        self.check, self.proc, self.log = check, None, None

    def start(self, line, cwd, env):
        self.log = tempfile.TemporaryFile(mode="w+")
        atexit.register(self.stop)
        # Its own process group, so that stopping it stops cargo and the server cargo started.
        self.proc = subprocess.Popen(["bash", "-c", line], cwd=cwd, env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=self.log,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        lines = queue.Queue()

        def read():
            for out in self.proc.stdout:
                lines.put(out)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            try:
                out = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise Failed(f"no `serving URL` line within {TIMEOUT_S} s")
            if out is None:
                raise Failed(f"exit status {self.proc.wait()} before serving")
            served = re.match(r"serving (http://\S+)", out)
            if served:
                return served.group(1)

    def stderr_tail(self):
        if self.log is None:
            return ""
        self.log.seek(0)
        return self.log.read()[-3000:]

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def http_get(url):
    """The body of `url` on this machine (no proxy), as text."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=30) as response:
        need(response.status == 200, f"GET {url}: status {response.status}")
        return response.read().decode()


def check_serve(url):
    need("See it decide" in http_get(url), f"GET {url}: not the page")
    model = json.loads(http_get(url + "api/model"))
    need(model["variant"] == "baseline", f"variant {model['variant']!r}")


def check_curl_predict(cwd, out, err):
    [p] = json.loads(out)["predictions"]
    need(p["label"] in ("positive", "negative") and 0 <= p["probability"] <= 1, str(p))
    need([t["term"] for t in p["terms"]] == ["not", "bad", "at", "all", "a", "wonderful", "cast"],
         f"terms {p['terms']}")
    wonderful = [w["effect"] for w in p["top_words"] if w["word"] == "wonderful"]
    need(wonderful and wonderful[0] > 0, f"top words {p['top_words']}")


def check_curl_model(cwd, out, err):
    model = json.loads(out)
    need(model["variant"] == "baseline", f"variant {model['variant']!r}")
    need(model["encoding"]["num_words"] == 10000, f"encoding {model['encoding']}")
    need(model["vocabulary_size"] > 10000, f"vocabulary_size {model['vocabulary_size']}")


def check_curl_415(cwd, out, err):
    need(out.startswith("HTTP/1.1 415 "), f"status line {out.splitlines()[:1]}")
    body = re.split(r"\r?\n\r?\n", out, maxsplit=1)[1]
    need("application/json" in json.loads(body)["error"], out)


def check_load(cwd, out, err):
    median = re.search(r"^median: .* (\d+) req/s p50 ", out, re.M)
    need(median and int(median.group(1)) > 0, "no median line with requests per second")


TEST_COMMAND = "cargo test --workspace"

# Every README command and what it must have done. None: run by .ci/run directly.
COMMANDS = {
    "cargo run --example baseline": check_baseline_sample,
    TEST_COMMAND: None,
    f"{FULL_DATA} cargo run --example baseline": check_baseline_full,
    "cargo run --example baseline -- --data ../shared/data/aclImdb_labeled.tar.gz":
        check_baseline_full,
    'cargo run --example predict -- --model artifacts/baseline "A wonderful, moving film." '
    '"Dull, predictable and far too long. I wanted my money back."': check_predict,
    f"{FULL_DATA} cargo run --example data_stats": check_data_stats_full,
    "cargo run --example data_stats -- --json": check_data_stats_json,
    "cargo run --example study": study_check("artifacts/study", ALL_VARIANTS, 5),
    f"{FULL_DATA} cargo run --example study":
        study_check("artifacts/study-full", ALL_VARIANTS, 2),
    "cargo run --example study -- --only units_32,dropout --seeds 3 --out artifacts/study-small":
        study_check("artifacts/study-small", ["baseline", "units_32", "dropout"], 3),
    # docs/results/study-method.md: the factorial design and a study in two shards, merged.
    "cargo run --example study -- --design factorial": study_check(
        "artifacts/study-factorial",
        [f"f-l{l}-u{u}-{loss}-{act}-{reg}" for l in (2, 3) for u in (16, 32)
         for loss in ("bce", "mse") for act in ("relu", "tanh")
         for reg in ("none", "l2", "dropout")], 2),
    "cargo run --example study -- --only tanh --seeds 2 --shard 0/2 --out artifacts/shards/0":
        shard_check("artifacts/shards/0"),
    "cargo run --example study -- --only tanh --seeds 2 --shard 1/2 --out artifacts/shards/1":
        shard_check("artifacts/shards/1"),
    "cargo run --example study -- --merge artifacts/shards/0 artifacts/shards/1 "
    "--out artifacts/study-merged": study_check("artifacts/study-merged", ["baseline", "tanh"], 2),
    f"{FULL_DATA} cargo run --example baseline -- --config assets/experiments/bigrams.json":
        check_bigrams,
    f"{FULL_DATA} cargo run --example baseline -- --config assets/experiments/nb_trigrams.json":
        check_nb_trigrams,
    f"{FULL_DATA} cargo run --example bench": check_bench,
    "BURN_IMDB_WRITE_EXPERIMENTS=1 cargo test --test study": check_experiments_unchanged,
    "cargo run -p imdb-serve -- --model artifacts/baseline": Server(check_serve),
    "curl -s http://127.0.0.1:8080/api/predict -H 'Content-Type: application/json' "
    """-d '{"reviews": ["Not bad at all. A wonderful cast!"]}'""": check_curl_predict,
    "curl -s http://127.0.0.1:8080/api/model": check_curl_model,
    "curl -si http://127.0.0.1:8080/api/predict -H 'Content-Type: text/plain' -d 'hello'":
        check_curl_415,
    "cargo run -p imdb-serve --example load -- --model artifacts/baseline": check_load,
    "cargo run --example export -- --model artifacts/baseline": check_export,
}

# Short forms of long commands: appended to the README's command (after `--`).
SHORT_FORMS = {
    # 5 seeds a variant instead of the default 133 (10 for the n-gram ones): on the sample the
    # artifacts are checked, not the numbers.
    "cargo run --example study": "--seeds 5",
    # 2 seeds a cell instead of 5: 96 runs on the sample.
    "cargo run --example study -- --design factorial": "--seeds 2",
    # 9 variants x 2 seeds instead of 5 (the full study takes minutes); its own output folder so
    # the sample study above is not reused.
    f"{FULL_DATA} cargo run --example study": "--seeds 2 --out artifacts/study-full",
    # One run of one epoch per input instead of 5 runs of 20: the numbers are not checked here.
    f"{FULL_DATA} cargo run --example bench": "--runs 1 --epochs 1 --json",
    # One run of 20 requests per client instead of 5 of 100: the figures are not checked here.
    "cargo run -p imdb-serve --example load -- --model artifacts/baseline":
        "--runs 1 --requests 20",
}


FENCE = re.compile(r"^\s*(```|~~~)(\S*)")
SH_LANGUAGES = ("sh", "bash", "shell", "console")
INLINE_CARGO = re.compile(r"^(\w+=\S+\s+)*cargo (run|test|bench|build)\b")


def rel(path):
    return path.relative_to(ROOT).as_posix()


def page_commands(path, text):
    """The commands of a page's ```sh blocks as (command, line), the cargo commands of its
    inline code spans as (line, span), and the page's problems."""
    commands, inline, problems = [], [], []
    in_block, is_sh, pending, started = False, False, "", 0
    for n, line in enumerate(text.splitlines(), 1):
        fence = FENCE.match(line)
        if fence:
            if in_block:
                if pending:
                    problems.append(f"{rel(path)}:{started}: a command ends in a backslash")
                    pending = ""
                in_block = False
            else:
                in_block, is_sh = True, fence.group(2) in SH_LANGUAGES
            continue
        if in_block:
            if not is_sh:
                continue
            stripped = line.strip()
            if not pending and (stripped == "" or stripped.startswith("#")):
                if "cargo " in stripped:
                    problems.append(f"{rel(path)}:{n}: a command hidden in a comment")
                continue
            if not pending:
                started = n
            pending += (" " if pending else "") + stripped.rstrip("\\").strip()
            if not stripped.endswith("\\"):
                commands.append((pending, started))
                pending = ""
        else:
            for span in re.findall(r"`([^`]+)`", line):
                if INLINE_CARGO.match(span):
                    inline.append((n, span))
    return commands, inline, problems


def markdown_links(text):
    """(line, target) of every inline link and image outside code blocks and code spans."""
    links, in_block = [], False
    for n, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            in_block = not in_block
            continue
        if in_block:
            continue
        line = re.sub(r"`[^`]*`", "", line)
        for target in re.findall(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", line):
            links.append((n, target))
    return links


def heading_anchors(text):
    """GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces to
    hyphens, `-1`, `-2`, ... for repeats."""
    anchors, seen, in_block = set(), {}, False
    for line in text.splitlines():
        if FENCE.match(line):
            in_block = not in_block
            continue
        heading = None if in_block else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.group(1))
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def link_problems(path, text):
    """Relative links and images of a page that do not resolve."""
    problems = []
    for n, target in markdown_links(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            continue  # https:, mailto:, ...
        file_part, _, fragment = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        where = f"{rel(path)}:{n}: link {target}"
        if not dest.is_relative_to(ROOT):
            problems.append(f"{where} leaves the repository")
        elif not dest.exists():
            problems.append(f"{where}: no such file")
        elif fragment and dest.suffix == ".md" and fragment not in heading_anchors(dest.read_text()):
            problems.append(f"{where}: no heading #{fragment} in {rel(dest)}")
    return problems


def book_pages():
    """README.md, the book's index, then its pages in the order the index links them, and the
    problems of a book that hides a page from the index."""
    index = ROOT / "docs/README.md"
    pages, problems = [ROOT / "README.md"], []
    if not index.is_file():
        return pages, [f"docs/README.md is missing (the book's index)"]
    pages.append(index)
    for _, target in markdown_links(index.read_text()):
        file_part = target.partition("#")[0]
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or not file_part.endswith(".md"):
            continue
        page = (index.parent / file_part).resolve()
        if page.is_file() and page.is_relative_to(ROOT / "docs") and page not in pages:
            pages.append(page)
    for page in sorted((ROOT / "docs").rglob("*.md")):
        if page.resolve() not in pages:
            problems.append(f"{rel(page)}: not linked from docs/README.md (the book's index)")
    return pages, problems


def collect():
    """Every page's commands in page order, each once with where it is shown, and every
    problem with the pages."""
    pages, problems = book_pages()
    commands, shown, inline = [], {}, []
    for page in pages:
        text = page.read_text()
        found, spans, page_problems = page_commands(page, text)
        problems += page_problems + link_problems(page, text)
        inline += [(page, n, span) for n, span in spans]
        for command, n in found:
            if command not in shown:
                commands.append(command)
                shown[command] = []
            shown[command].append(f"{rel(page)}:{n}")
    problems += [f"{shown[c][0]}: command with no check here: {c}" for c in commands
                 if c not in COMMANDS]
    problems += [f"checked here but shown on no page: {c}" for c in COMMANDS if c not in shown]
    problems += [f"{rel(page)}:{n}: inline command not shown in a sh block: {span}"
                 for page, n, span in inline if span not in shown]
    if TEST_COMMAND in shown:
        ci = (ROOT / ".ci/run").read_text()
        if f"{TEST_COMMAND} --locked" not in ci:
            problems.append(f"{shown[TEST_COMMAND][0]}: .ci/run does not run the test command: "
                            f"{TEST_COMMAND}")
    return commands, shown, problems


def closed_port_url():
    """A local URL nothing listens on: the download fails at once, as offline."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/aclImdb_v1.tar.gz"


def fresh_copy(tmp):
    """Tracked and untracked-but-not-ignored files of the checkout, and ../shared beside them."""
    dest = tmp / "burn-imdb"
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    for f in filter(None, files):
        src = ROOT / os.fsdecode(f)
        if src.is_file():
            target = dest / os.fsdecode(f)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    # The experiments check compares with the files as copied: a repository with them staged.
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    if SHARED.is_dir():
        (tmp / "shared").symlink_to(SHARED, target_is_directory=True)
    return dest


def main():
    commands, shown, problems = collect()
    if problems:
        for p in problems:
            print(f"readme-commands: {p}")
        print(f"readme-commands: 0 passed, {len(problems)} failed")
        return 1

    tmp = Path(tempfile.mkdtemp(prefix="readme-commands-"))
    cwd = fresh_copy(tmp)
    env = {k: v for k, v in os.environ.items() if k != "BURN_IMDB_DATA"}
    env.update({
        "BURN_IMDB_URL": closed_port_url(),
        "BURN_IMDB_CACHE": str(tmp / "cache"),
        "CARGO_TARGET_DIR": os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target")),
        "CARGO_TERM_COLOR": "never",
    })
    passed, failed = 0, 0
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    for command in commands:
        check = COMMANDS[command]
        if only is not None and only not in command:
            continue
        if check is None:
            print(f"readme-commands: skip (run by .ci/run in the checkout): {command}", flush=True)
            continue
        line = command
        if command in SHORT_FORMS:
            line += (" " if " -- " in command else " -- ") + SHORT_FORMS[command]
        if FULL_DATA in command and not (SHARED / "data/aclImdb_labeled.tar.gz").is_file():
            if os.environ.get("CI"):
                print(f"readme-commands: FAIL ({shown[command][0]}, no shared data in CI): {line}")
                failed += 1
            else:
                print(f"readme-commands: SKIPPED (no ../shared data here): {line}")
            continue
        print(f"readme-commands: run: {line}   [{', '.join(shown[command])}]", flush=True)
        started = time.monotonic()
        if isinstance(check, Server):
            try:
                check.check(check.start(line, cwd, env))
                passed += 1
                print(f"readme-commands: ok, serving ({time.monotonic() - started:.0f} s)",
                      flush=True)
            except (Failed, OSError, json.JSONDecodeError, KeyError) as e:
                failed += 1
                print(f"readme-commands: FAIL ({shown[command][0]}): {e!r}")
                print("--- stderr (tail)\n" + check.stderr_tail())
            continue
        try:
            proc = subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True,
                                  text=True, stdin=subprocess.DEVNULL, timeout=TIMEOUT_S)
            need(proc.returncode == 0, f"exit status {proc.returncode}")
            check(cwd, proc.stdout, proc.stderr)
            passed += 1
            print(f"readme-commands: ok ({time.monotonic() - started:.0f} s)", flush=True)
        except (Failed, subprocess.TimeoutExpired, json.JSONDecodeError, KeyError) as e:
            failed += 1
            print(f"readme-commands: FAIL ({shown[command][0]}): {e!r}")
            if isinstance(e, subprocess.TimeoutExpired):
                out, err = e.stdout or "", e.stderr or ""
            else:
                out, err = proc.stdout, proc.stderr
            out = out.decode() if isinstance(out, bytes) else out
            err = err.decode() if isinstance(err, bytes) else err
            print("--- stdout (tail)\n" + out[-3000:] + "\n--- stderr (tail)\n" + err[-3000:])
    for check in COMMANDS.values():
        if isinstance(check, Server):
            check.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"readme-commands: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
