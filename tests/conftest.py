"""Fixtures shared by the whole suite: copies of the project driven by the real `kedro` CLI."""

from __future__ import annotations

import atexit
import fcntl
import functools
import inspect
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from lstm_forecast.integrations.library_warnings import _LIBRARY_WARNINGS

PROJECT_ROOT = Path(__file__).resolve().parents[1]
KEDRO = str(Path(sys.executable).parent / "kedro")
CANDLES_DIR = PROJECT_ROOT / "data" / "01_raw" / "candles"
RAW_CSV = CANDLES_DIR / "BTCUSDT.csv"
# What "imports torch" means for the torch-free checks.
TORCH_MODULES = ("torch", "pytorch_lightning", "lightning", "torchmetrics", "onnxscript")
# A sitecustomize.py that, put first on sys.path, makes every import of the torch family
# fail, as on a machine where only onnxruntime, numpy and pandas are installed.
BLOCK_TORCH = """
import sys

class _RefuseTorch:
    blocked = {"torch", "pytorch_lightning", "lightning", "torchmetrics"}

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.blocked:
            raise ImportError(f"{name} is not installed here (blocked by the test)")
        return None

sys.meta_path.insert(0, _RefuseTorch())
"""

DATA_LAYERS = (
    "01_raw",
    "02_intermediate",
    "03_primary",
    "04_feature",
    "05_model_input",
    "06_models",
    "07_model_output",
    "08_reporting",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A test that reads the session's smoke run starts a `kedro run`: it is end-to-end, and
    # `make test-fast` (-m "not e2e") leaves it out.
    # A smoke run made before (LSTM_FORECAST_SMOKE_SHARED, as `make mutation` makes one)
    # starts nothing: its readers then count as unit tests there.
    shared = _smoke_shared()
    made = shared is not None and (shared / "smoke-shared" / "passed").exists()
    for item in items:
        reads_smoke = "smoke_project" in getattr(item, "fixturenames", ()) and not made
        skip = _BARE_PROCESS_FIXTURES + (("smoke_project",) if made else ())
        if reads_smoke or _starts_processes(item, skip=skip):
            item.add_marker(pytest.mark.e2e)
    # The long tests first, the longest modules first of all: two workers then finish
    # together instead of one waiting on the last long module (the order within each group,
    # and so within each module, is kept). `make test` passes --no-loadscope-reorder, or
    # xdist would reorder modules by their number of tests.
    items.sort(key=_schedule_rank)


# The modules that take longest (seconds in a quiet 2-core `make test`, each module's first
# test start to last test end), roughly longest first: this order ended both workers within
# a second of each other. A module missing here only runs later among the end-to-end ones.
_LONGEST_MODULES = (
    "tests/benchmarks/test_run_all_optional.py",  # 57, with the session's smoke run it makes
    "tests/models/test_distributed.py",  # 38
    "tests/benchmarks/test_run_all.py",  # 18
    "tests/integrations/test_dask_runner.py",  # 31
    "tests/models/test_lstm_export.py",  # 25
    "tests/test_fault_injection.py",  # 29
    "tests/integrations/test_mlflow_tracking.py",  # 34
    "tests/pipelines/tuning/test_run.py",  # 21
    "tests/onnx/test_optimisation.py",  # 7
    "tests/models/test_registry.py",  # 11
    "tests/test_end_to_end.py",  # 13
    "tests/test_intervals.py",  # 13
)


def _schedule_rank(item: pytest.Item) -> tuple[bool, int]:
    module = item.nodeid.split("::", 1)[0]
    rank = _LONGEST_MODULES.index(module) if module in _LONGEST_MODULES else len(_LONGEST_MODULES)
    return item.get_closest_marker("e2e") is None, rank


# A test that calls one of these (itself or in a fixture it uses) starts another process.
# Fixtures that start only a bare interpreter (a pid that has exited, one that sleeps), once
# per module in milliseconds: a test using them stays a unit test, and so stays in
# `make mutation`'s selection (-m "not e2e"), which reaches the stale-file cleanup only so.
_BARE_PROCESS_FIXTURES = ("dead_pid", "live_pid")
_PROCESS_STARTERS = (
    "run_kedro(",
    "run_python(",
    "run_command(",
    "modules_loaded(",
    "subprocess.",
    "Popen(",
)


def _starts_processes(item: pytest.Item, skip: Sequence[str] = ()) -> bool:
    """Whether the test's source, or its fixtures' (but those named in ``skip``), starts a
    `kedro run` or another process."""
    functions = [getattr(item, "obj", None)]
    info = getattr(item, "_fixtureinfo", None)
    for name, definitions in getattr(info, "name2fixturedefs", {}).items():
        if name not in skip:
            functions += [definition.func for definition in definitions]
    for function in functions:
        try:
            source = inspect.getsource(function)
        except (OSError, TypeError):
            continue
        if any(starter in source for starter in _PROCESS_STARTERS):
            return True
    return False


def pytest_configure(config: pytest.Config) -> None:
    # pytest resets warning filters for each test; reinstate the package's list of library
    # warnings nobody can act on, so the summary shows only warnings worth reading.
    for category, message in _LIBRARY_WARNINGS:
        config.addinivalue_line("filterwarnings", f"ignore:{message}:{category.__name__}")


def copy_project(destination: Path) -> Path:
    """Copy what `kedro run` needs (not outputs, not conf/local) into ``destination``.

    Tests run there, so they never touch the checkout's own data/ outputs.
    """
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", ".telemetry"):
        shutil.copy2(PROJECT_ROOT / name, destination / name)
    shutil.copytree(
        PROJECT_ROOT / "conf",
        destination / "conf",
        ignore=lambda folder, names: [
            n for n in names if Path(folder).name == "local" and n != ".gitkeep"
        ],
    )
    if (PROJECT_ROOT / "notebooks").is_dir():
        shutil.copytree(PROJECT_ROOT / "notebooks", destination / "notebooks")
    # Kedro insists on the project's source folder; the package itself is installed.
    (destination / "src").mkdir(exist_ok=True)
    for layer in DATA_LAYERS:
        (destination / "data" / layer).mkdir(parents=True, exist_ok=True)
    shutil.copytree(CANDLES_DIR, destination / "data" / "01_raw" / "candles")
    return destination


def kedro_env() -> dict[str, str]:
    """The environment for a `kedro` subprocess: telemetry off, one thread per library."""
    return {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "1",
        "OMP_NUM_THREADS": "1",
    }


def _checked(
    result: subprocess.CompletedProcess[str], command: str, check: bool
) -> subprocess.CompletedProcess[str]:
    """``result``; with ``check``, an unexpected exit fails the test with its output's end."""
    if check and result.returncode != 0:
        pytest.fail(
            f"`{command[:300]}` exited {result.returncode}:\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
        )
    return result


def run_command(
    argv: Sequence[str], cwd: Path | None = None, *, check: bool = True, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run a command as the tests' subprocesses all run (telemetry off, one thread per
    library); on an unexpected exit, fail with the end of its output."""
    result = subprocess.run(
        list(argv),
        cwd=cwd,
        env=kedro_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return _checked(result, " ".join(argv), check)


def run_kedro(
    project: Path, *args: str, check: bool = True, timeout: float = 600, offline: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the real `kedro` CLI in ``project``; on an unexpected exit, show its output.

    The run is a fork of this test worker's pre-imported Kedro process
    (``tests/_kedro_forker.py``), which saves each run the ~5 s of CPU its imports take;
    ``LSTM_FORECAST_TEST_FORK=0`` starts a new `kedro` process each time instead.
    ``offline``: in a network namespace without network (``unshare -n``), where this
    machine allows one.
    """
    prefix = _offline_prefix() if offline else []
    if os.environ.get("LSTM_FORECAST_TEST_FORK", "1") == "0":
        return run_command([*prefix, KEDRO, *args], project, check=check, timeout=timeout)
    result = _forker().run(list(args), project, kedro_env(), timeout, offline=bool(prefix))
    return _checked(result, f"kedro {' '.join(args)}", check)


def run_python(
    code: str, cwd: Path, *args: str, check: bool = True, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``python -c <code> <args>`` in ``cwd``, as a fork of the pre-imported process that
    ``run_kedro`` uses (``LSTM_FORECAST_TEST_FORK=0``: a new interpreter). Not for code that
    checks what an interpreter imports: that needs ``modules_loaded``."""
    if os.environ.get("LSTM_FORECAST_TEST_FORK", "1") == "0":
        return run_command([sys.executable, "-c", code, *args], cwd, check=check, timeout=timeout)
    result = _forker().run(list(args), cwd, kedro_env(), timeout, code=code)
    return _checked(result, f"python -c {code!r}", check)


class _KedroForker:
    """The client of ``tests/_kedro_forker.py``: one server per test worker, one run at a time."""

    def __init__(self) -> None:
        self._log = tempfile.TemporaryFile(prefix="kedro-forker-")  # noqa: SIM115 (its lifetime)
        self._server = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("_kedro_forker.py"))],
            cwd=PROJECT_ROOT,
            env=kedro_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        # A thread reads the answers so that a wait can time out (a line may already sit
        # in the pipe's buffer, where select() would not see it).
        self._answers: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self._lock = threading.Lock()
        self._read(timeout=300)  # {"ready": true}: everything is imported
        atexit.register(self._server.kill)

    def _pump(self) -> None:
        for line in self._server.stdout:
            self._answers.put(line)
        self._answers.put("")

    def _read(self, timeout: float | None) -> dict[str, Any]:
        try:
            line = self._answers.get(timeout=timeout)
        except queue.Empty:
            line = None
        if line:
            return json.loads(line)
        self._log.seek(0)
        said = self._log.read().decode(errors="replace")[-6000:]
        if line is None:
            raise TimeoutError(f"no answer from the Kedro fork server in {timeout} s")
        raise RuntimeError(f"the Kedro fork server stopped; its output:\n{said}")

    def run(
        self,
        args: list[str],
        cwd: Path,
        env: dict[str, str],
        timeout: float,
        code: str | None = None,
        offline: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        with self._lock, tempfile.TemporaryDirectory(prefix="kedro-fork-run-") as folder:
            out, err = Path(folder, "stdout"), Path(folder, "stderr")
            request = {"argv": args, "cwd": str(cwd), "env": env, "offline": offline}
            if code is not None:
                request["code"] = code
            self._server.stdin.write(
                json.dumps({**request, "stdout": str(out), "stderr": str(err)}) + "\n"
            )
            self._server.stdin.flush()
            pid = self._read(timeout=60)["pid"]
            try:
                returncode = self._read(timeout=timeout)["returncode"]
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
                self._read(timeout=60)
                raise subprocess.TimeoutExpired(["kedro", *args], timeout) from None
            return subprocess.CompletedProcess(
                ["kedro", *args] if code is None else [sys.executable, "-c", code, *args],
                returncode,
                out.read_text(errors="replace"),
                err.read_text(errors="replace"),
            )


@functools.cache
def _forker() -> _KedroForker:
    return _KedroForker()


@functools.cache
def _offline_prefix() -> list[str]:
    """``unshare -n`` (a network namespace without network) where this machine allows it."""
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    return ["unshare", "-n"] if probe.returncode == 0 else []


def kedro_cli_code(*args: str, before: str = "") -> str:
    """Python source that runs ``before``, then the real Kedro CLI with ``args``, in one
    interpreter (so a test can register a kind first, or see what the run imported)."""
    return (
        f"import sys\n{before}\nfrom kedro.framework.cli import main\n"
        f"sys.argv = ['kedro', *{list(args)!r}]\nmain()"
    )


def modules_loaded(code: str, roots: Iterable[str] = TORCH_MODULES, **kwargs: Any) -> list[str]:
    """The modules under ``roots`` that running ``code`` in a fresh interpreter imported
    (reported at exit, so it also covers code that ends in ``sys.exit``)."""
    probe = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: print('LOADED=' + json.dumps(sorted("
        f"m for m in sys.modules if m.split('.')[0] in {sorted(set(roots))!r}))))\n"
        f"{code}"
    )
    result = run_command([sys.executable, "-c", probe], **kwargs)
    line = [x for x in result.stdout.splitlines() if x.startswith("LOADED=")][-1]
    return json.loads(line.removeprefix("LOADED="))


def _smoke_shared() -> Path | None:
    """The folder of a smoke run shared across pytest sessions, if one is named."""
    folder = os.environ.get("LSTM_FORECAST_SMOKE_SHARED")
    return Path(folder).resolve() if folder else None


@pytest.fixture(scope="session")
def smoke_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project after one full `kedro run --env=smoke`; shared, do not modify.

    Tests that change outputs should make their own copy with ``copy_project``.
    """
    # One run for the whole session, also under pytest-xdist: the first worker to get here
    # makes it while the others wait on the lock, then all read the same folder.
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    # mutmut runs pytest once per mutant, each with a new base folder: `make mutation`
    # names one folder here so the smoke run is made once for all of them.
    if _smoke_shared() is not None:
        shared = _smoke_shared()
        shared.mkdir(parents=True, exist_ok=True)
    project = shared / "smoke-shared" / "project"
    with open(shared / "smoke-shared.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (project.parent / "passed").exists():
            shutil.rmtree(project, ignore_errors=True)
            run_kedro(copy_project(project), "run", "--env=smoke")
            (project.parent / "passed").touch()
    return project
