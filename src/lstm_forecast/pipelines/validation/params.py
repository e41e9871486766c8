"""Typed ``params:validation``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from lstm_forecast.params import StrictParams


class ToleranceParams(StrictParams):
    """``numpy.testing.assert_allclose(onnx, reference, rtol, atol)``, in scaled units."""

    rtol: float = Field(1e-3, ge=0)
    atol: float = Field(1e-5, ge=0)


class ValidationParams(StrictParams):
    """``params:validation``."""

    tolerance: ToleranceParams = ToleranceParams()
    # Every test window is compared at each batch size; "all" = one batch of every window.
    batch_sizes: tuple[int | Literal["all"], ...] = (1, 7, "all")
    # forecaster.onnx against the Python path, relative difference of every price.
    forecaster_rtol: float = Field(1e-6, ge=0)
