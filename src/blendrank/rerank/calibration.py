"""Calibrated scores: a mapping from a reranker's raw scores to the probability that a
document is relevant, fitted on judged queries, so one threshold means the same thing for
BM25, a bi-encoder, a cross-encoder and a hosted API.

>>> cal = Calibration.fit([0.1, 0.2, 0.7, 0.9, 0.3, 0.8], [0, 0, 1, 1, 0, 1], "isotonic")
>>> [round(float(p), 2) for p in cal.apply([0.05, 0.85])]
[0.0, 1.0]

Two methods: ``"platt"`` (a logistic curve, two parameters: smooth, never overfits much,
keeps the order) and ``"isotonic"`` (a non-decreasing step function by pool-adjacent-
violators: follows any shape, needs more judged pairs). ``blendrank calibrate`` fits one on
a BEIR split and writes it as JSON beside the reranker spec; ``load_reranker("calibrated:
cal.json")`` (library, CLI, ``serve --reranker``) is that reranker with probabilities as
scores (``scale="probability"``).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from blendrank.errors import InvalidInputError
from blendrank.rerank.base import GroupScores, Ranking, Reranker

METHODS = ("platt", "isotonic")
FORMAT = "blendrank-calibration"


@dataclass(frozen=True)
class Calibration:
    """A fitted mapping raw score -> P(relevant). ``params``: Platt's ``a``, ``b``
    (p = 1 / (1 + exp(-(a * s + b)))) or isotonic ``x``, ``y`` knots (interpolated
    linearly between, flat outside)."""

    method: str
    params: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        scores: Sequence[float] | np.ndarray,
        labels: Sequence[int | bool] | np.ndarray,
        method: str = "platt",
    ) -> Calibration:
        if method not in METHODS:
            raise InvalidInputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
        x = np.asarray(scores, dtype=np.float64)
        y = np.asarray(labels, dtype=np.float64)
        if x.shape != y.shape or x.ndim != 1:
            raise InvalidInputError("scores and labels must be two lists of the same length")
        finite = np.isfinite(x)
        x, y = x[finite], y[finite]
        if len(x) < 2 or y.min() == y.max():
            raise InvalidInputError(
                "calibration needs judged pairs of both kinds (relevant and not); got "
                f"{int(y.sum())} relevant of {len(y)}"
            )
        params = _platt(x, y) if method == "platt" else _isotonic(x, y)
        return cls(method, params, {"pairs": len(x), "relevant": int(y.sum())})

    def apply(self, scores: Sequence[float] | np.ndarray) -> np.ndarray:
        x = np.asarray(scores, dtype=np.float64)
        if self.method == "platt":
            z = self.params["a"] * x + self.params["b"]
            out = 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))
        else:
            out = np.interp(x, self.params["x"], self.params["y"])
        return np.where(np.isfinite(x), out, np.nan).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "params": self.params, "info": self.info}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        try:
            method, params = data["method"], dict(data["params"])
        except (KeyError, TypeError):
            raise InvalidInputError("a calibration needs 'method' and 'params'") from None
        if method not in METHODS:
            raise InvalidInputError(f"unknown calibration method {method!r}")
        return cls(method, params, dict(data.get("info") or {}))


def _platt(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Logistic regression of y on x by Newton's method, with Platt's smoothed targets."""
    positives, negatives = y.sum(), len(y) - y.sum()
    target = np.where(y > 0, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    scale = x.std() or 1.0
    u = (x - x.mean()) / scale  # fit on a standardised score, then map back
    a, b = 0.0, math.log((positives + 1) / (negatives + 1))
    for _ in range(100):
        p = 1 / (1 + np.exp(-(a * u + b)))
        w = np.maximum(p * (1 - p), 1e-12)
        grad = np.array([np.sum((p - target) * u), np.sum(p - target)])
        hess = np.array([[np.sum(w * u * u), np.sum(w * u)], [np.sum(w * u), np.sum(w)]])
        hess += np.eye(2) * 1e-9
        step = np.linalg.solve(hess, grad)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-10:
            break
    return {"a": float(a / scale), "b": float(b - a * x.mean() / scale)}


def _isotonic(x: np.ndarray, y: np.ndarray) -> dict[str, list[float]]:
    """Pool adjacent violators on y sorted by x; knots at each block's score range."""
    order = np.argsort(x, kind="mergesort")
    xs, ys = x[order], y[order]
    values: list[float] = []
    weights: list[float] = []
    lows: list[float] = []
    highs: list[float] = []
    for xi, yi in zip(xs, ys, strict=True):
        values.append(float(yi))
        weights.append(1.0)
        lows.append(float(xi))
        highs.append(float(xi))
        while len(values) > 1 and values[-2] >= values[-1]:
            w = weights[-2] + weights[-1]
            v = (values[-2] * weights[-2] + values[-1] * weights[-1]) / w
            values[-2:], weights[-2:] = [v], [w]
            lows[-2:], highs[-2:] = [lows[-2]], [highs[-1]]
    knots_x, knots_y = [], []
    for v, lo, hi in zip(values, lows, highs, strict=True):
        knots_x += [lo, hi] if hi > lo else [lo]
        knots_y += [v, v] if hi > lo else [v]
    return {"x": knots_x, "y": knots_y}


def expected_calibration_error(
    probabilities: Sequence[float] | np.ndarray,
    labels: Sequence[int | bool] | np.ndarray,
    bins: int = 10,
) -> float:
    """ECE: the mean |accuracy - confidence| over equal-width probability bins, weighted
    by how many pairs fall in each."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    y = np.asarray(labels, dtype=np.float64)
    if len(p) == 0:
        return 0.0
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.sum() * abs(y[inside].mean() - p[inside].mean())
    return float(total / len(p))


class CalibratedReranker(Reranker):
    """``reranker`` with its scores mapped through ``calibration`` (probabilities)."""

    scale = "probability"

    def __init__(self, reranker: Reranker, calibration: Calibration, *, spec: str | None = None):
        super().__init__(cache=None)
        if not isinstance(reranker, Reranker):
            raise InvalidInputError(f"reranker must be a Reranker, got {type(reranker).__name__}")
        self.inner, self.calibration, self.spec = reranker, calibration, spec
        self.name = f"calibrated({reranker.name})"
        self.batch_size = reranker.batch_size
        self.max_documents_per_call = reranker.max_documents_per_call
        self.supports_groups = reranker.supports_groups
        self.tokenizer_folder = getattr(reranker, "tokenizer_folder", None)
        self.max_length = getattr(reranker, "max_length", None)

    @property
    def fingerprint(self) -> str:
        key = json.dumps(self.calibration.to_dict(), sort_keys=True)
        return f"calibrated:{self.inner.fingerprint}:{key}"

    def config(self) -> dict[str, Any]:
        return {"type": "CalibratedReranker", "reranker": self.inner.config()}

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        return self.calibration.apply(self.inner.score_cached([(query, list(texts))])[0])

    def score_groups(self, groups: Sequence[tuple[str, Sequence[str]]]) -> GroupScores:
        raw = self.inner.score_cached(groups)
        return GroupScores([self.calibration.apply(s) for s in raw], raw.info)

    def rerank(self, query: Any, candidates: Any, top_k: int | None = None, **kw: Any) -> Ranking:
        if type(self.inner).score is not Reranker.score:  # it scores pairs: map them
            return super().rerank(query, candidates, top_k, **kw)
        ranked = self.inner.rerank(query, candidates, top_k, **kw)  # orders whole lists
        mapped = self.calibration.apply(ranked.scores)
        hits = [
            h.but(score=float(p), scores={**h.scores, "rerank": float(p)})
            for h, p in zip(ranked, mapped, strict=True)
        ]
        return Ranking(hits, ranked.info)

    @classmethod
    def load(cls, path: str | Path) -> CalibratedReranker:
        """The reranker a ``blendrank calibrate`` file names, calibrated by it."""
        from blendrank.rerank import load_reranker

        data = read_calibration(path)
        return cls(
            load_reranker(data["reranker"]), Calibration.from_dict(data), spec=data["reranker"]
        )


def read_calibration(path: str | Path) -> dict[str, Any]:
    target = Path(path)
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(f"calibration file not found: {target}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"{target} is not a calibration file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or "reranker" not in data:
        raise InvalidInputError(f"{target} is not a blendrank calibration file")
    return data


def write_calibration(
    path: str | Path, reranker_spec: str, calibration: Calibration, **extra: Any
) -> None:
    """Write atomically: a crash leaves the old file or the new one."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "reranker": reranker_spec, **calibration.to_dict(), **extra}
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".calibration-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
