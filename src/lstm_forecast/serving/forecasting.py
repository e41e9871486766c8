"""From checked candles to the answer: one onnxruntime call per request, whatever its batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lstm_forecast.onnx.contract import CANDLES, CLOSE_QUANTILES, OPEN_TIME, WINDOW_OK

from .candles import check_window, clean_windows, iso, refuse, to_arrays
from .loading import LoadedForecaster
from .problems import Problem
from .registry import Catalogue, summary
from .schemas import Window


def choose(catalogue: Catalogue, model: str, variant: str, asset: str | None) -> LoadedForecaster:
    """The served forecaster a request names, or a 404 problem listing what is served."""
    found = catalogue.models.get((model, variant))
    served = [f"{m.kind}/{m.variant}" for m in catalogue.ordered()]
    if found is None:
        raise Problem(
            404,
            "Unknown model",
            f"no validated forecaster {model!r} variant {variant!r} is served; served: {served}",
            [{"pointer": "/model", "field": "model", "problem": "not served"}],
            served=served,
        )
    if asset is not None and asset not in found.assets:
        named = list(found.assets) or "one unnamed asset (leave asset out)"
        raise Problem(
            404,
            "Unknown asset",
            f"{model}/{variant} forecasts {named}, not {asset!r}",
            [{"pointer": "/asset", "field": "asset", "problem": "not forecast by this model"}],
        )
    return found


def checked_windows(
    model: LoadedForecaster,
    windows: Sequence[Sequence[Any]],
    prefixes: Sequence[str],
    max_bars: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Request candle lists as model inputs, or a 422 naming every bad field and bar."""
    needed = model.bars_needed
    errors = [
        {
            "pointer": prefix,
            "field": prefix.strip("/").replace("/", "."),
            "problem": f"{len(candles)} candles; at most {max_bars} are accepted",
        }
        for candles, prefix in zip(windows, prefixes, strict=True)
        if len(candles) > max_bars
    ]
    if errors:
        raise refuse(errors)
    if all(len(candles) >= needed for candles in windows):
        # Every window long enough: gather the used bars of all at once and gate them together.
        used = [c for candles in windows for c in candles[-needed:]]
        values, times = to_arrays(used)
        values = values.reshape(len(windows), needed, 5)
        times = times.reshape(len(windows), needed)
        if clean_windows(values, times, model.interval_s).all():
            return values, times.astype(np.int64)
    return checked_arrays(
        model, [(*to_arrays(c), p) for c, p in zip(windows, prefixes, strict=True)]
    )


def checked_batch(
    model: LoadedForecaster, windows: Sequence[Window], max_bars: int
) -> tuple[np.ndarray, np.ndarray]:
    """The windows of a batch request (candle lists or columns) as model inputs, or a 422."""
    if all(w.candles is not None for w in windows):
        pointers = [f"/windows/{i}/candles" for i in range(len(windows))]
        return checked_windows(model, [w.candles for w in windows], pointers, max_bars)
    too_long = [
        {
            "pointer": f"/windows/{i}",
            "field": f"windows[{i}]",
            "problem": f"{len(w)} candles; at most {max_bars} are accepted",
        }
        for i, w in enumerate(windows)
        if len(w) > max_bars
    ]
    if too_long:
        raise refuse(too_long)
    arrays = []
    for i, w in enumerate(windows):
        if w.candles is not None:
            arrays.append((*to_arrays(w.candles), f"/windows/{i}/candles", None))
        else:
            values = np.array([w.open, w.high, w.low, w.close, w.volume], np.float64).T
            template = f"/windows/{i}/{{column}}/{{bar}}"
            arrays.append((values, np.array(w.time, np.float64), f"/windows/{i}", template))
    needed = model.bars_needed
    if all(len(a[0]) >= needed for a in arrays):
        values = np.stack([a[0][-needed:] for a in arrays])
        times = np.stack([a[1][-needed:] for a in arrays])
        if clean_windows(values, times, model.interval_s).all():
            return values, times.astype(np.int64)
    return checked_arrays(model, arrays)


def checked_arrays(
    model: LoadedForecaster, windows: Sequence[tuple]
) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs from ``(values, times, pointer[, template])`` each, or a 422."""
    needed = model.bars_needed
    values, times, errors = [], [], []
    for window_values, window_times, prefix, *template in windows:
        problems = check_window(
            window_values,
            window_times,
            needed,
            model.interval_s,
            prefix,
            template=template[0] if template else None,
        )
        errors += problems
        if not problems:
            values.append(window_values[-needed:])
            times.append(window_times[-needed:])
    if errors:
        raise refuse(errors)
    return np.stack(values), np.stack(times).astype(np.int64)


def run(
    model: LoadedForecaster, values: np.ndarray, times: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Prices ``[b, horizon, q]`` and ``window_ok`` ``[b]`` from the model's own session."""
    prices, ok = model.session.run(
        [CLOSE_QUANTILES, WINDOW_OK], {CANDLES: values, OPEN_TIME: times}
    )
    return prices, ok


def steps(model: LoadedForecaster, last_times: np.ndarray, prices: np.ndarray) -> list[list[dict]]:
    """Per window, one entry per horizon step: ``h``, the bar's open time, its quantile prices."""
    horizon = prices.shape[1]
    offsets = model.interval_s * np.arange(1, horizon + 1)
    stamps = (last_times[:, None] + offsets).astype("datetime64[s]")
    times = np.char.add(np.datetime_as_string(stamps), "Z").tolist()
    rows = prices.tolist()
    return [
        [{"h": h + 1, "time": when[h], "quantiles": row[h]} for h in range(horizon)]
        for when, row in zip(times, rows, strict=True)
    ]


def single_answer(model: LoadedForecaster, values: np.ndarray, times: np.ndarray) -> dict[str, Any]:
    prices, ok = run(model, values, times)
    last = int(times[0, -1])
    if not bool(ok[0]):  # the graph's own check disagrees with ours: never serve that row
        raise Problem(
            422,
            "Window refused",
            "the forecaster's window_ok check failed",
            [{"pointer": "/candles", "field": "candles", "problem": "window_ok false"}],
        )
    return {
        "model": summary(model),
        "interval": model.contract.interval,
        "last_time": iso(last),
        "window_ok": True,
        "quantile_levels": list(model.contract.quantiles),
        "forecast": steps(model, times[:1, -1], prices[:1])[0],
    }


def batch_answer(model: LoadedForecaster, values: np.ndarray, times: np.ndarray) -> dict[str, Any]:
    prices, ok = run(model, values, times)
    last = times[:, -1]
    last_iso = np.char.add(np.datetime_as_string(last.astype("datetime64[s]")), "Z").tolist()
    forecasts = [
        {"last_time": when, "window_ok": bool(good), "forecast": fan if good else []}
        for when, good, fan in zip(last_iso, ok.tolist(), steps(model, last, prices), strict=True)
    ]
    return {
        "model": summary(model),
        "interval": model.contract.interval,
        "quantile_levels": list(model.contract.quantiles),
        "forecasts": forecasts,
    }
