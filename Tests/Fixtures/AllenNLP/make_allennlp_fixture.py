#!/usr/bin/env python3
"""AllenNLP fixtures for ELMoKit's bilm-tf / AllenNLP weight interop (issue 8), computed by AllenNLP itself.

Part 1 (`bilm_tf/`): writes a seeded random tiny bilm-tf model (options.json + weights.hdf5, in the layout bilm-tf's
`dump_weights` writes, weights large enough that the cell and projection clips are active), runs AllenNLP's
`_ElmoBiLm` and `Elmo` on SENTENCES, and saves AllenNLP's tokens (`str.split()`), character ids (`batch_to_ids`),
every layer's activations (boundaries removed) and the `Elmo` average to `bilm_tf/allennlp.json`. The Swift test
imports the weights with `BilmTfWeights` and must match every layer within 1e-4.

Part 2 (`native/`, needs `--elmo`): pre-trains a tiny ELMoKit model with the `elmo` CLI (our own highway convention,
a softmax, clips active), keeps its checkpoint as `native/model.npz`, exports it with `elmo export-weights` to
`native/export/`, has AllenNLP load that export and run SENTENCES, and saves the result to `native/allennlp.json`.
The Swift test exports `model.npz` again, checks the files equal `native/export/` (so AllenNLP's result applies to
the current exporter), and checks ELMoKit's own vectors for `model.npz` against AllenNLP's.

Run by hand from the repository root (AllenNLP is never needed at test time):

    python3 -m venv --system-site-packages VENV
    VENV/bin/pip install --no-deps allennlp==2.10.1 cached-path==1.1.6
    VENV/bin/pip install h5py lmdb tqdm dill base58 more-itertools
    swift build --product elmo
    VENV/bin/python Tests/Fixtures/AllenNLP/make_allennlp_fixture.py --elmo .build/debug/elmo

Made with torch 2.13.0+cpu, allennlp 2.10.1, h5py and numpy from the environment above.
"""
import argparse
import importlib
import importlib.abc
import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
import tempfile
import types

import h5py
import numpy as np
import torch

# AllenNLP's package __init__ imports libraries its ELMo modules never use; the missing ones become placeholders.
PLACEHOLDER_ROOTS = ["transformers", "spacy", "google", "huggingface_hub", "rich", "torchvision", "fairscale"]


class _PlaceholderType(type):
    """Attributes of a placeholder class are placeholder classes too (`storage.blob.Blob` in annotations)."""
    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _placeholder(name)

def _placeholder(name):
    return _PlaceholderType(name, (), {"__init__": lambda self, *a, **k: None})

class _Anything(types.ModuleType):
    """A module whose every attribute is a placeholder class (so `from x import Y` and subclassing work)."""
    __path__ = []
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = _placeholder(name)
        setattr(self, name, value)
        return value

class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, roots):
        self.roots = roots
    def find_spec(self, name, path=None, target=None):
        if any(name == r or name.startswith(r + ".") for r in self.roots):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None
    def create_module(self, spec):
        return _Anything(spec.name)
    def exec_module(self, module):
        pass



def install_placeholders():
    missing = []
    for root in PLACEHOLDER_ROOTS:
        try:
            importlib.import_module(root)
        except ImportError:
            missing.append(root)
    sys.meta_path.insert(0, _Finder(missing))
    return missing


HERE = os.path.dirname(os.path.abspath(__file__))

KOREAN_48 = "대한민국의수도는서울특별시입니다"          # 16 syllables = 48 bytes
KOREAN_51 = "대한민국의수도는서울특별시였습니다"        # 17 syllables = 51 bytes: cut after 16
KOREAN_49 = "가" + "a" + "나" * 15                   # 49 bytes: cut inside the last syllable
FAMILY = "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466"   # one emoji of 25 bytes
LONG_60 = "Pneumonoultramicroscopicsilicovolcanoconiosis-is-a-long-word"

# Raw lines: the Swift test tokenises them itself and must get AllenNLP's tokens (Python's str.split()).
LINES = [
    "The quick brown fox , said \"Hello!\" ( twice ) ; it's 3.14 % of U.S. e-mail ...",
    LONG_60 + " is 60 characters long .",
    "a" * 48 + " has 48 bytes and " + "b" * 49 + " has 49 bytes",
    KOREAN_48 + " " + KOREAN_51 + " " + KOREAN_49 + " 서울 한국어",
    "emoji \U0001F44D\U0001F3FD " + FAMILY + " " + FAMILY + FAMILY + " \U0001F1F0\U0001F1F7 ok",
    "Hello",
    "literal <S> and </S> tokens",
    "split\u3000on\u00a0unicode\u2003white\x1cspace but\u200bnot zero-width",
    "caf\u00e9 cafe\u0301 na\u00efve",
]

