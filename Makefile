# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test env lint neo4j-start neo4j-stop bench clean

# torch is pinned (a CPU build where pip's configuration offers one). Nothing is compiled:
# neighbour sampling runs in plain torch (connectomedb.analytics.sampling).
TORCH  ?= 2.13.0

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --prefer-binary -e '.[test,analytics]' 'torch==$(TORCH)'
	touch $(STAMP)

env: $(STAMP)

## Build and start Neo4j, create the schema, load Cook et al. 2019 (public) with the
## signal propagation atlas beside it, then serve the API.
run: $(STAMP)
	$(BIN)/connectomedb neo4j start
	$(BIN)/connectomedb db init
	$(BIN)/connectomedb load cook2019 --public
	$(BIN)/connectomedb load randi2023 --onto cook2019_herm
	$(BIN)/connectomedb datasets
	$(BIN)/connectomedb serve --example cook2019_herm

## Lint, then the whole test suite against a real Neo4j (started here when none answers).
test: $(STAMP)
	bash scripts/test.sh

lint: $(STAMP)
	$(BIN)/ruff check connectomedb tests bench
	$(BIN)/ruff format --check connectomedb tests bench

neo4j-start: $(STAMP)
	$(BIN)/connectomedb neo4j start

neo4j-stop: $(STAMP)
	$(BIN)/connectomedb neo4j stop

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .pytest_cache
