"""Calibration: Platt and isotonic fits recover what generated the labels, keep the order,
round-trip through their file, and apply wherever a reranker spec goes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from blendrank.cli.main import main
from blendrank.errors import InvalidInputError
from blendrank.rerank import load_reranker
from blendrank.rerank.calibration import (
    CalibratedReranker,
    Calibration,
    expected_calibration_error,
    read_calibration,
    write_calibration,
)


def _logistic_data(n=4000, a=3.0, b=-1.0, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    p = 1 / (1 + np.exp(-(a * x + b)))
    return x, (rng.random(n) < p).astype(int), p


def test_platt_recovers_the_generating_curve():
    x, y, p = _logistic_data()
    cal = Calibration.fit(x, y, "platt")
    assert cal.params["a"] == pytest.approx(3.0, rel=0.15)
    assert cal.params["b"] == pytest.approx(-1.0, abs=0.2)
    assert np.abs(cal.apply(x) - p).max() < 0.06
    assert expected_calibration_error(cal.apply(x), y) < 0.03


def test_isotonic_is_monotone_and_calibrated_where_platt_cannot_be():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, 5000)
    p = np.where(x < 0.5, 0.1, 0.8)  # a step: no logistic curve fits it
    y = (rng.random(5000) < p).astype(int)
    iso, platt = Calibration.fit(x, y, "isotonic"), Calibration.fit(x, y, "platt")
    grid = np.linspace(0, 1, 101)
    assert (np.diff(iso.apply(grid)) >= -1e-7).all()
    assert expected_calibration_error(iso.apply(x), y) < expected_calibration_error(
        platt.apply(x), y
    )
    assert iso.apply([0.2])[0] == pytest.approx(0.1, abs=0.05)
    assert iso.apply([0.9])[0] == pytest.approx(0.8, abs=0.05)


def test_bad_input_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="both kinds"):
        Calibration.fit([0.1, 0.2], [1, 1])
    with pytest.raises(InvalidInputError, match="method must be"):
        Calibration.fit([0.1, 0.2], [0, 1], "beta")
    with pytest.raises(InvalidInputError, match="same length"):
        Calibration.fit([0.1, 0.2], [0, 1, 1])


def test_the_file_round_trips_and_applies_as_a_spec(tmp_path):
    x, y, _ = _logistic_data(500)
    cal = Calibration.fit(x, y, "platt")
    path = tmp_path / "cal.json"
    write_calibration(path, "bi:all-MiniLM-L6-v2", cal, fitted_on={"split": "train"})
    assert read_calibration(path)["fitted_on"] == {"split": "train"}
    calibrated = load_reranker(f"calibrated:{path}")
    assert isinstance(calibrated, CalibratedReranker) and calibrated.scale == "probability"
    raw = load_reranker("bi:all-MiniLM-L6-v2")
    docs = ["cats purr", "dogs bark", "stock markets fell"]
    ours, theirs = calibrated("why do cats purr", docs), raw("why do cats purr", docs)
    assert [r.index for r in ours] == [r.index for r in theirs]  # the order is kept
    expected = cal.apply([r.score for r in theirs])
    np.testing.assert_allclose([r.score for r in ours], expected, rtol=1e-5)
    (tmp_path / "bad.json").write_text(json.dumps({"format": "x"}))
    with pytest.raises(InvalidInputError, match="not a blendrank calibration"):
        load_reranker(f"calibrated:{tmp_path / 'bad.json'}")
    with pytest.raises(InvalidInputError, match="not found"):
        load_reranker(f"calibrated:{tmp_path / 'missing.json'}")


def test_calibrate_command_on_a_beir_folder(fixtures_dir, tmp_path, capsys):
    out = tmp_path / "cal.json"
    argv = ["calibrate", str(fixtures_dir / "eval" / "beir_toy"), "--reranker"]
    argv += ["bi:all-MiniLM-L6-v2", "--split", "test", "--candidates", "5", "--out", str(out)]
    argv += ["--work-dir", str(tmp_path / "work"), "--json", "--quiet", "--method", "isotonic"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["test"]["pairs"] > 0 and 0 <= report["test"]["ece_after"] <= 1
    assert report["test"]["ece_after"] <= report["test"]["ece_before"]
    assert read_calibration(out)["method"] == "isotonic"
