"""Fine-tune cross-encoders on your own judgments, with hard negatives mined by
blendrank's first stage. Needs the ``torch`` extra."""

from blendrank.train.config import TrainConfig
from blendrank.train.data import (
    TrainingDataError,
    TrainingQuery,
    TrainingSet,
    load_beir_training,
    load_jsonl_training,
    load_trec_training,
)
from blendrank.train.mining import MinedNegatives, mine_negatives
from blendrank.train.trainer import TrainResult, train_cross_encoder

__all__ = [
    "MinedNegatives",
    "TrainConfig",
    "TrainResult",
    "TrainingDataError",
    "TrainingQuery",
    "TrainingSet",
    "load_beir_training",
    "load_jsonl_training",
    "load_trec_training",
    "mine_negatives",
    "train_cross_encoder",
]
