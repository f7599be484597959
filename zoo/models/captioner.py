"""The SoccerNet-Caption captioner: a NetVLAD++ encoder of the window around a spot and a caption
decoder, an LSTM (the official baseline, `Video2Caption`) or a Transformer.

Encoder: the NetVLAD++ pooling of the spotting baseline (`zoo.models.netvlad.temporal_vlad_code`)
over a window centred on the spot (45 s in the baseline). Its layers are named as in the spotter
(`NetVLADPlusPlus`) under "encoder/", so a trained captioner's encoder initialises the spotter with
one rename, `^encoder/` -> `` (the baseline's transfer; see configs/captioning/).

Decoders, both trained with teacher forcing and generating with `zoo.models.decoding` (greedy or
beam search, jitted, one compilation for every caption length):
  * "lstm": the baseline's `DecoderRNN`: the code goes through Linear -> Dropout -> ReLU -> Linear
    to the initial hidden and cell state of every layer; word embedding, a stack of LSTM layers and
    a linear layer over the vocabulary.
  * "transformer": pre-LayerNorm decoder blocks (causal self-attention, cross-attention, MLP) that
    attend to the NetVLAD++ code split into its clusters: each cluster's residual descriptor is one
    memory token. Generation keeps a key/value cache of the self-attention.

Tokens follow `zoo.data.caption_vocabulary`'s conventions through the fields `start_token`,
`end_token` and `banned_tokens` (padding, start and unknown are never generated).
"""

from __future__ import annotations

from typing import Any

import einops
import flax.linen as nn
import jax
import jax.numpy as jnp

from zoo.models import decoding
from zoo.models.netvlad import temporal_vlad_code

DECODERS = ("lstm", "transformer")


class NetVLADPlusPlusEncoder(nn.Module):
    """NetVLAD++ code of a window: [batch, time, dim] -> [batch, width * vocab_size]."""

    vocab_size: int = 64
    projection_dim: int | None = 512

    @nn.compact
    def __call__(self, window: jax.Array) -> jax.Array:
        return temporal_vlad_code(window, vocab_size=self.vocab_size, projection_dim=self.projection_dim)


class LSTMDecoder(nn.Module):
    """The baseline's LSTM decoder (see the module docstring).

    Call: code [batch, code_dim], tokens [batch, length] (teacher forcing: start, words...) ->
    logits [batch, length, num_words]. `initial_state` and `step` generate one token at a time.
    """

    num_words: int
    embed_dim: int = 256
    hidden_dim: int = 512
    num_layers: int = 2
    dropout_rate: float = 0.4

    def setup(self):
        # setup, not compact: teacher forcing, the initial state and one generation step share layers.
        self.state_hidden = nn.Dense(self.hidden_dim)
        self.state_dropout = nn.Dropout(self.dropout_rate)
        self.state_output = nn.Dense(self.hidden_dim)
        self.embedding = nn.Embed(self.num_words, self.embed_dim)
        self.layers = [nn.OptimizedLSTMCell(self.hidden_dim) for _ in range(self.num_layers)]
        self.classifier = nn.Dense(self.num_words)

    def initial_state(self, code: jax.Array, *, train: bool) -> tuple:
        """((cell, hidden) [batch, hidden_dim] per layer): the same clip vector for every one."""
        hidden = nn.relu(self.state_dropout(self.state_hidden(code), deterministic=not train))
        hidden = self.state_output(hidden)
        return tuple((hidden, hidden) for _ in range(self.num_layers))

    def _recur(self, state: tuple, tokens: jax.Array) -> tuple[tuple, jax.Array]:
        x = self.embedding(tokens)
        new_state = []
        for layer, carry in zip(self.layers, state):
            carry, x = layer(carry, x)
            new_state.append(carry)
        return tuple(new_state), x

    def step(self, state: tuple, tokens: jax.Array) -> tuple[jax.Array, tuple]:
        """tokens [n] -> (logits [n, num_words], next state)."""
        state, hidden = self._recur(state, tokens)
        return self.classifier(hidden), state

    def __call__(self, code: jax.Array, tokens: jax.Array, *, train: bool) -> jax.Array:
        recur = nn.scan(
            lambda module, state, x: module._recur(state, x),
            variable_broadcast="params", split_rngs={"params": False}, in_axes=1, out_axes=1,
        )
        _, hidden = recur(self, self.initial_state(code, train=train), tokens)
        return self.classifier(hidden)


