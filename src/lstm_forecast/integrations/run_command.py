"""Project CLI: Kedro's own ``kedro run``, with the project's refusals said in a few lines.

Kedro 1.7 lets a project's ``<package>.cli`` module override built-in commands: its ``cli``
group comes before Kedro's own commands (``KedroCLI.project_groups``), and
``python -m lstm_forecast`` runs its ``run`` (``find_run_command``). This ``run`` is Kedro's
command with the same options (every selector: --pipelines, --from-nodes, --tags, --params,
--env, --runner, --namespaces, ...) and one change: a refusal the project raises on
purpose (``LstmForecastError`` and its subclasses), a parameter Kedro's validation
refuses, or an input file that does not exist is printed as its message, without the long
traceback, and the exit status is 1.
Set ``LSTM_FORECAST_TRACEBACK=1`` to see the traceback anyway. Any other exception keeps
its traceback: that is a bug, not a refusal.
"""

from __future__ import annotations

import copy
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run
from kedro.framework.cli.utils import CONTEXT_SETTINGS
from kedro.io import DatasetError
from kedro.validation.exceptions import ParameterValidationError
from omegaconf import OmegaConf

from lstm_forecast.errors import LstmForecastError

TRACEBACK_ENV = "LSTM_FORECAST_TRACEBACK"
CLEAR_ERRORS: tuple[type[Exception], ...] = (LstmForecastError, ParameterValidationError)
_REPEAT_ADVICE = "No nodes ran. Repeat the previous command"
# pydantic's pointers to its own documentation, after each error.
_PYDANTIC_NOISE = re.compile(r" \[type=[^\]]*\]|\n *For further information visit \S+")


class Refusal(click.ClickException):
    """A clear refusal: shown as ``Error: <message>``, exit status 1."""

    def format_message(self) -> str:
        return f"{self.message}\n(set {TRACEBACK_ENV}=1 to see the traceback)"


@click.group(context_settings=CONTEXT_SETTINGS, name=__file__)
def cli() -> None:
    """Commands of the lstm-forecast project."""


def _run(**kwargs: Any) -> Any:
    if _traceback_wanted():
        return kedro_run.callback(**kwargs)
    with _no_repeated_failure_logs():
        try:
            return kedro_run.callback(**kwargs)
        except Exception as exc:
            if not is_refusal(exc):
                raise
            raise Refusal(clear_message(exc)) from None


def split_params(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Kedro's ``--params`` parsing, except that a comma inside ``[...]`` stays in its value.

    Kedro splits ``--params`` at every comma, so ``fetch.symbols=[ETHUSDT,SOLUSDT]`` would
    break into two items and be refused; a list is written in brackets here, as in YAML.
    Anything Kedro accepted before parses as it did (no bracket held a comma then).
    """
    if isinstance(value, dict):  # from a --config file
        return value
    items, depth, current = [], 0, []
    for char in value or "":
        depth += (char == "[") - (char == "]")
        if char == "," and depth <= 0:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    dot_list = []
    for item in filter(None, (item.strip() for item in items)):
        key, equals, val = item.partition("=")
        if not equals:
            ctx.fail(
                f"Invalid format of `{param.name}` option: Item `{item}` must contain a key "
                "and a value separated by `=`."
            )
        if not key.strip():
            ctx.fail(f"Invalid format of `{param.name}` option: Parameter key cannot be empty.")
        dot_list.append(f"{key.strip()}={val}")
    return OmegaConf.to_container(OmegaConf.from_dotlist(dot_list))


def _with_list_params(option: click.Parameter) -> click.Parameter:
    if option.name != "params":
        return option
    option = copy.copy(option)
    option.callback = split_params
    return option


run = click.Command(
    name="run",
    params=[_with_list_params(option) for option in kedro_run.params],
    callback=_run,
    help=f"{kedro_run.help}\n\nRefusals print their message only; {TRACEBACK_ENV}=1 shows "
    "the traceback.",
    context_settings=kedro_run.context_settings,
)
cli.add_command(run)


def clear_message(exc: BaseException) -> str:
    """``<ErrorClass>: <message>``, without pydantic's links to its own documentation."""
    message = str(exc)
    if isinstance(exc, ParameterValidationError):
        message = _PYDANTIC_NOISE.sub("", message)
    return f"{type(exc).__name__}: {message}"


def is_refusal(exc: BaseException | None) -> bool:
    """A refusal said on purpose, or an input file that does not exist: not a bug."""
    if isinstance(exc, CLEAR_ERRORS):
        return True
    # Kedro wraps the dataset's error, then wraps that again with the dataset's name.
    while isinstance(exc, DatasetError):
        exc = exc.__cause__
    return isinstance(exc, FileNotFoundError)


def _traceback_wanted() -> bool:
    return os.environ.get(TRACEBACK_ENV, "").strip().lower() not in {"", "0", "false", "no"}


class _DropRepeatedFailure(logging.Filter):
    """Drop what Kedro logs about a refusal being raised: the refusal is printed last.

    Kedro logs these records inside its ``except`` blocks, so the exception is at hand.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not is_refusal(sys.exc_info()[1]):
            return True
        if record.name.startswith("kedro.runner"):
            # "Repeat the previous command" would only be refused again; the advice to
            # resume with --from-nodes after a later failure stays.
            return not str(record.msg).startswith(_REPEAT_ADVICE)
        repeats_message = record.name.startswith(("kedro.pipeline.node", "kedro.validation"))
        return not (repeats_message and record.levelno >= logging.ERROR)


@contextmanager
def _no_repeated_failure_logs() -> Iterator[None]:
    """Filter the console handlers (the runner's logger is named after its class module)."""
    handlers = list(logging.getLogger().handlers)
    dropper = _DropRepeatedFailure()
    for handler in handlers:
        handler.addFilter(dropper)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(dropper)
