"""The published PARSeq checkpoint (`parseq-bb5792a6.pt`) -> Flax variables of `zoo.models.parseq.PARSeq`.

The checkpoint is the state dict of the PyTorch `PARSeq` module (its `model` inside the
Lightning system; a `model.` prefix is stripped): `encoder.*` (timm VisionTransformer, no class
token), `decoder.layers.<i>.{self_attn,cross_attn}.{in_proj_weight,in_proj_bias,out_proj.*}`,
`decoder.layers.<i>.{linear1,linear2,norm1,norm2,norm_q,norm_c}.*`, `decoder.norm.*`, `head.*`,
`text_embed.embedding.weight` and `pos_queries`. The Flax modules carry the same names, so the
mapping is a rename plus a layout change:

  `name_<i>` <-> `name.<i>`;  Dense `kernel` [in, out] <-> `weight` [out, in];  Conv `kernel`
  HWIO <-> `weight` OIHW;  LayerNorm `scale` <-> `weight`;  `in_proj_kernel` [D, 3D] <->
  `in_proj_weight` [3D, D];  Embed `embedding` <-> `embedding.weight`.

Fine-tuning on shirt numbers keeps only what the digits need: `charset="0123456789"` takes the
head's and the embedding's rows of EOS, the ten digits (and BOS, PAD), and `max_label_length=2`
the first three position queries. The published model was trained on the 94-character set
(`zoo.models.parseq.CHARSET_94`) with 25 characters at most.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from zoo.convert.torch_resnet import Conversion, check_consumed, rename, to_flax_layout, torch_key, unwrap_state_dict
from zoo.models.parseq import CHARSET_94, PARSeq, token_ids

PUBLISHED = {"charset": CHARSET_94, "max_label_length": 25}


def parseq_torch_key(path: tuple[str, ...], collection: str) -> str:
    """The PyTorch key of a PARSeq Flax leaf."""
    *modules, leaf = path
    if leaf in ("pos_embed", "pos_queries", "in_proj_bias"):
        return ".".join([*torch_key((*modules, "bias"), collection).split(".")[:-1], leaf])
    if leaf == "in_proj_kernel":
        return ".".join([*torch_key((*modules, "bias"), collection).split(".")[:-1], "in_proj_weight"])
    if leaf == "embedding":
        return ".".join([*torch_key((*modules, "bias"), collection).split(".")[:-1], "embedding", "weight"])
    return torch_key(path, collection)


def parseq_layout(tensor: np.ndarray, leaf: str) -> np.ndarray:
    if leaf == "in_proj_kernel":  # [3D, D] -> [D, 3D]
        return tensor.T
    return to_flax_layout(tensor, leaf)


def abstract_parseq(model: PARSeq, image_size=(32, 128)) -> dict[str, Any]:
    """The shapes of a PARSeq's variables, nothing computed (traced through the training path,
    which creates every parameter and is shorter than the unrolled decoding)."""
    inputs = {"images": jnp.zeros((1, *image_size, 3), jnp.float32),
              "tokens": jnp.zeros((1, model.max_label_length + 2), jnp.int32)}
    return jax.eval_shape(lambda: model.init({"params": jax.random.key(0), "dropout": jax.random.key(1)},
                                             inputs, train=True))


def _restrict_rows(state: dict[str, np.ndarray], source: str, charset: str, max_length: int) -> None:
    """Keeps the rows of `charset` (and the specials) of the head and embedding, in place."""
    missing = sorted(set(charset) - set(source))
    if missing:
        raise ValueError(f"charset characters {missing} are not in the checkpoint's charset {source!r}")
    if state["pos_queries"].shape[1] < max_length + 1:
        raise ValueError(f"max_label_length={max_length} exceeds the checkpoint's "
                         f"{state['pos_queries'].shape[1] - 1}")
    old, new = token_ids(source), token_ids(charset)
    chars = [source.index(c) + 1 for c in charset]
    head_rows = [old["eos"], *chars]
    embed_rows = [old["eos"], *chars, old["bos"], old["pad"]]
    assert len(embed_rows) == new["tokens"] and len(head_rows) == new["classes"]
    state["head.weight"] = state["head.weight"][head_rows]
    state["head.bias"] = state["head.bias"][head_rows]
    state["text_embed.embedding.weight"] = state["text_embed.embedding.weight"][embed_rows]
    state["pos_queries"] = state["pos_queries"][:, : max_length + 1]


def convert_parseq(checkpoint: Mapping[str, Any], *, model: PARSeq | None = None,
                   source_charset: str = CHARSET_94, image_size=(32, 128)) -> Conversion:
    """A PARSeq state dict -> `{"params": ...}` for `model` (default: the published PARSeq-S).

    Args:
      checkpoint: the state dict (or a dict wrapping one, e.g. a Lightning checkpoint).
      model: the Flax PARSeq to fill; its charset must be a subset of `source_charset` and its
        max_label_length at most the checkpoint's. Its sizes (embed_dim, depths, heads, patch)
        must be the checkpoint's: a mismatch is an error naming the tensors.
      source_charset: the checkpoint's charset, in token order (the published one by default).
      image_size: the model's input size (the position embedding fits one grid).
    """
    model = model or PARSeq(**PUBLISHED)
    state = unwrap_state_dict(checkpoint)
    if any(k.startswith("model.") for k in state):
        state = {k.removeprefix("model."): v for k, v in state.items()}
    if "head.weight" in state and state["head.weight"].shape[0] != len(source_charset) + 1:
        raise ValueError(f"the checkpoint's head has {state['head.weight'].shape[0]} classes; its charset "
                         f"(source_charset) must have {state['head.weight'].shape[0] - 1} characters, "
                         f"got {len(source_charset)}")
    if model.charset != source_charset or model.max_label_length + 1 != state.get(
            "pos_queries", np.zeros((1, 0, 0))).shape[1]:
        _restrict_rows(state, source_charset, model.charset, model.max_label_length)
    variables, used, problems = rename(state, abstract_parseq(model, image_size),
                                       key_fn=parseq_torch_key, layout_fn=parseq_layout)
    check_consumed(state, used, {}, problems, "PARSeq")
    return Conversion({"params": variables["params"]}, {})
