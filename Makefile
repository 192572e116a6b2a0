# The two set-up commands are `make run` and `make test`; each builds .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test redis-cluster redis-cluster-stop migrate shell bench bench-leaderboards bench-jobs bench-cluster bench-exams bench-http bench-leagues mutants lua-coverage coverage lint clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]" -e ./clients/python
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python scripts/run.py

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(PYTEST_ARGS)

# A local three-master Redis Cluster on free loopback ports (scripts/redis_cluster.py):
# prints its URL for REDIS_URL; REDIS_CLUSTER_ARGS="--replicas 1" for six nodes.
redis-cluster: $(STAMP)
	@$(BIN)/python scripts/redis_cluster.py start $(REDIS_CLUSTER_ARGS)

redis-cluster-stop: $(STAMP)
	@$(BIN)/python scripts/redis_cluster.py stop

# Admin commands on the same settings as `make run` (its embedded Redis and SQLite).
migrate: $(STAMP)
	$(BIN)/questboard migrate

shell: $(STAMP)
	$(BIN)/questboard shell

bench: $(STAMP)
	$(BIN)/python -m bench.economy

bench-leaderboards: $(STAMP)
	$(BIN)/python -m bench.leaderboards

bench-jobs: $(STAMP)
	$(BIN)/python -m bench.jobs

bench-leagues: $(STAMP)
	$(BIN)/python -m bench.leagues

# Purchases and exams on a 1- and a 3-master Redis Cluster against one Redis, and the
# cost of REDIS_WAIT_REPLICAS=1. BENCH_CLUSTER_ARGS="--seconds 1 --rounds 1 --no-write"
bench-cluster: $(STAMP)
	$(BIN)/python -m bench.cluster $(BENCH_CLUSTER_ARGS)

# Routes' req/s against bare WSGI, bare Flask and Flask + one HGETALL, under gunicorn
# sync and gthread and granian; needs wrk. BENCH_HTTP_ARGS="--seconds 1 --rounds 1 ..."
bench-http: $(STAMP)
	$(BIN)/python -m bench.http_ratio $(BENCH_HTTP_ARGS)

# An exam's Redis cost beside its bare writes, and batch ingestion over HTTP beside the
# engine and one exam a request, on a Redis of its own. BENCH_EXAMS_ARGS="--seconds 2"
bench-exams: $(STAMP)
	$(BIN)/python -m bench.exam_cost $(BENCH_EXAMS_ARGS)

# The mutation check: each mutant in tests/mutants.py breaks a guarantee on a scratch
# copy; the tests must fail for every one in every run. MUTANTS_ARGS="--runs 3 name ..."
mutants: $(STAMP)
	$(BIN)/python scripts/mutants.py $(MUTANTS_ARGS)

# The whole suite on instrumented copies of the Lua scripts, then per file the statements
# reached / total and those never reached (see docs/testing.md). LUA_COVERAGE_ARGS="tests/x.py"
lua-coverage: $(STAMP)
	$(BIN)/python scripts/lua_coverage.py $(LUA_COVERAGE_ARGS)

# Python line coverage of the whole suite (engine, web, jobs, cli).
coverage: $(STAMP)
	$(BIN)/coverage run --source=engine,web,jobs,cli,config -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)
	$(BIN)/coverage report --skip-covered --sort=cover

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var .pytest_cache
