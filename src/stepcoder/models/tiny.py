"""The tiny default model: a byte-level BPE tokenizer shipped with the package and a small
randomly initialised Llama-style causal LM built from a config, so that every test, demo and
smoke run works offline on a laptop CPU.

Retrain the shipped tokenizer (reproducible from the bundled tiny problems):

    python -m stepcoder.models.tiny --retrain-tokenizer

The package also ships a **warm start** (``tiny-sft``): the tiny model after SFT on the
demonstration split, as ``stepcoder sft --config tiny-warm-start`` writes it, stored in
bfloat16 (half the bytes) and loaded in float32. RL starts from it the way the paper starts
from a released instruct model, so the demo spends its minutes on RL. Replace it with

    python -m stepcoder.models.tiny --export-warm-start SFT_DIR
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import sys
from pathlib import Path
from typing import Iterable


ASSETS = Path(__file__).resolve().parent / "assets"
TOKENIZER_DIR = ASSETS / "tiny-tokenizer"
WARM_START_DIR = ASSETS / "tiny-sft"  # model.safetensors (bfloat16), prompt_config.json, provenance.json
WARM_START_FILES = ("model.safetensors", "prompt_config.json", "provenance.json")
SPECIAL_TOKENS = ["<pad>", "<bos>", "<eos>"]  # ids 0, 1, 2 (trained first, in this order)
TINY_VOCAB_SIZE = 4096
# General Python code mixed into the corpus so that code outside the bundled problems still
# tokenizes into reasonable pieces: a frozen snapshot of some stdlib modules (SOURCE.txt), so
# that retraining gives the same tokenizer on every Python version.
CODE_CORPUS = ASSETS / "tiny-corpus" / "stdlib-code.txt.gz"
DEMO_CORPUS = ASSETS / "tiny-corpus" / "demonstrations.jsonl.gz"


def tiny_corpus() -> list[str]:
    """Texts the shipped tokenizer is trained on: the tiny demonstrations as they were before
    half of them were made wrong on purpose (``DEMO_CORPUS``, frozen: the noisy demonstrations
    leave the model's input pieces as they were), each prompt and solution repeated 4 times so
    that their vocabulary dominates, plus the frozen stdlib snapshot. The RL and held-out
    problems are left out so that nothing about them shapes the model's input."""
    texts: list[str] = []
    for line in gzip.decompress(DEMO_CORPUS.read_bytes()).decode("utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            texts.extend([rec.get("prompt") or "", rec.get("solution") or ""] * 4)
    texts.append(gzip.decompress(CODE_CORPUS.read_bytes()).decode("utf-8"))
    return texts


def train_tiny_tokenizer(texts: Iterable[str], out_dir: str | Path, vocab_size: int = TINY_VOCAB_SIZE):
    """Train a byte-level BPE on ``texts`` and save it as a ``PreTrainedTokenizerFast`` folder.

    Byte-level (GPT-2 style, no prefix space, untrimmed offsets) so that any string, code
    included, round-trips exactly and offset mappings cover every character (FGO needs them).
    ``<bos>`` is prepended to every encoded text, as the Gemma and Llama tokenizers do.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(list(texts), trainer=trainer)
    bos_id = tok.token_to_id("<bos>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<bos> $A", pair="<bos> $A $B", special_tokens=[("<bos>", bos_id)]),
    ])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>",
                                   pad_token="<pad>", padding_side="left", model_max_length=1024,
                                   clean_up_tokenization_spaces=False)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(out))
    _portable_tokenizer_class(out / "tokenizer_config.json")
    return fast


def _portable_tokenizer_class(config_path: Path) -> None:
    # transformers 5 writes its own backend class name, which transformers 4 cannot load;
    # PreTrainedTokenizerFast names the same tokenizer.json-backed class in both.
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def tiny_model_config(vocab_size: int, bos_id: int, eos_id: int, pad_id: int):
    """A small Llama-style config (sizes chosen by measurement, see docs/IMPLEMENTATION_DETAILS.md)."""
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=vocab_size, hidden_size=128, intermediate_size=344,
                       num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=4,
                       max_position_embeddings=1024, rope_theta=10000.0, tie_word_embeddings=True,
                       bos_token_id=bos_id, eos_token_id=eos_id, pad_token_id=pad_id,
                       initializer_range=0.02)


def build_tiny_model(out_dir: str | Path, seed: int = 0) -> Path:
    """Randomly initialise the tiny model with ``seed`` and save it, with the shipped tokenizer
    beside it, as an ordinary Hugging Face folder."""
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(str(TOKENIZER_DIR))
    config = tiny_model_config(len(tok), tok.bos_token_id, tok.eos_token_id, tok.pad_token_id)
    with torch.random.fork_rng(devices=[]):  # a fixed seed without disturbing the caller's RNG
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tok.pad_token_id
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


def build_tiny_warm_start(out_dir: str | Path) -> Path:
    """The shipped warm start as an ordinary Hugging Face folder: the tiny architecture and
    tokenizer, the shipped weights in float32, and the prompt settings it was trained with."""
    import shutil

    import torch
    from safetensors.torch import load_file
    from transformers import AutoTokenizer, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(str(TOKENIZER_DIR))
    config = tiny_model_config(len(tok), tok.bos_token_id, tok.eos_token_id, tok.pad_token_id)
    with torch.device("meta"):
        model = LlamaForCausalLM(config)
    state = {name: t.to(torch.float32) for name, t in load_file(str(WARM_START_DIR / "model.safetensors")).items()}
    model.load_state_dict(state, strict=False, assign=True)  # the tied lm_head is the embedding
    model.tie_weights()
    missing = [n for n, p in model.named_parameters() if p.is_meta]
    if missing:
        raise ValueError(f"{WARM_START_DIR / 'model.safetensors'} lacks {', '.join(missing)}: it does not match "
                         "the tiny architecture (python -m stepcoder.models.tiny --export-warm-start SFT_DIR)")
    model.generation_config.pad_token_id = tok.pad_token_id
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    shutil.copy(WARM_START_DIR / "prompt_config.json", out / "prompt_config.json")
    return out


def export_warm_start(sft_dir: str | Path, out_dir: str | Path = WARM_START_DIR) -> Path:
    """Store the SFT model at ``sft_dir`` as the shipped warm start: its weights in bfloat16
    (the tied lm_head once), its prompt settings, and where it came from."""
    import hashlib
    import shutil

    import torch
    import yaml
    from safetensors.torch import load_file, save_file

    sft, out = Path(sft_dir), Path(out_dir)
    state = load_file(str(sft / "model.safetensors"))
    state = {name: t.to(torch.bfloat16).contiguous() for name, t in state.items() if name != "lm_head.weight"}
    out.mkdir(parents=True, exist_ok=True)
    save_file(state, str(out / "model.safetensors"))
    shutil.copy(sft / "prompt_config.json", out / "prompt_config.json")
    (out / "model.safetensors").chmod(0o644)
    config = yaml.safe_load((sft / "sft_config.yaml").read_text(encoding="utf-8")) if (sft / "sft_config.yaml").exists() else {}
    provenance = {
        "made_by": "stepcoder sft --config tiny-warm-start (then python -m stepcoder.models.tiny --export-warm-start)",
        "sft": config.get("sft"), "seed": config.get("training", {}).get("seed"), "data": config.get("data"),
        "weights_sha256": hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest(),
        "dtype": "bfloat16 (loaded as float32)",
    }
    (out / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--retrain-tokenizer", action="store_true",
                        help=f"retrain the shipped tokenizer into {TOKENIZER_DIR}")
    parser.add_argument("--build-model", metavar="DIR", help="build the tiny model into DIR")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--export-warm-start", metavar="SFT_DIR",
                        help=f"store the SFT model in SFT_DIR as the shipped warm start ({WARM_START_DIR})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    if args.retrain_tokenizer:
        tok = train_tiny_tokenizer(tiny_corpus(), TOKENIZER_DIR)
        print(f"trained tokenizer: {len(tok)} tokens -> {TOKENIZER_DIR}")
    if args.build_model:
        print(f"built tiny model -> {build_tiny_model(args.build_model, seed=args.seed)}")
    if args.export_warm_start:
        print(f"exported warm start -> {export_warm_start(args.export_warm_start)}")
    if not (args.retrain_tokenizer or args.build_model or args.export_warm_start):
        parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
