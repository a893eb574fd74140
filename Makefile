# The README's two commands: `make run` and `make test`. Both set up first.
VENV := .venv
BIN := $(VENV)/bin
OUT ?= reports/latest
PYTEST_ARGS ?=

.PHONY: setup run test lint bench bench-compare bench-matrix clean fuzz

setup:
	@bash tools/setup.sh

run: setup
	$(BIN)/osm-conformance run --out $(OUT)

test: setup
	$(BIN)/python -m pytest -n 2 -q $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check conformance tests examples harnesses conftest.py
	$(BIN)/ruff format --check conformance tests examples harnesses conftest.py
	$(BIN)/mypy

# Small exchanges per second, then a 200 MB attachment through reference and openssl cms
# (peak memory and throughput, issue 21).
bench: setup
	$(BIN)/python -m conformance.bench
	$(BIN)/python -m conformance.bench_large --size 200000000

# make bench's exchange, this checkout against OTHER (another checkout, e.g. a git worktree
# of an older commit), in alternating runs; COMPARE_ARGS e.g. "--pairs 10".
OTHER ?=
COMPARE_ARGS ?=
bench-compare: setup
	@test -n "$(OTHER)" || { echo "usage: make bench-compare OTHER=path/to/other/checkout [COMPARE_ARGS='--pairs 10' or '--matrix']" >&2; exit 2; }
	$(BIN)/python -m conformance.bench_compare $(OTHER) $(COMPARE_ARGS)

# Issue 20's pinned matrix (15 agents, 5 functions, 25 examples, no rejections) and run --agent reference;
# REPEAT=N runs the two-worker run N times and splits the median one.
bench-matrix: setup
	$(BIN)/python -m conformance.matrix.bench --pinned $(if $(REPEAT),--repeat $(REPEAT))

clean:
	rm -rf $(VENV) reports/latest .cache

# Hostile input: FUZZ_SECONDS (default an hour) or FUZZ_ARGS="--inputs N"; failures in ~/.cache/osm-conformance/fuzz/failures/ ($$XDG_CACHE_HOME).
FUZZ_SECONDS ?= 3600
FUZZ_ARGS ?=
fuzz: setup
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(BIN)/python -m conformance.fuzz run $(FUZZ_ARGS)
