"""Batched generation, stop sequences and character offsets of generated tokens."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from stepcoder.models import ModelConfig  # noqa: E402
from stepcoder.models.load import load_policy, load_tokenizer  # noqa: E402
from stepcoder.models.tiny import TOKENIZER_DIR, build_tiny_model  # noqa: E402
from stepcoder.rollout import SamplingConfig, generate_completions, token_char_offsets  # noqa: E402
from stepcoder.rollout.generate import find_stop, finish  # noqa: E402
from stepcoder.rollout.offsets import decode_with_offsets  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


TEXTS = ["def f(x):\n    return x  # é ☃ 😀\n\tpass\r\n", "héllo wörld 日本語 😀😀", "a", ""]


@pytest.fixture(scope="module")
def tok():
    return transformers.AutoTokenizer.from_pretrained(str(TOKENIZER_DIR))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    cfg = ModelConfig(name_or_path=str(build_tiny_model(tmp_path_factory.mktemp("tiny"), seed=0)))
    return load_policy(cfg), load_tokenizer(cfg)


# ---------------------------------------------------------------- offsets

@pytest.mark.parametrize("text", TEXTS)
def test_offsets_equal_the_tokenizers_offset_mapping(tok, text):
    enc = tok(text, return_offsets_mapping=True, add_special_tokens=False)
    assert token_char_offsets(tok, enc["input_ids"]) == [tuple(o) for o in enc["offset_mapping"]]


def test_offsets_of_a_two_byte_char_split_over_two_tokens(tok):
    # 'é' is two UTF-8 bytes; this tokenizer has no merged token for it, so each byte is a token
    ids = tok("xé", add_special_tokens=False)["input_ids"]
    assert len(ids) == 3
    assert token_char_offsets(tok, ids) == [(0, 1), (1, 2), (1, 2)]


@pytest.mark.parametrize("text", TEXTS[:2])
def test_truncated_ids_decode_like_the_tokenizer(tok, text):
    ids = tok(text, add_special_tokens=False)["input_ids"]
    for k in range(len(ids) + 1):  # every prefix, including ones that end inside a character
        decoded, offsets = decode_with_offsets(tok, ids[:k])
        assert decoded == tok.decode(ids[:k], skip_special_tokens=True)
        assert len(offsets) == k and all(0 <= s <= e <= len(decoded) for s, e in offsets)


def test_special_tokens_get_empty_spans(tok):
    ids = tok("ab", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    text, offsets = decode_with_offsets(tok, ids)
    assert text == "ab" and offsets[-1] == (2, 2)


# ---------------------------------------------------------------- cutting one row

def _cfg(**kw):
    return SamplingConfig(**{"n": 1, "max_new_tokens": 8, **kw})


def test_finish_cuts_at_first_eos(tok):
    body = tok("x = 1", add_special_tokens=False)["input_ids"]
    c = finish(tok, [1], body + [2, 7, 8], {2}, _cfg(), None)
    assert (c.completion_ids, c.text, c.finish_reason, c.ends_with_eos) == (body + [2], "x = 1", "eos", True)
    assert c.token_offsets[-1] == (5, 5)


def test_finish_stop_keeps_the_completing_token_and_drops_the_stop_text(tok):
    ids = tok("x = 1\ndef g():\n", add_special_tokens=False)["input_ids"]
    c = finish(tok, [1], ids, {2}, _cfg(stop=["\ndef", "\nclass"]), None)
    assert c.text == "x = 1" and c.finish_reason == "stop" and not c.ends_with_eos
    assert tok.decode(c.completion_ids).startswith("x = 1\ndef")  # sampled tokens through the stop
    assert not tok.decode(c.completion_ids[:-1]).startswith("x = 1\ndef")  # ... and no further
    assert all(e <= len(c.text) for _, e in c.token_offsets)


def test_finish_by_length_and_by_stop_fn(tok):
    ids = tok("abc def", add_special_tokens=False)["input_ids"]
    c = finish(tok, [1], ids, {2}, _cfg(), None)
    assert (c.text, c.finish_reason, c.completion_ids) == ("abc def", "length", ids)
    c = finish(tok, [1], ids, {2}, _cfg(), lambda t: 3 if len(t) >= 3 else None)
    assert c.text == "abc" and c.finish_reason == "stop"


def test_find_stop_takes_the_earliest():
    assert find_stop("a\nclass b\ndef", ["\ndef", "\nclass"], None) == (1, 7)
    assert find_stop("abc", ["x"], None) is None
    assert find_stop("abcdef", ["e"], lambda t: 2) == (2, 2)


# ---------------------------------------------------------------- generate_completions

def test_sampling_config_validation():
    for bad in ({"n": 0}, {"greedy": True, "n": 2}, {"temperature": 0.0}, {"top_p": 0.0}, {"stop": [""]}):
        with pytest.raises(ValueError):
            SamplingConfig(**bad)


def test_generate_shapes_offsets_and_determinism(tiny):
    model, tok = tiny
    cfg = SamplingConfig(n=3, max_new_tokens=12, batch_size=4, seed=7, stop=["\n"])
    prompts = ["def add(a, b):\n", "print("]
    torch.manual_seed(0)
    expected_rng = torch.rand(1)
    torch.manual_seed(0)
    model.train()
    first = generate_completions(model, tok, prompts, cfg)
    assert torch.equal(torch.rand(1), expected_rng)  # caller's RNG untouched
    assert model.training  # mode restored
    assert [len(c) for c in first] == [3, 3]
    for prompt, completions in zip(prompts, first):
        for c in completions:
            assert c.prompt_ids == tok(prompt)["input_ids"]
            assert 1 <= len(c.completion_ids) <= 12 and len(c.token_offsets) == len(c.completion_ids)
            assert "\n" not in c.text
            assert c.finish_reason in ("eos", "stop", "length")
            assert (c.finish_reason == "length") == (len(c.completion_ids) == 12 and c.finish_reason != "stop"
                                                     and not c.ends_with_eos)
            if c.finish_reason != "stop":
                assert c.text == tok.decode(c.completion_ids, skip_special_tokens=True)
    again = generate_completions(model, tok, prompts, cfg)
    assert [[c.completion_ids for c in cs] for cs in again] == [[c.completion_ids for c in cs] for cs in first]
    other = generate_completions(model, tok, prompts, SamplingConfig(**{**cfg.__dict__, "seed": 8}))
    assert [[c.completion_ids for c in cs] for cs in other] != [[c.completion_ids for c in cs] for cs in first]


def test_greedy_equals_bare_generate_and_stops_at_a_stop_sequence(tiny):
    model, tok = tiny
    prompt = "def f(x):\n"
    enc = tok([prompt], return_tensors="pt")
    bare = model.generate(**enc, max_new_tokens=16, do_sample=False, pad_token_id=tok.pad_token_id)
    bare_ids = bare[0, enc["input_ids"].shape[1]:].tolist()
    [[c]] = generate_completions(model, tok, [prompt], SamplingConfig(n=1, greedy=True, max_new_tokens=16))
    assert c.completion_ids == bare_ids[:len(c.completion_ids)]
    text = tok.decode(bare_ids, skip_special_tokens=True)
    assert c.text == text
    stop = text[len(text) // 2:len(text) // 2 + 2]  # a piece of what greedy decoding will produce
    cut = text.find(stop)
    [[s]] = generate_completions(model, tok, [prompt], SamplingConfig(n=1, greedy=True, max_new_tokens=16,
                                                                      stop=[stop]))
    assert (s.text, s.finish_reason) == (text[:cut], "stop")
    assert s.completion_ids == bare_ids[:len(s.completion_ids)]
    assert stop in tok.decode(s.completion_ids) and stop not in tok.decode(s.completion_ids[:-1])


@pytest.mark.slow
def test_offsets_with_the_gemma_sentencepiece_tokenizer(gemma_tokenizer):
    gemma = gemma_tokenizer
    for text in TEXTS[:2]:
        enc = gemma(text, return_offsets_mapping=True, add_special_tokens=False)
        assert token_char_offsets(gemma, enc["input_ids"]) == [tuple(o) for o in enc["offset_mapping"]]
        assert decode_with_offsets(gemma, enc["input_ids"])[0] == text
