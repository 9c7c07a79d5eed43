"""``blendrank eval`` on the toy collection: reports written, errors in one line."""

from __future__ import annotations

from blendrank.cli.main import main

CONFIG = """
metrics: [ndcg@10, mrr@10]
pipelines:
  - {name: first, type: run, run: runs/first.trec}
  - {name: bm25, mode: bm25, chunk_size: 64, chunk_overlap: 8}
work_dir: WORK
"""


def test_eval_writes_every_report(toy_dir, tmp_path, capsys):
    config = tmp_path / "pipelines.yaml"
    config.write_text(CONFIG.replace("WORK", str(tmp_path / "work")))
    out = tmp_path / "out"
    code = main(
        [
            "eval",
            str(toy_dir),
            "--config",
            str(config),
            "--report",
            str(out),
            "--metrics",
            "ndcg@10",
            "recall@10",
            "--queries",
            "2",
            "--no-progress",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "beir_toy (test), 2 queries" in printed  # --queries 2
    assert "recall@10" in printed and "mrr@10" not in printed  # --metrics overrides
    for name in ("report.md", "report.json", "report.html", "runs/first.trec", "runs/bm25.trec"):
        assert (out / name).is_file(), name


def test_unknown_config_key_is_one_line_error(toy_dir, tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("pipelines:\n  - {name: x, modee: bm25}\n")
    code = main(["eval", str(toy_dir), "--config", str(config)])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "\n" not in err
    assert err.startswith("blendrank eval: error: unknown key(s) 'modee' in pipeline 'x'")


def test_unknown_metric_on_command_line(toy_dir, tmp_path, capsys):
    config = tmp_path / "p.yaml"
    config.write_text("pipelines:\n  - {name: first, type: run, run: runs/first.trec}\n")
    code = main(["eval", str(toy_dir), "--config", str(config), "--metrics", "ndcg@10", "bleu"])
    assert code == 1 and "unknown metric 'bleu'" in capsys.readouterr().err


def test_tune_mode(toy_dir, tmp_path, capsys):
    grid = tmp_path / "tune.yaml"
    grid.write_text(
        "pipeline: {name: first, type: run, run: runs/first.trec}\n"
        "grid: {top_k: [1, 2]}\nmetric: recall@10\nmetrics: [recall@10]\n"
        f"work_dir: {tmp_path / 'work'}\n"
    )
    code = main(["eval", str(toy_dir), "--tune", str(grid), "--report", str(tmp_path / "out")])
    printed = capsys.readouterr().out
    assert code == 0 and "<- best" in printed and "first-tuned" in printed
    assert (tmp_path / "out" / "tuning.json").is_file()
