#!/usr/bin/env python3
"""Runs every shell command that README.md shows, as a newcomer would, and checks what it did.

A newcomer's machine: a fresh copy of the repository (tracked and untracked-but-not-ignored
files only: no artifacts/, no target/), no BURN_IMDB_DATA, no network (BURN_IMDB_URL points at a
closed local port), an empty BURN_IMDB_CACHE. Commands that set BURN_IMDB_DATA themselves read
the shared data at ../shared/data/, as the README says; the copy gets a ../shared beside it.

Rules, so that the README and this harness cannot drift apart:
- every line of a ```sh block is a command (a trailing backslash continues it); `#` lines are
  comments and may not hide a cargo command;
- every command must have an entry in COMMANDS below, and every entry must be in the README;
- an inline code span in the prose that is a cargo command must be one of the block commands.

Commands run in README order in the one copy (the predict example reads the model the baseline
wrote). A few long ones get a documented short form: arguments appended to the README's command,
listed in SHORT_FORMS and printed with the command. The README's test command is run by
.ci/run itself, in CI's fresh clone, so it is not run twice here.

Usage: python3 .ci/readme_commands.py [--only TEXT]   (from the repository root; it shares the
checkout's build cache, CARGO_TARGET_DIR or target/, so Burn is not built again; --only runs just
the commands containing TEXT, for a quick local check: the README rules are checked all the same).
Exit status 0 when every command passed; the last line reads "N passed, M failed".
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
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


def check_experiments_unchanged(cwd, out, err):
    # The copy's index holds the files as copied (see fresh_copy): a difference from it, or a
    # new file, means the command rewrote them.
    git = lambda *args: subprocess.run(["git", *args, "--", "assets/experiments"], cwd=cwd,
                                       capture_output=True, text=True, check=True).stdout
    changed = git("diff", "--name-only") + git("ls-files", "--others", "--exclude-standard")
    need(changed == "", f"assets/experiments/ out of date with study_variants(): {changed}")


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
    f"{FULL_DATA} cargo run --example baseline -- --config assets/experiments/bigrams.json":
        check_bigrams,
    f"{FULL_DATA} cargo run --example baseline -- --config assets/experiments/nb_trigrams.json":
        check_nb_trigrams,
    f"{FULL_DATA} cargo run --example bench": check_bench,
    "BURN_IMDB_WRITE_EXPERIMENTS=1 cargo test --test study": check_experiments_unchanged,
}

# Short forms of long commands: appended to the README's command (after `--`).
SHORT_FORMS = {
    # 9 variants x 2 seeds instead of 5 (the full study takes minutes); its own output folder so
    # the sample study above is not reused.
    f"{FULL_DATA} cargo run --example study": "--seeds 2 --out artifacts/study-full",
    # One run of one epoch per input instead of 5 runs of 20: the numbers are not checked here.
    f"{FULL_DATA} cargo run --example bench": "--runs 1 --epochs 1 --json",
}


def readme_commands(text):
    """The commands of the ```sh blocks, and the cargo commands of inline code spans."""
    commands, inline = [], []
    in_block, is_sh, pending = False, False, ""
    for n, line in enumerate(text.splitlines(), 1):
        fence = re.match(r"^\s*```(\S*)", line)
        if fence:
            if in_block:
                need(pending == "", f"README.md:{n}: a command ends in a backslash")
                in_block = False
            else:
                in_block, is_sh = True, fence.group(1) in ("sh", "bash", "shell", "console")
            continue
        if in_block:
            if not is_sh:
                continue
            stripped = line.strip()
            if not pending and (stripped == "" or stripped.startswith("#")):
                need("cargo " not in stripped, f"README.md:{n}: a command hidden in a comment")
                continue
            pending += (" " if pending else "") + stripped.rstrip("\\").strip()
            if not stripped.endswith("\\"):
                commands.append(pending)
                pending = ""
        else:
            for span in re.findall(r"`([^`]+)`", line):
                if re.match(r"^(\w+=\S+\s+)*cargo (run|test|bench|build)\b", span):
                    inline.append((n, span))
    return commands, inline


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
    commands, inline = readme_commands((ROOT / "README.md").read_text())
    problems = [f"README command with no check here: {c}" for c in commands if c not in COMMANDS]
    problems += [f"checked here but not in the README: {c}" for c in COMMANDS if c not in commands]
    problems += [f"README.md:{n}: inline command not shown in a sh block: {s}"
                 for n, s in inline if s not in commands]
    if TEST_COMMAND in commands:
        ci = (ROOT / ".ci/run").read_text()
        if f"{TEST_COMMAND} --locked" not in ci:
            problems.append(f".ci/run does not run the README's test command: {TEST_COMMAND}")
    if problems:
        for p in problems:
            print(f"readme-commands: {p}")
        print(f"0 passed, {len(problems)} failed")
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
                print(f"readme-commands: FAIL (no shared data in CI): {line}")
                failed += 1
            else:
                print(f"readme-commands: SKIPPED (no ../shared data here): {line}")
            continue
        print(f"readme-commands: run: {line}", flush=True)
        started = time.monotonic()
        try:
            proc = subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True,
                                  text=True, stdin=subprocess.DEVNULL, timeout=TIMEOUT_S)
            need(proc.returncode == 0, f"exit status {proc.returncode}")
            check(cwd, proc.stdout, proc.stderr)
            passed += 1
            print(f"readme-commands: ok ({time.monotonic() - started:.0f} s)", flush=True)
        except (Failed, subprocess.TimeoutExpired, json.JSONDecodeError, KeyError) as e:
            failed += 1
            print(f"readme-commands: FAIL: {e!r}")
            if isinstance(e, subprocess.TimeoutExpired):
                out, err = e.stdout or "", e.stderr or ""
            else:
                out, err = proc.stdout, proc.stderr
            out = out.decode() if isinstance(out, bytes) else out
            err = err.decode() if isinstance(err, bytes) else err
            print("--- stdout (tail)\n" + out[-3000:] + "\n--- stderr (tail)\n" + err[-3000:])
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"readme-commands: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
