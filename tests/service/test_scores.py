"""The score scales of the HTTP formats, worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from blendrank.errors import InvalidInputError
from blendrank.service.config import ServiceConfig
from blendrank.service.scores import Ranking, raw_scores, relevance_scores


def test_relevance_is_in_0_1_and_keeps_the_order() -> None:
    logits = np.array([-3.0, 0.0, 3.0])
    assert relevance_scores(logits, "logit") == pytest.approx([0.047426, 0.5, 0.952574], 1e-5)
    assert relevance_scores(np.array([0.2, 0.9]), "probability").tolist() == [0.2, 0.9]
    assert relevance_scores(np.array([-1.0, 0.0, 1.0]), "cosine").tolist() == [0.0, 0.5, 1.0]
    assert relevance_scores(np.array([-1.0, 1.0]), "tanh").tolist() == [0.0, 1.0]


def test_raw_scores_undo_the_activation() -> None:
    assert raw_scores(np.array([0.5, 0.8807971]), "probability") == pytest.approx([0, 2], 1e-5)
    assert raw_scores(np.array([1.0]), "probability")[0] == pytest.approx(16.64, abs=0.01)
    assert raw_scores(np.array([-2.0, 5.0]), "logit").tolist() == [-2.0, 5.0]


def test_ranking_top_and_positions() -> None:
    ranking = Ranking(np.array([2, 0, 1]), np.array([0.9, 0.5, 0.1]))
    assert ranking.top(2).order.tolist() == [2, 0]
    assert ranking.by_position(3).tolist() == [0.5, 0.1, 0.9]


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"max_documents": 0}, "max_documents"),
        ({"max_wait_ms": -1}, "max_wait_ms"),
        ({"max_queue_pairs": 10, "max_documents": 20}, "could never be queued"),
        ({"api_keys": ("",)}, "api_keys"),
    ],
)
def test_config_refuses_bad_settings(settings: dict, fragment: str) -> None:
    with pytest.raises(InvalidInputError, match=fragment):
        ServiceConfig(**settings)
