from __future__ import annotations

import json

import pytest

pytest.importorskip("torch", reason="torch (extra 'torch') is not installed")
pytest.importorskip("transformers", reason="transformers (extra 'torch') is not installed")

from blendrank.errors import InvalidInputError, ModelError  # noqa: E402
from blendrank.train import TrainConfig, load_jsonl_training, train_cross_encoder  # noqa: E402

FAST = dict(
    retriever="bm25",
    max_length=64,
    batch_groups=4,
    hard_negatives=2,
    random_negatives=1,
    val_fraction=0.0,
    threads=2,
)


def tiny_config(base, **extra) -> TrainConfig:
    return TrainConfig(base=str(base), **{**FAST, "learning_rate": 1e-3, **extra})


def losses(out) -> list[float]:
    return [v for _, v in json.loads((out / "training.json").read_text())["losses"]]


@pytest.fixture(scope="module")
def minilm_runs(toy_jsonl, tmp_path_factory):
    """A few steps from the real all-MiniLM-L6-v2 encoder, once per loss."""
    data = load_jsonl_training(toy_jsonl)
    out = {}
    for loss in ("listwise", "pointwise"):
        folder = tmp_path_factory.mktemp(f"minilm-{loss}")
        config = TrainConfig(
            **{**FAST, "epochs": 4, "learning_rate": 1e-4, "max_length": 96, "loss": loss}
        )
        train_cross_encoder(data, folder, config, progress=False)
        out[loss] = folder
    return data, out


@pytest.mark.parametrize("loss", ["listwise", "pointwise"])
def test_the_loss_decreases(minilm_runs, loss):
    values = losses(minilm_runs[1][loss])
    assert len(values) == 12  # 12 groups / 4 per step x 4 epochs
    assert sum(values[-3:]) / 3 < sum(values[:3]) / 3 - 0.02


def test_training_is_seeded_and_reproducible(tiny_encoder, toy_jsonl, tmp_path):
    data = load_jsonl_training(toy_jsonl)
    runs = []
    for name in ("a", "b"):
        train_cross_encoder(
            data, tmp_path / name, tiny_config(tiny_encoder, epochs=2), progress=False
        )
        runs.append(losses(tmp_path / name))
    assert runs[0] == runs[1]
    train_cross_encoder(
        data, tmp_path / "c", tiny_config(tiny_encoder, epochs=2, seed=1), progress=False
    )
    assert losses(tmp_path / "c") != runs[0]


def test_output_records_config_data_and_history(tiny_encoder, toy_jsonl, tmp_path):
    data = load_jsonl_training(toy_jsonl)
    out = tmp_path / "model"
    config = tiny_config(tiny_encoder, epochs=2, val_fraction=0.25, eval_every=1, patience=1)
    result = train_cross_encoder(data, out, config, progress=False)
    record = json.loads((out / "training.json").read_text())
    assert record["config"] == config.to_dict()
    assert record["data"]["fingerprint"] == data.fingerprint()
    assert record["data"]["train_queries"] == 9 and record["data"]["val_queries"] == 3
    assert (out / "training.png").stat().st_size > 1000
    # the model is scored with the window it was trained on
    tokenizer_config = json.loads((out / "tokenizer_config.json").read_text())
    assert tokenizer_config["model_max_length"] == config.max_length == 64
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in out.iterdir()}
    evals = record["evals"]
    assert evals[0][0] == 0  # the starting point is measured
    assert record["best_val_ndcg@10"] == max(v for _, v in evals) == result.best_metric
    assert dict(map(tuple, evals))[record["best_step"]] == result.best_metric
    if record["stopped_early"]:
        assert record["steps"] < 6


@pytest.mark.parametrize("loss", ["listwise", "pointwise"])
def test_a_trained_model_loads_in_blendrank_and_sentence_transformers_alike(minilm_runs, loss):
    """The folder loads in blendrank's ONNX cross-encoder and in sentence-transformers
    alike, with the same scores; the listwise model (12 steps) already ranks every
    training positive above its negative."""
    st = pytest.importorskip(
        "sentence_transformers", reason="sentence_transformers (extra 'torch') is not installed"
    )
    pytest.importorskip("onnx", reason="onnx (extra 'torch') is not installed")
    from blendrank.rerank import CrossEncoderReranker

    data, folders = minilm_runs
    ours = CrossEncoderReranker(folders[loss])
    reference = st.CrossEncoder(str(folders[loss]), device="cpu")
    for q in data.queries:
        (pos,) = q.positives
        (neg,) = q.negatives
        texts = [data.corpus[pos], data.corpus[neg]]
        scores = ours.score(q.text, texts)
        if loss == "listwise":
            assert scores[0] > scores[1], q.text
        expected = reference.predict([(q.text, t) for t in texts])
        assert abs(scores - expected).max() < 1e-4


