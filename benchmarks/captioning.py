"""Caption decoding speed: the zoo's jitted greedy and beam search against the same LSTM decoder in
PyTorch with the usual Python loop over tokens.

The decoder is the dense-captioning baseline's (`DecoderRNN` sizes: embedding 256, hidden 512,
2 LSTM layers, the clip code of NetVLAD++ with 64 clusters of 512-d features = 32768 inputs), with
`--num-words` words and random weights; both sides get the same weights
(tests/torch_caption_reference.py's `load_flax_params`) and the same clip codes, and decode the
same tokens (checked). A random LSTM's output hardly changes from step to step, so it almost never
emits the end token: every caption runs to the maximum length (`--max-length`, 50 as the
baseline), the worst case; both sides stop a batch when all its captions have ended, so the time per
token is what is compared.

- JAX: `zoo.models.captioner.generate` under `jax.jit` (the `jax.lax.while_loop` searches of
  `zoo.models.decoding`): one compilation per (batch size, beam width), whatever the caption
  lengths. The compile column is the first call's time minus a later call's.
- PyTorch: the loops of tests/torch_caption_reference.py in eager mode under
  `torch.inference_mode()`, one `nn.LSTM` step per token, stopping when every caption of the batch
  has ended; batch 1 greedy is the official baseline's `sample()` loop. `torch.set_num_threads`
  from `--torch-threads`.

JAX and PyTorch take turns call by call (benchmarks/timing.py), rates use the median time.

    python benchmarks/captioning.py [--num-words 2000] [--iters 5]
    python benchmarks/captioning.py --quick   # fewer rows and iterations
"""

from __future__ import annotations

import argparse
import functools
import os
import pathlib
import platform
import sys
import time

import jax
import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.timing import package_version, time_interleaved
from zoo.data import caption_vocabulary as words
from zoo.models.captioner import LSTMDecoder, generate

CODE_DIM = 512 * 64
MAX_LENGTH = 50
BANNED = (words.PAD, words.START, words.UNKNOWN)


def decode(decoder, variables, codes, *, beam_width: int, max_length: int, start_token: int, end_token: int):
    """Generated tokens [batch, max_length] of clip codes [batch, code_dim]."""
    return generate(decoder, variables, codes, beam_width=beam_width, length_penalty=0.0, max_length=max_length,
                    start_token=start_token, end_token=end_token, banned_tokens=BANNED)["tokens"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-words", type=int, default=2000, help="caption vocabulary size")
    parser.add_argument("--num-layers", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=MAX_LENGTH, help="tokens per caption at most")
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--torch-threads", type=int, default=os.cpu_count())
    parser.add_argument("--quick", action="store_true", help="batch 1 and 32 only, 3 timed iterations")
    args = parser.parse_args(argv)

    import torch

    from tests.torch_caption_reference import LSTMDecoder as TorchDecoder
    from tests.torch_caption_reference import beam_search as torch_beam_search
    from tests.torch_caption_reference import greedy as torch_greedy
    from tests.torch_caption_reference import load_flax_params

    torch.set_num_threads(args.torch_threads)
    decoder = LSTMDecoder(args.num_words, num_layers=args.num_layers)
    rng = np.random.default_rng(0)
    variables = decoder.init(jax.random.key(0), np.zeros((1, CODE_DIM), np.float32),
                             np.zeros((1, 2), np.int32), train=False)
    params = jax.tree.map(np.asarray, variables["params"])
    torch_decoder = load_flax_params(TorchDecoder(CODE_DIM, args.num_words, num_layers=args.num_layers), params).eval()

    rows = [(1, 1), (32, 1), (1, 4), (32, 4)] if args.quick else [(1, 1), (64, 1), (1, 4), (64, 4), (256, 4)]
    iters = 3 if args.quick else args.iters
    table = []
    for batch, beam in rows:
        codes = rng.normal(size=(batch, CODE_DIM)).astype(np.float32)
        codes /= np.linalg.norm(codes, axis=1, keepdims=True)  # NetVLAD codes are unit vectors
        settings = {"max_length": args.max_length, "start_token": words.START, "end_token": words.END}
        jitted = jax.jit(functools.partial(decode, decoder, beam_width=beam, **settings))
        start = time.perf_counter()
        jax_tokens = np.asarray(jitted(variables, codes))
        first = time.perf_counter() - start
        start = time.perf_counter()
        np.asarray(jitted(variables, codes))
        compile_seconds = first - (time.perf_counter() - start)
        torch_codes = torch.from_numpy(codes)
        if beam == 1:
            torch_run = functools.partial(torch_greedy, torch_decoder, torch_codes, banned=BANNED, **settings)
        else:
            torch_run = functools.partial(torch_beam_search, torch_decoder, torch_codes, beam_width=beam,
                                          banned=BANNED, **settings)
        agree = float(np.mean(np.all(torch_run().numpy() == jax_tokens, axis=1)))
        lengths = np.argmax(np.concatenate([jax_tokens == words.END, np.ones((batch, 1), bool)], 1), axis=1) + 1
        jax_run = functools.partial(lambda f, v, c: np.asarray(f(v, c)), jitted, variables, codes)
        seconds = time_interleaved({"jax": jax_run, "torch": torch_run}, warmup=1, iters=iters)
        table.append((batch, beam, float(np.minimum(lengths, args.max_length).mean()), batch / seconds["jax"],
                      batch / seconds["torch"], compile_seconds, agree))
        print(f"batch {batch} beam {beam}: done", file=sys.stderr)

    print(f"\nLSTM decoder ({args.num_layers} layers, hidden 512, {args.num_words} words, max length {args.max_length}), "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; jax {package_version('jax')} on "
          f"{jax.devices()[0].platform}, torch {package_version('torch')} with {args.torch_threads} threads\n")
    print("| search | batch | mean tokens | JAX captions/s | PyTorch captions/s | JAX / PyTorch | JAX compile (s) "
          "| same tokens |")
    print("|---|---|---|---|---|---|---|---|")
    for batch, beam, length, jax_rate, torch_rate, compile_seconds, agree in table:
        search = "greedy" if beam == 1 else f"beam {beam}"
        print(f"| {search} | {batch} | {length:.1f} | {jax_rate:.1f} | {torch_rate:.1f} | {jax_rate / torch_rate:.2f} "
              f"| {compile_seconds:.1f} | {100 * agree:.0f}% |")


if __name__ == "__main__":
    main()
