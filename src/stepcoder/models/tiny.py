"""The tiny default model: a byte-level BPE tokenizer shipped with the package and a small
randomly initialised Llama-style causal LM built from a config, so that every test, demo and
smoke run works offline on a laptop CPU.

Retrain the shipped tokenizer (reproducible from the bundled tiny problems):

    python -m stepcoder.models.tiny --retrain-tokenizer
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import sys
from pathlib import Path
from typing import Iterable

logger = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent / "assets"
TOKENIZER_DIR = ASSETS / "tiny-tokenizer"
TINY_DATA = Path(__file__).resolve().parents[1] / "data" / "tiny"
SPECIAL_TOKENS = ["<pad>", "<bos>", "<eos>"]  # ids 0, 1, 2 (trained first, in this order)
TINY_VOCAB_SIZE = 4096
# General Python code mixed into the corpus so that code outside the bundled problems still
# tokenizes into reasonable pieces: a frozen snapshot of some stdlib modules (SOURCE.txt), so
# that retraining gives the same tokenizer on every Python version.
CODE_CORPUS = ASSETS / "tiny-corpus" / "stdlib-code.txt.gz"


def tiny_corpus() -> list[str]:
    """Texts the shipped tokenizer is trained on: the bundled tiny demonstrations (the ``sft``
    split's prompts and solutions, repeated 4 times so that their vocabulary dominates) plus the
    frozen stdlib snapshot. The RL and held-out problems are left out so that nothing about
    them shapes the model's input."""
    texts: list[str] = []
    for name in ("sft.jsonl",):
        path = TINY_DATA / name
        if not path.exists():
            logger.warning("bundled tiny problems %s not found; corpus is stdlib only", path)
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
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

    return LlamaConfig(vocab_size=vocab_size, hidden_size=256, intermediate_size=688,
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--retrain-tokenizer", action="store_true",
                        help=f"retrain the shipped tokenizer into {TOKENIZER_DIR}")
    parser.add_argument("--build-model", metavar="DIR", help="build the tiny model into DIR")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    if args.retrain_tokenizer:
        tok = train_tiny_tokenizer(tiny_corpus(), TOKENIZER_DIR)
        print(f"trained tokenizer: {len(tok)} tokens -> {TOKENIZER_DIR}")
    if args.build_model:
        print(f"built tiny model -> {build_tiny_model(args.build_model, seed=args.seed)}")
    if not (args.retrain_tokenizer or args.build_model):
        parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
