# Over 600 lines: kept whole while the captioning task is written against its public names.
"""SoccerNet dense video captioning metrics, equal to the official evaluator and faster.

The official `SoccerNet.Evaluation.DenseVideoCaptioning.evaluate(..., include_SODA=False)` is the
specification (SODA is not implemented here: the devkit README, the challenge and the leaderboards
use include_SODA=False). What it computes, and this module with it:

  * The unit ("video") is one half of one game. Captions come from `gameTime` only (never
    `position`); entries whose label is not a caption label or whose half is above 2 are skipped.
  * A caption at second t is the window [t - ws//2, t + ws//2 + ws%2] (ws = window_size, 30 by
    default, so +-15 s). A prediction and a GT caption are paired when their windows overlap
    (tIoU > 0, i.e. |t_pred - t_gt| < ws): every prediction with every such GT, many to many.
    A prediction that overlaps no GT is paired with a random lowercase string of 10-20 letters.
  * Texts: non-ASCII characters become spaces, then the Stanford PTB tokenizer of pycocoevalcap
    (lowercased, punctuation tokens removed).
  * BLEU-1..4 (corpus BLEU, "closest" reference length), METEOR 1.5, ROUGE-L and CIDEr(-D) are
    computed on all pairs of one half at a time (CIDEr's document frequencies are those of the
    half's pairs); a half without predictions scores 0; the keys are the means over halves.
  * Recall: share of a half's GT captions overlapped by some prediction; Precision: share of a
    half's predictions overlapping some GT (0 without predictions); both are means over halves.

Equal numbers, and why:
  * The random string of an unmatched pair is replaced by a deterministic stand-in: a distinct
    lowercase word per pair, one token after tokenisation like the random string, built from a
    prefix whose letters occur in no caption of the evaluation and ending in "q" (which no
    Snowball suffix rule touches). So, like the random string, it shares no token with any
    hypothesis (BLEU: no match, "closest" reference length 1), has no exact, stem, synonym or
    paraphrase match in METEOR and counts there as one content word of the reference, adds
    nothing to any CIDEr similarity (its n-gram is in no hypothesis; document frequency 1) and
    has no common subsequence for ROUGE-L. The official's numbers are therefore those it gives
    whenever its random strings match nothing, which is what it intends (a 10-20 letter random
    string equal to a caption word has probability ~26**-10).
  * The Stanford tokenizer looks past the end of a line: a caption ending in "a." or "U.S." keeps
    or splits off its final period depending on how the next line of the batch starts (a
    capitalised word followed by more words splits it). The official tokenizes two batches (the
    prediction of every pair, then the GT caption of every pair, halves in the order of a Python
    set of (game, half) keys); this module tokenizes exactly those two batches, in one Java start
    (`-ioFileList`), so every caption gets the official's tokens. The stand-ins start with a
    lowercase letter, as the random strings do, so they give the same context. (That set order
    depends on Python's string hashing, so the official's own tokens for such a caption can
    change from run to run; within one process this module and the official agree.)

How it is fast: the official starts the PTB tokenizer 8 times and METEOR once per evaluation,
sends METEOR one pair at a time and runs pycocoevalcap's pure-Python BLEU, ROUGE-L and CIDEr.
Here the tokenizer starts once per evaluation; METEOR (same jar and flags) starts once per Python
process, is reused by every later evaluation, and gets all pairs pipelined; BLEU and CIDEr count
n-grams once per distinct caption and score every half at once with numpy (BLEU from the same
integer counts with the same float operations, so bit-equal; CIDEr equal up to the order of float
sums), ROUGE-L uses a bit-parallel longest common subsequence (exact).

Where the official crashes or silently gives wrong numbers, this module differs:
  * a game with labels but no prediction file: FileNotFoundError naming the games (official:
    FileNotFoundError / KeyError on the first);
  * a half without GT captions: ValueError (official: KeyError);
  * a half without predictions scores 0 and precision 0 (official: the same, except that it
    raises UnboundLocalError when the first half it visits has no predictions);
  * a half whose paired GT captions all tokenize to nothing (empty or punctuation only):
    CIDEr 0 (pycocoevalcap's CIDEr fails there, taking the max of no document frequencies);
  * a caption holding "\\r", "\\x0b" or "\\x0c": the tokenizer ends the line there, which shifts
    every later caption of the official's batch onto another caption's tokens; here they are
    spaces (with a warning);
  * malformed files raise `CaptioningFormatError`; entries the official skips silently (labels
    outside the caption dictionary, halves above 2) raise by default (`on_unscored`).

Java is required (METEOR and the tokenizer are Java programs shipped inside pycocoevalcap):
`apt-get install default-jre-headless`.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Hashable, Sequence
from typing import Any, NamedTuple

import numpy as np

from zoo.cli import user_errors
from zoo.formats import captioning as formats
from zoo.formats.archive import Archive
from zoo.formats.game_tree import games_at_hand, games_to_evaluate
from zoo.formats.captioning import LABEL_FILE, LINE_BREAKS, PREDICTION_FILE

WINDOW_SIZE = 30
TEXT_KEYS = ("Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "METEOR", "ROUGE_L", "CIDEr")
RESULT_KEYS = (*TEXT_KEYS, "Recall", "Precision")
JAVA_HINT = (
    "Java is needed for METEOR and the PTB tokenizer (pycocoevalcap runs them): install it, "
    "e.g. `apt-get install default-jre-headless`"
)


class VideoCaptions(NamedTuple):
    """The captions of one video (one half of a game): N timestamps and N texts."""

    seconds: Sequence[int]  # [N] whole seconds into the half (the official reads gameTime only)
    captions: Sequence[str]  # [N] caption texts


@dataclasses.dataclass
class _Video:
    """One half as the official evaluator sees it: captions sorted by time (stable)."""

    key: Hashable
    gt_seconds: np.ndarray  # [G] int64
    gt_texts: list[str]  # [G]
    pred_seconds: np.ndarray  # [P] int64
    pred_texts: list[str]  # [P]


def _sorted_video(key: Hashable, gt: VideoCaptions, pred: VideoCaptions) -> _Video:
    def prepared(video: VideoCaptions, what: str):
        seconds = np.asarray(video.seconds)
        texts = list(video.captions)
        if seconds.ndim != 1 or len(seconds) != len(texts):
            raise ValueError(
                f"video {key!r}: {what} have {seconds.shape} timestamps for {len(texts)} captions"
            )
        if len(seconds) and not np.issubdtype(seconds.dtype, np.integer):
            raise ValueError(f"video {key!r}: {what} timestamps must be integer seconds")
        bad = [t for t in texts if not isinstance(t, str)]
        if bad:
            raise ValueError(f"video {key!r}: {what} captions must be strings, got {bad[0]!r}")
        # The official sorts by window start, t - ws//2: the same order as t, ties kept in order.
        order = np.argsort(seconds, kind="stable")
        return seconds[order].astype(np.int64), [texts[i] for i in order]

    gt_seconds, gt_texts = prepared(gt, "ground-truth captions")
    pred_seconds, pred_texts = prepared(pred, "predicted captions")
    if not len(gt_seconds):
        raise ValueError(
            f"video {key!r} has no ground-truth caption; the official evaluator cannot score such "
            "a half (it stops with a KeyError): leave it out"
        )
    return _Video(key, gt_seconds, gt_texts, pred_seconds, pred_texts)


def official_order(keys: Sequence[Hashable]) -> list[Hashable]:
    """The order in which the official evaluator visits videos: that of a Python set of the keys,
    built as it builds it (set(), then |= set(dict keys)). Within a process the order is fixed;
    for string keys it changes with PYTHONHASHSEED."""
    order: set = set()
    order |= set(dict.fromkeys(keys).keys())  # a keys view, not a dict: no presizing, as there
    return list(order)


def remove_nonascii(text: str) -> str:
    """The official remove_nonascii: every non-ASCII character becomes a space."""
    return text if text.isascii() else "".join(c if ord(c) < 128 else " " for c in text)


def _stand_in_prefix(texts: Sequence[str]) -> str:
    """A prefix of lowercase letters that is in no text's letters (so in no token of any text)."""
    letters = ["".join(c for c in t.lower() if c.isalpha()) for t in texts]
    prefix = "zqxj"
    while any(prefix in t for t in letters):
        prefix += "zqxj"  # terminates: a prefix longer than every text is in none of them
    return prefix


