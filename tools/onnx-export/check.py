#!/usr/bin/env python3
"""Runs a burn-imdb model's ONNX export with onnxruntime and compares its logits with Rust's.

Reads DIR/model.onnx (tools/onnx-export) and DIR/reviews.json (`cargo run --example export`:
each review's multi-hot columns `ids` and the `logit` the Rust model gave it), checks the model
with the ONNX checker, runs every review as one batch on onnxruntime's CPU provider, and
compares the logits.

Usage: python3 tools/onnx-export/check.py DIR [--tolerance 1e-5]
Exit status 0 when every logit agrees within the tolerance.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--tolerance", type=float, default=1e-5)
    args = parser.parse_args()
    path = args.dir / "model.onnx"
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    print(f"{path}: opset {model.opset_import[0].version}, nodes "
          f"{' '.join(n.op_type for n in model.graph.node)}")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (input,), (output,) = session.get_inputs(), session.get_outputs()
    print(f"input {input.name} {input.shape}, output {output.name} {output.shape}")
    reviews = json.loads((args.dir / "reviews.json").read_text())
    x = np.zeros((len(reviews), input.shape[1]), dtype=np.float32)
    for i, r in enumerate(reviews):
        x[i, r["ids"]] = 1.0
    (y,) = session.run([output.name], {input.name: x})
    worst = 0.0
    for r, logit in zip(reviews, y[:, 0]):
        diff = abs(float(logit) - r["logit"])
        worst = max(worst, diff)
        print(f"  {'ok  ' if diff <= args.tolerance else 'FAIL'} rust {r['logit']:+.7f} "
              f"onnxruntime {float(logit):+.7f} |diff| {diff:.2e}  {r['text'][:40]!r}")
    print(f"max |diff| {worst:.2e} over {len(reviews)} logits (tolerance {args.tolerance:g}); "
          f"onnx {onnx.__version__}, onnxruntime {ort.__version__}, numpy {np.__version__}")
    if worst > args.tolerance:
        sys.exit(1)


if __name__ == "__main__":
    main()
