"""The captioner's LSTM decoder in PyTorch, decoding with Python loops as PyTorch code does, for
parity tests and benchmarks/captioning.py.

The layers of the official baseline's `DecoderRNN` (sn-caption): Linear -> Dropout -> ReLU ->
Linear from the clip code to the initial hidden and cell state of every layer, an embedding, a
`torch.nn.LSTM` stack and a Linear over the vocabulary. `load_flax_params` copies the weights of
`zoo.models.captioner.LSTMDecoder`, so both compute the same function. Decoding follows
`zoo.models.decoding` step for step (banned tokens, no end token first, the same beam search), in
eager PyTorch with a Python loop over tokens: one forward per token, stopping when every caption
is finished. torch is imported here, so import this module only after
`pytest.importorskip("torch")`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class LSTMDecoder(nn.Module):
    def __init__(self, code_dim: int, num_words: int, embed_dim: int = 256, hidden_dim: int = 512,
                 num_layers: int = 2):
        super().__init__()
        self.state_hidden = nn.Linear(code_dim, hidden_dim)
        self.state_output = nn.Linear(hidden_dim, hidden_dim)
        self.embedding = nn.Embedding(num_words, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, num_layers=num_layers, batch_first=True)
        self.classifier = nn.Linear(hidden_dim, num_words)
        self.num_layers = num_layers

    def initial_state(self, code: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.state_output(torch.relu(self.state_hidden(code)))
        hidden = hidden.unsqueeze(0).repeat(self.num_layers, 1, 1).contiguous()
        return hidden, hidden.clone()

    def step(self, state, tokens: torch.Tensor):
        """tokens [n] -> (logits [n, num_words], next state)."""
        output, state = self.lstm(self.embedding(tokens)[:, None], state)
        return self.classifier(output[:, 0]), state

    def forward(self, code: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: tokens [batch, length] -> logits [batch, length, num_words]."""
        output, _ = self.lstm(self.embedding(tokens), self.initial_state(code))
        return self.classifier(output)


def load_flax_params(model: LSTMDecoder, params: dict) -> LSTMDecoder:
    """Copies `zoo.models.captioner.LSTMDecoder` params (a "decoder" subtree) into `model`.

    Flax Dense kernels are [in, out] (torch weights [out, in]); an OptimizedLSTMCell has input
    kernels ii/if/ig/io without bias and recurrent kernels hi/hf/hg/ho with bias, in PyTorch's gate
    order i, f, g, o (PyTorch's two biases add up, so bias_hh is zero).
    """
    def tensor(x):
        return torch.from_numpy(np.array(x, np.float32))

    state = {}
    for name in ("state_hidden", "state_output", "classifier"):
        state[f"{name}.weight"] = tensor(params[name]["kernel"]).T
        state[f"{name}.bias"] = tensor(params[name]["bias"])
    state["embedding.weight"] = tensor(params["embedding"]["embedding"])
    for layer in range(model.num_layers):
        cell = params[f"layers_{layer}"]
        state[f"lstm.weight_ih_l{layer}"] = torch.cat([tensor(cell[f"i{g}"]["kernel"]).T for g in "ifgo"])
        state[f"lstm.weight_hh_l{layer}"] = torch.cat([tensor(cell[f"h{g}"]["kernel"]).T for g in "ifgo"])
        state[f"lstm.bias_ih_l{layer}"] = torch.cat([tensor(cell[f"h{g}"]["bias"]) for g in "ifgo"])
        state[f"lstm.bias_hh_l{layer}"] = torch.zeros_like(state[f"lstm.bias_ih_l{layer}"])
    model.load_state_dict(state)
    return model


def _log_probabilities(logits, banned, end_token, first):
    logits = logits.float().clone()
    logits[:, list(banned)] = -float("inf")
    if first:
        logits[:, end_token] = -float("inf")
    return torch.log_softmax(logits, dim=-1)


@torch.inference_mode()
def greedy(model, code, *, start_token, end_token, max_length, banned, pad_token=0) -> torch.Tensor:
    """Greedy decoding of a batch with a Python loop: tokens [batch, max_length]."""
    batch = code.shape[0]
    state = model.initial_state(code)
    last = torch.full((batch,), start_token, dtype=torch.long)
    tokens = torch.full((batch, max_length), pad_token, dtype=torch.long)
    done = torch.zeros(batch, dtype=torch.bool)
    for i in range(max_length):
        logits, state = model.step(state, last)
        chosen = _log_probabilities(logits, banned, end_token, i == 0).argmax(-1)
        chosen = torch.where(done, torch.full_like(chosen, pad_token), chosen)
        tokens[:, i] = chosen
        done |= chosen == end_token
        last = chosen
        if bool(done.all()):
            break
    return tokens


@torch.inference_mode()
def beam_search(model, code, *, beam_width, start_token, end_token, max_length, banned, length_penalty=0.0,
                pad_token=0) -> torch.Tensor:
    """The beam search of `zoo.models.decoding.beam_search`, batched over captions and beams, with a
    Python loop over tokens: tokens [batch, max_length]."""
    b, k = code.shape[0], beam_width
    penalty = lambda length: ((5.0 + length) / 6.0) ** length_penalty
    state = tuple(s.repeat_interleave(k, dim=1) for s in model.initial_state(code))
    alive_logp = torch.full((b, k), -float("inf"))
    alive_logp[:, 0] = 0.0
    alive_seq = torch.full((b, k, max_length), pad_token, dtype=torch.long)
    last = torch.full((b, k), start_token, dtype=torch.long)
    finished_score = torch.full((b, k), -float("inf"))
    finished_seq = torch.full((b, k, max_length), pad_token, dtype=torch.long)
    rows = torch.arange(b)[:, None]
    i = 0
    while i < max_length:
        best_alive = alive_logp.max(1).values / penalty(max_length)
        if bool(((best_alive < finished_score.min(1).values) | (alive_logp == -float("inf")).all(1)).all()):
            break
        logits, state = model.step(state, last.reshape(b * k))
        log_probs = _log_probabilities(logits, banned, end_token, i == 0).reshape(b, k, -1)
        vocab = log_probs.shape[-1]
        top_logp, top_index = (alive_logp[:, :, None] + log_probs).reshape(b, k * vocab).topk(2 * k, dim=1)
        parent, token = top_index // vocab, top_index % vocab
        sequences = alive_seq[rows, parent].clone()
        sequences[:, :, i] = token
        ends = token == end_token
        eligible = ends & (torch.arange(2 * k) < k)
        new_score = torch.where(eligible, top_logp / penalty(i + 1), torch.full_like(top_logp, -float("inf")))
        finished_score, keep = torch.cat([finished_score, new_score], 1).topk(k, dim=1)
        finished_seq = torch.cat([finished_seq, sequences], 1)[rows, keep]
        alive_logp, keep = torch.where(ends, torch.full_like(top_logp, -float("inf")), top_logp).topk(k, dim=1)
        alive_seq, last = sequences[rows, keep], token[rows, keep]
        flat = (rows * k + parent[rows, keep]).reshape(b * k)
        state = tuple(s[:, flat] for s in state)
        i += 1
    if i >= max_length:
        cut = alive_logp / penalty(max_length)
    else:
        cut = torch.full_like(alive_logp, -float("inf"))
    _, keep = torch.cat([finished_score, cut], 1).topk(1, dim=1)
    return torch.cat([finished_seq, alive_seq], 1)[rows, keep][:, 0]
