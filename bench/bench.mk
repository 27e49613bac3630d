# Benchmark targets. The main Makefile does `include bench/bench.mk` and
# defines BIN := .venv/bin (and STAMP, the venv's install stamp).
# bench/run.py installs wrk from Debian's packages when it is missing.
#
#   make bench                         full suite -> bench/RESULTS.md, bench/results.json (< 10 min, 2 cores)
#   make bench-quick                   seconds per figure -> bench/out/quick/ (CI: every figure produced?)
#   make bench BENCH_ARGS='--only ceiling,writes --databases sqlite'

BENCH_ARGS ?=
BENCH_QUICK_OUT ?= bench/out/quick

.PHONY: bench bench-quick

bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

bench-quick: $(STAMP)
	$(BIN)/python bench/run.py --quick --out $(BENCH_QUICK_OUT) $(BENCH_ARGS)
