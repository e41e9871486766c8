"""What atomic writes cost a default `kedro run`: the same files written plainly and atomically.

One `kedro run` in a fresh copy of the project produces the run's files (every dataset the
default pipeline writes, under data/02..08). Each variant then writes those same bytes,
file by file, into a scratch folder on the same filesystem, as the datasets do:

- plain: fsspec's ``LocalFileSystem.open(path, "wb")`` (what kedro-datasets did before);
- atomic: the project's ``AtomicLocalFileSystem`` (temporary file in the folder, fsync,
  rename, folder fsync).

Serialising the data costs the same in both, so the difference is the whole overhead.
``--quick`` uses the ``smoke`` run's files.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from fsspec.implementations.local import LocalFileSystem

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
from bench_end_to_end import kedro_run

from lstm_forecast.datasets._atomic import AtomicLocalFileSystem


def _write_all(fs: LocalFileSystem, files: dict[str, bytes], folder: Path) -> None:
    for relative, payload in files.items():
        with fs.open(str(folder / relative), "wb") as file:
            file.write(payload)


def main() -> None:
    args = c.parser(__doc__.splitlines()[0]).parse_args(sys.argv[1:])
    extra = ["--env=smoke", "--pipelines=ingestion"] if args.quick else []
    repeats = 2 if args.quick else 15
    command = " ".join(["kedro run", *extra])
    with tempfile.TemporaryDirectory(prefix="bench-atomic-") as tmp:
        project = c.copy_project(Path(tmp) / "project")
        print(f"[atomic writes] `{command}` in {project} ...", flush=True)
        run_seconds = kedro_run(project, extra)["wall"]
        outputs = sorted(
            p
            for layer in c.DATA_LAYERS[1:]
            for p in (project / "data" / layer).rglob("*")
            if p.is_file() and p.name != ".gitkeep"
        )
        files = {str(p.relative_to(project / "data")): p.read_bytes() for p in outputs}
        scratch = Path(tmp) / "scratch"
        plain = LocalFileSystem(auto_mkdir=True)
        atomic = AtomicLocalFileSystem(auto_mkdir=True)
        samples = c.interleaved_medians(
            {
                "plain": lambda: _write_all(plain, files, scratch / "plain"),
                "atomic": lambda: _write_all(atomic, files, scratch / "atomic"),
            },
            repeats=repeats,
        )
        shutil.rmtree(scratch, ignore_errors=True)
    plain_s, atomic_s = c.median(samples["plain"]), c.median(samples["atomic"])
    overhead = atomic_s - plain_s
    size = sum(len(payload) for payload in files.values())
    print()
    print(
        f"The {len(files)} files ({c.fmt_bytes(size)}) one `{command}` writes, median of "
        f"{repeats} interleaved repeats; the run itself took {c.fmt_seconds(run_seconds)}."
    )
    c.print_table(
        ["writer", "all the run's files", "overhead", "share of the run"],
        [
            ["plain fsspec", c.fmt_seconds(plain_s), "-", "-"],
            [
                "atomic (tmp + fsync + rename)",
                c.fmt_seconds(atomic_s),
                f"+{c.fmt_seconds(overhead)}",
                f"{100 * overhead / run_seconds:.2f}%",
            ],
        ],
    )
    c.write_summary(
        args.summary,
        [
            c.summary_row(
                f"6. atomic writes, all files of `{command}`",
                ours=c.fmt_seconds(atomic_s),
                reference=f"{c.fmt_seconds(plain_s)} (plain writes)",
                ratio=f"+{100 * overhead / run_seconds:.2f}% of the run",
                goal="(informative)",
                met=None,
            )
        ],
    )


if __name__ == "__main__":
    main()
