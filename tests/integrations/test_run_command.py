"""The project's `kedro run`: refusals in a few lines, tracebacks on request and for bugs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import KEDRO, copy_project, kedro_env, run_kedro

pytestmark = pytest.mark.e2e
MAX_LINES = 15


@pytest.fixture(autouse=True)
def _fixed_console_width(monkeypatch):
    # Rich wraps the log to the terminal's width (80 without one), and how many lines a
    # record takes then depends on the length of the logging module's path column.
    monkeypatch.setenv("COLUMNS", "120")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project with two small bad CSVs in data/01_raw (no run yet)."""
    project = copy_project(tmp_path_factory.mktemp("cli") / "project")
    rows = [f"2021-01-01 {h:02d}:00:00,100,102,99,101,5" for h in range(24)]
    rows[2] = "2021-01-01 02:00:00,100,abc,99,101,5"
    (project / "data/01_raw/bad.csv").write_text(
        "\n".join(["timestamp,open,high,low,close,volume", *rows]) + "\n"
    )
    return project


def _output(result: subprocess.CompletedProcess[str]) -> list[str]:
    return (result.stdout + result.stderr).splitlines()


def test_a_bad_file_is_refused_in_a_few_lines_without_a_traceback(project: Path):
    result = run_kedro(
        project,
        "run",
        "--pipelines=ingestion",
        "--env=smoke",
        "--params=raw_csv=data/01_raw/bad.csv",
        check=False,
    )
    lines = _output(result)
    assert result.returncode == 1
    assert len(lines) < MAX_LINES, "\n".join(lines)
    assert not any("Traceback" in line for line in lines)
    # Kedro's own copy of the message and its "repeat the previous command" advice are gone.
    assert sum("value is not a number" in line for line in lines) == 1
    assert not any("No nodes ran" in line for line in lines)
    assert (
        "Error: CandleDataError: asset bad: data/01_raw/bad.csv: cannot use this file as candles "
        "(1 problem(s)):" in lines
    )
    assert any(
        "column 'high': value is not a number in 1 row(s); first: line 4: high='abc'" in line
        for line in lines
    )
    assert lines[-1] == "(set LSTM_FORECAST_TRACEBACK=1 to see the traceback)"
    assert not (project / "data/02_intermediate/candles.parquet").exists()


def test_a_misspelt_parameter_is_refused_before_any_node_runs(project: Path):
    result = run_kedro(
        project,
        "run",
        "--pipelines=ingestion",
        "--env=smoke",
        "--params=ingestion.source.na_valuez=x",
        check=False,
    )
    lines = _output(result)
    text = "\n".join(lines)
    assert result.returncode == 1
    assert len(lines) < MAX_LINES, text
    assert "Error: ParameterValidationError: Parameter validation failed:" in text
    assert "unknown key 'na_valuez': did you mean 'na_values'?" in text
    assert "Running node" not in text and "Loading data from raw_candles" not in text
    assert "errors.pydantic.dev" not in text


def test_a_missing_input_file_is_refused_in_a_few_lines(project: Path):
    result = run_kedro(
        project,
        "run",
        "--pipelines=ingestion",
        "--params=raw_csv=data/01_raw/nope.csv",
        check=False,
    )
    lines = _output(result)
    assert result.returncode == 1
    assert len(lines) < MAX_LINES, "\n".join(lines)
    assert any("No such file or directory" in line and "nope.csv" in line for line in lines)


def test_the_traceback_shows_on_request(project: Path):
    result = subprocess.run(
        [KEDRO, "run", "--pipelines=ingestion", "--params=raw_csv=data/01_raw/bad.csv"],
        cwd=project,
        env={**kedro_env(), "LSTM_FORECAST_TRACEBACK": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    text = result.stdout + result.stderr
    assert result.returncode == 1
    assert "Traceback" in text
    assert "CandleDataError" in text


def test_an_unexpected_error_keeps_its_traceback(project: Path):
    # A folder given as the CSV is not a refusal the project words: the traceback stays.
    result = run_kedro(
        project, "run", "--pipelines=ingestion", "--params=raw_csv=data/01_raw", check=False
    )
    text = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" in text
    assert "IsADirectoryError" in text