def _stand_in(prefix: str, number: int) -> str:
    """The number-th stand-in word: prefix, the number in letters a-p, then "q"."""
    digits = ""
    while True:
        number, digit = divmod(number, 16)
        digits = "abcdefghijklmnop"[digit] + digits
        if not number:
            return prefix + digits + "q"


# ------------------------------------------------------------------------------------- Java tools


def _pycocoevalcap(module: str):
    """A pycocoevalcap module, with what to install when it is missing."""
    import importlib

    try:
        return importlib.import_module(f"pycocoevalcap.{module}")
    except ModuleNotFoundError as error:
        if error.name and error.name.startswith("pycocoevalcap"):
            raise ModuleNotFoundError(
                "the captioning metrics need pycocoevalcap: pip install pycocoevalcap",
                name=error.name,
            ) from error
        raise


def _require_java() -> str:
    java = shutil.which("java")
    if java is None:
        raise RuntimeError(JAVA_HINT)
    return java


def ptb_tokenize(
    batches: Sequence[Sequence[str]], *, drop_punctuation: bool = True
) -> list[list[str]]:
    """pycocoevalcap's `PTBTokenizer.tokenize`, for several batches in one Java start.

    Each batch is tokenized exactly as `PTBTokenizer().tokenize` tokenizes its captions in that
    order (the same jar, flags, file contents; newlines in a caption become spaces; punctuation
    tokens removed), the batches independently of each other. With `drop_punctuation=False` the
    punctuation tokens stay (the caption vocabulary keeps them so that captions read well).

    Raises:
      RuntimeError when Java is missing or the tokenizer gives back a different number of lines.
    """
    ptbtokenizer = _pycocoevalcap("tokenizer.ptbtokenizer")
    java = _require_java()
    jar = os.path.join(
        os.path.dirname(os.path.abspath(ptbtokenizer.__file__)),
        ptbtokenizer.STANFORD_CORENLP_3_4_1_JAR,
    )
    results: list[list[str]] = [[] for _ in batches]
    with tempfile.TemporaryDirectory(prefix="zoo-ptb-") as tmp:
        pairs = []  # (batch, input file, output file), named relative to tmp
        for b, captions in enumerate(batches):
            if not captions:
                continue
            source, target = f"in{b}.txt", f"out{b}.txt"
            with open(os.path.join(tmp, source), "wb") as f:
                f.write("\n".join(c.replace("\n", " ") for c in captions).encode())
            pairs.append((b, source, target))
        if not pairs:
            return results
        with open(os.path.join(tmp, "files.txt"), "w") as f:
            f.write("".join(f"{source}\t{target}\n" for _, source, target in pairs))
        command = [
            java,
            "-cp",
            jar,
            "edu.stanford.nlp.process.PTBTokenizer",
            "-preserveLines",
            "-lowerCase",
            "-ioFileList",
            "files.txt",
        ]
        done = subprocess.run(command, cwd=tmp, capture_output=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"the PTB tokenizer failed ({done.returncode}): {done.stderr.decode()[-2000:]}"
            )
        punctuation = set(ptbtokenizer.PUNCTUATIONS) if drop_punctuation else set()
        for b, _, target in pairs:
            with open(os.path.join(tmp, target), "rb") as f:
                lines = f.read().decode().split("\n")
            count = len(batches[b])
            # pycocoevalcap zips captions with lines; only extra empty lines may be left over.
            if len(lines) < count or any(lines[count:]):
                raise RuntimeError(
                    f"the PTB tokenizer returned {len(lines)} lines for {count} captions"
                )
            results[b] = [
                " ".join(w for w in line.rstrip().split(" ") if w not in punctuation)
                for line in lines[:count]
            ]
    return results


