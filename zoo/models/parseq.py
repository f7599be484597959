"""PARSeq: scene-text recognition with permuted autoregressive sequence models.

Bautista & Atienza, "Scene Text Recognition with Permuted Autoregressive Sequence Models",
ECCV 2022. A ViT encoder (`zoo.models.vit`) turns the image into memory tokens; a pre-norm
decoder with two streams (XLNet's content and query streams) reads them:

  content = [embed(BOS), pos_1 + embed(c_1), ..., pos_T + embed(c_T)]
  query   = [pos_1, ..., pos_{T+1}]        (position queries: "what is at position i?")
  each layer: query += self_attn(norm_q(query), norm_c(content), mask)
              query += cross_attn(norm1(query), memory);  query += mlp(norm2(query))
  (the content stream is updated the same way, except in the last layer)

Training draws K permutations of the label positions per batch (the canonical left-to-right
order, its reverse, and random ones with their mirrors) and turns each into attention masks, so
one model learns autoregressive (any order), cloze and non-autoregressive decoding. Inference
decodes autoregressively (greedy, `max_label_length + 1` fixed steps) or all at once, then
refines `refine_iters` times with the cloze mask. Everything has static shapes, so decoding is
one jitted function.

Tokens: EOS = 0, the charset's characters 1..n, BOS = n + 1, PAD = n + 2; the head predicts
EOS and the characters (n + 1 classes). Module and parameter names follow the published
checkpoint (`encoder.blocks.0.attn.qkv`, `decoder.layers.0.self_attn.in_proj_weight`,
`text_embed.embedding`, `pos_queries`, `head`); see `zoo.convert.torch_parseq`.

PARSeq-S (the published `parseq-bb5792a6.pt`): 32x128 images, 4x8 patches, 384 wide, encoder
12 x 6 heads, decoder 1 x 12 heads, 94 characters, max_label_length 25: 23.8M parameters.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from zoo.models.vit import VisionTransformer, attention, dense_init, gelu

DIGITS = "0123456789"
CHARSET_94 = DIGITS + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" + "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
EOS = 0
DECODER_NORM_EPS = 1e-5
MAX_NUMBER = 99  # shirt numbers the number scorer covers: 0..99


def token_ids(charset: str) -> dict[str, int]:
    """The special token ids for a charset: {"eos", "bos", "pad", "classes", "tokens"}."""
    n = len(charset)
    return {"eos": EOS, "bos": n + 1, "pad": n + 2, "classes": n + 1, "tokens": n + 3}


def encode_labels(labels: Sequence[str], charset: str, max_length: int) -> np.ndarray:
    """Texts -> token ids [len(labels), max_length + 2]: BOS, characters, EOS, PAD...

    Raises ValueError for a character outside the charset or a text longer than max_length.
    """
    ids = token_ids(charset)
    lookup = {c: i + 1 for i, c in enumerate(charset)}
    out = np.full((len(labels), max_length + 2), ids["pad"], np.int32)
    out[:, 0] = ids["bos"]
    for row, text in enumerate(labels):
        if len(text) > max_length:
            raise ValueError(f"label {text!r} is longer than max_label_length={max_length}")
        try:
            out[row, 1 : len(text) + 1] = [lookup[c] for c in text]
        except KeyError as error:
            raise ValueError(f"label {text!r} has a character {error} outside the charset {charset!r}") from None
        out[row, len(text) + 1] = EOS
    return out


def decode_tokens(token_ids_: np.ndarray, charset: str) -> list[str]:
    """Class ids [n, steps] (EOS = 0, character i at i) -> texts cut at the first EOS."""
    texts = []
    for row in np.asarray(token_ids_):
        chars = []
        for t in row:
            if t == EOS or t > len(charset):
                break
            chars.append(charset[t - 1])
        texts.append("".join(chars))
    return texts


# ----------------------------------------------------------------------------- permutations


def permutation_count(max_length: int, perm_num: int, mirrored: bool) -> int:
    """K, the number of orderings trained per batch (static: it sets the loss's shapes)."""
    if max_length == 1:
        return 1
    max_perms = math.factorial(max_length) // (2 if mirrored else 1)
    generated = min(perm_num // 2 if mirrored else perm_num, max_perms)
    return 2 * generated if mirrored else generated


def sample_permutations(rng: jax.Array, max_length: int, perm_num: int, forward: bool,
                        mirrored: bool) -> jax.Array:
    """The K orderings of one batch, over positions [BOS, 1..T, EOS]: int [K, T + 2].

    As the published training: the canonical order first (if `forward`), random others (for
    T < 5 drawn without repetition from all T! orders, else independently), each followed by its
    mirror (if `mirrored`); BOS is always first and EOS last, except in the second ordering,
    which is the reverse order with EOS first (EOS then learns from the empty context, which
    non-autoregressive decoding needs).
    """
    t = max_length
    if t == 1:
        return jnp.arange(3)[None]
    count = permutation_count(t, perm_num, mirrored)
    generated = count // 2 if mirrored else count
    perms = [jnp.arange(t)] if forward else []
    if t < 5:
        pool = np.array(list(itertools.permutations(range(t))))
        if t == 4 and mirrored:  # one of each mirror pair, in the published order
            pool = pool[[0, 3, 4, 6, 9, 10, 12, 16, 17, 18, 19, 21]]
        elif mirrored:
            pool = pool[: len(pool) // 2]
        if forward:
            pool = pool[1:]
        need = generated - len(perms)
        if need > 0:
            chosen = jax.random.choice(rng, len(pool), (need,), replace=False)
            perms += list(jnp.asarray(pool)[chosen])
    else:
        keys = jax.random.split(rng, generated)
        perms += [jax.random.permutation(k, t) for k in keys[len(perms):]]
    perms = jnp.stack(perms)
    if mirrored:  # each ordering followed by its mirror
        perms = jnp.stack([perms, perms[:, ::-1]], axis=1).reshape(-1, t)
    k = perms.shape[0]
    perms = jnp.concatenate([jnp.zeros((k, 1), perms.dtype), perms + 1,
                             jnp.full((k, 1), t + 1, perms.dtype)], axis=1)
    if k > 1:
        perms = perms.at[1, 1:].set(t + 1 - jnp.arange(t + 1))
    return perms


def permutation_masks(perm: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Attention masks of one ordering (True = hidden): (content [T+1, T+1], query [T+1, T+1]).

    A position sees the positions that come before it in the ordering; a query also never sees
    its own token.
    """
    size = perm.shape[0]
    rank = jnp.zeros(size, jnp.int32).at[perm].set(jnp.arange(size))
    later = rank[None, :] > rank[:, None]  # [query position, key position]
    content = later[:-1, :-1]
    query = (later | jnp.eye(size, dtype=bool))[1:, :-1]
    return content, query


# ----------------------------------------------------------------------------- modules


class MultiheadAttention(nn.Module):
    """torch.nn.MultiheadAttention (batch_first): packed `in_proj` for q, k, v, then `out_proj`.

    Call: query [..., Lq, D], key/value [..., Lk, D] (leading axes broadcast, so one memory
    serves many queries), mask [..., Lq, Lk] (True = hidden) -> [..., Lq, D].
    """

    num_heads: int
    dropout: float = 0.0

    @nn.compact
    def __call__(self, query, key, value, mask=None, *, train: bool = False):
        dim = query.shape[-1]
        # torch stores in_proj_weight [3D, D] with xavier_uniform init and zero bias.
        kernel = self.param("in_proj_kernel", nn.initializers.xavier_uniform(), (dim, 3 * dim))
        bias = self.param("in_proj_bias", nn.initializers.zeros, (3 * dim,))
        heads = lambda x: x.reshape(*x.shape[:-1], self.num_heads, dim // self.num_heads)  # noqa: E731
        q = heads(query @ kernel[:, :dim] + bias[:dim])
        k = heads(key @ kernel[:, dim : 2 * dim] + bias[dim : 2 * dim])
        v = heads(value @ kernel[:, 2 * dim :] + bias[2 * dim :])
        out = attention(q, k, v, mask, nn.Dropout(self.dropout), deterministic=not train)
        out = out.reshape(*out.shape[:-2], dim)
        return nn.Dense(dim, kernel_init=dense_init, name="out_proj")(out)


class DecoderLayer(nn.Module):
    """PARSeq's two-stream pre-norm decoder layer (`decoder.layers.<i>`).

    Call: query [..., Lq, D], content [..., L, D], memory [..., S, D], masks (True = hidden)
    -> (query, content), the content updated only with `update_content`.
    """

    dim: int
    num_heads: int
    mlp_ratio: int = 4
    dropout: float = 0.1

    def setup(self):
        self.self_attn = MultiheadAttention(self.num_heads, self.dropout)
        self.cross_attn = MultiheadAttention(self.num_heads, self.dropout)
        self.linear1 = nn.Dense(self.dim * self.mlp_ratio, kernel_init=dense_init)
        self.linear2 = nn.Dense(self.dim, kernel_init=dense_init)
        self.norm1 = nn.LayerNorm(DECODER_NORM_EPS)
        self.norm2 = nn.LayerNorm(DECODER_NORM_EPS)
        self.norm_q = nn.LayerNorm(DECODER_NORM_EPS)
        self.norm_c = nn.LayerNorm(DECODER_NORM_EPS)
        self.drop = nn.Dropout(self.dropout)

    def stream(self, tgt, tgt_norm, tgt_kv, memory, mask, train):
        drop = lambda x: self.drop(x, deterministic=not train)  # noqa: E731
        tgt = tgt + drop(self.self_attn(tgt_norm, tgt_kv, tgt_kv, mask, train=train))
        tgt = tgt + drop(self.cross_attn(self.norm1(tgt), memory, memory, train=train))
        hidden = drop(gelu(self.linear1(self.norm2(tgt))))
        return tgt + drop(self.linear2(hidden))

    def __call__(self, query, content, memory, query_mask, content_mask, *, update_content: bool,
                 train: bool):
        content_norm = self.norm_c(content)
        query = self.stream(query, self.norm_q(query), content_norm, memory, query_mask, train)
        if update_content:
            content = self.stream(content, content_norm, content_norm, memory, content_mask, train)
        return query, content


class Decoder(nn.Module):
    """`decoder`: the layers, then the final LayerNorm `norm` of the query stream."""

    dim: int
    depth: int
    num_heads: int
    mlp_ratio: int = 4
    dropout: float = 0.1

    def setup(self):
        self.layers = [DecoderLayer(self.dim, self.num_heads, self.mlp_ratio, self.dropout)
                       for _ in range(self.depth)]
        self.norm = nn.LayerNorm(DECODER_NORM_EPS)

    def __call__(self, query, content, memory, query_mask, content_mask, *, train: bool):
        for i, layer in enumerate(self.layers):
            query, content = layer(query, content, memory, query_mask, content_mask,
                                   update_content=i < self.depth - 1, train=train)
        return self.norm(query)


class PARSeq(nn.Module):
    """PARSeq over `charset`.

    Attributes (published PARSeq-S defaults except the charset and length, which the jersey
    recogniser sets to digits and 2):
      charset: the characters, in token order (token i + 1 is charset[i]).
      max_label_length: T, the longest text; decoding runs T + 1 steps.
      patch_size, embed_dim, enc_num_heads, enc_mlp_ratio, enc_depth: the ViT encoder.
      dec_num_heads, dec_mlp_ratio, dec_depth: the decoder.
      perm_num, perm_forward, perm_mirrored: the training orderings (`sample_permutations`).
      decode_ar: autoregressive decoding (else all positions at once from the empty context).
      refine_iters: cloze refinement passes after decoding.
      dropout: in the decoder (embeddings, attention weights, residual branches).
      score_numbers: at inference, also score every shirt number 0..99 (needs the digits in the
        charset and T >= 2).
      remat: recompute each encoder block in the backward pass (zoo.models.remat).

    Call: inputs {"images": [batch, height, width, 3], RGB / 255 scaled to [-1, 1] as the published
    model reads them, "tokens": [batch, T + 2] int
    (`encode_labels`; only read in training)} ->
      training: {"logits": [K, batch, T + 1, classes]}, one set per ordering (see
        `zoo.losses.text_recognition.permutation_loss`);
      inference: {"logits": [batch, T + 1, classes] after decoding and refinement,
        "number_log_probs": [batch, 100] log P(text = str(n)) for n = 0..99 under the
        left-to-right model (with score_numbers)}.
    """

    charset: str = DIGITS
    max_label_length: int = 2
    patch_size: Sequence[int] = (4, 8)
    embed_dim: int = 384
    enc_num_heads: int = 6
    enc_mlp_ratio: int = 4
    enc_depth: int = 12
    dec_num_heads: int = 12
    dec_mlp_ratio: int = 4
    dec_depth: int = 1
    perm_num: int = 6
    perm_forward: bool = True
    perm_mirrored: bool = True
    decode_ar: bool = True
    refine_iters: int = 1
    dropout: float = 0.1
    score_numbers: bool = True
    remat: bool = False

    def setup(self):
        ids = token_ids(self.charset)
        self.encoder = VisionTransformer(
            patch_size=self.patch_size, embed_dim=self.embed_dim, depth=self.enc_depth,
            num_heads=self.enc_num_heads, mlp_ratio=self.enc_mlp_ratio, remat=self.remat)
        self.decoder = Decoder(self.embed_dim, self.dec_depth, self.dec_num_heads, self.dec_mlp_ratio,
                               self.dropout)
        self.head = nn.Dense(ids["classes"], kernel_init=dense_init)
        self.text_embed = nn.Embed(ids["tokens"], self.embed_dim, embedding_init=dense_init)
        self.pos_queries = self.param("pos_queries", dense_init, (1, self.max_label_length + 1, self.embed_dim))
        self.drop = nn.Dropout(self.dropout)

    # ------------------------------------------------------------------ the two streams

    def decode(self, tokens, memory, *, content_mask=None, padding_mask=None, query=None,
               query_mask=None, train=False):
        """The decoder's query-stream output.

        tokens [..., L] (BOS first), memory [..., S, D] (leading axes broadcast against the
        tokens'), masks True = hidden: content_mask [L, L], padding_mask [..., L], query
        [..., Lq, D] (default: the first L position queries), query_mask [Lq, L].
        Returns [..., Lq, D].
        """
        length = tokens.shape[-1]
        scale = math.sqrt(self.embed_dim)
        null_context = scale * self.text_embed(tokens[..., :1])
        content = self.pos_queries[0, : length - 1] + scale * self.text_embed(tokens[..., 1:])
        content = self.drop(jnp.concatenate([null_context, content], axis=-2), deterministic=not train)
        if query is None:
            query = jnp.broadcast_to(self.pos_queries[0, :length], (*tokens.shape[:-1], length, self.embed_dim))
        query = self.drop(query, deterministic=not train)

        def combine(mask):
            if padding_mask is None:
                return mask
            padding = padding_mask[..., None, :]
            return padding if mask is None else mask | padding

        memory = memory[..., None, :, :] if memory.ndim < content.ndim else memory
        return self.decoder(query, content, memory, combine(query_mask), combine(content_mask), train=train)

    # ------------------------------------------------------------------ training

    def permutation_logits(self, memory, tokens, train, perms=None):
        """Logits [K, batch, T + 1, classes] of the target tokens under each ordering: `perms`
        [K, T + 2] if given, else K sampled ones (`sample_permutations`)."""
        ids = token_ids(self.charset)
        if perms is None:
            rng = self.make_rng("dropout") if self.has_rng("dropout") else jax.random.key(0)
            perms = sample_permutations(rng, self.max_label_length, self.perm_num,
                                        self.perm_forward, self.perm_mirrored)
        tokens_in = tokens[:, :-1]
        padding = (tokens_in == ids["pad"]) | (tokens_in == ids["eos"])
        logits = []
        for k in range(perms.shape[0]):
            content_mask, query_mask = permutation_masks(perms[k])
            out = self.decode(tokens_in, memory, content_mask=content_mask, padding_mask=padding,
                              query_mask=query_mask, train=train)
            logits.append(self.head(out))
        return jnp.stack(logits)

    # ------------------------------------------------------------------ inference

    def read(self, memory):
        """Greedy decoding then cloze refinement: logits [batch, T + 1, classes]."""
        ids = token_ids(self.charset)
        batch, steps = memory.shape[0], self.max_label_length + 1
        pos_queries = jnp.broadcast_to(self.pos_queries[0, :steps], (batch, steps, self.embed_dim))
        causal = jnp.triu(jnp.ones((steps, steps), bool), 1)
        if self.decode_ar:
            tokens = jnp.full((batch, steps), ids["pad"], jnp.int32).at[:, 0].set(ids["bos"])
            logits = []
            # Step i reads the tokens before it and asks only position i (later positions are
            # masked anyway): T + 1 small decodes with static shapes, unrolled.
            for i in range(steps):
                out = self.decode(tokens[:, : i + 1], memory, content_mask=causal[: i + 1, : i + 1],
                                  query=pos_queries[:, i : i + 1], query_mask=causal[i : i + 1, : i + 1])
                step_logits = self.head(out)[:, 0]
                logits.append(step_logits)
                if i + 1 < steps:
                    tokens = tokens.at[:, i + 1].set(jnp.argmax(step_logits, axis=-1).astype(jnp.int32))
            logits = jnp.stack(logits, axis=1)
        else:
            tokens = jnp.full((batch, 1), ids["bos"], jnp.int32)
            logits = self.head(self.decode(tokens, memory, query=pos_queries))
        cloze = causal & ~jnp.triu(jnp.ones((steps, steps), bool), 2)  # hide only the own token
        bos = jnp.full((batch, 1), ids["bos"], jnp.int32)
        for _ in range(self.refine_iters):
            tokens = jnp.concatenate([bos, jnp.argmax(logits[:, :-1], axis=-1).astype(jnp.int32)], axis=1)
            padding = jnp.cumsum(tokens == ids["eos"], axis=-1) > 0  # from the first EOS on
            logits = self.head(self.decode(tokens, memory, content_mask=causal, padding_mask=padding,
                                           query=pos_queries, query_mask=cloze))
        return logits

    def number_log_probs(self, memory):
        """log P(text = str(n)) [batch, 100] for n = 0..99 under the left-to-right model.

        Every one- and two-digit prefix is decoded once (1 + 10 + 100 rows per image, the memory
        shared), so P("7") = p(7 | BOS) p(EOS | 7) and P("23") = p(2 | BOS) p(3 | 2) p(EOS | 23)
        are exact, not per-position guesses.
        """
        ids = token_ids(self.charset)
        digit = np.array([self.charset.index(d) + 1 for d in DIGITS], np.int32)
        batch = memory.shape[0]
        level_tokens = [
            np.full((1, 1), ids["bos"], np.int32),
            np.stack([np.full(10, ids["bos"]), digit], axis=1),
            np.stack([np.full(100, ids["bos"]), np.repeat(digit, 10), np.tile(digit, 10)], axis=1),
        ]
        log_probs = []
        for level, tokens in enumerate(level_tokens):
            causal = jnp.triu(jnp.ones((level + 1, level + 1), bool), 1)
            tokens = jnp.broadcast_to(jnp.asarray(tokens), (batch, *tokens.shape))
            query = jnp.broadcast_to(self.pos_queries[0, level : level + 1], (*tokens.shape[:-1], 1, self.embed_dim))
            out = self.decode(tokens, memory[:, None], content_mask=causal, query=query,
                              query_mask=causal[level : level + 1])
            log_probs.append(jax.nn.log_softmax(self.head(out)[..., 0, :].astype(jnp.float32), axis=-1))
        first, second, third = log_probs  # [b, 1, C], [b, 10, C], [b, 100, C]
        one_digit = first[:, 0, digit] + second[:, :, EOS]  # "0".."9"
        two = (first[:, 0, digit][:, :, None] + second[:, :, digit]).reshape(batch, 100) + third[:, :, EOS]
        return jnp.concatenate([one_digit, two[:, 10:]], axis=1)  # drop "00".."09"

    def __call__(self, inputs, *, train: bool):
        memory, _ = self.encoder(inputs["images"])
        if train:
            return {"logits": self.permutation_logits(memory, inputs["tokens"], train)}
        outputs = {"logits": self.read(memory)}
        if self.score_numbers and self.max_label_length >= 2 and set(DIGITS) <= set(self.charset):
            outputs["number_log_probs"] = self.number_log_probs(memory)
        return outputs
