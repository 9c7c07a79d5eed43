"""The loss and validation-metric plot saved next to a trained model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def plot_history(
    losses: Sequence[tuple[int, float]],
    evals: Sequence[tuple[int, float]],
    path: Path,
    *,
    metric: str = "val NDCG@10",
) -> Path | None:
    """Write ``path`` (PNG): training loss (a running mean) and the validation metric
    against the step. Returns None when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, left = plt.subplots(figsize=(7, 4))
    if losses:
        steps, values = zip(*losses, strict=True)
        window = max(1, len(values) // 50)
        smooth = [
            sum(values[max(0, i - window + 1) : i + 1])
            / len(values[max(0, i - window + 1) : i + 1])
            for i in range(len(values))
        ]
        left.plot(steps, smooth, color="tab:blue", label="training loss")
    left.set_xlabel("step")
    left.set_ylabel("training loss", color="tab:blue")
    if evals:
        right = left.twinx()
        steps, values = zip(*evals, strict=True)
        right.plot(steps, values, "o-", color="tab:orange", label=metric)
        right.set_ylabel(metric, color="tab:orange")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
