"""Question 2: bytes held for the training windows as the window length grows.

Ours: what training holds, the scaled float32 matrices (``scaled_arrays``) and the
end-row indices ``make_windows`` returns per split; the DataModule serves every window
from that matrix.
Seed reference: one ``DataFrame.iloc`` slice per training window, kept in a list.
Materialised: the training windows stacked into one ``[n, L, features]`` float32 array,
what a loader without views needs before training.

"Held" is what ``tracemalloc`` sees still allocated while the result is alive (numpy and
pandas report their buffers to it), on the shipped year (``--quick``: its first 2,000 hours);
the input feature table exists before the measurement starts and is not counted.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

LENGTHS = (24, 48, 96, 192, 480)
QUICK_LENGTHS = (24, 96)
QUICK_ROWS = 2000  # hours of the shipped year in --quick
GOAL_GROWTH = 1.05  # "flat": ours at 480 holds at most 5% more than at 24


def held_bytes(build: Callable[[], Any]) -> int:
    """Bytes allocated by ``build`` that are still held while its result is alive."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = build()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    del result
    return held


def main() -> None:
    args = c.parser(__doc__.splitlines()[0]).parse_args(sys.argv[1:])
    from lstm_forecast.pipelines.features.nodes import (
        build_features,
        fit_feature_scaler,
        make_windows,
        split_chronologically,
    )
    from lstm_forecast.pipelines.features.params import FeaturesParams
    from lstm_forecast.pipelines.ingestion.nodes import clean_candles
    from lstm_forecast.timeseries.preparation import scaled_arrays
    from lstm_forecast.timeseries.windows import gather_windows

    params = c.load_params()
    features = FeaturesParams.model_validate(params["features"])
    lengths = QUICK_LENGTHS if args.quick else LENGTHS
    text = c.RAW_CSV.read_text()
    if args.quick:
        text = "".join(text.splitlines(keepends=True)[: QUICK_ROWS + 1])
    candles, _ = clean_candles(text, params["ingestion"])
    table = build_features(candles, features)
    split = split_chronologically(table, features)
    scaler = fit_feature_scaler(table, split, features)
    names = scaler["feature_names"]

    def ours_for(length: int) -> Any:
        at_length = features.model_copy(update={"window_length": length})
        return scaled_arrays(table, scaler), make_windows(table, scaler, split, at_length)

    rows, held = [], {}
    for length in lengths:
        ours = held_bytes(lambda length=length: ours_for(length))
        (matrix, _), (train, _, _) = ours_for(length)
        ends = train["end_row"].to_numpy()
        scaled = pd.DataFrame(matrix, columns=names)
        seed = held_bytes(
            lambda scaled=scaled, ends=ends, length=length: [
                scaled.iloc[end - length + 1 : end + 1] for end in ends
            ]
        )
        stacked = held_bytes(
            lambda matrix=matrix, ends=ends, length=length: gather_windows(matrix, ends, length)
        )
        held[length] = (ours, seed, stacked)
        rows.append(
            [
                str(length),
                str(len(ends)),
                c.fmt_bytes(ours),
                c.fmt_bytes(seed),
                c.fmt_bytes(stacked),
                f"{stacked / ours:.0f}x",
            ]
        )
        print(f"[windows memory] L={length} done", flush=True)

    print()
    data = "first 2,000 hours" if args.quick else "shipped year"
    print(f"Bytes held for the windows (tracemalloc, {data}).")
    c.print_table(
        [
            "L",
            "train windows",
            "ours (matrix + indices)",
            "seed: DataFrame slices",
            "materialised float32",
            "materialised/ours",
        ],
        rows,
    )
    first, last = lengths[0], lengths[-1]
    growth = held[last][0] / held[first][0]
    seed_growth = held[last][1] / held[first][1]
    stacked_growth = held[last][2] / held[first][2]
    print(
        f"Growth from L={first} to L={last}: ours {growth:.2f}x, seed slices "
        f"{seed_growth:.2f}x, materialised {stacked_growth:.2f}x."
    )
    c.write_summary(
        args.summary,
        [
            c.summary_row(
                f"2. windows memory, L={first}->{last}",
                ours=f"{c.fmt_bytes(held[first][0])} -> {c.fmt_bytes(held[last][0])}",
                reference=(
                    f"{c.fmt_bytes(held[first][2])} -> {c.fmt_bytes(held[last][2])} (materialised)"
                ),
                ratio=f"ours x{growth:.2f}; {held[last][2] / held[last][0]:.0f}x less at L={last}",
                goal=f"flat (<= x{GOAL_GROWTH})",
                met=growth <= GOAL_GROWTH,
            )
        ],
    )


if __name__ == "__main__":
    main()
