"""Typed ``params:variants``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from lstm_forecast.params import StrictParams


class VariantTolerance(StrictParams):
    """How far a variant may be from the float model on the test windows; null = unchecked.

    Prices are in the quote currency of the candles (USD for BTCUSDT).
    """

    max_abs_price_diff: float | None = Field(None, ge=0)
    mean_abs_price_diff: float | None = Field(None, ge=0)
    # Relative to the price: the same figure means the same for a $60k or a $1 asset.
    max_rel_price_diff: float | None = Field(None, ge=0)
    # |mean CRPS of the variant - mean CRPS of the float model|, in price units.
    max_crps_change: float | None = Field(None, ge=0)
    # |90% interval coverage of the variant - that of the float model|, a share (0.01 = 1 pt).
    max_coverage_change: float | None = Field(None, ge=0)


class Tolerances(StrictParams):
    """One tolerance per variant."""

    opt: VariantTolerance = VariantTolerance(
        max_abs_price_diff=0.01,
        mean_abs_price_diff=0.001,
        max_crps_change=0.001,
        max_coverage_change=0.001,
    )
    # OpenVINO running the float file: float rounding only, as for opt.
    openvino: VariantTolerance = VariantTolerance(
        max_abs_price_diff=0.01,
        mean_abs_price_diff=0.001,
        max_crps_change=0.001,
        max_coverage_change=0.001,
    )
    int8: VariantTolerance = VariantTolerance(
        max_abs_price_diff=100.0,
        mean_abs_price_diff=10.0,
        max_rel_price_diff=2e-3,
        max_crps_change=2.5,
        max_coverage_change=0.01,
    )


class Int8Params(StrictParams):
    """``onnxruntime.quantization.quantize_dynamic`` settings."""

    weight_type: Literal["qint8", "quint8"] = "qint8"
    per_channel: bool = False
    reduce_range: bool = False
    op_types: tuple[Literal["LSTM", "MatMul", "Gemm"], ...] = Field(
        ("LSTM", "MatMul", "Gemm"), min_length=1
    )


class VariantsParams(StrictParams):
    """``params:variants``."""

    on_failure: Literal["fail", "drop"] = "fail"
    optimisation_level: Literal["basic", "extended", "all"] = "extended"
    int8: Int8Params = Int8Params()
    openvino: bool = True  # check the float file under OpenVINO too, when it is installed
    tolerance: Tolerances = Tolerances()
