#!/usr/bin/env python3
"""The "original" ELMo shape at scale (issue 8, part 5): random weights, import/export timing, AllenNLP's speed.

    write DIR                  seeded random bilm-tf options.json + weights.hdf5 of the original English model's shape
                               (filters up to 1024 (2048 in all), 2 highway layers, LSTM 2 x 4096 cells, projection 512:
                               93.6 M parameters, ~375 MB) -- the input for `elmo import-weights`
    bench DIR --sentences F    AllenNLP's inference path (`_ElmoBiLm`, eval, no grad) on F (one sentence per line, split
                               like `elmo embed`), in batches of --batch sentences sorted by length as `elmo embed` does;
                               prints tokens/s. --compare H5 also reports max |AllenNLP - ELMoKit| per layer against the
                               output of `elmo embed --layers all` on the same file.

Not part of the test suite (minutes at this size). Run with the AllenNLP environment of make_allennlp_fixture.py, e.g.:

    VENV/bin/python Tests/Fixtures/AllenNLP/bench_original.py write /tmp/original
    elmo import-weights --options /tmp/original/options.json --weights /tmp/original/weights.hdf5 --output /tmp/original.npz
    VENV/bin/python Tests/Fixtures/AllenNLP/bench_original.py bench /tmp/original --sentences S.txt --threads 2
"""
import argparse
import json
import os
import sys
import time

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_allennlp_fixture import install_placeholders  # noqa: E402

ORIGINAL = {
    "char_cnn": {"activation": "relu", "embedding": {"dim": 16}, "filters": [[1, 32], [2, 32], [3, 64], [4, 128], [5, 256],
                                                                             [6, 512], [7, 1024]],
                 "max_characters_per_token": 50, "n_characters": 262, "n_highway": 2},
    "lstm": {"cell_clip": 3, "dim": 4096, "n_layers": 2, "proj_clip": 3, "projection_dim": 512, "use_skip_connections": True},
}


def write(folder):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    cnn, lstm = ORIGINAL["char_cnn"], ORIGINAL["lstm"]
    d, f = cnn["embedding"]["dim"], sum(n for _, n in cnn["filters"])
    p, c = lstm["projection_dim"], lstm["dim"]

    def uniform(shape, fan_in):
        return rng.uniform(-1, 1, size=shape).astype(np.float32) / np.float32(np.sqrt(fan_in))

    total = 0
    with h5py.File(os.path.join(folder, "weights.hdf5"), "w") as out:
        def put(name, value):
            nonlocal total
            total += value.size
            out.create_dataset(name, data=value)

        put("char_embed", uniform((261, d), 1))
        for k, (width, count) in enumerate(cnn["filters"]):
            put("CNN/W_cnn_%d" % k, uniform((1, width, d, count), width * d))
            put("CNN/b_cnn_%d" % k, uniform((count,), width * d))
        for k in range(cnn["n_highway"]):
            for part in ("carry", "transform"):
                put("CNN_high_%d/W_%s" % (k, part), uniform((f, f), f))
                put("CNN_high_%d/b_%s" % (k, part), uniform((f,), f))
        put("CNN_proj/W_proj", uniform((f, p), f))
        put("CNN_proj/b_proj", uniform((p,), f))
        for direction in range(2):
            for k in range(lstm["n_layers"]):
                prefix = "RNN_%d/RNN/MultiRNNCell/Cell%d/LSTMCell/" % (direction, k)
                put(prefix + "W_0", uniform((2 * p, 4 * c), p))
                put(prefix + "B", uniform((4 * c,), p))
                put(prefix + "W_P_0", uniform((c, p), c))
    with open(os.path.join(folder, "options.json"), "w") as out:
        json.dump(ORIGINAL, out, indent=1)
    print(json.dumps({"folder": folder, "parameters": total,
                      "weights_bytes": os.path.getsize(os.path.join(folder, "weights.hdf5"))}))


def bench(folder, sentences_path, threads, batch, compare):
    install_placeholders()
    from allennlp.modules.elmo import _ElmoBiLm, batch_to_ids
    torch.set_num_threads(threads)
    with open(sentences_path, encoding="utf-8") as f:
        sentences = [line.split() for line in f if line.split()]
    order = sorted(range(len(sentences)), key=lambda i: (len(sentences[i]), i))
    batches = [order[i:i + batch] for i in range(0, len(order), batch)]
    started = time.time()
    bilm = _ElmoBiLm(os.path.join(folder, "options.json"), os.path.join(folder, "weights.hdf5")).eval()
    load_seconds = time.time() - started
    outputs = {}
    with torch.no_grad():
        bilm(batch_to_ids([sentences[i] for i in batches[0]]))  # warm-up (not timed)
        started = time.time()
        for indices in batches:
            bilm._elmo_lstm.reset_states()  # each batch from a zero state, as elmo embed
            result = bilm(batch_to_ids([sentences[i] for i in indices]))
            if compare:
                for row, i in enumerate(indices):
                    if i < 8:
                        n = len(sentences[i])
                        outputs[i] = np.stack([layer[row, 1:n + 1].numpy() for layer in result["activations"]])
        seconds = time.time() - started
    tokens = sum(len(s) for s in sentences)
    summary = {"impl": "allennlp-2.10.1 _ElmoBiLm (torch %s)" % torch.__version__, "threads": threads, "batch": batch,
               "sentences": len(sentences), "tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds,
               "load_seconds": load_seconds}
    if compare:
        with h5py.File(compare, "r") as ours:
            worst = np.zeros(3)
            for i, theirs in outputs.items():
                worst = np.maximum(worst, np.abs(ours[str(i)][...] - theirs).reshape(3, -1).max(axis=1))
        summary["max_abs_diff_per_layer_first_8_sentences"] = worst.tolist()
    print(json.dumps(summary))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["write", "bench"])
    parser.add_argument("folder")
    parser.add_argument("--sentences")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--compare", help="elmo embed --layers all output of the same --sentences file")
    args = parser.parse_args()
    if args.command == "write":
        write(args.folder)
    else:
        bench(args.folder, args.sentences, args.threads, args.batch, args.compare)


if __name__ == "__main__":
    main()
