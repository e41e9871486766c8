# The README's commands. `make run` and `make test` each set up .venv on first use;
# a second call reinstalls nothing unless pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Kedro and MLflow telemetry stay off for everyone; nothing here contacts the network.
# (MLflow reads MLFLOW_DISABLE_TELEMETRY, or DO_NOT_TRACK only when it says "true".)
export KEDRO_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
export MLFLOW_DISABLE_TELEMETRY := true

.PHONY: install run serve test viz mlflow-ui bench lint format clean mutation mutation-ingestion mutation-edges mutation-serving mutation-models

# Installed but never imported by `make test` (read off the .pyc files' access times after a
# fresh-clone `make test`): plotly, MLflow's server, torch's compiler and test helpers...
# Python compiles them on first import if something does import them; skipping them
# cut compileall's CPU by 14% (40.3 -> 34.8 s user, median of 2 each).
NEVER_IMPORTED := /site-packages/(plotly|databricks|fontTools|textual|setuptools|tensorboard|libcst|skl2onnx|graphql|gunicorn)/|/torch/(_inductor|testing|_vendor)/|/sympy/(physics|stats|parsing)/|/mlflow/(server|gateway|assistant)/

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -e ".[dev,openvino]"
	@# What pip would byte-compile, on every core instead of one (about 60 s -> 30 s on 2
	@# cores), less the packages' own test suites (a fifth of the bytes) and NEVER_IMPORTED.
	@# A few packages ship files that are not Python 3 (templates): pip skips them
	@# silently, and so does this.
	$(BIN)/python -m compileall -qq -j 0 -x '/tests?/|$(NEVER_IMPORTED)' $(VENV)/lib || true
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its dev tools

run: install ## the full pipeline with the real settings on the shipped data
	$(BIN)/kedro run

HOST ?= 127.0.0.1
PORT ?= 8000
serve: install ## the forecasting service on http://$(HOST):$(PORT) (page at /, API docs at /docs)
	$(BIN)/kedro serve --host $(HOST) --port $(PORT)

# Two workers: most tests wait on a `kedro run` subprocess, so two keep both cores busy.
# --dist loadscope keeps each test module on one worker, so a module's set-up (a tracked
# run, the fault-injection runs, a live server) is made once, not once per worker.
test: install ## the whole test suite (small `smoke` settings), on two workers
	$(BIN)/python -m pytest -n 2 --dist loadscope --no-loadscope-reorder

test-fast: install ## the edit loop: only tests that start no `kedro run`, server or browser
	$(BIN)/python -m pytest -n 2 -m "not e2e and not browser"

# kedro-viz asks PyPI for a newer version at start (30 s timeout when offline) and has no
# switch to skip it; an HTTPS proxy on a closed local port makes that check fail at once.
# Online and want the update notice? `make viz VIZ_OFFLINE=`
VIZ_OFFLINE ?= HTTPS_PROXY=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

viz: install ## kedro-viz on http://127.0.0.1:4141 (after `make run`, for previews)
	$(VIZ_OFFLINE) $(BIN)/kedro viz run --no-browser --host 127.0.0.1 --port 4141

# The store of conf/base/mlflow.yml; one worker is plenty for one person browsing.
MLFLOW_PORT ?= 5000
mlflow-ui: install ## the MLflow UI on http://127.0.0.1:5000 over mlruns/ (runs tracked by `kedro run`)
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db \
		--default-artifact-root ./mlruns/artifacts --host 127.0.0.1 --port $(MLFLOW_PORT) --workers 1

# Mutation testing (mutmut 3, config in pyproject.toml [tool.mutmut]); not part of `make test`.
# Each mutant runs only the fast unit tests that reach the mutated function. Surviving
# mutants judged equivalent or accepted are listed with a reason in tools/mutation_reviewed.txt.
# Issue 29: the ridge kind, the variants' tolerance check (in prices, CRPS, coverage) and
# the durable datasets; also alone with `make mutation-edges`.
MUTATED_EDGES := "lstm_forecast.models.ridge.*" "lstm_forecast.onnx.optimisation.*" \
	"lstm_forecast.pipelines.variants.*" "lstm_forecast.datasets.*"
# The service and the forecaster's feature and price graphs; also alone with
# `make mutation-serving`. The service's tests read a smoke run: made once per `make`
# in .mutation-smoke/ and shared by every mutant's pytest (LSTM_FORECAST_SMOKE_SHARED).
MUTATED_SERVING := "lstm_forecast.serving.*" "lstm_forecast.onnx.forecaster_graph.*" \
	"lstm_forecast.onnx.feature_graph.*"
