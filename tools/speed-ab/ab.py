#!/usr/bin/env python3
"""Times two builds of burn-imdb side by side, alternating, and prints each run and the medians.

The machine this project is measured on swings by up to 2x from one hour to the next, so only
runs of both builds in one session, interleaved, are compared (docs/performance/benchmarks.md).

Each side is a checkout (for its `assets/experiments/`) and the folder of its release examples
(`baseline`, `study`; copy them out of target/release/examples/ after building, since a second
build in the same target folder overwrites them). Every training run is `baseline --quiet` on the
data of BURN_IMDB_DATA (required), from a warm encoded-data cache of that side's own (the first
run of each side fills it and is not counted: its format may differ between the builds); every
study starts from an empty cache and is also timed by its runs alone (the sum of summary.json's
per-variant `wall_seconds`: both phases of every run, without data loading, statistics and
report, which a study of another commit may do more or less of).

Each line gives the medians and the median of the pairs' ratios (run i of both sides ran back to
back). Phase 1 of the baseline is under a second: on this machine five runs of it swing by more
than the differences looked for, so use 21 runs for it.

    python3 tools/speed-ab/ab.py --before REPO:BINDIR --after REPO:BINDIR \
        [--runs 5] [--what baseline,bigrams,bigrams100k,dense,study] [--study-args "--only ..."]

`bigrams100k` is `assets/experiments/bigrams.json` with `input` and `num_words` set to 100000.
"""

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def side(text):
    repo, _, bins = text.partition(":")
    if not bins:
        raise argparse.ArgumentTypeError(f"{text!r}: expected REPO:BINDIR")
    return Path(repo).resolve(), Path(bins).resolve()


def run(cmd, repo, env):
    done = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"error: {shlex.join(cmd)} (in {repo}) exited {done.returncode}:\n{done.stderr}")


def config_args(kind, repo, work):
    if kind in ("baseline", "dense"):
        return ["--input", "dense"] if kind == "dense" else []
    if kind == "nb_trigrams":
        return ["--config", str(repo / "assets/experiments/nb_trigrams.json")]
    config = json.loads((repo / "assets/experiments/bigrams.json").read_text())
    if kind == "bigrams100k":
        config["model"]["input"] = config["data"]["num_words"] = 100000
        config["name"] = "bigrams100k"
    path = work / f"{kind}-{repo.name}.json"
    path.write_text(json.dumps(config))
    return ["--config", str(path)]


def train(name, repo, bins, kind, work):
    out = work / f"out-{name}"
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, BURN_IMDB_CACHE=str(work / f"cache-{name}"))
    cmd = [str(bins / "baseline"), "--quiet", "--out", str(out)] + config_args(kind, repo, work)
    run(cmd, repo, env)
    r = json.loads((out / "results.json").read_text())
    return r["fit_seconds"], r["retrain_seconds"], r


def study(name, repo, bins, extra, work):
    cache, out = work / f"study-cache-{name}", work / f"study-{name}"
    for p in (cache, out):
        shutil.rmtree(p, ignore_errors=True)
    env = dict(os.environ, BURN_IMDB_CACHE=str(cache))
    started = time.monotonic()
    cmd = [str(bins / "study"), "--out", str(out)] + extra
    run(cmd, repo, env)
    wall = time.monotonic() - started
    # The runs' own time (both phases of each), without data loading, statistics and report.
    summary = json.loads((out / "summary.json").read_text())
    return wall, sum(v["wall_seconds"] for v in summary["variants"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=side, required=True)
    ap.add_argument("--after", type=side, required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--what", default="baseline,bigrams,bigrams100k,dense,study")
    ap.add_argument("--study-args", default="", help="extra arguments for the after side's study")
    args = ap.parse_args()
    if not os.environ.get("BURN_IMDB_DATA"):
        sys.exit("error: set BURN_IMDB_DATA to the full data (e.g. ../shared/data/aclImdb_labeled.tar.gz)")
    sides = {"before": args.before, "after": args.after}
    work = Path(tempfile.mkdtemp(prefix="speed-ab-"))
    try:
        for kind in args.what.split(","):
            times = {s: [] for s in sides}
            if kind != "study":
                for s, (repo, bins) in sides.items():  # fill each side's cache, not counted
                    train(s, repo, bins, kind, work)
            for i in range(args.runs):
                for s, (repo, bins) in sides.items():
                    if kind == "study":
                        extra = shlex.split(args.study_args) if s == "after" else []
                        wall, training = study(s, repo, bins, extra, work)
                        times[s].append((wall, training))
                        print(f"study {s} run {i + 1}: wall {wall:.1f} s, "
                              f"of which training runs {training:.1f} s", flush=True)
                    else:
                        fit, retrain, r = train(s, repo, bins, kind, work)
                        times[s].append((fit, retrain))
                        print(f"{kind} {s} run {i + 1}: phase 1 {fit:.3f} s, retrain {retrain:.3f} s, "
                              f"epoch {r['chosen_epoch']}, test loss {r['test_loss']:.6f}, "
                              f"accuracy {r['test_accuracy']:.4f}", flush=True)
            med = {s: statistics.median(t[0] for t in ts) for s, ts in times.items()}
            # Runs i of both sides ran back to back: their ratio cancels most of the drift.
            pairs = statistics.median(b[0] / a[0] for b, a in zip(times["before"], times["after"]))
            print(f"{kind}: median before {med['before']:.3f} s, after {med['after']:.3f} s, "
                  f"{med['before'] / med['after']:.2f}x; median of the pairs' ratios {pairs:.2f}x "
                  f"({args.runs} runs each)", flush=True)
            if kind == "study":
                runs = {s: statistics.median(t[1] for t in ts) for s, ts in times.items()}
                print(f"study training runs: median before {runs['before']:.1f} s, "
                      f"after {runs['after']:.1f} s, {runs['before'] / runs['after']:.2f}x",
                      flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