class _MeteorServer:
    """pycocoevalcap's METEOR 1.5 process (same jar and flags as the official), started once per
    Python process and shared by every evaluation; pairs are sent pipelined, not one by one."""

    _meteor = None
    _guard = threading.Lock()

    @classmethod
    def instance(cls):
        """The running pycocoevalcap `Meteor` (started now if there is none or it died)."""
        Meteor = _pycocoevalcap("meteor.meteor").Meteor
        with cls._guard:
            if cls._meteor is None or cls._meteor.meteor_p.poll() is not None:
                _require_java()
                if cls._meteor is None:
                    atexit.register(cls.close)
                cls._meteor = Meteor()
            return cls._meteor

    @classmethod
    def close(cls) -> None:
        with cls._guard:
            meteor, cls._meteor = cls._meteor, None
        if meteor is not None:
            with meteor.lock:
                with contextlib.suppress(OSError):  # a process that died leaves a broken pipe
                    meteor.meteor_p.stdin.close()
                meteor.meteor_p.kill()
                meteor.meteor_p.wait()


def _exchange(process: subprocess.Popen, lines: Sequence[str], replies: int) -> list[str]:
    """Writes `lines` to the process (from a thread, so neither pipe can fill up and block) and
    reads `replies` reply lines."""
    failure: list[OSError] = []

    def write():
        try:
            for start in range(0, len(lines), 256):
                process.stdin.write(
                    "".join(f"{line}\n" for line in lines[start : start + 256]).encode()
                )
                process.stdin.flush()
        except OSError as error:  # a broken pipe: reported below
            failure.append(error)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    out = []
    for _ in range(replies):
        line = process.stdout.readline()
        if not line:
            break
        out.append(line.decode().strip())
    writer.join()
    if failure or len(out) < replies:
        raise RuntimeError(f"METEOR stopped answering ({failure or 'end of output'})")
    return out


