"""Peer 2: the fastText command-line tool, supervised, with word bigrams, on the project's tokens.

    python tools/peers/fasttext_bigrams.py [DATA.tar.gz] [--fasttext PATH] [--json OUT.json]

(run from the repository root; DATA defaults to ../shared/data/aclImdb_labeled.tar.gz; the tool is
the Debian package's `fasttext`, found on PATH unless --fasttext says otherwise).

Protocol: reviews read, ordered and shuffled exactly as the Rust crate does (seed 113) and
tokenised by tools/peers/imdb_tokens.py (the port of crates/imdb-data/src/tokenize.rs); each review is
written as one line, `__label__pos|__label__neg` followed by its tokens joined by single spaces.
The settings are chosen on the seed notebook's split of the *training* reviews only (train on
reviews 10,000..25,000, score on the first 10,000); then `fasttext supervised` is rerun on all
25,000 training reviews (three times, for the median wall time) and evaluated once on the 25,000
test reviews with `fasttext predict`. `-thread 1` throughout, so every run is reproducible
(fastText's Hogwild training is not with more threads) and one core is left to the machine.
"""

import os

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402

import imdb_tokens as tk  # noqa: E402  (beside this script: Python puts its folder first)

VALIDATION = 10_000
RUNS = 3
# Fixed for every run.
FIXED = ["-wordNgrams", "2", "-thread", "1", "-seed", "0", "-verbose", "0"]
# Searched on the validation split.
GRID = {"epoch": [5, 10, 25], "lr": [0.1, 0.5, 1.0], "dim": [10, 50]}
LABELS = {0: "__label__neg", 1: "__label__pos"}


def write(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for tokens, label in rows:
            f.write(LABELS[label] + " " + " ".join(tokens) + "\n")


def train(ft, data, out, settings):
    args = [ft, "supervised", "-input", data, "-output", out] + FIXED
    for k, v in settings.items():
        args += [f"-{k}", str(v)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    s = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - s
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def accuracy(ft, model, data, labels):
    out = subprocess.run([ft, "predict", model + ".bin", data], check=True,
                         capture_output=True, text=True).stdout.split()
    assert len(out) == len(labels), (len(out), len(labels))
    return sum(p == LABELS[y] for p, y in zip(out, labels)) / len(labels)


def fasttext_test(ft, model, data):
    """`fasttext test` output (N, P@1, R@1), as a cross-check of the accuracy."""
    return subprocess.run([ft, "test", model + ".bin", data], check=True,
                          capture_output=True, text=True).stdout.strip().replace("\n", "; ")


def dpkg_version(package):
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package],
                             capture_output=True, text=True, check=True).stdout
        return out.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", nargs="?", default="../shared/data/aclImdb_labeled.tar.gz")
    ap.add_argument("--fasttext", default=shutil.which("fasttext") or "fasttext")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--settings", metavar="EPOCH,LR,DIM",
                    help="skip the validation search and use these (the search chose 25,1.0,50)")
    args = ap.parse_args()
    ft = args.fasttext

    t0 = time.perf_counter()
    train_rows, test_rows = tk.read_reviews(args.data)
    ti, si = tk.keras_order(len(train_rows), len(test_rows))
    train_rows = [(tk.tokenize(train_rows[i][0]), train_rows[i][1]) for i in ti]
    test_rows = [(tk.tokenize(test_rows[i][0]), test_rows[i][1]) for i in si]
    print(f"read+shuffle+tokenise 50,000 reviews {time.perf_counter() - t0:.2f} s", flush=True)

    with tempfile.TemporaryDirectory(prefix="peers-fasttext-") as tmp:
        p = {n: os.path.join(tmp, n + ".txt") for n in ("fit", "valid", "train", "test")}
        write(p["fit"], train_rows[VALIDATION:])
        write(p["valid"], train_rows[:VALIDATION])
        write(p["train"], train_rows)
        write(p["test"], test_rows)
        val_labels = [y for _, y in train_rows[:VALIDATION]]
        test_labels = [y for _, y in test_rows]
        model = os.path.join(tmp, "model")

        val = []
        grid = [] if args.settings else itertools.product(*GRID.values())
        for values in grid:
            settings = dict(zip(GRID, values))
            secs, _ = train(ft, p["fit"], model, settings)
            acc = accuracy(ft, model, p["valid"], val_labels)
            val.append((settings, acc))
            print(f"  {settings} validation accuracy {acc:.4f} ({secs:.1f} s)", flush=True)
        # Best validation accuracy; ties: fewer epochs, then smaller dim, then smaller lr.
        if args.settings:
            epoch, lr, dim = args.settings.split(",")
            best = {"epoch": int(epoch), "lr": float(lr), "dim": int(dim)}
            print(f"{best} given, no validation search", flush=True)
        else:
            best, best_acc = max(
                val, key=lambda r: (r[1], -r[0]["epoch"], -r[0]["dim"], -r[0]["lr"]))
            print(f"chosen {best} (validation accuracy {best_acc:.4f})", flush=True)

        times, accs, loads, cpus = [], [], [], []
        for run in range(RUNS):
            loads.append(os.getloadavg()[0])
            wall, cpu = train(ft, p["train"], model, best)
            times.append(wall)
            cpus.append(cpu)
            accs.append(accuracy(ft, model, p["test"], test_labels))
            print(f"  run {run + 1}: train {times[-1]:.2f} s (CPU {cpus[-1]:.2f} s), test accuracy {accs[-1]:.4f} "
                  f"(1-min load average before: {loads[-1]:.2f})", flush=True)
        check = fasttext_test(ft, model, p["test"])
        print(f"  fasttext test: {check}")
    assert len(set(accs)) == 1, accs
    result = {
        "tool": "fastText CLI, supervised, word bigrams",
        "settings": dict(best, wordNgrams=2, thread=1, seed=0,
                         other="fastText defaults otherwise (loss softmax, minCount 1, bucket 2000000, "
                               "lrUpdateRate 100)"),
        "validation_accuracy": [dict(s, accuracy=a) for s, a in val],
        "test_accuracy": accs[0],
        "test_correct": int(round(accs[0] * len(test_labels))),
        "fasttext_test": check,
        "train_seconds_median": statistics.median(times),
        "train_seconds": times,
        "train_cpu_seconds": cpus,
        "load_average_before_runs": loads,
        "versions": {"fasttext (Debian package)": dpkg_version("fasttext")},
    }
    print(f"test accuracy {accs[0]:.4f} ({result['test_correct']}/{len(test_labels)}); training time "
          f"(`fasttext supervised` wall, reading the file included) median "
          f"{statistics.median(times):.2f} s of {', '.join(f'{t:.2f}' for t in times)}; "
          f"CPU median {statistics.median(cpus):.2f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
