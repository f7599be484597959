"""Caption words: the tokens the metric scores, a vocabulary of training captions, and back to text.

Tokens are those of the captioning metric (`zoo.metrics.captioning`, which is pycocoevalcap's
Stanford PTB tokenizer run with `-lowerCase`), so the model learns exactly the words it is scored
on: "Goal! [PLAYER] ([TEAM]) can't miss." is

    goal ! [PLAYER] -lrb- [TEAM] -rrb- ca n't miss .

with two changes that do not alter what the metric sees: punctuation tokens stay (the metric drops
them; they make the written captions readable), and an anonymisation placeholder, which PTB splits
into "-lsb- player -rsb-", is one token "[PLAYER]" (as in the official baseline's vocabulary).
`detokenize` writes tokens back as text that the PTB tokenizer splits into the same tokens again
(tests/test_caption_vocabulary.py checks the round trip with the Java tokenizer).

The vocabulary is the baseline's: the tokens of the training captions seen at least `min_count`
(5) times, after four special tokens with fixed ids (padding 0, start 1, end 2, unknown 3). It is
stored in the dataset's metadata and in each captioning run's config, so inference never needs
the dataset.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

PAD, START, END, UNKNOWN = 0, 1, 2, 3
# Ids by position; written in a form PTB never produces from caption text.
SPECIAL_TOKENS = ("<pad>", "<s>", "</s>", "<unk>")
MIN_COUNT = 5  # the official baseline's minimum word frequency

# PTB's bracket escapes (after -lowerCase) and the characters they stand for.
_BRACKETS = {"-lrb-": "(", "-rrb-": ")", "-lsb-": "[", "-rsb-": "]", "-lcb-": "{", "-rcb-": "}"}
# Tokens written against the previous one ("scores !", "is n't", "45 '") or the next one.
_NO_SPACE_BEFORE = frozenset(
    {"-rrb-", "-rsb-", "-rcb-", ".", ",", ";", ":", "!", "?", "...", "%", "''", "'", "n't"}
)
_NO_SPACE_AFTER = frozenset({"-lrb-", "-lsb-", "-lcb-", "``", "`", "$", "#"})
_SENTENCE_END = frozenset({".", "!", "?"})
_CLITIC = re.compile(r"'[a-z]{1,2}")  # 's 're 'll 've 'd 'm, split off by PTB
_PLACEHOLDER = re.compile(r"\[[A-Z]+\]")


def merge_placeholders(ptb_tokens: Sequence[str]) -> list[str]:
    """PTB tokens with each "-lsb- word -rsb-" (an anonymisation placeholder) as one "[WORD]"."""
    merged, i = [], 0
    while i < len(ptb_tokens):
        window = ptb_tokens[i : i + 3]
        if len(window) == 3 and window[0] == "-lsb-" and window[2] == "-rsb-" and window[1].isalpha():
            merged.append(f"[{window[1].upper()}]")
            i += 3
        else:
            merged.append(ptb_tokens[i])
            i += 1
    return merged


def metric_tokens(tokens: Iterable[str]) -> list[str]:
    """What the metric's tokenizer makes of `detokenize(tokens)`, punctuation included:
    placeholders split back into "-lsb- word -rsb-"."""
    out = []
    for token in tokens:
        if _PLACEHOLDER.fullmatch(token):
            out.extend(("-lsb-", token[1:-1].lower(), "-rsb-"))
        else:
            out.append(token)
    return out


def tokenize(captions: Sequence[str]) -> list[list[str]]:
    """The tokens of each caption: the metric's PTB tokens with punctuation, placeholders merged.

    The text is prepared as the metric prepares it (every non-ASCII character becomes a space:
    "Müller" is "m ller" to the metric, so it is to the model). One Java start for all captions
    (Java is needed, as for the metric). The PTB tokenizer looks one line ahead (see
    `zoo.metrics.captioning`), so a caption's final period after an abbreviation can depend on
    the next caption, as it does in the metric's batches.
    """
    from zoo.metrics.captioning import ptb_tokenize, remove_nonascii

    if not captions:
        return []
    (lines,) = ptb_tokenize([[remove_nonascii(c) for c in captions]], drop_punctuation=False)
    return [merge_placeholders(line.split()) for line in lines]


def _text_of(token: str) -> str:
    if token in _BRACKETS:
        return _BRACKETS[token]
    if token in ("``", "''"):
        return '"'
    if token == "`":
        return "'"
    return token


def detokenize(tokens: Sequence[str]) -> str:
    """Readable text whose PTB tokens are `metric_tokens(tokens)` again.

    Punctuation and clitics are attached ("scores !" -> "scores!", "is n't" -> "isn't"), brackets
    and quotes restored, and the first word of each sentence capitalised (the metric lowercases).
    """
    pieces: list[str] = []
    previous, sentence_start = None, True
    for token in tokens:
        attach = previous is None or previous in _NO_SPACE_AFTER or (
            (token in _NO_SPACE_BEFORE or bool(_CLITIC.fullmatch(token)))
            # "! !" written "!!" would be one token, which the metric would not drop.
            and not (token in _SENTENCE_END and previous in _SENTENCE_END)
        )
        text = _text_of(token)
        if sentence_start and any(c.isalnum() for c in text):
            if text[0].isalpha():
                text = text[0].upper() + text[1:]
            sentence_start = False
        pieces.append(("" if attach else " ") + text)
        previous = token
        sentence_start = sentence_start or token in _SENTENCE_END
    return "".join(pieces)


def build(token_lists: Iterable[Sequence[str]], *, min_count: int = MIN_COUNT) -> tuple[str, ...]:
    """The vocabulary of tokenized captions: the special tokens, then every token seen at least
    `min_count` times, most frequent first (ties in alphabetical order)."""
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    counts = collections.Counter(t for tokens in token_lists for t in tokens)
    kept = sorted((t for t, n in counts.items() if n >= min_count and t not in SPECIAL_TOKENS),
                  key=lambda t: (-counts[t], t))
    return (*SPECIAL_TOKENS, *kept)


class Vocabulary:
    """Token <-> id over a vocabulary from `build` (a tuple of tokens; id = position)."""

    def __init__(self, tokens: Sequence[str]):
        tokens = tuple(tokens)
        if tokens[: len(SPECIAL_TOKENS)] != SPECIAL_TOKENS:
            raise ValueError(
                f"A caption vocabulary starts with {SPECIAL_TOKENS}, got {tokens[:4]} (an empty or "
                "foreign vocabulary: is config.data.vocabulary filled?)"
            )
        if len(set(tokens)) != len(tokens):
            raise ValueError("A caption vocabulary lists a token twice.")
        self.tokens = tokens
        self._ids: Mapping[str, int] = {t: i for i, t in enumerate(tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: Sequence[str], *, max_length: int) -> tuple[np.ndarray, bool]:
        """Teacher-forcing ids of one caption: [START, w1 .. wn, END, PAD ...], int32
        [max_length + 1]; unknown words are UNKNOWN. Captions longer than max_length - 1 words
        are cut so that the END token fits. Returns (ids, whether the caption was cut)."""
        if max_length < 1:
            raise ValueError(f"max_length must be >= 1, got {max_length}")
        words = [self._ids.get(t, UNKNOWN) for t in tokens]
        cut = len(words) > max_length - 1
        words = words[: max_length - 1]
        ids = np.full(max_length + 1, PAD, np.int32)
        ids[0] = START
        ids[1 : len(words) + 1] = words
        ids[len(words) + 1] = END
        return ids, cut

    def words(self, ids: Iterable[int]) -> list[str]:
        """The tokens of generated ids, up to the first END (padding and start tokens skipped)."""
        out = []
        for i in ids:
            i = int(i)
            if i == END:
                break
            if i in (PAD, START):
                continue
            if not 0 <= i < len(self.tokens):
                raise ValueError(f"token id {i} is outside the vocabulary of {len(self.tokens)}")
            out.append(self.tokens[i])
        return out

    def decode(self, ids: Iterable[int]) -> str:
        """Generated ids as caption text (see `words` and `detokenize`)."""
        return detokenize(self.words(ids))
