"""BM42 learned sparse weights, as Qdrant defines them: a document word's weight is the
attention the ``[CLS]`` position pays to it in the last layer of all-MiniLM-L6-v2,
averaged over the heads.

For each text:

1. the model's tokenizer cuts it into word pieces; the encoder runs (texts longer than the
   model's window run as consecutive windows, never splitting a word);
2. a piece's weight is ``mean over heads of attention[last layer][head, CLS, piece]``; a
   word's weight is the sum of its pieces' weights;
3. each word is analysed like BM25 (the index's analyzer: lowercase, stopwords, stemming),
   so "Running" and "runs" meet as ``run`` and "the" disappears; a term keeps the highest
   weight of its words;
4. the weight stored is ``log(1 + weight)``.

The query side is the set of the query's terms (each weight 1); the score of a chunk is
``sum over shared terms of IDF(term) * weight ** alpha`` (fastembed's ``alpha``, 0.5 by
default), with the IDF computed over the index when the query runs (``index/sparse.py``).

The encoder is the embedder's own ONNX file with the last attention softmax added as an
output (``models/onnx_outputs.py``), written once to the model cache.

>>> encoder = BM42Encoder(threads=1)
>>> weights = encoder.encode_documents(["Running shoes for the marathon"])[0]
>>> sorted(weights)
['marathon', 'run', 'shoe']
>>> encoder.query_terms("the runners' shoes")
['runner', 'shoe']
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from blendrank.embed.base import check_texts
from blendrank.embed.models import DEFAULT_MODEL, resolve_model
from blendrank.errors import InvalidInputError, ModelError
from blendrank.models.cache import build_once, cache_root
from blendrank.models.onnx_outputs import last_node_output, with_output
from blendrank.models.tokenizer import load_tokenizer

#: bump when the weights change for the same model, so stored indexes are rebuilt
BM42_RECIPE = "bm42-v1"
#: windows per ONNX Runtime call (each returns heads x seq x seq attention values)
BATCH_WINDOWS = 16


def attention_model(onnx_path: Path, cache_dir: str | Path | None = None) -> Path:
    """``onnx_path`` with its last Softmax (the last layer's attention probabilities) as
    an extra output, written once under the model cache."""
    data = onnx_path.read_bytes()
    key = hashlib.sha256(b"attention-output-v1" + hashlib.sha256(data).digest()).hexdigest()

    def build(folder: Path) -> None:
        (folder / "model.onnx").write_bytes(with_output(data, last_node_output(data, "Softmax")))

    return build_once(
        cache_root(cache_dir) / "bm42" / key, "model.onnx", build, replace_incomplete=True
    )


class BM42Encoder:
    """Document weights and query terms of BM42 (see the module docstring).

    ``model``: an encoder the embedder accepts (default all-MiniLM-L6-v2, int8, shipped in
    the core install; ``"all-MiniLM-L6-v2:fp32"`` with the torch extra). ``analyzer``: the
    BM25 analyzer whose terms BM42 shares (an index passes its own; default ``"auto"``).
    """

    def __init__(
        self,
        model: str | Path = DEFAULT_MODEL,
        *,
        analyzer: Any = "auto",
        threads: int | None = None,
        max_length: int | None = None,
        batch_windows: int = BATCH_WINDOWS,
    ) -> None:
        from blendrank.embed.onnx import _pick_max_length
        from blendrank.text.analyzer import make_analyzer

        if max_length is not None and (isinstance(max_length, bool) or max_length < 8):
            raise InvalidInputError(f"max_length must be an integer >= 8, got {max_length!r}")
        if (
            isinstance(batch_windows, bool)
            or not isinstance(batch_windows, int)
            or batch_windows < 1
        ):
            raise InvalidInputError(f"batch_windows must be an integer >= 1, got {batch_windows!r}")
        self.model_spec = str(model)
        self.resolved = resolve_model(model)
        self.analyzer = make_analyzer(analyzer)
        self.max_length = _pick_max_length(self.resolved, max_length)
        self.batch_windows = batch_windows
        self._threads = threads or os.cpu_count() or 1
        self._session: Any = None  # loaded when the first document is encoded
        self._tokenizer = load_tokenizer(self.resolved.tokenizer_path)
        cls_id = self._tokenizer.token_to_id("[CLS]")
        sep_id = self._tokenizer.token_to_id("[SEP]")
        pad_id = self._tokenizer.token_to_id("[PAD]")
        if cls_id is None or sep_id is None:
            raise ModelError(
                f"BM42 needs a BERT-style tokenizer with [CLS] and [SEP]; "
                f"{self.resolved.tokenizer_path} has neither"
            )
        self._cls, self._sep, self._pad = cls_id, sep_id, pad_id or 0
        self._terms_of_word = lru_cache(maxsize=200_000)(self._analyze_word)
        self._fingerprint: str | None = None

    def _run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        if self._session is None:
            from blendrank.embed.onnx import _make_session

            session = _make_session(attention_model(self.resolved.onnx_path), self._threads)
            self._inputs = [i.name for i in session.get_inputs()]
            self._attention = session.get_outputs()[-1].name
            self._session = session
        feed = {name: feed[name] for name in self._inputs}
        return self._session.run([self._attention], feed)[0]

    def config(self) -> dict[str, Any]:
        return {"type": "bm42", "model": self.model_spec, "max_length": self.max_length}

    @property
    def fingerprint(self) -> str:
        """Changes when the weights would: the model file, window, analyzer, recipe."""
        if self._fingerprint is None:
            digest = hashlib.sha256(BM42_RECIPE.encode())
            digest.update(self.resolved.onnx_path.read_bytes())
            digest.update(repr((self.max_length, self.analyzer.config())).encode())
            self._fingerprint = digest.hexdigest()[:16]
        return self._fingerprint

    def _analyze_word(self, word: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.analyzer.analyze(word)))

    def _words(self, text: str) -> tuple[list[int], list[int], list[str]]:
        """The text's word pieces (ids), the word each belongs to, and the words."""
        encoding = self._tokenizer.encode(text, add_special_tokens=False)
        word_of: list[int] = []
        spans: list[list[int]] = []
        last = None
        for word_id, (start, end) in zip(encoding.word_ids, encoding.offsets, strict=True):
            if word_id != last or word_id is None:
                spans.append([start, end])
                last = word_id
            else:
                spans[-1][1] = end
            word_of.append(len(spans) - 1)
        return list(encoding.ids), word_of, [text[a:b] for a, b in spans]

    def query_terms(self, text: str) -> list[str]:
        """The query's distinct terms, in order."""
        _, _, words = self._words(text)
        return list(dict.fromkeys(t for w in words for t in self._terms_of_word(w)))

    def word_weights(self, texts: Sequence[str]) -> list[list[tuple[str, float]]]:
        """Each text's words with their attention weight (summed over their pieces), before
        analysis: the raw BM42 signal, for inspection and tests."""
        texts = check_texts(texts)
        pieces = [self._words(t) for t in texts]
        windows = [(n, w) for n, p in enumerate(pieces) for w in self._windows(p[0], p[1])]
        attention = self._attend([pieces[n][0][a:b] for n, (a, b) in windows])
        out: list[list[tuple[str, float]]] = [[] for _ in texts]
        sums: list[dict[int, float]] = [{} for _ in texts]
        for (n, (a, b)), values in zip(windows, attention, strict=True):
            word_of = pieces[n][1]
            for position, value in zip(range(a, b), values.tolist(), strict=True):
                word = word_of[position]
                sums[n][word] = sums[n].get(word, 0.0) + value
        for n, (_, _, words) in enumerate(pieces):
            out[n] = [(words[w], sums[n][w]) for w in sorted(sums[n])]
        return out

    def encode_documents(
        self, texts: Sequence[str], *, progress: bool = False
    ) -> list[dict[str, float]]:
        """One ``{term: log(1 + weight)}`` per text (empty for a text without terms)."""
        texts = check_texts(texts)
        out: list[dict[str, float]] = []
        step = 256
        bar = _progress(len(texts)) if progress else None
        for start in range(0, len(texts), step):
            part = texts[start : start + step]
            for words in self.word_weights(part):
                best: dict[str, float] = {}
                for word, weight in words:
                    for term in self._terms_of_word(word):
                        if weight > best.get(term, -1.0):
                            best[term] = weight
                out.append({t: math.log1p(w) for t, w in best.items()})
            if bar is not None:
                bar.update(len(part))
        if bar is not None:
            bar.close()
        return out

    def _windows(self, ids: list[int], word_of: list[int]) -> Iterable[tuple[int, int]]:
        """Consecutive [start, end) piece ranges of at most max_length - 2 pieces, cut
        between words (a word longer than a window is cut inside)."""
        size = self.max_length - 2
        start = 0
        while start < len(ids):
            end = min(start + size, len(ids))
            if end < len(ids):
                cut = end
                while cut > start and word_of[cut] == word_of[cut - 1]:
                    cut -= 1
                end = cut if cut > start else end
            yield start, end
            start = end

    def _attend(self, windows: list[list[int]]) -> list[np.ndarray]:
        """The CLS row of the last layer's attention (mean over heads) over each window's
        pieces, special tokens left out."""
        out: list[np.ndarray | None] = [None] * len(windows)
        order = sorted(range(len(windows)), key=lambda i: -len(windows[i]))
        for at in range(0, len(order), self.batch_windows):
            batch = order[at : at + self.batch_windows]
            width = len(windows[batch[0]]) + 2
            ids = np.full((len(batch), width), self._pad, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                pieces = windows[i]
                ids[row, : len(pieces) + 2] = [self._cls, *pieces, self._sep]
                mask[row, : len(pieces) + 2] = 1
            types = np.zeros_like(ids)
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            attention = self._run(feed)
            cls_row = np.asarray(attention[:, :, 0, :], dtype=np.float32).mean(axis=1)
            for row, i in enumerate(batch):
                out[i] = cls_row[row, 1 : len(windows[i]) + 1]
        return [a if a is not None else np.zeros(0, np.float32) for a in out]

    def __repr__(self) -> str:
        return f"BM42Encoder(model={self.model_spec!r}, max_length={self.max_length})"


def _progress(total: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="bm42", unit="chunk", leave=False)


def bm42_from_config(config: dict[str, Any], analyzer: Any) -> BM42Encoder:
    return BM42Encoder(
        config.get("model", DEFAULT_MODEL), analyzer=analyzer, max_length=config.get("max_length")
    )
