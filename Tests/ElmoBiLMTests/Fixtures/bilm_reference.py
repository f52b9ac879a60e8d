"""The PyTorch biLM that ELMoKit's known-answer fixture is computed with (make_fixtures.py imports it).

It is written from the published description of ELMo's biLM (Peters et al. 2018; bilm-tf's `LanguageModel`), not
from ELMoKit's Swift code, so that the fixture checks the Swift layers against an independent implementation:

    character ids (bilm-tf's: BOW, UTF-8 bytes, EOW, padding; +1 so that 0 masks)
      -> char embedding (262 x 16) -> 1D convolutions, max over positions, ReLU
      -> highway layers (carry gate biased to carry) -> linear projection
      -> forward and backward stacks of LSTM-with-projection layers (cell and projection clipped, forget bias +1,
         residual connection into every layer after the first)
      -> one softmax shared by both directions.

Only what the fixture needs is here; tensors are time-major ([T, B, ...]) inside the LSTM stacks.
"""
import torch
import torch.nn as nn

# Model shapes by name. "ref-tiny" is Pretrain/tiny.json: filters (width, count), projection and cell sizes.
CONFIGS = {
    "ref-tiny": dict(filters=[(1, 32), (2, 32), (3, 64)], proj=64, cell=256, vocab=5000),
}
MAX_CHARS, CHAR_VOCAB, CHAR_DIM = 50, 262, 16
HIGHWAY_LAYERS, LSTM_LAYERS = 1, 2
CELL_CLIP, PROJ_CLIP, DROPOUT = 3.0, 3.0, 0.1

# bilm-tf's special character ids before the +1 shift.
BEGIN_SENTENCE_CHAR, END_SENTENCE_CHAR, BEGIN_WORD, END_WORD, PADDING = 256, 257, 258, 259, 260
BEGIN_SENTENCE, END_SENTENCE = "<S>", "</S>"


def word_to_char_ids(word):
    """bilm-tf's character ids of one token: the sentence markers are one special character each; other tokens are
    their UTF-8 bytes, cut to MAX_CHARS - 2 so that the word markers fit."""
    if word == BEGIN_SENTENCE:
        body = [BEGIN_SENTENCE_CHAR]
    elif word == END_SENTENCE:
        body = [END_SENTENCE_CHAR]
    else:
        body = list(word.encode("utf-8", "ignore")[: MAX_CHARS - 2])
    ids = [BEGIN_WORD] + body + [END_WORD]
    ids += [PADDING] * (MAX_CHARS - len(ids))
    return [i + 1 for i in ids]


class CharCNN(nn.Module):
    """Token encoder: [B, T, MAX_CHARS] character ids -> [B, T, proj]."""

    def __init__(self, cfg):
        super().__init__()
        self.char_emb = nn.Embedding(CHAR_VOCAB, CHAR_DIM, padding_idx=0)
        self.convs = nn.ModuleList([nn.Conv1d(CHAR_DIM, count, width) for width, count in cfg["filters"]])
        width = sum(count for _, count in cfg["filters"])
        self.highways = nn.ModuleList([nn.Linear(width, 2 * width) for _ in range(HIGHWAY_LAYERS)])
        for highway in self.highways:
            nn.init.constant_(highway.bias[width:], -2.0)
        self.proj = nn.Linear(width, cfg["proj"])

    def forward(self, chars):
        batch, steps, length = chars.shape
        x = self.char_emb(chars.view(batch * steps, length)).transpose(1, 2)  # [BT, CHAR_DIM, MAX_CHARS]
        h = torch.cat([torch.relu(torch.amax(conv(x), dim=2)) for conv in self.convs], dim=1)
        for highway in self.highways:
            transform, gate = highway(h).chunk(2, dim=1)
            carry = torch.sigmoid(gate)
            h = carry * h + (1 - carry) * torch.relu(transform)
        return self.proj(h).view(batch, steps, -1)


class LSTMPLayer(nn.Module):
    """One LSTM with a projection: gates from x and the previous projected state h, in the order (i, j, f, o);
    c = clip(sigmoid(f + 1) c + sigmoid(i) tanh(j)), h = clip(W_p (sigmoid(o) tanh(c)))."""

    def __init__(self, inputs, cell, proj):
        super().__init__()
        self.cell, self.proj_dim = cell, proj
        self.w_x = nn.Linear(inputs, 4 * cell, bias=True)
        self.w_h = nn.Linear(proj, 4 * cell, bias=False)
        self.w_p = nn.Linear(cell, proj, bias=False)

    def forward(self, x, state):
        h, c = state
        input_gates = self.w_x(x)  # all time steps in one product
        outputs = []
        for t in range(x.shape[0]):
            gates = torch.addmm(input_gates[t], h, self.w_h.weight.t())
            i, j, f, o = gates.chunk(4, dim=1)
            c = torch.sigmoid(f + 1.0) * c + torch.sigmoid(i) * torch.tanh(j)
            c = torch.clamp(c, -CELL_CLIP, CELL_CLIP)
            h = torch.clamp(torch.mm(torch.sigmoid(o) * torch.tanh(c), self.w_p.weight.t()), -PROJ_CLIP, PROJ_CLIP)
            outputs.append(h)
        return torch.stack(outputs, 0), (h, c)

    def zero_state(self, batch):
        return torch.zeros(batch, self.proj_dim), torch.zeros(batch, self.cell)


class LSTMStack(nn.Module):
    """One direction: LSTM_LAYERS layers, dropout on each layer's input, residual into layers after the first.
    Returns every layer's output (time-major) and the new states."""

    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.ModuleList([LSTMPLayer(cfg["proj"], cfg["cell"], cfg["proj"]) for _ in range(LSTM_LAYERS)])
        self.drop = nn.Dropout(DROPOUT)

    def forward(self, x, states):
        outputs, new_states = [], []
        for k, layer in enumerate(self.layers):
            layer_input = self.drop(x)
            y, state = layer(layer_input, states[k])
            if k > 0:
                y = y + layer_input
            outputs.append(y)
            new_states.append(state)
            x = y
        return outputs, new_states

    def zero_states(self, batch):
        return [layer.zero_state(batch) for layer in self.layers]


class BiLM(nn.Module):
    """Shared token encoder, a forward and a backward stack, one softmax for both directions."""

    def __init__(self, cfg):
        super().__init__()
        self.embed = CharCNN(cfg)
        self.fwd = LSTMStack(cfg)
        self.bwd = LSTMStack(cfg)
        self.softmax = nn.Linear(cfg["proj"], cfg["vocab"])


def detach(states):
    """Truncated backpropagation through time: carry the states into the next window without their history."""
    return [(h.detach(), c.detach()) for h, c in states]
