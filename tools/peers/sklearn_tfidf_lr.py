"""Peer 1: scikit-learn LogisticRegression on tf-idf word uni+bigrams of the project's tokens.

    python tools/peers/sklearn_tfidf_lr.py [DATA.tar.gz] [--json OUT.json]

(run from the repository root; DATA defaults to ../shared/data/aclImdb_labeled.tar.gz).

Protocol: the reviews are read, ordered and shuffled exactly as the Rust crate does (seed 113),
and tokenised by tools/peers/imdb_tokens.py (the port of crates/imdb-data/src/tokenize.rs). C is
chosen on the seed notebook's split of the *training* reviews only: fit on training reviews
10,000..25,000, score on the first 10,000. Then the vectoriser and the model are refitted on all
25,000 training reviews (three times, for the median wall time) and evaluated once on the 25,000
test reviews.
"""

import os

# Single-threaded BLAS/OpenMP: the machine has 2 cores and liblinear is single-threaded anyway.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

import imdb_tokens as tk  # noqa: E402  (beside this script: Python puts its folder first)

VALIDATION = 10_000
C_GRID = [1.0, 2.0, 3.0, 5.0, 7.0, 10.0]
RUNS = 3


def _identity(x):
    return x


def make_vectorizer():
    # Documents are already token lists (the project's tokens): no sklearn preprocessing or
    # tokenisation; sklearn only forms the bigrams (consecutive tokens, joined by a space).
    return TfidfVectorizer(
        preprocessor=_identity,
        tokenizer=_identity,
        token_pattern=None,
        lowercase=False,
        ngram_range=(1, 2),
        min_df=2,
        sublinear_tf=True,
        dtype=np.float64,
    )


def make_model(c):
    return LogisticRegression(C=c, solver="liblinear", max_iter=1000, random_state=0)


def fit(docs, labels, c):
    vec = make_vectorizer()
    x = vec.fit_transform(docs)
    model = make_model(c).fit(x, labels)
    return vec, model


def accuracy(vec, model, docs, labels):
    return float((model.predict(vec.transform(docs)) == labels).mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", nargs="?", default="../shared/data/aclImdb_labeled.tar.gz")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--C", type=float, dest="c",
                    help="skip the validation search and use this C (the search chose 10)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    train, test = tk.read_reviews(args.data)
    ti, si = tk.keras_order(len(train), len(test))
    train = [train[i] for i in ti]
    test = [test[i] for i in si]
    t1 = time.perf_counter()
    x_train = [tk.tokenize(t) for t, _ in train]
    x_test = [tk.tokenize(t) for t, _ in test]
    y_train = np.array([label for _, label in train])
    y_test = np.array([label for _, label in test])
    t2 = time.perf_counter()
    print(f"read+shuffle {t1 - t0:.2f} s, tokenise 50,000 reviews {t2 - t1:.2f} s "
          f"({len(x_train)} train, {len(x_test)} test)", flush=True)

    # Model selection on the training split only.
    val_x, val_y = x_train[:VALIDATION], y_train[:VALIDATION]
    fit_x, fit_y = x_train[VALIDATION:], y_train[VALIDATION:]
    val = {}
    for c in ([] if args.c else C_GRID):
        s = time.perf_counter()
        vec, model = fit(fit_x, fit_y, c)
        val[c] = accuracy(vec, model, val_x, val_y)
        print(f"  C={c:<5g} validation accuracy {val[c]:.4f}  "
              f"({len(vec.vocabulary_)} features, {time.perf_counter() - s:.1f} s)", flush=True)
    if args.c:
        best_c = args.c
        print(f"C={best_c:g} given, no validation search", flush=True)
    else:
        best_c = max(C_GRID, key=lambda c: (val[c], -c))  # ties: the smaller C
        print(f"chosen C={best_c:g} (validation accuracy {val[best_c]:.4f})", flush=True)

    # Final refit on all 25,000 training reviews, timed three times.
    times, vec_times, fit_times, accs, loads, cpus = [], [], [], [], [], []
    for run in range(RUNS):
        loads.append(os.getloadavg()[0])
        cpu = time.process_time()
        s = time.perf_counter()
        vec = make_vectorizer()
        x = vec.fit_transform(x_train)
        m = time.perf_counter()
        model = make_model(best_c).fit(x, y_train)
        e = time.perf_counter()
        cpus.append(time.process_time() - cpu)
        times.append(e - s)
        vec_times.append(m - s)
        fit_times.append(e - m)
        accs.append(accuracy(vec, model, x_test, y_test))
        print(f"  run {run + 1}: train {e - s:.2f} s (vectorise {m - s:.2f} s + fit {e - m:.2f} s; "
              f"CPU {cpus[-1]:.2f} s), "
              f"test accuracy {accs[-1]:.4f} (1-min load average before: {loads[-1]:.2f})",
              flush=True)
    assert len(set(accs)) == 1, accs
    result = {
        "tool": "scikit-learn LogisticRegression (liblinear) on TfidfVectorizer uni+bigrams",
        "settings": {"ngram_range": [1, 2], "min_df": 2, "sublinear_tf": True, "C": best_c,
                     "solver": "liblinear", "features": len(vec.vocabulary_)},
        "validation_accuracy": {str(c): a for c, a in val.items()},
        "test_accuracy": accs[0],
        "test_correct": int(round(accs[0] * len(y_test))),
        "train_seconds_median": statistics.median(times),
        "train_seconds": times,
        "train_cpu_seconds": cpus,
        "vectorise_seconds": vec_times,
        "fit_seconds": fit_times,
        "tokenise_seconds_50k": t2 - t1,
        "load_average_before_runs": loads,
        "versions": {"python": platform.python_version(), "scikit-learn": sklearn.__version__,
                     "numpy": np.__version__},
    }
    print(f"test accuracy {accs[0]:.4f} ({result['test_correct']}/{len(y_test)}); training time "
          f"(vectorise + fit on 25,000 tokenised reviews) median {statistics.median(times):.2f} s "
          f"of {', '.join(f'{t:.2f}' for t in times)}; CPU median {statistics.median(cpus):.2f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
