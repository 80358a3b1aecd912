#!/usr/bin/env python3
"""Recomputes a burn-imdb model's logits from its safetensors export with numpy alone.

Reads what `cargo run --example export` writes into a folder:
  model.safetensors          the weights in Burn's and Keras's layout, [in, out] kernels
  model.pytorch.safetensors  the same in PyTorch's layout, [out, in] kernels
  reviews.json               [{"text", "ids", "logit"}]: each review's multi-hot columns and
                             the logit the Rust model gave it

and, for each file and each review, builds the multi-hot row x (1 at `ids`), then
    a = x * input_weights                         (when the model has them)
    a = act(a @ W_i + b_i)  for each hidden layer (act: the config's activation)
    logit = a @ W_out + b_out
in float64, with the layout the file's metadata names (`burn_imdb.layout`; PyTorch's kernels
are transposed first), and compares it with the Rust logit. The names, shapes and metadata are
those docs/guide/export.md documents, and are checked here too.

Usage: python3 tools/safetensors-check/check.py DIR [--tolerance 1e-5]
Exit status 0 when every logit agrees within the tolerance.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from safetensors import safe_open

ACTIVATIONS = {"relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh}


def load(path):
    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata() or {}
        tensors = {name: f.get_tensor(name) for name in f.keys()}
    return meta, tensors


def network(meta, tensors):
    """The layers of the file, as (W [in, out], b) in float64, checked against its config."""
    layout = meta["burn_imdb.layout"]
    config = json.loads(meta["burn_imdb.config"])
    hidden, widths = [], [config["input"]] + config["hidden"]
    for name, t in tensors.items():
        assert t.dtype == np.float32, f"{name}: {t.dtype}"

    def kernel(name, fan_in, fan_out):
        w = tensors.pop(name).astype(np.float64)
        expected = (fan_in, fan_out) if layout == "burn" else (fan_out, fan_in)
        assert w.shape == expected, f"{name}: shape {w.shape}, expected {expected} ({layout})"
        return w if layout == "burn" else w.T

    def bias(name, n):
        b = tensors.pop(name).astype(np.float64)
        assert b.shape == (n,), f"{name}: shape {b.shape}, expected ({n},)"
        return b

    for i, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        hidden.append((kernel(f"hidden.{i}.weight", fan_in, fan_out), bias(f"hidden.{i}.bias", fan_out)))
    output = (kernel("output.weight", widths[-1], 1), bias("output.bias", 1))
    scale = None
    if config.get("input_weights") is not None:
        scale = tensors.pop("input_weights").astype(np.float64)
        assert scale.shape == (config["input"],), f"input_weights: shape {scale.shape}"
    assert not tensors, f"tensors the config does not explain: {sorted(tensors)}"
    return config, hidden, output, scale


def logit(ids, config, hidden, output, scale):
    x = np.zeros(config["input"], dtype=np.float64)
    x[np.asarray(ids, dtype=np.int64)] = 1.0
    a = x if scale is None else x * scale
    act = ACTIVATIONS[config["activation"]]
    for w, b in hidden:
        a = act(a @ w + b)
    w, b = output
    return float((a @ w + b)[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--tolerance", type=float, default=1e-5)
    args = parser.parse_args()
    reviews = json.loads((args.dir / "reviews.json").read_text())
    worst, failed = 0.0, 0
    for file in ["model.safetensors", "model.pytorch.safetensors"]:
        meta, tensors = load(args.dir / file)
        config, hidden, output, scale = network(meta, tensors)
        print(f"{file}: layout {meta['burn_imdb.layout']}, {config['input']} inputs, "
              f"hidden {config['hidden']}, {config['activation']}, producer {meta.get('producer')}")
        for r in reviews:
            ours = logit(r["ids"], config, hidden, output, scale)
            diff = abs(ours - r["logit"])
            worst = max(worst, diff)
            ok = diff <= args.tolerance
            failed += not ok
            print(f"  {'ok  ' if ok else 'FAIL'} rust {r['logit']:+.7f} numpy {ours:+.7f} "
                  f"|diff| {diff:.2e}  {r['text'][:48]!r}")
    print(f"max |diff| {worst:.2e} over {2 * len(reviews)} logits (tolerance {args.tolerance:g}); "
          f"safetensors {__import__('safetensors').__version__}, numpy {np.__version__}")
    if failed:
        print(f"{failed} logits differ by more than {args.tolerance:g}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
