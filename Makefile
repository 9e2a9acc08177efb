# The README's two commands: `make run` and `make test`. Each works on a fresh machine:
# it creates .venv, installs the pinned dependencies and migrates before it runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_TEST_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: run test lint typecheck test-sqlite test-postgres system-packages bench lock clean backup-drill chaos console

$(STAMP): pyproject.toml requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25"
	$(BIN)/pip install --quiet -c requirements/constraints.txt -e ".[pg,dev,ml]"
	touch $(STAMP)

run: $(STAMP) console
	$(BIN)/astroshield serve

test: lint typecheck test-sqlite test-postgres

# The operator console (console/, TypeScript + Vite): built into the package, never
# committed; rebuilt only when its sources change (the stamp is written after the build).
CONSOLE_STAMP := src/astroshield/console/dist/.built
console: $(CONSOLE_STAMP)

$(CONSOLE_STAMP): console/package.json console/package-lock.json console/tsconfig.json \
		console/vite.config.ts console/index.html $(shell find console/src console/public -type f 2>/dev/null)
	cd console && npm ci --no-audit --no-fund && npm run build
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Debian's packages some tests drive, never downloaded binaries: Chromium for the browser
# test (tests/test_docs_browser.py, not Playwright's browser) and nginx in front of the
# replicas (tests/production). Installed when missing (apt-get needs root, as on CI).
system-packages:
	@test -x /usr/bin/chromium -a -x /usr/sbin/nginx || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium nginx; }

test-sqlite: $(STAMP) system-packages console
	ASTROSHIELD_TEST_DATABASE_URL=sqlite $(BIN)/pytest

# Pure-library tests (tests/astro) touch no database, the browser test reads the docs
# pages, the same on either database, and the guide test starts its own service on its
# own SQLite file: they run once, in the SQLite pass.
test-postgres: $(STAMP) system-packages
	ASTROSHIELD_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest --ignore=tests/astro -m "not browser and not guide"

bench: $(STAMP)
	$(BIN)/python benchmarks/api_overhead.py

# Restore drill (issue 17): seed, back up, restore into a fresh database, compare every
# table's rows and checksum, verify the audit chain; on SQLite and PostgreSQL. Add
# DRILL_ARGS=--write-results to append the measured times to benchmarks/RESULTS.md.
backup-drill: $(STAMP)
	$(BIN)/python benchmarks/backup_drill.py --database both --pg-url $(PG_TEST_URL) $(DRILL_ARGS)

# Chaos suite (issue 17): the faults of tests/chaos on PostgreSQL (figures printed), then
# the same scenarios larger, their table written to benchmarks/RESULTS.md.
chaos: $(STAMP)
	ASTROSHIELD_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -m chaos -s -p no:cacheprovider tests/chaos
	$(BIN)/python benchmarks/chaos.py --pg $(PG_TEST_URL) --write-results

# Re-pin after changing dependencies in pyproject.toml.
lock: $(STAMP)
	$(BIN)/pip freeze --exclude-editable > requirements/constraints.txt

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# --- archive slice (issue 17): query plans and telemetry at archive scale, on PostgreSQL.
# Each fills a scratch database next to PG_TEST_URL's (dropped afterwards) and, with
# --write-results, replaces its section of benchmarks/RESULTS.md. Heavy: run under nice.
.PHONY: explain-check telemetry-archive
explain-check: $(STAMP)
	PYTHONPATH=. nice -n 10 $(BIN)/python benchmarks/query_plans.py --pg $(PG_TEST_URL) --write-results

telemetry-archive: $(STAMP)
	PYTHONPATH=. nice -n 10 $(BIN)/python benchmarks/telemetry_archive.py --pg $(PG_TEST_URL) --write-results
# --- end archive slice

