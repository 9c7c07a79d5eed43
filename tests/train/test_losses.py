from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch", reason="torch (extra 'torch') is not installed")

from blendrank.train.losses import distillation_kl, listwise_softmax, pointwise_bce  # noqa: E402


def test_listwise_by_hand():
    # equal logits over 4 members: -log(1/4)
    assert float(listwise_softmax(torch.zeros(2, 4))) == pytest.approx(math.log(4))
    # positive 2 above one negative at 0: log(1 + e^-2)
    value = float(listwise_softmax(torch.tensor([[2.0, 0.0]])))
    assert value == pytest.approx(math.log(1 + math.exp(-2)), rel=1e-6)


def test_pointwise_by_hand():
    value = float(pointwise_bce(torch.tensor([0.0, 0.0]), torch.tensor([1.0, 0.0])))
    assert value == pytest.approx(math.log(2))
    graded = float(pointwise_bce(torch.tensor([0.0]), torch.tensor([0.5])))
    assert graded == pytest.approx(math.log(2))


def test_distillation_is_zero_when_the_student_matches_the_teacher():
    teacher = torch.tensor([[1.0, 0.0, -1.0]])
    assert float(distillation_kl(teacher.clone(), teacher)) == pytest.approx(0.0, abs=1e-7)
    assert float(distillation_kl(torch.zeros(1, 3), teacher)) > 0.1
    # temperature: a cosine-scale teacher divided by 0.1 matches logits 10x larger
    assert float(distillation_kl(teacher * 10, teacher, 0.1)) == pytest.approx(0.0, abs=1e-6)
