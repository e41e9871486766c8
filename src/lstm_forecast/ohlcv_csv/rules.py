"""The value rules of parsed candles: one table that builds the pandera schema and the words.

Each ``Rule`` names its check once. The checks first run as plain vectorised code over whole
columns (``broken_rules``); only when one fails does the pandera schema built from the same
table run (lazily, so every broken rule is reported at once), and each failure is explained
with the rule's own problem and fix. A clean file never pays for pandera.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .layout import FIELDS, PRICE_COLUMNS, CandlePolicy
from .wording import FileView, describe, refuse_if

if TYPE_CHECKING:
    import pandera.pandas as pa

_COLUMN_MAP = "check that ingestion.source.columns maps each field to the right file column"


@dataclass(frozen=True)
class Rule:
    """One value rule: where it applies, what it checks and how a failure is explained.

    ``check`` takes the column (or, for a ``wide`` rule, the frame) and the bar interval
    in nanoseconds, and returns True where the value is fine; ``None`` means "no missing
    cells" (pandera's own ``not_nullable``).
    """

    name: str
    column: str
    problem: str
    fix: str
    check: Callable[[pd.Series | pd.DataFrame, int], pd.Series] | None = None
    shown: tuple[str, ...] = ()
    wide: bool = False
    droppable: bool = False  # ingestion.inconsistent_ohlc=drop turns failures into gaps

    @property
    def fields_shown(self) -> tuple[str, ...]:
        return self.shown or (self.column,)


def _positive(s: pd.Series, _: int) -> pd.Series:
    return np.isfinite(s) & (s > 0)


def _non_negative(s: pd.Series, _: int) -> pd.Series:
    return np.isfinite(s) & (s >= 0)


def _on_grid(s: pd.Series, step_ns: int) -> pd.Series:
    return s.dt.as_unit("ns").astype("int64") % step_ns == 0


# Rows with a missing cell already fail `not_nullable`; the wide checks let them pass so
# each row is reported under the rule it actually breaks.
def _high_ok(df: pd.DataFrame, _: int) -> pd.Series:
    return (df["high"] >= df[["open", "close"]].max(axis=1)) | df[
        ["open", "high", "close"]
    ].isna().any(axis=1)


def _low_ok(df: pd.DataFrame, _: int) -> pd.Series:
    return (df["low"] <= df[["open", "close"]].min(axis=1)) | df[
        ["open", "low", "close"]
    ].isna().any(axis=1)


_OHLC_FIX = (
    f"{_COLUMN_MAP}; or set ingestion.inconsistent_ohlc=drop to turn such rows into "
    "missing bars (counted in the data-quality report)"
)

RULES: tuple[Rule, ...] = (
    *(
        Rule(
            f"{c}_present",
            c,
            "missing cell in an otherwise filled row",
            "fill the cell or delete the row (missing values are refused, not imputed; a row "
            "with a timestamp and every value missing is taken as a missing bar)"
            + ("; or set ingestion.missing_volume=zero" if c == "volume" else ""),
        )
        for c in FIELDS
    ),
    *(
        Rule(
            f"{c}_positive",
            c,
            "price is not a positive finite number",
            f"{_COLUMN_MAP}, or remove the rows",
            _positive,
        )
        for c in PRICE_COLUMNS
    ),
    Rule(
        "volume_non_negative",
        "volume",
        "volume is negative or infinite",
        f"{_COLUMN_MAP}, or remove the rows",
        _non_negative,
    ),
    Rule(
        "high_at_least_open_close",
        "high",
        "high is below max(open, close)",
        _OHLC_FIX,
        _high_ok,
        ("open", "high", "close"),
        wide=True,
        droppable=True,
    ),
    Rule(
        "low_at_most_open_close",
        "low",
        "low is above min(open, close)",
        _OHLC_FIX,
        _low_ok,
        ("open", "low", "close"),
        wide=True,
        droppable=True,
    ),
    Rule(
        "on_interval_grid",
        "timestamp",
        "timestamp is not on the {interval} grid (multiples of the interval since "
        "1970-01-01 00:00 UTC)",
        "set ingestion.interval to the file's bar interval; for local times set "
        "ingestion.source.timezone, for epoch numbers check ingestion.source.epoch_unit",
        _on_grid,
    ),
)
_BY_KEY = {(rule.column, rule.name): rule for rule in RULES}


def candle_schema(step_ns: int, rules: tuple[Rule, ...] = RULES) -> pa.DataFrameSchema:
    """The pandera schema of parsed candles whose bars are ``step_ns`` nanoseconds apart."""
    import pandera.pandas as pa  # noqa: PLC0415 - only a failing file needs pandera

    def check(rule: Rule) -> pa.Check:
        assert rule.check is not None
        # Wide checks see a whole row, missing cells included; column checks skip them.
        return pa.Check(
            lambda data: rule.check(data, step_ns), name=rule.name, ignore_na=not rule.wide
        )

    dtypes = {"timestamp": pd.DatetimeTZDtype("ns", "UTC")}
    columns = {
        c: pa.Column(
            dtypes.get(c, "float64"),
            [check(r) for r in rules if r.column == c and r.check and not r.wide],
            nullable=False,
        )
        for c in FIELDS
    }
    wide = [check(r) for r in rules if r.wide]
    return pa.DataFrameSchema(columns, checks=wide, strict=True, ordered=True)


def inconsistent_rows(frame: pd.DataFrame, step_ns: int) -> pd.Series:
    """True on rows that break a droppable (high/low against open/close) rule."""
    bad = pd.Series(False, index=frame.index)
    for rule in RULES:
        if rule.droppable and rule.check is not None:
            bad |= ~rule.check(frame, step_ns)
    return bad


_DTYPES = {
    c: pd.DatetimeTZDtype("ns", "UTC") if c == "timestamp" else np.dtype("float64") for c in FIELDS
}


def broken_rules(frame: pd.DataFrame, step_ns: int, rules: tuple[Rule, ...] = RULES) -> list[str]:
    """The names of the rules some row breaks, run as whole-column numpy code.

    The same semantics as the schema: a missing cell breaks only ``<column>_present``
    (column checks skip missing cells, wide checks let them pass themselves), and the frame
    must have exactly the columns and dtypes of the schema.
    """
    if list(frame.columns) != list(FIELDS) or any(
        frame[c].dtype != dtype for c, dtype in _DTYPES.items()
    ):
        return ["columns_and_dtypes"]
    broken = []
    present = {c: frame[c].notna().to_numpy() for c in FIELDS}
    for rule in rules:
        if rule.check is None:
            ok = present[rule.column]
        elif rule.wide:
            ok = np.asarray(rule.check(frame, step_ns), dtype=bool)
        else:
            ok = np.asarray(rule.check(frame[rule.column], step_ns), dtype=bool)
            ok = ok | ~present[rule.column]
        if not ok.all():
            broken.append(rule.name)
    return broken


def validate_values(frame: pd.DataFrame, view: FileView, ingestion: CandlePolicy) -> None:
    """Run every rule and turn every failed one into one refusal.

    Raises:
        CandleDataError: If any row breaks a rule.
    """
    if not broken_rules(frame, ingestion.step_ns):
        return
    import pandera.pandas as pa  # noqa: PLC0415

    try:
        candle_schema(ingestion.step_ns).validate(frame, lazy=True, inplace=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return
    # pandera names the missing-cell check `not_nullable`; wide checks list every column of
    # a bad row: file both under the rule of the table.
    names = {r.name: r.column for r in RULES if r.wide}
    column = cases["check"].map(names).fillna(cases["column"])
    check = cases["check"].where(cases["check"] != "not_nullable", column + "_present")
    problems = []
    # Report in file column order so the message reads like the file.
    groups = sorted(cases.groupby([column, check], sort=False), key=lambda g: _order(g[0]))
    for (col, name), group in groups:
        rule = _BY_KEY.get((col, name))
        rows = pd.Index(group["index"].dropna().unique()).sort_values()
        if rule is None:  # a pandera check outside the table (e.g. a dtype): say it as is
            where = describe(view, col, f"failed check {name!r}", rows, "fix the rows")
            whole = (
                f"{view.label(col)}: failed check {name!r} on the whole column. Fix: {_COLUMN_MAP}."
            )
            problems.append(where if len(rows) else whole)
            continue
        problem = rule.problem.format(interval=ingestion.interval)
        parsed = frame["timestamp"] if col == "timestamp" else None
        problems.append(describe(view, col, problem, rows, rule.fix, rule.fields_shown, parsed))
    refuse_if(problems, view)


def _order(key: tuple[str, str]) -> tuple[int, int]:
    """File column order, then table order."""
    column, name = key
    position = FIELDS.index(column) if column in FIELDS else len(FIELDS)
    names = [r.name for r in RULES]
    return position, names.index(name) if name in names else len(names)
