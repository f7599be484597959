"""Caption tokens are the metric's, written captions tokenize back to the same tokens, and the
vocabulary is the baseline's (train tokens seen 5 times, special tokens first)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from zoo.data import caption_vocabulary as words
from zoo.synthetic.soccernet_caption import TEMPLATES

# Commentary the way real anonymised captions are written: clitics, possessives, quotes, scores,
# minutes, brackets, ellipses, repeated punctuation, abbreviations, non-ASCII.
STRESS = [
    "[PLAYER] ([TEAM]) is booked after bringing down an opponent. [REFEREE] had an easy decision to make.",
    "[TEAM]'s defence isn't great; the keeper -- \"quoted\" -- can't reach it. 2-1, 45' goal...",
    "It's 3-0 and they'll win, won't they? U.S. team",
    "What a strike from 25 yards! 1-0 to [TEAM], with 10% of possession {x} $5 #hash",
    "He cannot do it. he'd've",
    "What a save by [PLAYER] ( [TEAM] ) ! ! 'Great' stuff?!",
    "Mr. Smith's (ex-[TEAM]) 90+2' goal: 2 - 1!!",
    "[PLAYER]'s (([TEAM])) x",
    "Free-kick to [TEAM] ... [PLAYER] ([TEAM]) will take it",
    "Müller’s corner – headed clear by [PLAYER]",
    "[COACH] isn't happy: [PLAYER] replaces [PLAYER] ([TEAM]).",
]

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="the PTB tokenizer needs Java")


@pytest.fixture(scope="module")
def corpus():
    captions = [t for texts in TEMPLATES.values() for t in texts] + STRESS
    return captions, words.tokenize(captions)


@needs_java
def test_written_captions_tokenize_back_to_their_tokens(corpus):
    from zoo.metrics.captioning import ptb_tokenize

    captions, tokens = corpus
    texts = [words.detokenize(t) for t in tokens]
    (again,) = ptb_tokenize([texts], drop_punctuation=False)
    assert [line.split() for line in again] == [words.metric_tokens(t) for t in tokens]
    assert texts[0] == "[TEAM] keep the ball and look for an opening."  # readable, placeholders kept
    assert words.detokenize(tokens[len(captions) - len(STRESS) + 2]) == "It's 3-0 and they'll win, won't they? U.s. team"


@needs_java
def test_tokens_are_what_the_metric_scores(corpus):
    from pycocoevalcap.tokenizer.ptbtokenizer import PUNCTUATIONS

    from zoo.metrics.captioning import ptb_tokenize, remove_nonascii

    captions, tokens = corpus
    (metric,) = ptb_tokenize([[remove_nonascii(c) for c in captions]])  # as the metric prepares texts
    for ours, theirs in zip(tokens, metric):
        assert [t for t in words.metric_tokens(ours) if t not in PUNCTUATIONS] == theirs.split()
    assert tokens[0] == ["[TEAM]", "keep", "the", "ball", "and", "look", "for", "an", "opening", "."]
    assert "m" in tokens[-2] and "ller" in tokens[-2]  # non-ASCII letters are spaces to the metric


def test_placeholders_merge_and_split_back():
    ptb = ["-lsb-", "player", "-rsb-", "-lrb-", "-lsb-", "team", "-rsb-", "-rrb-", "scores", "-lsb-", "2", "-rsb-"]
    merged = words.merge_placeholders(ptb)
    assert merged == ["[PLAYER]", "-lrb-", "[TEAM]", "-rrb-", "scores", "-lsb-", "2", "-rsb-"]
    assert words.metric_tokens(merged) == ptb
    assert words.detokenize(merged) == "[PLAYER] ([TEAM]) scores [2]"


def test_vocabulary_keeps_tokens_seen_min_count_times_most_frequent_first():
    token_lists = [["goal", "!"]] * 6 + [["corner", "."]] * 5 + [["rare", "."]] * 4 + [["<s>"]] * 9
    vocabulary = words.build(token_lists, min_count=5)
    assert vocabulary == (*words.SPECIAL_TOKENS, ".", "!", "goal", "corner")  # 9, 6, 6 (a-z), 5
    assert vocabulary[words.PAD] == "<pad>" and vocabulary[words.END] == "</s>"
    with pytest.raises(ValueError, match="min_count"):
        words.build(token_lists, min_count=0)


def test_encode_and_decode():
    vocabulary = words.Vocabulary(words.build([["[PLAYER]", "scores", "!"]] * 5))
    ids, cut = vocabulary.encode(["[PLAYER]", "scores", "twice", "!"], max_length=6)
    player, scores, bang = (vocabulary.tokens.index(t) for t in ("[PLAYER]", "scores", "!"))
    np.testing.assert_array_equal(ids, [words.START, player, scores, words.UNKNOWN, bang, words.END, words.PAD])
    assert not cut and ids.dtype == np.int32
    ids, cut = vocabulary.encode(["scores"] * 9, max_length=4)
    assert cut and ids.tolist() == [words.START, scores, scores, scores, words.END]
    generated = [player, scores, bang, words.END, player, words.PAD]
    assert vocabulary.words(generated) == ["[PLAYER]", "scores", "!"]
    assert vocabulary.decode(generated) == "[PLAYER] scores!"
    with pytest.raises(ValueError, match="outside the vocabulary"):
        vocabulary.words([len(vocabulary)])


def test_vocabulary_refuses_a_foreign_or_empty_list():
    with pytest.raises(ValueError, match="starts with"):
        words.Vocabulary(())
    with pytest.raises(ValueError, match="twice"):
        words.Vocabulary((*words.SPECIAL_TOKENS, "a", "a"))