class _Attention(nn.Module):
    """Multi-head dot-product attention with its own projections, usable one query at a time."""

    num_heads: int
    width: int

    def setup(self):
        head_dim = self.width // self.num_heads
        self.query = nn.DenseGeneral((self.num_heads, head_dim))
        self.key = nn.DenseGeneral((self.num_heads, head_dim))
        self.value = nn.DenseGeneral((self.num_heads, head_dim))
        self.out = nn.DenseGeneral(self.width, axis=(-2, -1))

    def keys_values(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """x [batch, length, width] -> keys, values [batch, length, heads, head_dim]."""
        return self.key(x), self.value(x)

    def attend(self, x: jax.Array, keys: jax.Array, values: jax.Array, mask: jax.Array | None) -> jax.Array:
        """x [batch, q, width] over keys/values [batch, k, heads, head_dim]; mask broadcast to
        [batch, heads, q, k] (True: attend) -> [batch, q, width]."""
        query = self.query(x) / jnp.sqrt(keys.shape[-1]).astype(x.dtype)
        logits = jnp.einsum("bqhd,bkhd->bhqk", query, keys)
        if mask is not None:
            logits = jnp.where(mask, logits, jnp.finfo(logits.dtype).min)
        weights = jax.nn.softmax(logits.astype(jnp.float32), axis=-1).astype(values.dtype)
        return self.out(jnp.einsum("bhqk,bkhd->bqhd", weights, values))


class _DecoderBlock(nn.Module):
    """Pre-LayerNorm block: causal self-attention, cross-attention to the memory, MLP."""

    num_heads: int
    width: int
    mlp_dim: int
    dropout_rate: float

    def setup(self):
        self.self_norm, self.cross_norm, self.mlp_norm = nn.LayerNorm(), nn.LayerNorm(), nn.LayerNorm()
        self.self_attention = _Attention(self.num_heads, self.width)
        self.cross_attention = _Attention(self.num_heads, self.width)
        self.mlp_in, self.mlp_out = nn.Dense(self.mlp_dim), nn.Dense(self.width)
        self.dropout = nn.Dropout(self.dropout_rate)

    def __call__(self, x, memory_kv, self_kv, self_mask, *, train: bool):
        """x [batch, q, width]; memory_kv: the cross-attention keys/values; self_kv: the
        self-attention keys/values x attends to (its own, or the cache) under self_mask."""
        drop = lambda y: self.dropout(y, deterministic=not train)
        x = x + drop(self.self_attention.attend(self.self_norm(x), *self_kv, self_mask))
        x = x + drop(self.cross_attention.attend(self.cross_norm(x), *memory_kv, None))
        return x + drop(self.mlp_out(drop(nn.gelu(self.mlp_in(self.mlp_norm(x))))))


class TransformerDecoder(nn.Module):
    """A Transformer caption decoder attending to the NetVLAD++ clusters (see the module docstring).

    Call: code [batch, code_dim], tokens [batch, length <= max_length] -> logits
    [batch, length, num_words]. `initial_state` and `step` generate one token at a time with a
    key/value cache of max_length positions.
    """

    num_words: int
    clusters: int  # NetVLAD++ clusters in the code: the memory tokens
    width: int = 512
    num_layers: int = 2
    num_heads: int = 8
    mlp_dim: int = 2048
    dropout_rate: float = 0.1
    max_length: int = 50

    def setup(self):
        self.memory_projection = nn.Dense(self.width)
        self.memory_norm = nn.LayerNorm()
        init = nn.initializers.normal(0.02)
        self.memory_position = self.param("memory_position", init, (self.clusters, self.width))
        self.embedding = nn.Embed(self.num_words, self.width, embedding_init=init)
        self.position = self.param("position", init, (self.max_length, self.width))
        self.blocks = [
            _DecoderBlock(self.num_heads, self.width, self.mlp_dim, self.dropout_rate) for _ in range(self.num_layers)
        ]
        self.norm = nn.LayerNorm()
        self.classifier = nn.Dense(self.num_words)
        self.dropout = nn.Dropout(self.dropout_rate)

    def _memory_kv(self, code: jax.Array, *, train: bool) -> list:
        # The code is [before, after], each NetVLAD's residuals flattened "(d k)": one token per cluster.
        descriptors = einops.rearrange(code, "b (half d k) -> b (half k) d", half=2, k=self.clusters // 2)
        memory = self.memory_norm(self.memory_projection(descriptors)) + self.memory_position
        memory = self.dropout(memory, deterministic=not train)
        return [block.cross_attention.keys_values(memory) for block in self.blocks]

    def _embed(self, tokens: jax.Array, positions: jax.Array, *, train: bool) -> jax.Array:
        return self.dropout(self.embedding(tokens) + self.position[positions], deterministic=not train)

    def __call__(self, code: jax.Array, tokens: jax.Array, *, train: bool) -> jax.Array:
        length = tokens.shape[1]
        if length > self.max_length:
            raise ValueError(f"{length} tokens, but the decoder has {self.max_length} positions (max_length)")
        memory_kv = self._memory_kv(code, train=train)
        x = self._embed(tokens, jnp.arange(length), train=train)
        causal = jnp.tril(jnp.ones((length, length), bool))
        for block, kv in zip(self.blocks, memory_kv):
            x = block(x, kv, block.self_attention.keys_values(block.self_norm(x)), causal, train=train)
        return self.classifier(self.norm(x))

    def initial_state(self, code: jax.Array, *, train: bool) -> dict:
        """The memory keys/values, an empty self-attention cache and the position of each row."""
        memory_kv = self._memory_kv(code, train=train)
        keys, _ = memory_kv[0]
        cache = jnp.zeros((code.shape[0], self.max_length, *keys.shape[2:]), keys.dtype)
        return {"memory": memory_kv, "cache": [(cache, cache) for _ in self.blocks],
                "position": jnp.zeros((code.shape[0],), jnp.int32)}

    def step(self, state: dict, tokens: jax.Array) -> tuple[jax.Array, dict]:
        """tokens [n] -> (logits [n, num_words], next state)."""
        position = state["position"]  # [n], the same for every row of a search
        x = self._embed(tokens[:, None], position[:, None], train=False)
        rows = jnp.arange(tokens.shape[0])
        visible = (jnp.arange(self.max_length)[None, :] <= position[:, None])[:, None, None, :]
        cache = []
        for block, kv, (keys, values) in zip(self.blocks, state["memory"], state["cache"]):
            new_keys, new_values = block.self_attention.keys_values(block.self_norm(x))
            keys = keys.at[rows, position].set(new_keys[:, 0])
            values = values.at[rows, position].set(new_values[:, 0])
            x = block(x, kv, (keys, values), visible, train=False)
            cache.append((keys, values))
        logits = self.classifier(self.norm(x))[:, 0]
        return logits, {"memory": state["memory"], "cache": cache, "position": position + 1}


class Captioner(nn.Module):
    """Window features -> caption: NetVLAD++ encoder and an LSTM or Transformer decoder.

    Attributes:
      num_words: size of the caption vocabulary (derived from the data).
      decoder: "lstm" (the baseline) or "transformer".
      vocab_size: NetVLAD clusters in total (half before, half after the window centre).
      projection_dim: features of another width are projected to this first; 0 (or None): never.
      embed_dim: word embedding width (LSTM).
      hidden_dim: LSTM hidden width, or the Transformer width.
      num_layers: LSTM layers (2 by default, 4 in the baseline's README command) or Transformer blocks.
      num_heads, mlp_dim: Transformer only.
      dropout_rate: dropout of the LSTM's initial-state MLP (0.4 in the baseline), or of the
        Transformer's embeddings and residual branches.
      max_length: generated tokens at most, the end token included (50).
      beam_width: 1 decodes greedily, more runs beam search.
      length_penalty: GNMT length normalisation exponent of beam search (0: none).
      start_token, end_token, banned_tokens: the vocabulary's special ids.

    Call: {"features": [batch, time, dim], "tokens": [batch, length] int} -> teacher-forced logits
    [batch, length, num_words] (tokens are start, w1, ...; logits predict w1, ..., end). Without
    "tokens": generated captions {"tokens": [batch, max_length] int32 (the end token, then
    padding 0), "score": [batch] float32 (log-probability, length-normalised in beam search)}.
    """

    num_words: int
    decoder: str = "lstm"
    vocab_size: int = 64
    projection_dim: int | None = 512
    embed_dim: int = 256
    hidden_dim: int = 512
    num_layers: int = 2
    num_heads: int = 8
    mlp_dim: int = 2048
    dropout_rate: float = 0.4
    max_length: int = 50
    beam_width: int = 1
    length_penalty: float = 0.0
    start_token: int = 1
    end_token: int = 2
    banned_tokens: tuple[int, ...] = (0, 1, 3)

    def _decoder(self) -> nn.Module:
        if self.decoder == "lstm":
            return LSTMDecoder(self.num_words, self.embed_dim, self.hidden_dim, self.num_layers, self.dropout_rate,
                               name="decoder")
        if self.decoder == "transformer":
            return TransformerDecoder(
                self.num_words, self.vocab_size, self.hidden_dim, self.num_layers, self.num_heads, self.mlp_dim,
                self.dropout_rate, self.max_length, name="decoder")
        raise ValueError(f"Unknown decoder {self.decoder!r}; expected one of {DECODERS}")

    @nn.compact
    def __call__(self, inputs: dict[str, jax.Array], *, train: bool) -> Any:
        code = NetVLADPlusPlusEncoder(self.vocab_size, self.projection_dim, name="encoder")(inputs["features"])
        decoder = self._decoder()
        if "tokens" in inputs:
            return decoder(code, inputs["tokens"], train=train)
        if self.is_initializing():  # create the decoder's layers before reading them below
            decoder(code, jnp.full((code.shape[0], 1), self.start_token, jnp.int32), train=False)
        return self.generate(decoder, code)

    def generate(self, decoder: nn.Module, code: jax.Array) -> dict[str, jax.Array]:
        """Greedy (beam_width 1) or beam search from the code [batch, code_dim]."""
        # The search loops in jax.lax.while_loop, which must not see a bound module: the decoder
        # runs there as a pure function of its variables.
        return generate(decoder.clone(parent=None), decoder.variables, code, beam_width=self.beam_width,
                        length_penalty=self.length_penalty, max_length=self.max_length,
                        start_token=self.start_token, end_token=self.end_token, banned_tokens=self.banned_tokens)


def generate(decoder: nn.Module, variables: dict, code: jax.Array, *, beam_width: int, length_penalty: float,
             max_length: int, start_token: int, end_token: int, banned_tokens: tuple[int, ...]
             ) -> dict[str, jax.Array]:
    """Captions of clip codes [batch, code_dim] with an (unbound) LSTMDecoder or TransformerDecoder
    and its variables: greedy search for beam_width 1, else beam search (`zoo.models.decoding`).

    Returns {"tokens": [batch, max_length] int32, "score": [batch] float32}.
    """
    def step(state, tokens):
        return decoder.apply(variables, state, tokens, method=type(decoder).step)

    settings = dict(batch_size=code.shape[0], start_token=start_token, end_token=end_token,
                    max_length=max_length, banned_tokens=banned_tokens)
    state = decoder.apply(variables, code, train=False, method=type(decoder).initial_state)
    if beam_width == 1:
        tokens, score = decoding.greedy_search(step, state, **settings)
    else:
        tokens, score = decoding.beam_search(step, state, beam_width=beam_width,
                                             length_penalty_alpha=length_penalty, **settings)
    return {"tokens": tokens, "score": score}
