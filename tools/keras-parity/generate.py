"""Trains Keras on the Rust side's input and writes the Keras-parity fixture.

Usage (see README.md beside this file):
    python generate.py INPUT_DIR OUTPUT_DIR

INPUT_DIR is what `cargo test --test keras_parity -- --ignored write_keras_input` wrote:
`fixture.json` (the variants' configs, the initial weights' files and shapes), `x_{train,val}.npy`
(multi-hot rows, uint8) and `y_{train,val}.npy` (labels, uint8), and `initial_*.npy` (every
parameter flattened, in Keras's `get_weights()` order: kernel, bias, layer by layer).

For each variant it builds the seed notebook's model from the config, sets the initial weights,
trains with `fit(shuffle=False, batch_size=512, validation_data=...)` and records `history.history`
and the final weights. The dropout variant is trained once per seed in `dropout.seeds` (masks from
Keras's generator), and only its histories are kept. OUTPUT_DIR gets `fixture.json` with Keras's
results and the versions that made them, the initial weights, and `final_<variant>.npy`.
"""

import json
import platform
import shutil
import sys
from pathlib import Path

import numpy as np

import keras
import tensorflow as tf


def build(config, initial, shapes):
    """The seed notebook's MLP from one of our `ExperimentConfig`s, with given initial weights."""
    m = config["model"]
    assert m["initializer"] == "keras", "the generator sets weights; any draw is overwritten"
    regularizer = keras.regularizers.L2(m["l2"]) if m["l2"] is not None else None
    inputs = keras.Input(shape=(m["input"],))
    x = inputs
    for units in m["hidden"]:
        x = keras.layers.Dense(units, activation=m["activation"], kernel_regularizer=regularizer)(x)
        if m["dropout"] is not None:
            x = keras.layers.Dropout(m["dropout"])(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)

    weights, offset = [], 0
    for shape in shapes:
        n = int(np.prod(shape))
        weights.append(initial[offset : offset + n].reshape(shape))
        offset += n
    assert offset == initial.size, "initial weights: size does not match the shapes"
    model.set_weights(weights)

    o = config["optimizer"]
    model.compile(
        # Keras's RMSprop as the seed uses it: no momentum, not centred.
        optimizer=keras.optimizers.RMSprop(
            learning_rate=o["learning_rate"], rho=o["rho"], epsilon=o["epsilon"]
        ),
        loss={"bce": "binary_crossentropy", "mse": "mean_squared_error"}[config["loss"]],
        # What the string "accuracy" resolves to for one sigmoid output.
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy")],
    )
    return model


def train(config, initial, shapes, data):
    model = build(config, initial, shapes)
    (x_train, y_train), validation = data
    history = model.fit(
        x_train,
        y_train,
        epochs=config["epochs"],
        batch_size=config["batch_size"],
        validation_data=validation,
        shuffle=False,
        verbose=0,
    )
    h = {k: [float(v) for v in history.history[k]] for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
    final = np.concatenate([w.ravel() for w in model.get_weights()]).astype("<f4")
    return h, final


def main(input_dir, output_dir):
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    spec = json.loads((input_dir / "fixture.json").read_text())

    def rows(name):
        x = np.load(input_dir / f"x_{name}.npy").astype("float32")
        y = np.load(input_dir / f"y_{name}.npy").astype("float32").reshape(-1, 1)
        return x, y

    data = (rows("train"), rows("val"))
    assert data[0][0].shape == (spec["train_reviews"], spec["num_words"])
    assert data[1][0].shape == (spec["validation_reviews"], spec["num_words"])

    # Same numbers on every rerun of this script (there is no randomness but dropout's).
    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(0)

    def initial(variant):
        shutil.copyfile(input_dir / variant["initial"], output_dir / variant["initial"])
        return np.load(input_dir / variant["initial"]).astype("float32")

    for variant in spec["variants"]:
        history, final = train(variant["config"], initial(variant), variant["shapes"], data)
        name = f"final_{variant['name']}.npy"
        np.save(output_dir / name, final)
        variant["keras"] = {"history": history, "final_weights": name}
        print(variant["name"], {k: round(v[-1], 4) for k, v in history.items()}, flush=True)

    dropout = spec["dropout"]
    weights = initial(dropout["variant"])
    dropout["keras"] = []
    for seed in dropout["seeds"]:
        keras.utils.set_random_seed(seed)
        history, _ = train(dropout["variant"]["config"], weights, dropout["variant"]["shapes"], data)
        dropout["keras"].append(history)
        print("dropout seed", seed, {k: round(v[-1], 4) for k, v in history.items()}, flush=True)

    spec["generator"] = {
        "script": "tools/keras-parity/generate.py",
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
    }
    (output_dir / "fixture.json").write_text(json.dumps(spec, indent=1) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