def meteor_scores(videos: Sequence[Sequence[tuple[str, str]]]) -> list[float]:
    """pycocoevalcap `Meteor().compute_score` of each video's (hypothesis, reference) pairs:
    the corpus METEOR of each video (non-empty), all videos sent in one pipelined exchange."""
    meteor = _MeteorServer.instance()
    score_lines = []
    for pairs in videos:
        for hypothesis, reference in pairs:
            # The official's _stat: '|||' removed from the hypothesis, double spaces halved.
            hypothesis = hypothesis.replace("|||", "").replace("  ", " ")
            score_lines.append(f"SCORE ||| {reference} ||| {hypothesis}")
    try:
        with meteor.lock:
            stats = _exchange(meteor.meteor_p, score_lines, len(score_lines))
            eval_lines, start = [], 0
            for pairs in videos:
                eval_lines.append(
                    "EVAL" + "".join(f" ||| {s}" for s in stats[start : start + len(pairs)])
                )
                start += len(pairs)
            # Each EVAL answers one line per pair, then the video's corpus score.
            replies = _exchange(meteor.meteor_p, eval_lines, len(score_lines) + len(videos))
    except BaseException:
        _MeteorServer.close()  # its answers may be out of step now: start afresh next time
        raise
    scores, position = [], 0
    for pairs in videos:
        position += len(pairs)
        scores.append(float(replies[position]))
        position += 1
    return scores


# --------------------------------------------------------- BLEU, ROUGE-L and CIDEr, vectorised


# pycocoevalcap constants: BLEU smoothing, the ROUGE-L F-measure's beta, CIDEr-D's length sigma.
_BLEU_TINY, _BLEU_SMALL = 1e-15, 1e-9
_ROUGE_BETA = 1.2
_CIDER_SIGMA = 6.0
_MAX_N = 4


