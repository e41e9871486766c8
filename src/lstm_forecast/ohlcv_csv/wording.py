"""The wording of refusals: the file's own header names and tokens, at 1-based lines.

Parsed values can mislead (``nan`` for the file's ``null``, ``102.0`` for ``1,02E2``), so
messages quote the cells as they are in the file: the few lines shown are read again from
the text, only when there is something to show.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from lstm_forecast.errors import CandleDataError

from .layout import SourceParams

MAX_SHOWN = 5


@dataclass(frozen=True)
class FileView:
    """The CSV text with what is known about its columns, to quote it in messages."""

    text: str
    source: SourceParams
    positions: dict[str, int] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # header name of each field

    @property
    def path(self) -> str:
        return self.source.path

    def line(self, row: int) -> int:
        """The 1-based file line of data row ``row``."""
        return self.source.line(row)

    def name(self, field_name: str) -> str:
        """The file's header name for ``field_name`` (the field itself without a header)."""
        return self.names.get(field_name, field_name)

    def label(self, field_name: str) -> str:
        """How a message names the file column of ``field_name``."""
        if field_name in self.names:
            name = self.names[field_name]
            return f"column {name!r}" + ("" if name == field_name else f" ({field_name})")
        if field_name in self.positions:
            return f"column {self.positions[field_name]} (0-based; {field_name})"
        return f"column {field_name!r}"

    def tokens(self, rows: Iterable[int], fields: Sequence[str]) -> dict[int, dict[str, str]]:
        """The raw cells of ``fields`` on data rows ``rows``, keyed by row then header name."""
        wanted = sorted({int(r) for r in rows})
        lines = _file_lines(self.text, [self.line(r) for r in wanted])
        cells: dict[int, dict[str, str]] = {}
        for row in wanted:
            split = _split_line(lines.get(self.line(row), ""), self.source.sep)
            cells[row] = {
                self.name(f): split[self.positions[f]] if self.positions[f] < len(split) else ""
                for f in fields
                if f in self.positions
            }
        return cells

    def quote(
        self, rows: Sequence[int], fields: Sequence[str], parsed: pd.Series | None = None
    ) -> str:
        """``line N: Name='token', ...`` for the first rows, with a parsed time if given."""
        shown = list(rows)[:MAX_SHOWN]
        cells = self.tokens(shown, fields)
        parts = []
        for row in shown:
            text = ", ".join(f"{name}={token!r}" for name, token in cells[row].items())
            if parsed is not None and pd.notna(parsed.get(row)):
                text += f" (read as {parsed[row].isoformat()})"
            parts.append(f"line {self.line(row)}: {text}")
        return "; ".join(parts)


def _file_lines(text: str, numbers: Iterable[int]) -> dict[int, str]:
    """The 1-based lines ``numbers`` of ``text``, scanning only up to the last one."""
    wanted = set(numbers)
    found: dict[int, str] = {}
    start, number = 0, 1
    last = max(wanted, default=0)
    while number <= last and start <= len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        if number in wanted:
            found[number] = text[start:end].rstrip("\r")
        start, number = end + 1, number + 1
    return found


def _split_line(line: str, sep: str) -> list[str]:
    """The fields of one CSV line, as the file writes them (quotes removed)."""
    if len(sep) == 1:
        return next(csv.reader([line], delimiter=sep), [])
    return line.split(sep)


def describe(
    view: FileView,
    field_name: str,
    problem: str,
    rows: Sequence[int] | pd.Index,
    fix: str,
    shown: Sequence[str] | None = None,
    parsed: pd.Series | None = None,
) -> str:
    """One problem paragraph: the column, the count, the first offending lines, the fix.

    Args:
        view: The file and its columns.
        field_name: The field the problem is filed under.
        problem: What is wrong, in words.
        rows: The offending data rows, in the order to show.
        fix: What to change.
        shown: The fields whose tokens to quote (default: ``field_name``).
        parsed: Parsed timestamps to show beside the tokens.

    Returns:
        The paragraph.
    """
    rows = list(rows)
    quoted = view.quote(rows, shown or (field_name,), parsed)
    return (
        f"{view.label(field_name)}: {problem} in {len(rows)} row(s); first: {quoted}. Fix: {fix}."
    )


def refuse_if(problems: list[str], view: FileView) -> None:
    """Raise one error listing every problem found in this pass."""
    if problems:
        raise CandleDataError(
            f"{view.path}: cannot use this file as candles ({len(problems)} problem(s)):\n- "
            + "\n- ".join(problems)
        )