# The LSTM kind (network, loss, volatility-scaled head, parameters, fit, export) and the
# model registry; also alone with `make mutation-models`. Not its DDP launchers
# (lstm_distributed, train_distributed): they start processes (tools/mutation_reviewed.txt).
# mutmut's first pass runs the whole selection, the service's tests included: hence the
# shared smoke run here too.
MUTATED_MODELS := "lstm_forecast.models.x_*" "lstm_forecast.models.base.*" \
	"lstm_forecast.models.callbacks.*" "lstm_forecast.models.lstm.*" \
	"lstm_forecast.models.lstm_export.*" "lstm_forecast.models.lstm_network.*" \
	"lstm_forecast.models.lstm_params.*" "lstm_forecast.models.lstm_training.*" \
	"lstm_forecast.models.training_data.*" "lstm_forecast.models.training_params.*" \
	"lstm_forecast.models.volatility_scaling.*"
MUTATION_SMOKE := $(CURDIR)/.mutation-smoke
# The second test makes the MLflow registry the registered-model tests read (beside it).
SMOKE_FOR_MUTATION = rm -rf $(MUTATION_SMOKE) && LSTM_FORECAST_SMOKE_SHARED=$(MUTATION_SMOKE) \
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/serving/test_api.py::test_health_and_readiness \
	tests/serving/test_registered_by_hand.py::test_a_fetch_replaces_the_file_in_place
MUTATED := "lstm_forecast.timeseries.*" "lstm_forecast.onnx.contract.*" \
	"lstm_forecast.lineage.*" "lstm_forecast.pipelines.features.*" \
	"lstm_forecast.pipelines.reporting.*" "lstm_forecast.pipelines.backtest.*" \
	"lstm_forecast.ohlcv_csv.*" "lstm_forecast.pipelines.ingestion.*" $(MUTATED_EDGES) \
	$(MUTATED_SERVING) $(MUTATED_MODELS)

mutation: install ## mutation score of the torch-free core and the ingestion, features, reporting, backtest and variants code, the ridge and LSTM kinds, the model registry, datasets/, the service and the forecaster graphs (11,842 mutants: 2 h 11 min on 2 cores shared with other work)
	$(SMOKE_FOR_MUTATION)
	LSTM_FORECAST_SMOKE_SHARED=$(MUTATION_SMOKE) $(BIN)/mutmut run --max-children 2 $(MUTATED)
	$(BIN)/python tools/mutation_score.py --fail-under 90

mutation-ingestion: install ## the same for the ingestion modules alone
	$(BIN)/mutmut run --max-children 2 "lstm_forecast.ohlcv_csv.*" "lstm_forecast.pipelines.ingestion.*"
	$(BIN)/python tools/mutation_score.py lstm_forecast.ohlcv_csv lstm_forecast.pipelines.ingestion

mutation-edges: install ## the same for the ridge kind, the variants modules and datasets/
	$(BIN)/mutmut run --max-children 2 $(MUTATED_EDGES)
	$(BIN)/python tools/mutation_score.py lstm_forecast.models.ridge lstm_forecast.onnx.optimisation \
		lstm_forecast.pipelines.variants lstm_forecast.datasets

mutation-serving: install ## the same for serving/ and the forecaster's feature and price graphs
	$(SMOKE_FOR_MUTATION)
	LSTM_FORECAST_SMOKE_SHARED=$(MUTATION_SMOKE) $(BIN)/mutmut run --max-children 2 $(MUTATED_SERVING)
	$(BIN)/python tools/mutation_score.py lstm_forecast.serving lstm_forecast.onnx.forecaster_graph \
		lstm_forecast.onnx.feature_graph

mutation-models: install ## the same for the LSTM kind and the model registry
	$(SMOKE_FOR_MUTATION)
	LSTM_FORECAST_SMOKE_SHARED=$(MUTATION_SMOKE) $(BIN)/mutmut run --max-children 2 $(MUTATED_MODELS)
	$(BIN)/python tools/mutation_score.py lstm_forecast.models.__init__ lstm_forecast.models.base \
		lstm_forecast.models.callbacks lstm_forecast.models.lstm lstm_forecast.models.training \
		lstm_forecast.models.volatility_scaling

# Exits non-zero when a script fails (a missed goal is a printed NO, not a failure).
bench: install ## the benchmarks in benchmarks/, printing side-by-side ratios
	$(BIN)/python benchmarks/run_all.py

lint: install ## ruff lint and format check, and the import layers (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean: ## remove every pipeline output (keeps data/01_raw and .venv)
	find data/02_intermediate data/03_primary data/04_feature data/05_model_input data/06_models \
		data/07_model_output data/08_reporting -type f ! -name .gitkeep -delete
	rm -rf logs
