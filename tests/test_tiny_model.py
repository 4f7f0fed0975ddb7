"""The tiny default model and its shipped tokenizer."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from stepcoder.models import tiny  # noqa: E402
from stepcoder.models.cache import build_atomically  # noqa: E402
from stepcoder.models.paths import resolve_model_path  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


CODE_SAMPLES = [
    "def f(x):\n    return x * 2\n",
    "n = int(input())\nprint(n * 9)\n",
    "class Solution:\n\tdef go(self, s: str) -> str:\r\n\t\treturn s[::-1]  # reverse\n",
    "s = 'héllo wörld ☃ 日本語 😀'\n\n\n    \n",
    "x=[1,2,3];print(sum(x)//len(x))",
]


@pytest.fixture(scope="module")
def tok():
    return transformers.AutoTokenizer.from_pretrained(str(tiny.TOKENIZER_DIR))


def test_shipped_tokenizer_special_tokens_and_size(tok):
    assert (tok.pad_token_id, tok.bos_token_id, tok.eos_token_id) == (0, 1, 2)
    assert 2000 <= len(tok) <= 4096
    assert tok.padding_side == "left"


@pytest.mark.parametrize("code", CODE_SAMPLES)
def test_tokenizer_round_trips_code_exactly_with_offsets(tok, code):
    enc = tok(code, return_offsets_mapping=True)
    assert enc["input_ids"][0] == tok.bos_token_id  # <bos> prepended, like Gemma
    assert tok.decode(enc["input_ids"], skip_special_tokens=True) == code
    spans = enc["offset_mapping"][1:]
    assert spans[0][0] == 0 and spans[-1][1] == len(code)
    # consecutive spans touch or overlap by one split multi-byte character: no gaps
    for (s0, e0), (s1, e1) in zip(spans, spans[1:]):
        assert s1 in (e0, e0 - 1) and e1 >= s1


def test_bundled_problems_are_short_in_tokens(tok):
    from stepcoder.data import tiny_dataset_path

    path = tiny_dataset_path("train")
    lengths = [len(tok(r["prompt"] + "\n" + r["solution"])["input_ids"])
               for r in map(json.loads, path.read_text().splitlines()) if r]
    assert max(lengths) <= 192  # SFT batches of 16 x 192 tokens hold every problem


def test_retraining_reproduces_the_shipped_tokenizer(tmp_path):
    retrained = tiny.train_tiny_tokenizer(tiny.tiny_corpus(), tmp_path)
    shipped = json.loads((tiny.TOKENIZER_DIR / "tokenizer.json").read_text())
    assert retrained.get_vocab() == shipped["model"]["vocab"], \
        "shipped tokenizer is stale: run python -m stepcoder.models.tiny --retrain-tokenizer"


def _weights(path):
    model = transformers.AutoModelForCausalLM.from_pretrained(str(path))
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_build_is_seeded_and_loads_like_any_hf_folder(tmp_path):
    a, b, c = (tiny.build_tiny_model(tmp_path / name, seed=s) for name, s in (("a", 0), ("b", 0), ("c", 1)))
    wa, wb, wc = _weights(a), _weights(b), _weights(c)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not torch.equal(wa["model.layers.0.mlp.up_proj.weight"], wc["model.layers.0.mlp.up_proj.weight"])
    config = transformers.AutoConfig.from_pretrained(str(a))
    assert config.tie_word_embeddings and config.vocab_size == len(transformers.AutoTokenizer.from_pretrained(str(a)))


def test_build_leaves_caller_rng_untouched(tmp_path):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny.build_tiny_model(tmp_path, seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_resolve_tiny_builds_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STEPCODER_CACHE", str(tmp_path))
    first = resolve_model_path("tiny")
    assert first.startswith(str(tmp_path / "models" / "tiny"))
    stamp = (tmp_path / "models" / "tiny").joinpath(first.rsplit("/", 1)[-1], "config.json").stat().st_mtime_ns
    assert resolve_model_path("tiny") == first
    assert (tmp_path / "models" / "tiny" / first.rsplit("/", 1)[-1] / "config.json").stat().st_mtime_ns == stamp
    assert resolve_model_path("some/hub-id") == "some/hub-id"


def test_failed_build_leaves_no_folder(tmp_path):
    def broken(tmp):
        (tmp / "partial.bin").write_text("x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        build_atomically(tmp_path / "m", broken)
    assert list(tmp_path.iterdir()) == []


def test_build_replaces_a_folder_without_config(tmp_path):
    stale = tmp_path / "m"
    stale.mkdir()
    (stale / "tokenizer.json").write_text("{}")  # left by something else: not a finished build

    def build(tmp):
        (tmp / "config.json").write_text("{}")

    out = build_atomically(stale, build)
    assert sorted(p.name for p in out.iterdir()) == ["config.json"]
