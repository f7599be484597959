"""Why PARSeq learns slowly from scratch on the synthetic jersey crops: the same network on
rendered numbers, one difficulty at a time.

    python benchmarks/parseq_from_scratch.py --modes clean any_place colours colours_any_place --steps 1500

The network is the `synthetic` variant of configs/jersey/parseq.py (ViT 64 wide, 3 encoder layers,
32x64 crops, 4x8 patches), trained from scratch with its permutation loss on an endless stream of
numbers 0..99 drawn with OpenCV on 32x64 images, each mode adding one difficulty of the jersey
crops:

  clean              black on white, near one place;
  any_place          black on white, anywhere in the crop, at a random size;
  colours            a random text colour on a random background (at least 150 apart in the
                     sum of the RGB differences), near one place;
  colours_any_place  random colours, anywhere in the crop, at the size of `clean`.

Adam(W) at 1e-3 (100 warm-up steps, cosine to --steps), batch 32, clip 20, no weight decay.
Prints the share of 256 held-out numbers read exactly (greedy decoding) every --eval_every steps
and the mean training loss before it. A loss stuck near 1.54 is a decoder that has learned the
length of the numbers and not their digits (what it scores when the image is blanked out; see
tests/test_parseq_learning.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import cv2
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

HEIGHT, WIDTH = 32, 64
MODES = ("clean", "any_place", "colours", "colours_any_place")


def render(number: int, rng: np.random.Generator, mode: str) -> np.ndarray:
    """One number drawn as `mode` says: [32, 64, 3] float32 in [-1, 1]."""
    text = str(number)
    background, ink = np.full(3, 255), np.zeros(3, np.int64)
    if mode.startswith("colours"):
        background, ink = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        while np.abs(background - ink).sum() < 150:
            ink = rng.integers(0, 256, 3)
    image = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    image[:] = background
    scale = 0.8
    if mode in ("clean", "colours"):
        origin = (int(rng.integers(2, 20)), int(rng.integers(24, 30)))
    else:
        if mode == "any_place":
            scale = rng.uniform(0.3, 0.8)
        (text_w, text_h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
        origin = (int(rng.integers(0, max(1, WIDTH - text_w))), int(rng.integers(text_h, HEIGHT)))
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, tuple(int(c) for c in ink), 2)
    return image.astype(np.float32) / 127.5 - 1.0


def batch(rng: np.random.Generator, size: int, mode: str):
    numbers = rng.integers(0, 100, size)
    return np.stack([render(n, rng, mode) for n in numbers]), [str(n) for n in numbers]


def parseq_train_step(model, optimizer, charset: str):
    """A jitted optax step of `model` (a PARSeq) on the mean permutation loss:
    (params, opt_state, images, tokens, dropout key) -> (params, opt_state, loss)."""
    import jax
    import optax

    from zoo.losses.text_recognition import permutation_loss
    from zoo.models.parseq import token_ids

    ids = token_ids(charset)

    @jax.jit
    def train_step(params, opt_state, images, tokens, key):
        def loss_fn(p):
            logits = model.apply({"params": p}, {"images": images, "tokens": tokens}, train=True,
                                 rngs={"dropout": key})["logits"]
            sums, counts = permutation_loss(logits, tokens, eos=ids["eos"], pad=ids["pad"])
            return sums.sum() / counts.sum()

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return train_step


def run(mode: str, steps: int, eval_every: int, seed: int) -> list[tuple[int, float, float]]:
    """[(step, mean training loss since the last row, held-out exact-read share)]."""
    import jax
    import jax.numpy as jnp
    import optax

    from configs.jersey import parseq as parseq_config
    from zoo.models.parseq import decode_tokens, encode_labels
    from zoo.tasks.jersey_recognition import make_model

    config = parseq_config.get_config("synthetic")
    charset = config.model.charset
    model = make_model(config)  # the network `train.py` builds from this config
    rng = np.random.default_rng(seed)
    images, texts = batch(rng, 2, mode)
    params = model.init({"params": jax.random.key(seed), "dropout": jax.random.key(seed + 1)},
                        {"images": images, "tokens": encode_labels(texts, charset, 2)}, train=True)["params"]
    optimizer = optax.chain(optax.clip_by_global_norm(20.0), optax.adamw(
        optax.warmup_cosine_decay_schedule(0.0, 1e-3, min(100, steps // 2), steps), weight_decay=0.0))
    opt_state = optimizer.init(params)

    train_step = parseq_train_step(model, optimizer, charset)
    logits_of = jax.jit(lambda p, x: model.apply(
        {"params": p}, {"images": x, "tokens": jnp.zeros((len(x), 4), jnp.int32)}, train=False)["logits"])
    held_out, truth = batch(np.random.default_rng(seed + 99), 256, mode)

    def accuracy():
        reads = decode_tokens(np.argmax(logits_of(params, held_out), axis=-1), charset)
        return float(np.mean([r == t for r, t in zip(reads, truth)]))

    rows, losses = [(0, float("nan"), accuracy())], []
    for step in range(1, steps + 1):
        images, texts = batch(rng, 32, mode)
        params, opt_state, loss = train_step(params, opt_state, images, encode_labels(texts, charset, 2),
                                             jax.random.key(step))
        losses.append(float(loss))
        if step % eval_every == 0 or step == steps:
            rows.append((step, float(np.mean(losses)), accuracy()))
            losses = []
            print(f"  {mode} step {step}: loss {rows[-1][1]:.3f}, read {rows[-1][2]:.3f}", file=sys.stderr, flush=True)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--steps", type=int, default=1500, help="per mode (at least 2)")
    parser.add_argument("--eval_every", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.steps < 2 or args.eval_every < 1:
        parser.error(f"--steps {args.steps} --eval_every {args.eval_every}: give at least 2 steps and eval_every >= 1")
    results = {}
    for mode in args.modes:
        start = time.time()
        results[mode] = run(mode, args.steps, args.eval_every, args.seed)
        print(f"  {mode}: {time.time() - start:.0f} s", file=sys.stderr, flush=True)
    steps = [step for step, _, _ in results[args.modes[0]]]
    print("| step | " + " | ".join(f"{m}: loss / read" for m in args.modes) + " |")
    print("|---:|" + "---|" * len(args.modes))
    for i, step in enumerate(steps):
        cells = [f"{results[m][i][1]:.2f} / {results[m][i][2]:.3f}" if i else f"- / {results[m][i][2]:.3f}"
                 for m in args.modes]
        print(f"| {step} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
