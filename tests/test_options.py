"""Search options are defined once: the library, the CLI flags, the HTTP schema and
evaluation configs take defaults, choices and bounds from blendrank.options."""

from __future__ import annotations

import argparse
import inspect

import pytest

from blendrank.errors import InvalidInputError
from blendrank.options import SEARCH_OPTIONS, SearchOptions


def test_index_search_defaults_come_from_the_table() -> None:
    from blendrank import Index

    parameters = inspect.signature(Index.search).parameters
    for name, option in SEARCH_OPTIONS.items():
        assert parameters[name].default == option.default, name


def test_cli_flags_come_from_the_table() -> None:
    from blendrank.cli.search_cmd import add_search_options

    parser = argparse.ArgumentParser()
    add_search_options(parser)
    actions = {a.dest: a for a in parser._actions}
    for name, option in SEARCH_OPTIONS.items():
        assert actions[name].default == option.default
        assert tuple(actions[name].choices or ()) == (option.choices or ())


def test_http_schema_comes_from_the_table() -> None:
    pytest.importorskip("pydantic")
    from blendrank.service.index_schemas import SearchRequest

    schema = SearchRequest.model_json_schema()["properties"]
    for name, option in SEARCH_OPTIONS.items():
        assert SearchRequest.model_fields[name].default == option.default
        if option.choices:
            assert schema[name]["enum"] == list(option.choices)
        if option.maximum is not None:
            assert "maximum" in str(schema[name])
    with pytest.raises(ValueError, match="must be one of hybrid, bm25, dense"):
        SearchRequest(query="q", mode="sparse")


def test_evaluation_configs_come_from_the_table() -> None:
    from blendrank.evaluate.config import FUSIONS, MODES, PipelineConfig

    pipeline = PipelineConfig(name="p")
    for name in ("mode", "fusion", "rrf_k", "normalization", "candidates"):
        assert getattr(pipeline, name) == SEARCH_OPTIONS[name].default
    assert MODES == SEARCH_OPTIONS["mode"].choices
    assert FUSIONS == SEARCH_OPTIONS["fusion"].choices


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"top_k": 0}, "top_k must be >= 1"),
        ({"candidates": 2.5}, "candidates must be an integer"),
        ({"fusion": "borda"}, "fusion must be one of rrf, linear, relative_score, dbsf"),
        ({"per": "page"}, "per must be one of chunk, document"),
        ({"weights": {"bm25": -1}}, "weight for 'bm25' must be a number >= 0"),
        ({"weights": {"": 1}}, "weights are keyed by retriever name"),
        ({"retrievers": []}, "retrievers must be a non-empty list"),
        ({"retrievers": ["bm25", "bm25"]}, "retrievers lists a name twice"),
        ({"rerank": "bi:x"}, "rerank must be a blendrank Reranker"),
    ],
)
def test_bad_options_say_what_to_fix(options, message) -> None:
    with pytest.raises(InvalidInputError, match=message):
        SearchOptions(**options)
