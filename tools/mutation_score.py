"""Mutation score of the last `mutmut run`, per module, with the reviewed survivors set aside.

Reads mutmut's result files (mutants/**/*.py.meta) and tools/mutation_reviewed.txt, whose
lines are ``<mutant name or glob> <verdict>: <reason>`` with verdict one of

- ``equivalent``: no test can tell the mutant from the original (left out of the score);
- ``accepted``: a real change that no unit test pins, on purpose (counts as not killed);
- ``out-of-scope``: code that only end-to-end tests reach (left out, listed apart).

Score = killed / (mutants - equivalent - out-of-scope). Usage:
    python tools/mutation_score.py [--fail-under 90] [--list] [module prefix ...]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REVIEWED = ROOT / "tools" / "mutation_reviewed.txt"
VERDICTS = ("equivalent", "accepted", "out-of-scope")
# mutmut's exit codes (mutmut/stats.py): 1 and 3 kill, a timeout counts as a kill too, and
# so does -9 (SIGKILL: the CPU-time limit's last resort, or a mutant that fires the fault
# aid's kill in every write, which datasets/test_atomic.py catches by dying).
KILLED = (1, 3, 24, -24, -9, 36, 152, 255)
SURVIVED, NO_TESTS, NOT_CHECKED = (0,), (5, 33), (None,)


def _reviewed() -> list[tuple[str, str, str]]:
    rules = []
    for number, line in enumerate(REVIEWED.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        pattern, _, rest = line.partition(" ")
        verdict, _, reason = rest.strip().partition(":")
        if verdict not in VERDICTS or not reason.strip():
            sys.exit(f"{REVIEWED.name}:{number}: expected '<name> <verdict>: <reason>'")
        rules.append((pattern, verdict, reason.strip()))
    return rules


def _verdict(name: str, rules: list[tuple[str, str, str]]) -> tuple[str, str] | None:
    for pattern, verdict, reason in rules:
        if name == pattern or fnmatch.fnmatchcase(name, pattern):
            return verdict, reason
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fail-under", type=float, default=None)
    parser.add_argument("--list", action="store_true", help="list every reviewed survivor")
    parser.add_argument("prefixes", nargs="*", help="only modules starting so (dotted)")
    args = parser.parse_args()
    metas = sorted((ROOT / "mutants" / "src").rglob("*.py.meta"))
    if not metas:
        sys.exit("No mutmut results under mutants/: run `make mutation` first.")
    rules = _reviewed()
    counts: dict[str, Counter] = defaultdict(Counter)
    unreviewed, reviewed = [], []
    for meta in metas:
        module = str(meta.relative_to(ROOT / "mutants" / "src")).removesuffix(".py.meta")
        module = module.replace("/", ".")
        if args.prefixes and not module.startswith(tuple(args.prefixes)):
            continue
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            row = counts[module]
            row["mutants"] += 1
            if code in KILLED:
                row["killed"] += 1
                continue
            if code in NOT_CHECKED:
                row["not checked"] += 1
                continue
            found = _verdict(name, rules)
            if found is None:
                row["survived" if code in SURVIVED else "no tests"] += 1
                unreviewed.append((name, "survived" if code in SURVIVED else "no tests"))
            else:
                row[found[0]] += 1
                reviewed.append((name, *found))
    columns = ("mutants", "killed", "survived", "no tests", "accepted", "equivalent")
    print(f"{'module':52}" + "".join(f"{c:>11}" for c in (*columns, "out-of-scope", "score")))
    total: Counter = Counter()
    for module, row in sorted(counts.items()):
        total.update(row)
        print(f"{module:52}" + _cells(row, columns))
    print(f"{'all':52}" + _cells(total, columns))
    if args.list:
        for name, verdict, reason in reviewed:
            print(f"  {verdict:12} {name}: {reason}")
    for name, status in unreviewed:
        print(f"  UNREVIEWED {status}: {name}   (`mutmut show {name}`)")
    score = _score(total)
    print(f"Mutation score: {score:.1f}% of {_scored(total)} non-equivalent mutants killed.")
    if total["not checked"]:
        print(f"{total['not checked']} mutants not checked yet: the run was interrupted.")
    if args.fail_under is not None and score < args.fail_under:
        print(f"Below the required {args.fail_under:g}%.")
        return 1
    return 0


def _scored(row: Counter) -> int:
    return row["mutants"] - row["equivalent"] - row["out-of-scope"] - row["not checked"]


def _score(row: Counter) -> float:
    return 100.0 * row["killed"] / max(_scored(row), 1)


def _cells(row: Counter, columns: tuple[str, ...]) -> str:
    values = [row[c] for c in columns] + [row["out-of-scope"]]
    return "".join(f"{v:>11}" for v in values) + f"{_score(row):>10.1f}%"


if __name__ == "__main__":
    raise SystemExit(main())
