#!/usr/bin/env python3
"""Known-answer fixture for ELMoKit's biLM, computed by the PyTorch reference model.

Builds the ref-tiny biLM of bilm_reference.py, beside this script (char-CNN (1,32)(2,32)(3,64) -> 1 highway -> projection 64
-> forward and backward 2-layer LSTMP (cell 256, clips 3, residual into layer 2) -> shared softmax), with a small
vocabulary (V = 40) so the fixture stays small, dropout off, and weights given by an integer formula that Swift
reproduces exactly (no weight file to commit):

    w[i] = scale * ((i * 7919 + 13 * k) % 1009 / 504.5 - 1)      (i = flat index in ELMoKit's layout, k = parameter number)

Then runs two consecutive truncated-BPTT windows (states carried, as in training) and writes to biLM_known_answer.json:
inputs, both windows' losses, the top-layer outputs of both directions for window 1, and for every parameter the
gradient of window 1's loss at 64 fixed positions plus its sum and sum of absolute values.

Run once by hand (torch 2.13.0+cpu: pip install "torch==2.13.0+cpu"), from the repository root:
    python3 Tests/ElmoBiLMTests/Fixtures/make_fixtures.py
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilm_reference as ref  # noqa: E402

V, B, T = 40, 2, 6


def formula(shape, scale, k):
    n = 1
    for s in shape:
        n *= s
    i = torch.arange(n, dtype=torch.float64)
    vals = scale * (torch.remainder(i * 7919 + 13 * k, 1009) / 504.5 - 1)
    return vals.to(torch.float32).reshape(shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "biLM_known_answer.json"))
    args = ap.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(1)
    cfg = dict(ref.CONFIGS["ref-tiny"], vocab=V)
    model = ref.BiLM(cfg)
    model.eval()  # dropout off; gradients still flow
    P, C = cfg["proj"], cfg["cell"]
    F_ = sum(n for _, n in cfg["filters"])

    # ELMoKit parameter list, in its layout; `set` copies a tensor in our layout into the torch module.
    params = []

    def add(name, shape, scale, setter, fix=None):
        k = len(params)
        w = formula(shape, scale, k)
        if fix:
            w = fix(w)
        params.append(dict(name=name, shape=list(shape), scale=scale, k=k))
        with torch.no_grad():
            setter(w)
        return w

    cnn = model.embed

    def zero_row0(w):
        w = w.clone()
        w[0] = 0
        return w

    add("char_cnn/char_embed/weight", (262, 16), 1.0, lambda w: cnn.char_emb.weight.copy_(w), zero_row0)
    for k, ((width, n), conv) in enumerate(zip(cfg["filters"], cnn.convs)):
        # ours [width*D, n], row = offset*D + d ; torch [n, D, width]
        add(f"char_cnn/conv_{k}/weight", (width * 16, n), 1 / (width * 16) ** 0.5,
            lambda w, conv=conv, width=width, n=n: conv.weight.copy_(w.reshape(width, 16, n).permute(2, 1, 0)))
        add(f"char_cnn/conv_{k}/bias", (n,), 1 / (width * 16) ** 0.5, lambda w, conv=conv: conv.bias.copy_(w))
    hw = cnn.highways[0]
    add("highway/layer_0/weight", (F_, 2 * F_), 1 / F_ ** 0.5, lambda w: hw.weight.copy_(w.t()))

    def gate_bias(w):
        w = w.clone()
        w[F_:] = -2.0
        return w

    add("highway/layer_0/bias", (2 * F_,), 1 / F_ ** 0.5, lambda w: hw.bias.copy_(w), gate_bias)
    add("projection/weight", (F_, P), 1 / F_ ** 0.5, lambda w: cnn.proj.weight.copy_(w.t()))
    add("projection/bias", (P,), 1 / F_ ** 0.5, lambda w: cnn.proj.bias.copy_(w))
    for direction, stack in (("forward", model.fwd), ("backward", model.bwd)):
        for k, layer in enumerate(stack.layers):
            pre = f"{direction}/layer_{k}"
            add(f"{pre}/input_weight", (P, 4 * C), 1 / P ** 0.5, lambda w, l=layer: l.w_x.weight.copy_(w.t()))
            add(f"{pre}/bias", (4 * C,), 1 / P ** 0.5, lambda w, l=layer: l.w_x.bias.copy_(w))
            add(f"{pre}/recurrent_weight", (P, 4 * C), 1 / P ** 0.5, lambda w, l=layer: l.w_h.weight.copy_(w.t()))
            add(f"{pre}/projection_weight", (C, P), 1 / C ** 0.5, lambda w, l=layer: l.w_p.weight.copy_(w.t()))
    add("softmax/weight", (V, P), 1 / P ** 0.5, lambda w: model.softmax.weight.copy_(w))
    add("softmax/bias", (V,), 1 / P ** 0.5, lambda w: model.softmax.bias.copy_(w))
    assert sum(p.numel() for p in model.parameters()) == sum(
        torch.Size(p["shape"]).numel() for p in params), "parameter lists differ"

    # Inputs: words with ASCII, Korean (multi-byte UTF-8) and an over-long token; two windows of B x T.
    words = ["the", "cat", "sat", "on", "a", "mat", "한국어", "텍스트", "x" * 60, "Ünïcödé", "<S>", "</S>"]
    g = torch.Generator().manual_seed(3)
    rows = 2 * T
    f_in = [[words[int(i)] for i in torch.randint(0, len(words), (rows,), generator=g)] for _ in range(B)]
    b_in = [[words[int(i)] for i in torch.randint(0, len(words), (rows,), generator=g)] for _ in range(B)]
    f_tg = torch.randint(0, V, (B, rows), generator=g)
    b_tg = torch.randint(0, V, (B, rows), generator=g)

    def chars(tokens):
        return torch.tensor([[ref.word_to_char_ids(w) for w in row] for row in tokens], dtype=torch.long)

    fs, bs = model.fwd.zero_states(B), model.bwd.zero_states(B)
    out = dict(reference="bilm_reference.py ref-tiny (lstmp), vocab %d, torch %s" % (V, torch.__version__),
               vocab=V, batch=B, unroll=T, params=params,
               forward_words=f_in, backward_words=b_in,
               forward_targets=f_tg.tolist(), backward_targets=b_tg.tolist(), windows=[])
    for wi in range(2):
        sl = slice(wi * T, (wi + 1) * T)
        fc, bc = chars([r[sl] for r in f_in]), chars([r[sl] for r in b_in])
        model.zero_grad(set_to_none=False)
        fs, bs = ref.detach(fs), ref.detach(bs)
        e_f = model.embed(fc).transpose(0, 1)
        f_outs, fs = model.fwd(e_f, fs)
        e_b = model.embed(bc).transpose(0, 1)
        b_outs, bs = model.bwd(e_b, bs)
        lf = torch.nn.functional.cross_entropy(model.softmax(f_outs[-1]).reshape(-1, V), f_tg[:, sl].t().reshape(-1))
        lb = torch.nn.functional.cross_entropy(model.softmax(b_outs[-1]).reshape(-1, V), b_tg[:, sl].t().reshape(-1))
        loss = 0.5 * (lf + lb)
        loss.backward()
        window = dict(loss=loss.item(), loss_forward=lf.item(), loss_backward=lb.item())
        if wi == 0:
            window["embedding"] = e_f.transpose(0, 1).reshape(-1).tolist()  # [B, T, P]
            window["forward_top"] = f_outs[-1].transpose(0, 1).reshape(-1).tolist()
            window["backward_top"] = b_outs[-1].transpose(0, 1).reshape(-1).tolist()
            grads = {}
            # gradients in our layout, by re-running the same conversions on .grad
            ours = ours_layout_grads(model, cfg, F_)
            for p in params:
                gflat = ours[p["name"]].reshape(-1)
                n = gflat.numel()
                idx = [(j * 7331 + 17) % n for j in range(min(64, n))]
                grads[p["name"]] = dict(indices=idx, values=[gflat[i].item() for i in idx],
                                        sum=gflat.double().sum().item(), abs_sum=gflat.double().abs().sum().item())
            window["gradients"] = grads
        out["windows"].append(window)
    with open(args.out, "w") as f:
        json.dump(out, f)
    print("wrote", args.out, "loss", out["windows"][0]["loss"], out["windows"][1]["loss"])


def ours_layout_grads(model, cfg, F_):
    cnn = model.embed
    g = {"char_cnn/char_embed/weight": cnn.char_emb.weight.grad}
    for k, ((width, n), conv) in enumerate(zip(cfg["filters"], cnn.convs)):
        g[f"char_cnn/conv_{k}/weight"] = conv.weight.grad.permute(2, 1, 0).reshape(width * 16, n)
        g[f"char_cnn/conv_{k}/bias"] = conv.bias.grad
    hw = cnn.highways[0]
    g["highway/layer_0/weight"] = hw.weight.grad.t()
    g["highway/layer_0/bias"] = hw.bias.grad
    g["projection/weight"] = cnn.proj.weight.grad.t()
    g["projection/bias"] = cnn.proj.bias.grad
    for direction, stack in (("forward", model.fwd), ("backward", model.bwd)):
        for k, layer in enumerate(stack.layers):
            pre = f"{direction}/layer_{k}"
            g[f"{pre}/input_weight"] = layer.w_x.weight.grad.t()
            g[f"{pre}/bias"] = layer.w_x.bias.grad
            g[f"{pre}/recurrent_weight"] = layer.w_h.weight.grad.t()
            g[f"{pre}/projection_weight"] = layer.w_p.weight.grad.t()
    g["softmax/weight"] = model.softmax.weight.grad
    g["softmax/bias"] = model.softmax.bias.grad
    return {k: v.contiguous() for k, v in g.items()}


if __name__ == "__main__":
    main()
