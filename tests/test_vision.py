"""Vision preference pairs (TRL's vision DPO form, LLaMA-Factory's multimodal pairs) read and checked with the real
Llama 3 tokenizer, real image files made here with Pillow, and real Parquet written by `datasets`."""

import io
import os
import struct
import zlib

import pytest
from PIL import Image

from preflint.config import Settings
from preflint.pipeline.plan import RunPlan
from preflint.pipeline.scan import scan
from preflint.trainers.images import ImageTokens

from .test_cache import scan_json  # noqa: F401 - the fixture


def _png(path, size=(8, 8), color=(200, 30, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, "PNG")
    return path


def _png_bytes(size=(8, 8), color=(30, 30, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def _found(result, prefix="V"):
    return [(f.code, f.row, f.message) for f in result.findings if f.code.startswith(prefix)]


def _scan(path, llama, **settings):
    return scan([str(path)], RunPlan.build(Settings(**settings), llama))


# LLaMA-Factory's multimodal pairs (data/mllm_demo.json's shape, in the pairwise sharegpt and alpaca forms its
# converter reads with `ranking: true`): <image> in the text, paths relative to the dataset's directory.
def _llamafactory_rows():
    return [
        {
            "conversations": [{"from": "human", "value": "<image>Who are they?"}],
            "chosen": {"from": "gpt", "value": "They're Kane and Gretzka from Bayern Munich."},
            "rejected": {"from": "gpt", "value": "They are two cats."},
            "images": ["mllm_demo_data/1.png"],
        },
        {
            "instruction": "<image><image>What is the difference between the two pictures?",
            "input": "",
            "chosen": "The second one is brighter.",
            "rejected": "There is none.",
            "images": ["mllm_demo_data/2.png", "mllm_demo_data/3.png"],
        },
    ]


def test_llamafactory_multimodal_pairs_with_their_images_pass(llama, write_jsonl, tmp_path):
    for name in ("1.png", "2.png", "3.png"):
        _png(tmp_path / "mllm_demo_data" / name)
    rows = _llamafactory_rows()
    for row in rows:
        data = write_jsonl([row], name="demo.jsonl")
        result = _scan(data, llama, trainer="llamafactory", image_tokens=576)
        assert _found(result) == [], result.findings
        assert result.summary["vision_pairs"] == 1
        assert result.summary["sources"][0]["columns"].endswith("images=images")


def test_llamafactory_pairs_with_a_missing_image_and_a_missing_placeholder(llama, write_jsonl, tmp_path):
    _png(tmp_path / "mllm_demo_data" / "1.png")
    sharegpt, alpaca = _llamafactory_rows()
    sharegpt["conversations"][0]["value"] = "Who are they?"  # the placeholder forgotten
    forgotten = _scan(write_jsonl([sharegpt], name="sharegpt.jsonl"), llama, trainer="llamafactory")
    assert _found(forgotten) == [
        (
            "V001",
            0,
            "1 image but no image placeholder in the prompt: the trainer stops on this row (images and "
            "tokens do not match)",
        )
    ]
    missing = _scan(write_jsonl([alpaca], name="alpaca.jsonl"), llama, trainer="llamafactory")
    assert _found(missing) == [
        (
            "V003",
            0,
            f"'mllm_demo_data/2.png' does not exist (looked in {tmp_path}, the working directory); "
            f"'mllm_demo_data/3.png' does not exist (looked in {tmp_path}, the working directory)",
        ),
    ]


def test_trl_vision_form_with_image_parts(llama, write_jsonl, tmp_path):
    _png(tmp_path / "cat.png")
    row = {
        "images": ["cat.png"],
        "prompt": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What animal is this?"}]}],
        "chosen": [{"role": "assistant", "content": [{"type": "text", "text": "A cat."}]}],
        "rejected": [{"role": "assistant", "content": [{"type": "text", "text": "A dog."}]}],
    }
    two_parts = {**row, "prompt": [{**row["prompt"][0], "content": [{"type": "image"}, *row["prompt"][0]["content"]]}]}
    text_parts_only = {**row, "prompt": [{"role": "user", "content": [{"type": "text", "text": "What is this?"}]}]}
    result = _scan(write_jsonl([row, two_parts, text_parts_only]), llama, trainer="trl")
    assert [(code, line) for code, line, _ in _found(result)] == [("V001", 1), ("V001", 2)]
    assert "1 image but 2 image placeholders" in _found(result)[0][2]
    # typed content without an image part: TRL counts 0 placeholders and does not place the image itself
    assert "1 image but no image placeholder" in _found(result)[1][2]


def test_image_tokens_of_known_processors_and_the_assumption_said():
    assert ImageTokens.resolve(None, "llava-hf/llava-1.5-7b-hf").count == 576
    assert ImageTokens.resolve(None, "google/paligemma-3b-pt-448").count == 1024
    assert ImageTokens.resolve(None, "google/paligemma-3b-pt-224").count == 256
    qwen = ImageTokens.resolve(None, "Qwen/Qwen2-VL-7B-Instruct")
    assert (qwen.count, qwen.basis.startswith("at least 4 tokens")) == (4, True)
    assert ImageTokens.resolve(300, "llava-hf/llava-1.5-7b-hf").count == 300  # --image-tokens wins
    assert "1 token, the least" in ImageTokens.resolve(None, "llama").basis


def test_a_later_image_is_cut_and_the_summary_says_what_an_image_was_taken_as(llama, write_jsonl):
    long_text = " ".join(["Look closely at the colours and the shapes in this first picture."] * 12)
    row = {  # LLaMA-Factory's sharegpt pairs: two turns, an image in each
        "images": ["a.png", "b.png"],
        "conversations": [
            {"from": "human", "value": "<image>" + long_text},
            {"from": "gpt", "value": "I see it."},
            {"from": "human", "value": "<image>And this one?"},
        ],
        "chosen": {"from": "gpt", "value": "Brighter."},
        "rejected": {"from": "gpt", "value": "The same."},
    }
    data = write_jsonl([row])
    fits = _scan(data, llama, trainer="llamafactory", select=("V002",), image_tokens=576, max_length=2048)
    assert _found(fits) == []
    cut = _scan(data, llama, trainer="llamafactory", select=("V002",), image_tokens=576, max_length=1024)
    assert [(code, row) for code, row, _ in _found(cut)] == [("V002", 0)]
    assert "the truncation cuts the tokens of image 2 on both sides" in _found(cut)[0][2]
    assert "vision pairs: each image taken as 576 tokens (--image-tokens)" in cut.summary["notes"]
    assumed = _scan(data, llama, trainer="llamafactory", select=("V002",), max_length=1024)
    assert _found(assumed) == []  # one token per image, the least: nothing is cut
    assert any("1 token, the least" in note for note in assumed.summary["notes"])


def test_datasets_image_feature_in_parquet(llama, tmp_path):
    """`datasets` stores images as {bytes, path}: bytes that are no image are reported, real ones pass."""
    from datasets import Dataset, Features, List, Value
    from datasets import Image as ImageFeature

    features = Features(
        {
            "images": List(ImageFeature()),
            "prompt": Value("string"),
            "chosen": Value("string"),
            "rejected": Value("string"),
        }
    )
    good = {"bytes": _png_bytes(), "path": None}
    dataset = Dataset.from_dict(
        {
            "images": [[good], [good]],
            "prompt": ["<image>What colour?", "<image>What colour?"],
            "chosen": ["Blue.", "Blue."],
            "rejected": ["Red.", "Green."],
        },
        features=features,
    )
    path = tmp_path / "vision.parquet"
    dataset.to_parquet(str(path))
    assert _found(_scan(path, llama)) == []

    broken = {"bytes": _png_bytes()[:40], "path": None}  # a PNG cut short
    Dataset.from_dict({**dataset.to_dict(), "images": [[good], [broken]]}, features=features).to_parquet(str(path))
    assert [(code, row) for code, row, _ in _found(_scan(path, llama))] == [("V003", 1)]


def test_different_images_are_not_duplicates_and_same_ones_are(llama, write_jsonl):
    rows = [
        {"images": ["a.png"], "prompt": "<image>What is it?", "chosen": "A cat.", "rejected": "A dog."},
        {"images": ["b.png"], "prompt": "<image>What is it?", "chosen": "A cat.", "rejected": "A dog."},
        {"images": ["b.png"], "prompt": "<image>what is it?", "chosen": "a cat.", "rejected": "a dog."},
        {
            "images": [{"bytes": None, "path": "a.png"}],
            "prompt": "<image>What is it?",
            "chosen": "A cat.",
            "rejected": "A dog.",
        },
    ]
    result = _scan(write_jsonl(rows), llama, select=("D001", "D002", "D003"))
    assert sorted((f.code, f.row) for f in result.findings) == [("D001", 3), ("D002", 2)]


def test_sides_with_different_images_are_v004_not_m008(llama, write_jsonl):
    def side(image, reply):
        return [
            {"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": "What?"}]},
            {"role": "assistant", "content": reply},
        ]

    result = _scan(write_jsonl([{"chosen": side("a.png", "A cat."), "rejected": side("b.png", "A dog.")}]), llama)
    assert [f.code for f in result.findings if f.code in ("M008", "V004")] == ["V004"]


def test_hostile_image_paths_never_block_or_decode_a_bomb(llama, write_jsonl, tmp_path):
    os.mkfifo(tmp_path / "fifo.png")  # opening a FIFO for reading would wait for a writer forever
    (tmp_path / "folder.png").mkdir()
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)  # 10^10 pixels claimed by a 45-byte file
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    idat = struct.pack(">I", 0) + b"IDAT" + struct.pack(">I", zlib.crc32(b"IDAT"))
    (tmp_path / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk + idat)
    rows = [
        {"images": [name], "prompt": "<image>What?", "chosen": "A.", "rejected": "B."}
        for name in ("fifo.png", "folder.png", "bomb.png")
    ]
    found = _found(_scan(write_jsonl(rows), llama, select=("V003",)))
    assert [row for _, row, _ in found] == [0, 1, 2]
    assert "is not a file" in found[0][2] and "is not a file" in found[1][2]
    assert "decompression bomb" in found[2][2]


def test_a_scan_of_vision_pairs_is_not_cached(scan_json, write_jsonl, tmp_path):  # noqa: F811
    _png(tmp_path / "cat.png")
    data = write_jsonl([{"images": ["cat.png"], "prompt": "<image>What?", "chosen": "A cat.", "rejected": "A dog."}])
    assert scan_json(data, "--select", "V")[0] == 0
    (tmp_path / "cat.png").unlink()  # the image file is gone: the next scan must see it
    code, again = scan_json(data, "--select", "V")
    assert code == 1 and "cached" not in again["summary"]
    assert [f["code"] for f in again["findings"]] == ["V003"]


@pytest.mark.parametrize("name", ["hh-rlhf-harmless-test.jsonl", "llamafactory-dpo-en-demo.json"])
def test_text_only_data_has_no_vision_pairs(llama, name):
    from .conftest import data_file

    result = _scan(data_file(name), llama, select=("V",))
    assert result.findings == [] and "vision_pairs" not in result.summary