@dataclasses.dataclass
class _NGramTable:
    """Counts of the 1..4-grams of distinct tokenized texts, one row per (text, n-gram), sorted.

    An n-gram is a dense id `gram` (0 <= gram < num_grams); `order` is its n - 1.
    """

    text: np.ndarray  # [E] int64, the text of each row
    gram: np.ndarray  # [E] int64
    order: np.ndarray  # [E] int64, 0..3
    count: np.ndarray  # [E] int64
    num_grams: int
    start: np.ndarray  # [T + 1] rows of text t: start[t]:start[t + 1]
    length: np.ndarray  # [T] words (str.split)

    @classmethod
    def of(cls, texts: Sequence[str]) -> _NGramTable:
        words = [t.split() for t in texts]
        length = np.array([len(w) for w in words], dtype=np.int64)
        vocabulary: dict[str, int] = {}
        flat = np.array(
            [vocabulary.setdefault(w, len(vocabulary)) for ws in words for w in ws], dtype=np.int64
        )
        text_of = np.repeat(np.arange(len(texts), dtype=np.int64), length)
        end_of = np.repeat(np.cumsum(length), length)  # where each word's text ends
        position = np.arange(len(flat), dtype=np.int64)
        size = len(vocabulary) + 1
        # Dense ids grow one word at a time: id of (w1..wn) = rank of (id of w1..wn-1) * size + wn
        # among the n-grams, so no key exceeds (number of positions) * size.
        rows_text, rows_gram, rows_order, offset = [], [], [], 0
        previous = flat
        for order in range(_MAX_N):
            valid = position + order < end_of  # an n-gram starts here (n = order + 1)
            following = np.full(len(flat), -1, dtype=np.int64)
            following[: len(flat) - order] = flat[order:]
            keys = previous * size + following if order else flat
            distinct, dense_valid = np.unique(keys[valid], return_inverse=True)
            dense = np.full(len(flat), -1, dtype=np.int64)
            dense[valid] = dense_valid.reshape(-1)
            rows_text.append(text_of[valid])
            rows_gram.append(dense[valid] + offset)
            rows_order.append(np.full(int(valid.sum()), order, dtype=np.int64))
            offset += len(distinct)
            previous = dense
        text, gram, order = (np.concatenate(rows) for rows in (rows_text, rows_gram, rows_order))
        num_grams = max(offset, 1)
        keys, first, count = np.unique(
            text * num_grams + gram, return_index=True, return_counts=True
        )
        start = np.searchsorted(keys // num_grams, np.arange(len(texts) + 1))
        return cls(text[first], gram[first], order[first], count, num_grams, start, length)

    def rows_of(self, texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(owner, row): the rows of each of `texts` ([K] text ids), owner = index into texts."""
        sizes = self.start[texts + 1] - self.start[texts]
        owner = np.repeat(np.arange(len(texts), dtype=np.int64), sizes)
        first = np.cumsum(sizes) - sizes
        row = self.start[texts][owner] + np.arange(int(sizes.sum()), dtype=np.int64) - first[owner]
        return owner, row

    def count_in(self, texts: np.ndarray, grams: np.ndarray) -> np.ndarray:
        """[K] count of n-gram grams[k] in text texts[k] (0 when absent)."""
        keys = self.text * self.num_grams + self.gram  # sorted
        return _lookup(keys, self.count, texts * self.num_grams + grams)


def _lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """values[i] where keys[i] == query (keys sorted and distinct), 0 where no key matches."""
    if not len(keys):
        return np.zeros(len(query), dtype=values.dtype)
    at = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return np.where(keys[at] == query, values[at], 0)


def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists (bit-parallel, exact)."""
    masks: dict[str, int] = {}
    for i, token in enumerate(a):
        masks[token] = masks.get(token, 0) | (1 << i)
    full = (1 << len(a)) - 1
    row = full
    for token in b:
        match = row & masks.get(token, 0)
        row = ((row + match) | (row - match)) & full
    return len(a) - row.bit_count()


def _rouge_l(hypothesis: str, reference: str) -> float:
    """pycocoevalcap `Rouge().calc_score([hypothesis], [reference])`, with its " " splitting."""
    candidate, ref = hypothesis.split(" "), reference.split(" ")
    lcs = _lcs_length(ref, candidate)
    precision, recall = lcs / float(len(candidate)), lcs / float(len(ref))
    if precision != 0 and recall != 0:
        beta2 = _ROUGE_BETA**2
        return ((1 + beta2) * precision * recall) / float(recall + beta2 * precision)
    return 0.0


def _bleu(correct: Sequence[int], guess: Sequence[int], test_length: int, ref_length: int):
    """pycocoevalcap corpus BLEU-1..4 from summed counts, with its exact float operations."""
    bleus, bleu = [], 1.0
    for k in range(_MAX_N):
        bleu *= float(correct[k] + _BLEU_TINY) / (guess[k] + _BLEU_SMALL)
        bleus.append(bleu ** (1.0 / (k + 1)))
    ratio = (test_length + _BLEU_TINY) / (ref_length + _BLEU_SMALL)
    if ratio < 1:
        bleus = [b * math.exp(1 - 1 / ratio) for b in bleus]
    return bleus


def _text_scores(
    hypotheses: Sequence[str], references: Sequence[str], pair_video: np.ndarray, num_videos: int
) -> dict[str, list]:
    """BLEU-1..4 (list of 4), ROUGE-L and CIDEr-D of every video's pairs, as pycocoevalcap's
    Bleu (option "closest"), Rouge and Cider compute them on that video's pairs alone.

    Args:
      hypotheses, references: [P] tokenized pair texts, grouped by video.
      pair_video: [P] video of each pair (non-decreasing).

    Returns:
      {"Bleu": [V] lists of 4 floats, "ROUGE_L": [V], "CIDEr": [V]}; None for a video without
      pairs.
    """
    distinct = list(dict.fromkeys([*hypotheses, *references]))
    index = {text: i for i, text in enumerate(distinct)}
    hyp = np.array([index[t] for t in hypotheses], dtype=np.int64)
    ref = np.array([index[t] for t in references], dtype=np.int64)
    table = _NGramTable.of(distinct)
    num_pairs = len(hyp)
    bounds = np.searchsorted(pair_video, np.arange(num_videos + 1))

    # Every n-gram of each pair's hypothesis, with its count in the pair's reference.
    h_pair, h_row = table.rows_of(hyp)
    h_gram, h_order, h_count = table.gram[h_row], table.order[h_row], table.count[h_row]
    h_in_ref = table.count_in(ref[h_pair], h_gram)
    r_pair, r_row = table.rows_of(ref)
    r_gram, r_order, r_count = table.gram[r_row], table.order[r_row], table.count[r_row]

    # BLEU: clipped matches and guesses per (pair, n), summed per video.
    cells = num_pairs * _MAX_N
    correct = (
        np.bincount(
            h_pair * _MAX_N + h_order, weights=np.minimum(h_count, h_in_ref), minlength=cells
        )
        .reshape(num_pairs, _MAX_N)
        .astype(np.int64)
    )
    test_length, ref_length = table.length[hyp], table.length[ref]
    guess = np.maximum(0, test_length[:, None] - np.arange(_MAX_N)[None, :])

    # CIDEr-D: document frequency of each n-gram among the references of the pair's video.
    r_video = pair_video[r_pair]
    df_keys, df_counts = np.unique(r_video * table.num_grams + r_gram, return_counts=True)

    def idf(video: np.ndarray, gram: np.ndarray) -> np.ndarray:
        frequency = _lookup(df_keys, df_counts, video * table.num_grams + gram)
        return ref_len[video] - np.log(np.maximum(1.0, frequency.astype(np.float64)))

    with np.errstate(divide="ignore"):
        ref_len = np.log(np.diff(bounds).astype(np.float64))  # log(pairs of the video)
    h_weight = idf(pair_video[h_pair], h_gram)
    h_vec = h_count * h_weight
    h_ref_vec = h_in_ref * h_weight
    r_vec = r_count * idf(r_video, r_gram)
    norm_h = np.sqrt(
        np.bincount(h_pair * _MAX_N + h_order, weights=h_vec**2, minlength=cells)
    ).reshape(num_pairs, _MAX_N)
    norm_r = np.sqrt(
        np.bincount(r_pair * _MAX_N + r_order, weights=r_vec**2, minlength=cells)
    ).reshape(num_pairs, _MAX_N)
    dot = np.bincount(
        h_pair * _MAX_N + h_order, weights=np.minimum(h_vec, h_ref_vec) * h_ref_vec, minlength=cells
    ).reshape(num_pairs, _MAX_N)
    both = (norm_h != 0) & (norm_r != 0)
    similarity = np.where(both, dot / np.where(both, norm_h * norm_r, 1.0), dot)
    # Length penalty on the number of bigrams (pycocoevalcap counts a caption's length so).
    delta = (np.maximum(test_length - 1, 0) - np.maximum(ref_length - 1, 0)).astype(np.float64)
    similarity = similarity * np.e ** (-(delta**2) / (2 * _CIDER_SIGMA**2))[:, None]
    cider = similarity.mean(axis=1) * 10.0

    rouge = np.array([_rouge_l(h, r) for h, r in zip(hypotheses, references)])

    scores: dict[str, list] = {"Bleu": [], "ROUGE_L": [], "CIDEr": []}
    for v in range(num_videos):
        lo, hi = bounds[v], bounds[v + 1]
        if lo == hi:
            for values in scores.values():
                values.append(None)
            continue
        scores["Bleu"].append(
            _bleu(
                [int(c) for c in correct[lo:hi].sum(axis=0)],
                [int(g) for g in guess[lo:hi].sum(axis=0)],
                int(test_length[lo:hi].sum()),
                int(ref_length[lo:hi].sum()),
            )
        )
        scores["ROUGE_L"].append(float(np.mean(rouge[lo:hi])))
        scores["CIDEr"].append(float(np.mean(cider[lo:hi])))
    return scores


# ------------------------------------------------------------------------------------ the metric


def _score_videos(videos: list[_Video], window_size: int) -> dict[str, float]:
    """The official metric of videos given in the official visiting order."""
    _MeteorServer.instance()  # start METEOR's Java now, so that its start-up overlaps the rest

    # Pairs, in the official order: video, prediction (by time), then GT (by time).
    pair_video, pair_pred, pair_gt = [], [], []  # pair_gt -1: unmatched
    recall, precision = [], []
    for v, video in enumerate(videos):
        overlap = np.abs(video.pred_seconds[:, None] - video.gt_seconds[None, :]) < window_size
        for p, row in enumerate(overlap):
            matched = np.flatnonzero(row)
            if not len(matched):
                matched = [-1]
            for g in matched:
                pair_video.append(v)
                pair_pred.append(p)
                pair_gt.append(int(g))
        recall.append(float(overlap.any(axis=0).sum()) / len(video.gt_seconds))
        num_preds = len(video.pred_seconds)
        precision.append(float(overlap.any(axis=1).sum()) / num_preds if num_preds else 0)

    pred_texts = [[remove_nonascii(t) for t in video.pred_texts] for video in videos]
    gt_texts = [[remove_nonascii(t) for t in video.gt_texts] for video in videos]
    broken = sum(any(c in t for c in LINE_BREAKS) for texts in pred_texts + gt_texts for t in texts)
    if broken:
        warnings.warn(
            f"{broken} caption(s) hold \\r, \\x0b or \\x0c, which the official evaluator's "
            "tokenizer takes for line ends (misaligning later captions); they are read as spaces",
            stacklevel=3,
        )

        def unbroken(text):
            for c in LINE_BREAKS:
                text = text.replace(c, " ")
            return text

        pred_texts = [[unbroken(t) for t in texts] for texts in pred_texts]
        gt_texts = [[unbroken(t) for t in texts] for texts in gt_texts]

    prefix = _stand_in_prefix([t for texts in pred_texts + gt_texts for t in texts])
    res_batch, gts_batch, stand_ins = [], [], {}
    for v, p, g in zip(pair_video, pair_pred, pair_gt):
        res_batch.append(pred_texts[v][p])
        if g < 0:
            stand_ins[len(gts_batch)] = _stand_in(prefix, len(stand_ins))
            gts_batch.append(stand_ins[len(gts_batch)])
        else:
            gts_batch.append(gt_texts[v][g])
    tokenized_res, tokenized_gts = ptb_tokenize([res_batch, gts_batch])
    for i, word in stand_ins.items():
        if tokenized_gts[i] != word:  # it is one lowercase word: the tokenizer keeps it as it is
            raise RuntimeError(f"the tokenizer changed stand-in {word!r} into {tokenized_gts[i]!r}")

    pair_video = np.asarray(pair_video, dtype=np.int64)
    per_video = _text_scores(tokenized_res, tokenized_gts, pair_video, len(videos))
    bounds = np.searchsorted(pair_video, np.arange(len(videos) + 1))
    scored = [v for v in range(len(videos)) if bounds[v + 1] > bounds[v]]
    meteor = dict(
        zip(
            scored,
            meteor_scores(
                [
                    list(
                        zip(
                            tokenized_res[bounds[v] : bounds[v + 1]],
                            tokenized_gts[bounds[v] : bounds[v + 1]],
                        )
                    )
                    for v in scored
                ]
            ),
        )
    )
    per_video["METEOR"] = [meteor.get(v) for v in range(len(videos))]
    # A video without pairs (no prediction) scores 0 everywhere, as in the official.
    per_video["Bleu"] = [[0] * 4 if b is None else b for b in per_video["Bleu"]]
    for key in ("METEOR", "ROUGE_L", "CIDEr"):
        per_video[key] = [0 if s is None else s for s in per_video[key]]

    # The official means: numpy over videos (and once more over its single tIoU), Python sum
    # for recall and precision.
    bleu = np.mean(per_video["Bleu"], axis=0)
    results = {f"Bleu_{n + 1}": float(np.mean([bleu[n]])) for n in range(4)}
    for key in ("METEOR", "ROUGE_L", "CIDEr"):
        results[key] = float(np.mean([np.mean(per_video[key])]))
    results["Recall"] = float(np.mean([sum(recall) / len(recall)]))
    results["Precision"] = float(np.mean([sum(precision) / len(precision)]))
    return results


def _check_window(window_size: Any) -> int:
    if isinstance(window_size, bool) or not isinstance(window_size, (int, np.integer)):
        raise TypeError(f"window_size must be an integer number of seconds, got {window_size!r}")
    if window_size < 0:
        raise ValueError(f"window_size must be >= 0, got {window_size}")
    return int(window_size)


def evaluate_videos(
    ground_truth: Sequence[VideoCaptions],
    predictions: Sequence[VideoCaptions],
    *,
    window_size: int = WINDOW_SIZE,
    video_keys: Sequence[Hashable] | None = None,
) -> dict[str, float]:
    """The official dense-captioning metrics of captions already in memory (no files).

    Args:
      ground_truth: per video (one half of one game), its GT captions: `VideoCaptions(seconds,
        captions)`; every video needs at least one.
      predictions: per video, its predicted captions (possibly none).
      window_size: seconds; a prediction and a GT caption pair up when |t_pred - t_gt| <
        window_size (windows of window_size seconds overlap).
      video_keys: one hashable key per video, e.g. (game, half). The official visits videos in
        the order of a Python set of its (game, half) keys; give those keys to reproduce its
        numbers to the last bit (see the module docstring). Default: the video indices.

    Returns:
      {"Bleu_1", ..., "Bleu_4", "METEOR", "ROUGE_L", "CIDEr", "Recall", "Precision"}: floats
      in [0, 1] (CIDEr in [0, 10]), each the mean over videos.
    """
    window_size = _check_window(window_size)
    if len(ground_truth) != len(predictions):
        raise ValueError(
            f"{len(ground_truth)} ground-truth videos but {len(predictions)} prediction videos"
        )
    if not len(ground_truth):
        raise ValueError("no videos to evaluate")
    keys = list(range(len(ground_truth))) if video_keys is None else list(video_keys)
    if len(keys) != len(ground_truth) or len(set(keys)) != len(keys):
        raise ValueError("video_keys must give one distinct key per video")
    videos = {
        key: _sorted_video(key, VideoCaptions(*gt), VideoCaptions(*pred))
        for key, gt, pred in zip(keys, ground_truth, predictions)
    }
    return _score_videos([videos[key] for key in official_order(keys)], window_size)





def evaluate(
    labels_dir: str | os.PathLike,
    predictions_dir: str | os.PathLike,
    *,
    window_size: int = WINDOW_SIZE,
    label_file: str = LABEL_FILE,
    prediction_file: str = PREDICTION_FILE,
    games: Sequence[str] | str | None = None,
    version: int = 2,
    on_unscored: str = "error",
) -> dict[str, float]:
    """Dense-captioning metrics of prediction files, as the official `evaluate(...,
    include_SODA=False)` computes them.

    Args:
      labels_dir: folder or zip holding `league/season/game/<label_file>`.
      predictions_dir: folder or zip holding `league/season/game/<prediction_file>`.
      window_size: seconds (30: the challenge's "loose" setting; the baseline also reports 5).
      prediction_file: `results_dense_captioning.json`, the challenge's name (the official pip
        function defaults to `results_caption.json`).
      games: `league/season/game` paths, an official split name ("test", ...), or None for every
        game under `labels_dir` that has `label_file`.
      version: caption label dictionary (2 accepts the empty label too).
      on_unscored: "error" (default), "warn" or "ignore" for entries the official skips: labels
        outside the caption dictionary and halves above 2, in labels and predictions alike.

    Returns:
      The official keys (see `evaluate_videos`).

    Raises:
      FileNotFoundError: a game without label or prediction file (all listed in the message).
      CaptioningFormatError: a malformed file (named in the message).
      ValueError: a half without GT caption (the official cannot score it either).
    """
    window_size = _check_window(window_size)
    _MeteorServer.instance()  # start METEOR's Java now: its start-up overlaps the reading
    with (
        Archive(labels_dir, error=formats.CaptioningFormatError) as labels_tree,
        Archive(predictions_dir, error=formats.CaptioningFormatError) as predictions_tree,
    ):
        games = games_to_evaluate(
            labels_tree, predictions_tree, games, label_file=label_file,
            prediction_file=prediction_file, split_task="caption",
        )
        videos = {}
        for game in dict.fromkeys(games):  # the official keys a dict by (game, half)
            label_member, prediction_member = f"{game}/{label_file}", f"{game}/{prediction_file}"
            annotations = formats.parse_labels(
                labels_tree.read_json(label_member),
                path=labels_tree.where(label_member),
                version=version,
                on_unscored=on_unscored,
            )
            predictions = formats.parse_predictions(
                predictions_tree.read_json(prediction_member),
                path=predictions_tree.where(prediction_member),
                version=version,
                on_unscored=on_unscored,
            )
            for half in formats.SCORED_HALVES:
                gt = [a for a in annotations if a.half == half]
                pred = [p for p in predictions if p.half == half]
                key = (game, half)
                if not gt:
                    raise ValueError(
                        f"{labels_tree.where(label_member)} has no scored caption in half "
                        f"{half}; the official evaluator cannot score such a half (KeyError)"
                    )
                videos[key] = _sorted_video(
                    key,
                    VideoCaptions([a.seconds for a in gt], [a.anonymized for a in gt]),
                    VideoCaptions([p.seconds for p in pred], [p.comment for p in pred]),
                )
    return _score_videos([videos[key] for key in official_order(list(videos))], window_size)


def format_table(results: dict[str, float], *, title: str = "") -> str:
    """A readable table of `evaluate` results, in % (CIDEr too, as the official prints it)."""
    lines = [title or "Dense video captioning, in %", f"{'metric':<10} {'value':>8}"]
    for key in RESULT_KEYS:
        lines.append(f"{key:<10} {100 * results[key]:8.2f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zoo.metrics.captioning",
        description="SoccerNet dense video captioning metrics (equal to the official evaluator, "
        "include_SODA=False). Needs Java.",
    )
    parser.add_argument("labels", help="folder or zip of league/season/game/Labels-caption.json")
    parser.add_argument("predictions", help="folder or zip of league/season/game/<prediction file>")
    parser.add_argument(
        "--split", default=None,
        help="this official split's games that the labels hold (default: the games of the predictions)")
    parser.add_argument("--verbose", action="store_true", help="show the traceback of errors")
    parser.add_argument("--window-size", type=int, default=WINDOW_SIZE, help="seconds")
    parser.add_argument("--label-file", default=LABEL_FILE)
    parser.add_argument("--prediction-file", default=PREDICTION_FILE)
    parser.add_argument(
        "--on-unscored",
        default="error",
        choices=formats.UNSCORED_POLICIES,
        help="entries the official skips (unknown labels, halves > 2): error, warn or ignore",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead")
    args = parser.parse_args(argv)
    return user_errors(_score_command)(args)


def _score_command(args) -> int:
    games, note = games_at_hand(args.labels, args.predictions, args.split, label_file=args.label_file,
                                prediction_file=args.prediction_file, split_task="caption")
    print(note, file=sys.stderr if args.json else sys.stdout)
    results = evaluate(
        args.labels,
        args.predictions,
        window_size=args.window_size,
        label_file=args.label_file,
        prediction_file=args.prediction_file,
        games=games,
        on_unscored=args.on_unscored,
    )
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        title = f"Dense video captioning, window {args.window_size} s, in %"
        print(format_table(results, title=title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
