"""Training losses for cross-encoders (torch tensors in, a scalar tensor out).

Groups are ``[n_groups, group_size]`` logits with the positive in column 0.
"""

from __future__ import annotations

from typing import Any


def pointwise_bce(logits: Any, labels: Any) -> Any:
    """Binary cross-entropy on each pair; ``labels`` in [0, 1] (graded qrels give
    ``grade / max_grade``).

    loss = mean(-y log sigmoid(s) - (1 - y) log(1 - sigmoid(s)))
    """
    import torch.nn.functional as F

    return F.binary_cross_entropy_with_logits(logits, labels)


def listwise_softmax(logits: Any) -> Any:
    """InfoNCE: softmax cross-entropy of the positive (column 0) against its negatives.

    loss = mean(-s_pos + log sum_j exp(s_j))
    """
    import torch
    import torch.nn.functional as F

    target = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
    return F.cross_entropy(logits, target)


def distillation_kl(logits: Any, teacher: Any, temperature: float = 1.0) -> Any:
    """KL(teacher || student) between the groups' softmax distributions; the teacher's
    scores are divided by ``temperature`` (match its scale to logits: a cosine teacher
    needs about 0.05)."""
    import torch.nn.functional as F

    target = F.softmax(teacher / temperature, dim=-1)
    return F.kl_div(F.log_softmax(logits, dim=-1), target, reduction="batchmean")