# --- load test (issue 17): the mixed operator scenario (benchmarks/load/locustfile.py) with
# locust, headless, loopback only, at fixed arrival rates stepped up to saturation, against
# 1 then 2 replicas behind nginx on a scratch PostgreSQL database next to PG_TEST_URL's;
# replaces its section of benchmarks/RESULTS.md and benchmarks/figures/load-*.png. ~10 min.
.PHONY: load-test
load-test: $(STAMP) system-packages
	PYTHONPATH=. nice -n 10 $(BIN)/python benchmarks/load_test.py --pg $(PG_TEST_URL) --write-results
# --- end load test

# --- screening scale-out (issue 17): the full-catalog screening in this process, in a local
# pool, and on a Dask cluster whose scheduler and workers are network namespaces (needs
# root); replaces its section of benchmarks/RESULTS.md and benchmarks/figures/scale-out.png.
# The cost model built on it: docs/scaling.md. Heavy (several minutes): run under nice.
.PHONY: scale-out
scale-out: $(STAMP)
	nice -n 10 $(BIN)/python benchmarks/screening_scale_out.py --write-results

# --- ThreatDetectorNN (issue 18): simulate the training and held-out scenarios, train, ship
# to src/astroshield/ml/models/, evaluate (held-out seed + real histories) with
# --write-results, and measure the ONNX throughput. About 15-25 min on 2 busy cores.
THREAT_SIM ?= /tmp/threat-train
THREAT_HELD_OUT ?= /tmp/threat-heldout
.PHONY: ml-threat
ml-threat: $(STAMP)
	OMP_NUM_THREADS=1 nice -n 10 $(BIN)/astroshield ml simulate-threats --out $(THREAT_SIM) --seed 18 --samples 1500
	OMP_NUM_THREADS=1 nice -n 10 $(BIN)/astroshield ml simulate-threats --out $(THREAT_HELD_OUT) --seed 2018 --samples 500
	OMP_NUM_THREADS=1 nice -n 10 $(BIN)/astroshield ml train threat-detector --data $(THREAT_SIM) --out src/astroshield/ml/models/threat_detector-0.1.0.onnx --seed 18
	OMP_NUM_THREADS=1 nice -n 10 $(BIN)/astroshield ml evaluate threat-detector --held-out $(THREAT_HELD_OUT) --write-results
	OMP_NUM_THREADS=1 nice -n 10 $(BIN)/python benchmarks/ml_threat_throughput.py

# ActorCritic (issue 18): retrain the shipped policy (3-5 min on one busy core), then
# evaluate it on 1,000 held-out episodes against the single-burn baseline (RESULTS.md section).
.PHONY: ml-agent
ml-agent: $(STAMP)
	OMP_NUM_THREADS=1 nice -n 10 $(BIN)/astroshield ml train actor-critic --seed 0
	OMP_NUM_THREADS=1 nice -n 10 $(BIN)/astroshield ml evaluate actor-critic --episodes 1000 --write-results

# --- StrategyGenerator (issue 18): simulate red conjunctions labelled by the optimal burn,
# train the network (needs the [ml] extra), evaluate on held-out seed 1018 and replace its
# section of benchmarks/RESULTS.md and benchmarks/figures/ml-strategy-*.png. ~15-25 min
# on 2 busy cores (the optimiser labels 2600 encounters at ~0.1-0.2 s each).
.PHONY: ml-strategy
ml-strategy: $(STAMP)
	OMP_NUM_THREADS=1 nice -n 10 $(BIN)/astroshield ml simulate-encounters --out build/ml-strategy-sim --seed 18 --count 2600
	OMP_NUM_THREADS=1 nice -n 10 $(BIN)/astroshield ml train strategy-generator --data build/ml-strategy-sim --out src/astroshield/ml/models/strategy_generator-0.1.0.onnx --seed 18
	OMP_NUM_THREADS=1 nice -n 10 $(BIN)/astroshield ml evaluate strategy-generator --seed 1018 --count 300 --write-results
# --- end StrategyGenerator
