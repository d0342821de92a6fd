"""Lexicon sentiment of news text: a small, documented finance word list with simple negation.

The lexicon (``pas_pipeline/data/news_sentiment_lexicon.csv``, columns ``word,polarity`` with
polarity ``1`` or ``-1``) is a short list of unambiguous words in the spirit of the
Loughran-McDonald finance dictionary's positive and negative lists (general-purpose
dictionaries misread finance text: "liability", "tax" or "cost" are not negative there).
Ambiguous words ("fine", "lead", "top", "risk", "lower", "claims") are left out on purpose.

Rules of :func:`count_polarity` and :func:`article_score`:

1. Text is lower-cased and split into sentences at ``.``, ``!``, ``?``, ``;`` and ``:``;
   a sentence is split into words (letters, digits and inner apostrophes: ``don't``).
2. A word of the lexicon counts +1 (positive) or -1 (negative).
3. Negation: when one of the 3 words before it is a negator (``not``, ``no``, ``never``,
   or a word ending in ``n't``) in the same sentence, the word's polarity is flipped
   ("did not beat" is negative, "no losses" is positive).
4. Article score = ``(pos - neg) / max(pos + neg, 1)``, in ``[-1, 1]``; an article with no
   lexicon word scores 0. Headline and summary are scored together (summed counts).

Pure functions; the lexicon file is read once and cached.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources

LEXICON_FILE = "news_sentiment_lexicon.csv"
NEGATORS = frozenset({"not", "no", "never"})
NEGATION_WINDOW = 3
"""A negator flips a lexicon word when it is one of the 3 words before it."""

_SENTENCE_BREAK = re.compile(r"[.!?;:]+(?:\s|$)|[!?;]+")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@cache
def _lexicon() -> dict[str, int]:
    path = resources.files("pas_pipeline.data").joinpath(LEXICON_FILE)
    lexicon: dict[str, int] = {}
    with path.open("r", encoding="utf-8") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            word, polarity = row["word"].strip().lower(), int(row["polarity"])
            if polarity not in (-1, 1) or not word or word in lexicon:
                raise ValueError(f"{LEXICON_FILE} line {line}: bad or repeated entry {row}")
            lexicon[word] = polarity
    return lexicon


def load_lexicon() -> Mapping[str, int]:
    """``word -> polarity`` (+1 positive, -1 negative) of the packaged lexicon (lower case)."""
    return dict(_lexicon())


def words(text: str) -> list[list[str]]:
    """The lower-case words of ``text``, one list per sentence."""
    sentences = _SENTENCE_BREAK.split(text.lower())
    return [found for sentence in sentences if (found := _WORD.findall(sentence))]


def _is_negator(word: str) -> bool:
    return word in NEGATORS or word.endswith("n't")


def count_polarity(text: str, lexicon: Mapping[str, int] | None = None) -> tuple[int, int]:
    """``(positive, negative)`` lexicon hits in ``text`` after negation (see the module)."""
    lexicon = _lexicon() if lexicon is None else lexicon
    positive = negative = 0
    for sentence in words(text):
        for position, word in enumerate(sentence):
            polarity = lexicon.get(word, 0)
            if polarity == 0:
                continue
            before = sentence[max(0, position - NEGATION_WINDOW) : position]
            if any(_is_negator(other) for other in before):
                polarity = -polarity
            if polarity > 0:
                positive += 1
            else:
                negative += 1
    return positive, negative


def article_score(
    headline: str, summary: str = "", lexicon: Mapping[str, int] | None = None
) -> float:
    """``(pos - neg) / max(pos + neg, 1)`` over headline and summary together, in [-1, 1]."""
    pos_head, neg_head = count_polarity(headline, lexicon)
    pos_body, neg_body = count_polarity(summary, lexicon)
    positive, negative = pos_head + pos_body, neg_head + neg_body
    return (positive - negative) / max(positive + negative, 1)


__all__ = [
    "LEXICON_FILE",
    "NEGATION_WINDOW",
    "NEGATORS",
    "article_score",
    "count_polarity",
    "load_lexicon",
    "words",
]