assert [len(w.encode()) for w in (KOREAN_48, KOREAN_51, KOREAN_49, FAMILY, LONG_60)] == [48, 51, 49, 25, 60]


def tiny_bilm_tf_model(rng):
    """options.json and datasets of a tiny bilm-tf model: weights scaled so both clips bite."""
    options = {
        "bidirectional": True,
        "char_cnn": {"activation": "relu", "embedding": {"dim": 4}, "filters": [[1, 4], [2, 8], [3, 8]],
                     "max_characters_per_token": 50, "n_characters": 262, "n_highway": 2},
        "lstm": {"cell_clip": 3, "dim": 24, "n_layers": 2, "proj_clip": 3, "projection_dim": 8,
                 "use_skip_connections": True},
        "n_tokens_vocab": 1000,
        "some_unknown_key": {"ignored": True},
    }
    cnn, lstm = options["char_cnn"], options["lstm"]
    d, f = cnn["embedding"]["dim"], sum(n for _, n in cnn["filters"])
    p, c = lstm["projection_dim"], lstm["dim"]

    def normal(shape, scale):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    data = {"char_embed": normal((261, d), 1.0)}
    for k, (width, count) in enumerate(cnn["filters"]):
        data["CNN/W_cnn_%d" % k] = normal((1, width, d, count), 0.5)
        data["CNN/b_cnn_%d" % k] = normal((count,), 0.2)
    for k in range(cnn["n_highway"]):
        for part in ("carry", "transform"):
            data["CNN_high_%d/W_%s" % (k, part)] = normal((f, f), 0.3)
            data["CNN_high_%d/b_%s" % (k, part)] = normal((f,), 0.5)
    data["CNN_proj/W_proj"] = normal((f, p), 0.5)
    data["CNN_proj/b_proj"] = normal((p,), 0.2)
    for direction in range(2):
        for k in range(lstm["n_layers"]):
            prefix = "RNN_%d/RNN/MultiRNNCell/Cell%d/LSTMCell/" % (direction, k)
            data[prefix + "W_0"] = normal((2 * p, 4 * c), 0.6)
            bias = normal((4 * c,), 0.5)
            bias[2 * c:3 * c] += 1.5       # a strong forget gate lets the cell grow past the clip
            data[prefix + "B"] = bias
            data[prefix + "W_P_0"] = normal((c, p), 0.8)
    return options, data


def write_model(folder, options, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "options.json"), "w") as out:
        json.dump(options, out, indent=1, sort_keys=True)
    with h5py.File(os.path.join(folder, "weights.hdf5"), "w") as out:
        for name, value in data.items():
            out.create_dataset(name, data=value)


def rounded(array):
    return [float("%.8g" % v) for v in np.asarray(array, dtype=np.float64).ravel()]


class ClipCounter:
    """Counts values torch.clamp changes inside AllenNLP's LSTM cell, split by width (cell vs projection)."""

    def __init__(self, cell_size):
        self.cell_size, self.cell, self.projection = cell_size, 0, 0

    def __enter__(self):
        self.original = torch.clamp

        def counting(x, low, high):
            changed = int(((x < low) | (x > high)).sum())
            if x.shape[-1] == self.cell_size:
                self.cell += changed
            else:
                self.projection += changed
            return self.original(x, low, high)

        torch.clamp = counting
        return self

    def __exit__(self, *exc):
        torch.clamp = self.original


