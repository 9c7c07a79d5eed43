"""Token chunking with the real all-MiniLM-L6-v2 tokenizer; windows worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from blendrank._bundled import MINILM_FOLDER
from blendrank.errors import InvalidInputError, ModelError
from blendrank.text.chunking import TokenChunker, load_tokenizer, token_windows
from blendrank.types import Chunk, Document

MODEL_DIR = MINILM_FOLDER


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return load_tokenizer()


def texts(chunks: list[Chunk]) -> list[str]:
    return [c.text for c in chunks]


def token_overlaps(tokenizer: Tokenizer, doc: Document, chunks: list[Chunk]) -> list[int]:
    """How many tokens each consecutive pair of chunks shares."""
    offsets = tokenizer.encode(doc.text, add_special_tokens=False).offsets

    def tokens_in(c: Chunk) -> set[int]:
        return {i for i, (s, e) in enumerate(offsets) if s >= c.start and e <= c.end}

    return [len(tokens_in(a) & tokens_in(b)) for a, b in zip(chunks, chunks[1:], strict=False)]


def test_english_windows(tokenizer: Tokenizer) -> None:
    doc = Document("d", "one two three four five six seven")  # 7 tokens, one per word
    # size 4, step 3: tokens [0-3], [3-6]
    assert texts(TokenChunker(tokenizer, chunk_size=4, overlap=1).chunk(doc)) == [
        "one two three four",
        "four five six seven",
    ]
    # size 3, step 2: [0-2], [2-4], [4-6]
    chunks = TokenChunker(tokenizer, chunk_size=3, overlap=1).chunk(doc)
    assert texts(chunks) == ["one two three", "three four five", "five six seven"]
    assert [(c.start, c.end) for c in chunks] == [(0, 13), (8, 23), (19, 33)]
    assert [c.id for c in chunks] == ["d#0", "d#1", "d#2"] and [c.n for c in chunks] == [0, 1, 2]


def test_no_final_window_inside_the_previous_one(tokenizer: Tokenizer) -> None:
    doc = Document("d", "one two three four five six seven")
    # size 4, step 2: [0-3], [2-5], [4-6]; a window at 6 would sit inside [4-6]
    assert texts(TokenChunker(tokenizer, chunk_size=4, overlap=2).chunk(doc)) == [
        "one two three four",
        "three four five six",
        "five six seven",
    ]
    # size 6, step 1: [0-5], [1-6] and stop: the second window reaches the last token
    assert texts(TokenChunker(tokenizer, chunk_size=6, overlap=5).chunk(doc)) == [
        "one two three four five six",
        "two three four five six seven",
    ]


def test_japanese_offsets(tokenizer: Tokenizer) -> None:
    # 12 tokens, one per character: 東 京 タ ##ワ ##ー ##に 行 き ##ま ##し ##た 。
    doc = Document("ja", "東京タワーに行きました。")
    chunks = TokenChunker(tokenizer, chunk_size=5, overlap=2).chunk(doc)  # step 3
    assert texts(chunks) == ["東京タワー", "ワーに行き", "行きました", "した。"]
    assert [(c.start, c.end) for c in chunks] == [(0, 5), (3, 8), (6, 11), (9, 12)]
    assert token_overlaps(tokenizer, doc, chunks) == [2, 2, 2]


def test_chinese_offsets(tokenizer: Tokenizer) -> None:
    # 9 tokens, one per Han character (some are [UNK], still with offsets)
    doc = Document("zh", "我来到北京清华大学")
    chunks = TokenChunker(tokenizer, chunk_size=4, overlap=1).chunk(doc)  # step 3
    assert texts(chunks) == ["我来到北", "北京清华", "华大学"]
    assert all(doc.text[c.start : c.end] == c.text for c in chunks)


def test_unknown_tokens_and_accents_keep_character_offsets(tokenizer: Tokenizer) -> None:
    # hello / world / [UNK] (emoji) / e / - / 402 / ##9 / ok: 8 tokens
    doc = Document("u", "Héllo wörld 😀 E-4029 ok")
    chunks = TokenChunker(tokenizer, chunk_size=3, overlap=1).chunk(doc)  # step 2
    # windows [0-2], [2-4], [4-6], [6-7]; 402 and ##9 are separate tokens
    assert texts(chunks) == ["Héllo wörld 😀", "😀 E-", "-4029", "9 ok"]
    assert token_overlaps(tokenizer, doc, chunks) == [1, 1, 1]


def test_short_document_is_one_chunk_over_the_whole_text(tokenizer: Tokenizer) -> None:
    doc = Document("s", "  Hello world \n", title="T", metadata={"lang": "en"})
    [chunk] = TokenChunker(tokenizer, chunk_size=2, overlap=0).chunk(doc)  # exactly 2 tokens
    assert chunk == Chunk("s#0", "s", 0, "  Hello world \n", 0, 15, "T", {"lang": "en"})


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text_gives_one_empty_chunk(tokenizer: Tokenizer, text: str) -> None:
    doc = Document("e", text, title="Only a title")
    [chunk] = TokenChunker(tokenizer, chunk_size=8, overlap=2).chunk(doc)
    assert (chunk.id, chunk.text, chunk.start, chunk.end, chunk.title) == (
        "e#0", "", 0, 0, "Only a title"
    )  # fmt: skip


def test_metadata_is_copied_not_shared(tokenizer: Tokenizer) -> None:
    doc = Document("m", "a b c d e", metadata={"k": 1})
    chunks = TokenChunker(tokenizer, chunk_size=2, overlap=0).chunk(doc)
    assert [c.metadata for c in chunks] == [{"k": 1}] * 3
    assert all(c.metadata is not doc.metadata for c in chunks)


def test_chunk_many_equals_chunk(tokenizer: Tokenizer) -> None:
    chunker = TokenChunker(tokenizer, chunk_size=4, overlap=1)
    docs = [
        Document(str(i), t) for i, t in enumerate(["a b c d e f", "", "東京タワーに行きました。"])
    ]
    assert chunker.chunk_many(docs) == [chunker.chunk(d) for d in docs]


def test_real_documents_reconstruct_and_overlap(tokenizer: Tokenizer, shared_data: Path) -> None:
    with open(shared_data / "scifact" / "corpus.jsonl", encoding="utf-8") as handle:
        docs = [Document(r["_id"], r["text"]) for r in map(json.loads, handle.readlines()[:40])]
    chunker = TokenChunker(tokenizer, chunk_size=64, overlap=16)
    for doc, chunks in zip(docs, chunker.chunk_many(docs), strict=True):
        offsets = tokenizer.encode(doc.text, add_special_tokens=False).offsets
        assert all(doc.text[c.start : c.end] == c.text for c in chunks)
        if len(offsets) > 64:
            assert chunks[0].start == offsets[0][0] and chunks[-1].end == offsets[-1][1]
            assert set(token_overlaps(tokenizer, doc, chunks)) <= {16}
            assert len(chunks) == 1 + -(-(len(offsets) - 64) // 48)  # ceil((n - 64) / 48)


def test_token_windows() -> None:
    assert token_windows(5, chunk_size=2, overlap=0) == [(0, 1), (2, 3), (4, 4)]
    assert token_windows(5, chunk_size=5, overlap=0) == [(0, 4)]
    # step 2: the window at 4 reaches the last token (5); no window at 6
    assert token_windows(6, chunk_size=3, overlap=1) == [(0, 2), (2, 4), (4, 5)]
    assert token_windows(8, chunk_size=3, overlap=2) == [
        (0, 2),
        (1, 3),
        (2, 4),
        (3, 5),
        (4, 6),
        (5, 7),
    ]


@pytest.mark.parametrize(
    ("chunk_size", "overlap", "fragment"),
    [
        (0, 0, "chunk_size must be an integer >= 1"),
        (True, 0, "chunk_size must be an integer >= 1"),
        (8, -1, "overlap must be an integer >= 0"),
        (8, 8, "overlap must be smaller than chunk_size"),
        (8, 9, "overlap must be smaller than chunk_size"),
    ],
)
def test_invalid_window_settings(
    tokenizer: Tokenizer, chunk_size: int, overlap: int, fragment: str
) -> None:
    with pytest.raises(InvalidInputError, match=fragment):
        TokenChunker(tokenizer, chunk_size=chunk_size, overlap=overlap)


def test_load_tokenizer_sources(tmp_path: Path) -> None:
    by_folder = load_tokenizer(MODEL_DIR)
    by_file = load_tokenizer(MODEL_DIR / "tokenizer.json")
    # the bundled tokenizer.json truncates at 128 and pads; loading switches both off
    assert by_folder.truncation is None and by_folder.padding is None
    assert by_file.to_str() == by_folder.to_str() == load_tokenizer(None).to_str()
    with pytest.raises(ModelError, match="no tokenizer at"):
        load_tokenizer(tmp_path)
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(ModelError, match="cannot load tokenizer"):
        load_tokenizer(tmp_path)


def test_a_tokenizer_object_is_copied_not_changed() -> None:
    original = Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
    assert original.truncation is not None
    chunker = TokenChunker(original, chunk_size=300, overlap=0)
    assert original.truncation is not None  # the caller's object is untouched
    long_doc = Document("l", " ".join(["word"] * 200))  # 200 tokens > the 128 truncation
    assert len(chunker.chunk(long_doc)) == 1 and chunker.chunk(long_doc)[0].end == 999
    assert chunker.config()["tokenizer"] == "<custom>"


def test_config(tokenizer: Tokenizer) -> None:
    config = TokenChunker(None, chunk_size=256, overlap=32).config()
    assert json.loads(json.dumps(config)) == config
    assert config["name"] == "token" and config["tokenizer"] is None
    assert (config["chunk_size"], config["overlap"]) == (256, 32)
    assert len(config["tokenizer_sha256"]) == 64
    assert TokenChunker(str(MODEL_DIR)).config()["tokenizer"] == str(MODEL_DIR)