def test_distillation_from_a_teacher(tiny_encoder, toy_jsonl, tmp_path):
    data = load_jsonl_training(toy_jsonl)
    out = tmp_path / "distilled"
    config = tiny_config(
        tiny_encoder, epochs=1, teacher="bi:all-MiniLM-L6-v2", teacher_temperature=0.05
    )
    train_cross_encoder(data, out, config, progress=False)
    record = json.loads((out / "training.json").read_text())
    assert record["config"]["teacher"] == "bi:all-MiniLM-L6-v2"
    assert all(v == v and v > 0 for v in losses(out))  # finite, positive (KL + CE)


def test_head_learning_rate_applies_to_pooler_and_classifier_only(tiny_encoder):
    from blendrank.train.trainer import _parameter_groups, load_model

    model, _ = load_model(str(tiny_encoder), "cpu")
    config = tiny_config(tiny_encoder, head_learning_rate=5e-3)
    body, head = _parameter_groups(model, config)
    names = {id(p): n for n, p in model.named_parameters()}
    head_names = sorted(names[id(p)] for p in head["params"])
    assert head["lr"] == 5e-3 and "lr" not in body
    assert head_names == [
        "bert.pooler.dense.bias",
        "bert.pooler.dense.weight",
        "classifier.bias",
        "classifier.weight",
    ]
    assert len(body["params"]) + len(head["params"]) == len(list(model.parameters()))
    (single,) = _parameter_groups(model, tiny_config(tiny_encoder))
    assert len(single["params"]) == len(list(model.parameters()))


def test_bf16_autocast_trains_and_saves_fp32_weights(tiny_encoder, toy_jsonl, tmp_path):
    import torch
    from safetensors.torch import load_file

    data = load_jsonl_training(toy_jsonl)
    out = tmp_path / "bf16"
    config = tiny_config(tiny_encoder, epochs=3, precision="bf16", head_learning_rate=1e-2)
    train_cross_encoder(data, out, config, progress=False)
    values = losses(out)
    assert all(v == v for v in values)  # finite
    assert sum(values[-3:]) / 3 < sum(values[:3]) / 3
    weights = load_file(out / "model.safetensors")
    assert {t.dtype for t in weights.values()} == {torch.float32}
    record = json.loads((out / "training.json").read_text())
    assert record["config"]["precision"] == "bf16"


def test_refuses_to_overwrite_and_bad_bases(tiny_encoder, toy_jsonl, tmp_path):
    data = load_jsonl_training(toy_jsonl)
    out = tmp_path / "model"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(InvalidInputError, match="exists and is not empty"):
        train_cross_encoder(data, out, tiny_config(tiny_encoder), progress=False)
    assert (out / "keep.txt").read_text() == "mine"
    not_a_model = tmp_path / "empty"
    not_a_model.mkdir()
    with pytest.raises(ModelError, match="no config.json"):
        train_cross_encoder(
            data, tmp_path / "m2", TrainConfig(**{**FAST, "base": str(not_a_model)}), progress=False
        )
    assert not (tmp_path / "m2").exists()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"loss": "hinge"}, "loss must be one of"),
        ({"epochs": 0}, "epochs must be an integer >= 1"),
        ({"learning_rate": 0}, "learning_rate must be > 0"),
        ({"val_fraction": 0.95}, "val_fraction must be in"),
        ({"hard_negatives": 0, "random_negatives": 0}, "must be >= 1"),
        ({"lr": 1e-5}, "unknown training option(s) ['lr']"),
        ({"precision": "fp16"}, "precision must be one of ('fp32', 'bf16')"),
        ({"head_learning_rate": 0}, "head_learning_rate must be in (0, 1]"),
        ({"head_learning_rate": True}, "head_learning_rate must be in (0, 1]"),
    ],
)
def test_bad_config(values, message):
    with pytest.raises(InvalidInputError) as err:
        TrainConfig.from_dict(values)
    assert message in str(err.value)


def test_distillation_from_an_llm_teacher(tiny_encoder, toy_jsonl, tmp_path, llama_server):
    # an LLM reranker is a teacher like any other: its P(yes) scores are distilled
    data = load_jsonl_training(toy_jsonl)
    out = tmp_path / "distilled-llm"
    teacher = f"llm-pointwise:gemma@{llama_server}?api=completions&max_passage_tokens=48"
    config = tiny_config(tiny_encoder, epochs=1, teacher=teacher, teacher_temperature=0.1)
    train_cross_encoder(data, out, config, progress=False)
    assert json.loads((out / "training.json").read_text())["config"]["teacher"] == teacher
    assert all(v == v and v > 0 for v in losses(out))