def run_allennlp(folder, lines):
    """AllenNLP's tokens, char ids, per-layer activations and Elmo average for `lines`, on folder's model."""
    from allennlp.modules.elmo import Elmo, _ElmoBiLm, batch_to_ids
    options_file, weight_file = os.path.join(folder, "options.json"), os.path.join(folder, "weights.hdf5")
    with open(options_file) as f:
        cell_size = json.load(f)["lstm"]["dim"]
    tokens = [line.split() for line in lines]
    ids = batch_to_ids(tokens)
    bilm = _ElmoBiLm(options_file, weight_file).eval()   # a fresh, stateful ElmoLstm: every sentence starts at zero
    with torch.no_grad(), ClipCounter(cell_size) as clips:
        output = bilm(ids)
    elmo = Elmo(options_file, weight_file, num_output_representations=1, dropout=0.0).eval()
    with torch.no_grad():
        average = elmo(ids)["elmo_representations"][0]
    sentences = []
    for i, sentence in enumerate(tokens):
        n = len(sentence)
        sentences.append({
            "line": lines[i],
            "tokens": sentence,
            "char_ids": [[int(c) for c in ids[i, t]] for t in range(n)],
            # (L+1, n, 2P): rows 1..n of each layer (row 0 is <S>).
            "layers": [rounded(layer[i, 1:n + 1]) for layer in output["activations"]],
            "elmo_average": rounded(average[i, :n]),
        })
    return {"layer_count": len(output["activations"]), "dimension": int(output["activations"][0].shape[-1]),
            "clipped_cells": clips.cell, "clipped_projections": clips.projection, "sentences": sentences}


def save(result, path):
    with open(path, "w") as out:
        json.dump(result, out, ensure_ascii=False, separators=(",", ":"))
        out.write("\n")
    print("wrote %s (%d bytes); clipped cells %d, projections %d" % (path, os.path.getsize(path),
                                                                       result["clipped_cells"], result["clipped_projections"]))
    assert result["clipped_cells"] > 0 and result["clipped_projections"] > 0, "make the weights larger: a clip is idle"


NATIVE_OPTIONS = {
    "char_cnn": {"embedding": {"dim": 4}, "filters": [[1, 4], [2, 8], [3, 8]], "n_highway": 1, "activation": "relu",
                 "n_characters": 262, "max_characters_per_token": 50},
    "lstm": {"dim": 24, "projection_dim": 8, "n_layers": 2, "cell_clip": 0.6, "proj_clip": 0.25,
             "use_skip_connections": True},
    "dropout": 0.1, "batch_size": 4, "unroll_steps": 6, "n_negative_samples_batch": 0, "all_clip_norm_val": 10,
    "optimizer": "adagrad", "learning_rate": 0.5, "initial_accumulator_value": 1.0, "highway_gate_bias": -2,
}


def make_native(elmo, folder):
    """Pre-trains a tiny ELMoKit model, exports it with `elmo export-weights`, and runs AllenNLP on the export."""
    scratch = tempfile.mkdtemp(prefix="elmo-native-")
    try:
        rng = np.random.default_rng(11)
        words = ["the", "a", "cat", "dog", "sat", "ran", "on", "under", "mat", "tree", ".", ",", "and", "quickly"]
        corpus = os.path.join(scratch, "train.txt")
        with open(corpus, "w") as out:
            for _ in range(300):
                out.write(" ".join(rng.choice(words, size=int(rng.integers(3, 10)))) + "\n")
        config = os.path.join(scratch, "native.json")
        with open(config, "w") as out:
            json.dump(NATIVE_OPTIONS, out)
        run = os.path.join(scratch, "run")
        subprocess.run([elmo, "pretrain", "--config", config, "--train", corpus, "--output", run, "--max-tokens", "4000",
                        "--seed", "5", "--threads", "1"], check=True)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(run, "latest")) as f:
            shutil.copyfile(os.path.join(run, f.read().strip()), os.path.join(folder, "model.npz"))
        export = os.path.join(folder, "export")
        shutil.rmtree(export, ignore_errors=True)
        subprocess.run([elmo, "export-weights", "--checkpoint", os.path.join(folder, "model.npz"), "--output", export],
                       check=True)
        save(run_allennlp(export, LINES), os.path.join(folder, "allennlp.json"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--elmo", help="the built elmo binary (part 2 is skipped without it)")
    parser.add_argument("--out", default=HERE)
    args = parser.parse_args()
    print("placeholder modules:", install_placeholders())
    torch.manual_seed(0)
    torch.set_num_threads(1)

    folder = os.path.join(args.out, "bilm_tf")
    options, data = tiny_bilm_tf_model(np.random.default_rng(8))
    write_model(folder, options, data)
    save(run_allennlp(folder, LINES), os.path.join(folder, "allennlp.json"))
    if args.elmo:
        make_native(os.path.abspath(args.elmo), os.path.join(args.out, "native"))


if __name__ == "__main__":
    main()
