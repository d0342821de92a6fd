"""Lexicon sentiment: word counts, negation within 3 words, article scores, the lexicon file."""

from __future__ import annotations

import pytest

from pas_pipeline.sources.news_sentiment import (
    article_score,
    count_polarity,
    load_lexicon,
    words,
)


def test_lexicon_words_count_once_each() -> None:
    # profits, surge and record are positive; "to" and "a" are not in the lexicon.
    assert count_polarity("Profits surge to a record") == (3, 0)
    assert count_polarity("Shares fell on weak guidance") == (0, 2)


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("Results did not beat estimates", (0, 1)),  # beat flipped
        ("No losses this quarter", (1, 0)),  # losses flipped
        ("Sales didn't grow", (0, 1)),  # a word ending in n't negates
        ("The deal was never successful", (0, 1)),
        ("Not going to improve", (0, 1)),  # improve is the 3rd word after not
        ("Not that it will improve", (1, 0)),  # the 4th word: out of reach
    ],
)
def test_a_negator_up_to_three_words_before_flips_the_word(
    text: str, counts: tuple[int, int]
) -> None:
    assert count_polarity(text) == counts


def test_negation_does_not_cross_a_sentence_end() -> None:
    assert words("No comment. Profits rose!") == [["no", "comment"], ["profits", "rose"]]
    assert count_polarity("No comment. Profits rose") == (2, 0)


def test_the_hand_worked_negation_window() -> None:
    # no(0) losses(1) and(2) strong(3) growth(4) but(5) shares(6) fell(7):
    # losses and strong are within 3 words of "no" (flipped), growth and fell are not.
    assert count_polarity("No losses and strong growth, but shares fell") == (2, 2)


@pytest.mark.parametrize(
    ("headline", "summary", "score"),
    [
        ("Nvidia beats estimates, stock soars", "Analysts warn of a slowdown", (2 - 2) / 4),
        ("Nvidia beats estimates, stock soars", "Analysts warn on valuation", (2 - 1) / 3),
        ("Tesla recalls cars", "No injuries were reported.", -1.0),
        ("Apple to present at a conference", "", 0.0),  # no lexicon word
        ("Results did not disappoint", "Margins improved", 1.0),  # 2 positive, 0 negative
    ],
)
def test_article_score_is_net_over_total_hits(headline: str, summary: str, score: float) -> None:
    assert article_score(headline, summary) == pytest.approx(score)


def test_an_injected_lexicon_replaces_the_packaged_one() -> None:
    assert count_polarity("moon moon dump", {"moon": 1, "dump": -1}) == (2, 1)
    assert article_score("moon moon dump", "", {"moon": 1, "dump": -1}) == pytest.approx(1 / 3)


def test_the_packaged_lexicon_is_lower_case_signed_and_avoids_ambiguous_words() -> None:
    lexicon = load_lexicon()
    assert len(lexicon) > 200
    assert set(lexicon.values()) == {-1, 1}
    assert all(word == word.lower() and " " not in word for word in lexicon)
    assert lexicon["beat"] == 1 and lexicon["downgrade"] == -1
    assert not {"fine", "risk", "lead", "top", "lower", "not", "no"} & set(lexicon)
