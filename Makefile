# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CHROMIUM := /usr/bin/chromium
HOST ?= 127.0.0.1
PORT ?= 8000

# Nothing may reach a model hub or phone home: models come from installed packages.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export RAGAS_DO_NOT_TRACK := true

.PHONY: install chromium run index-examples test test-fast screenshots lint bench bench-scale \
        clean openwebui-install openwebui e2e-openwebui

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

index-examples: install
	$(BIN)/rag index examples/articles

run: index-examples
	$(BIN)/python -m compileall -q rag api index  # bytecode, as an installed package has
	$(BIN)/rag serve --host $(HOST) --port $(PORT)

# The browser tests (tests/e2e) drive Debian's Chromium through Playwright, which never downloads a
# browser of its own. A no-op when it is installed; needs root (apt) when it is not.
chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "chromium: $(CHROMIUM) is missing; install Debian's chromium as root" \
	         "(the browser tests skip without it)"; \
	  else \
	    DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  fi; }

# The tests also need the `eval` extra (Ragas, for tests/test_ragas.py); `make run` does not.
TEST_STAMP := $(VENV)/.test-stamp

$(TEST_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev,eval]"
	touch $(TEST_STAMP)

# The tests run in one worker process a logical CPU (pytest-xdist), each worker taking the next
# test as it finishes one; `make test TEST_WORKERS=0` runs them in this process.
TEST_WORKERS ?= logical
PYTEST := $(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

test: $(TEST_STAMP) chromium
	$(BIN)/ruff check .
	$(PYTEST)

# The README's screenshots (docs/screenshots/), taken anew by the browser tests; `make test`
# takes them into a folder of its own run.
screenshots: $(TEST_STAMP) chromium
	NEWSRAG_WRITE_SCREENSHOTS=1 $(BIN)/pytest tests/e2e/test_chat_page.py \
	  -k "screenshots or links_its_speaker_to_their_statements"

# The edit loop: everything but the tests marked slow (processes, browsers, soak, fuzzing).
test-fast: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(PYTEST) -m "not slow and not openwebui"

lint: install
	$(BIN)/ruff check .

BENCH_STAMP := $(VENV)/.bench-stamp

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	touch $(BENCH_STAMP)

# `make bench BENCH_ARGS=--quick` for a run of a few minutes. SCALE_SIZES: the stores of the
# scale step (bench.scale, docs/benchmarks.md "Scale"): any of 10k 30k 100k 300k 1M.
SCALE_SIZES ?= 10k 100k

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run --scale-sizes $(SCALE_SIZES) $(BENCH_ARGS)

# The scale step alone, e.g. `make bench-scale SCALE_SIZES="100k 300k"`.
bench-scale: $(BENCH_STAMP)
	nice -n 15 $(BIN)/python -m bench.scale --sizes $(SCALE_SIZES)

# Open WebUI in a venv of its own under var/ (its pins are not ours). torch goes in first so
# open-webui's sentence-transformers takes it instead of a CUDA build: on these machines pip
# finds the CPU wheel of OPENWEBUI_TORCH on disk; elsewhere pass OPENWEBUI_PIP_ARGS an index of
# CPU builds. Nothing in it is used to embed or retrieve: newsrag does that.
OPENWEBUI_VERSION := 0.12.4
OPENWEBUI_TORCH ?= torch==2.13.0
OPENWEBUI_PIP_ARGS ?=
OPENWEBUI_VENV := var/openwebui/.venv
OPENWEBUI_STAMP := $(OPENWEBUI_VENV)/.installed-$(OPENWEBUI_VERSION)
OPENWEBUI_PORT ?= 8080

$(OPENWEBUI_STAMP):
	test -x $(OPENWEBUI_VENV)/bin/python || $(PYTHON) -m venv $(OPENWEBUI_VENV)
	$(OPENWEBUI_VENV)/bin/python -m pip install --quiet --upgrade "pip>=24"
	nice -n 15 $(OPENWEBUI_VENV)/bin/python -m pip install --quiet $(OPENWEBUI_PIP_ARGS) \
	  "$(OPENWEBUI_TORCH)"
	nice -n 15 $(OPENWEBUI_VENV)/bin/python -m pip install --quiet $(OPENWEBUI_PIP_ARGS) \
	  "open-webui==$(OPENWEBUI_VERSION)"
	touch $@

openwebui-install: $(OPENWEBUI_STAMP)

# newsrag on $(PORT) over the indexed examples and Open WebUI on $(OPENWEBUI_PORT), both on
# 127.0.0.1, until Ctrl-C (docs/integrations.md, "Open WebUI").
openwebui: index-examples openwebui-install
	$(BIN)/python tests/e2e_openwebui/launch.py --port $(PORT) --openwebui-port $(OPENWEBUI_PORT)

# The browser check: not part of `make test` (the `openwebui` marker is deselected there).
e2e-openwebui: install chromium openwebui-install
	$(BIN)/pytest tests/e2e_openwebui -m openwebui

clean:
	rm -rf $(VENV) var .pytest_cache
