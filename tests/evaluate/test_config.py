"""Config parsing: unknown keys, bad values, aliases, YAML and TOML."""

from __future__ import annotations

import json

import pytest

from blendrank.errors import InvalidInputError
from blendrank.evaluate.config import (
    EvalConfig,
    PipelineConfig,
    TuneConfig,
    load_eval_config,
    load_tune_config,
)
from blendrank.evaluate.resources import index_plan


def test_unknown_pipeline_key_lists_valid_keys():
    with pytest.raises(InvalidInputError) as err:
        EvalConfig.from_mapping({"pipelines": [{"name": "x", "chunksize": 256}]})
    message = str(err.value)
    assert "unknown key(s) 'chunksize' in pipeline 'x'" in message
    assert "chunk_size" in message and "rerank_candidates" in message


def test_unknown_top_level_key():
    with pytest.raises(InvalidInputError, match="'metric' in the evaluation config; valid keys"):
        EvalConfig.from_mapping({"pipelines": [{"name": "x"}], "metric": "ndcg@10"})


def test_unknown_metric_in_config():
    with pytest.raises(InvalidInputError, match="unknown metric 'ndcg10'"):
        EvalConfig.from_mapping({"pipelines": [{"name": "x"}], "metrics": ["ndcg10"]})


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        ({"name": "x", "mode": "sparse"}, "mode must be one of hybrid, bm25, dense"),
        ({"name": "x", "per": "chunk"}, "per must be 'document'"),
        ({"name": "x", "alpha": 0.3, "weights": {"bm25": 1}}, "either alpha or weights"),
        ({"name": "x", "alpha": 1.5}, r"alpha must be a number in \[0.0, 1.0\]"),
        ({"name": "x", "type": "rerank_run", "run": "r.trec"}, "needs a 'reranker'"),
        ({"name": "x", "type": "run"}, "needs 'run'"),
        ({"name": "x", "rerank_blend": 0.5}, "rerank_blend needs a 'reranker'"),
        ({"name": "x", "reranker": "bi:m", "rerank_blend": 2}, "rerank_blend must be a number"),
        ({"name": "x", "top_k": 0}, "top_k must be an integer >= 1"),
        ({"name": "x", "weights": {"bm25": 1, "splade": 1}}, "'splade' in pipeline 'x' weights"),
    ],
)
def test_bad_pipeline_values(pipeline, message):
    with pytest.raises(InvalidInputError, match=message):
        PipelineConfig.from_mapping(pipeline)


def test_defaults_aliases_and_weights():
    cfg = EvalConfig.from_mapping(
        {
            "defaults": {"chunk_size": 128, "top_n": 20},
            "pipelines": [{"name": "h", "alpha": 0.25, "reranker": "bi:all-MiniLM-L6-v2"}],
        }
    )
    p = cfg.pipelines[0]
    assert p.chunk_size == 128 and p.rerank_candidates == 20
    assert p.search_weights() == {"bm25": 0.75, "dense": 0.25}
    assert cfg.baseline_name == "h"


def test_duplicate_names_and_bad_baseline():
    with pytest.raises(InvalidInputError, match="repeated: a"):
        EvalConfig.from_mapping({"pipelines": [{"name": "a"}, {"name": "a"}]})
    with pytest.raises(InvalidInputError, match="baseline 'z' is not a pipeline"):
        EvalConfig.from_mapping({"pipelines": [{"name": "a"}], "baseline": "z"})


def test_yaml_and_toml_files(tmp_path):
    yaml_path = tmp_path / "p.yaml"
    yaml_path.write_text("metrics: [ndcg@10]\npipelines:\n  - {name: bm25, mode: bm25}\n")
    toml_path = tmp_path / "p.toml"
    toml_path.write_text('metrics = ["ndcg@10"]\n[[pipelines]]\nname = "bm25"\nmode = "bm25"\n')
    assert load_eval_config(yaml_path) == load_eval_config(toml_path)
    broken = tmp_path / "b.yaml"
    broken.write_text("pipelines: [\n")
    with pytest.raises(InvalidInputError, match="not valid YAML"):
        load_eval_config(broken)


def test_tune_refuses_same_split(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        "pipeline: {name: h}\ngrid: {alpha: [0.3, 0.7]}\ntune_split: test\nreport_split: test\n"
    )
    with pytest.raises(InvalidInputError, match="refusing to tune and report on the same split"):
        load_tune_config(path)


def test_tune_grid_names_are_validated():
    with pytest.raises(InvalidInputError, match="'alfa' in tuning parameters; valid keys"):
        TuneConfig.from_mapping({"pipeline": {"name": "h"}, "grid": {"alfa": [0.1]}})


def test_shipped_example_configs_parse(fixtures_dir):
    scifact = load_eval_config(fixtures_dir / "eval" / "scifact.yaml")
    assert [p.name for p in scifact.pipelines][:2] == ["bm25", "dense"]
    assert scifact.pipelines[3].search_weights() == {"bm25": 0.5, "dense": 0.5}
    dl20 = load_eval_config(fixtures_dir / "eval" / "trec-dl20.yaml")
    assert dl20.relevance_level == 2 and dl20.pipelines[1].type == "rerank_run"
    tune = load_tune_config(fixtures_dir / "eval" / "scifact-tune.yaml")
    assert tune.grid == {"alpha": (0.3, 0.5, 0.7), "normalization": ("minmax", "zscore")}
    # every scifact pipeline shares one chunking: BM25 reuses the MiniLM index
    plan = index_plan(list(scifact.pipelines))
    assert len({json.dumps(s, sort_keys=True) for s in plan.values()}) == 1
