"""Loading one published forecaster file, or saying exactly why it will not be served."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import onnx
import onnxruntime as ort
import pandas as pd

from lstm_forecast.errors import ArtifactError
from lstm_forecast.onnx.contract import OnnxContract, make_session

# forecaster.onnx, forecaster.opt.onnx, ridge.forecaster.int8.onnx, ...
_NAME = re.compile(r"^(?:(?P<kind>[A-Za-z0-9_-]+)\.)?forecaster(?:\.(?P<variant>opt|int8))?\.onnx$")


def parse_name(name: str) -> tuple[str, str] | None:
    """``(kind, variant)`` of a published forecaster's file name, None for other files."""
    match = _NAME.match(name)
    if match is None:
        return None
    return match["kind"] or "lstm", match["variant"] or "fp32"


def fp32_name(kind: str) -> str:
    """The published fp32 forecaster's file name of ``kind``."""
    return "forecaster.onnx" if kind == "lstm" else f"{kind}.forecaster.onnx"


@dataclass(frozen=True)
class FileSignature:
    """What the watcher compares: a rewrite (atomic rename) changes inode or mtime."""

    name: str
    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> FileSignature:
        stat = path.stat()
        return cls(path.name, stat.st_size, stat.st_mtime_ns, stat.st_ino)


@dataclass(frozen=True)
class Refused:
    """A file that is not served, and why."""

    signature: FileSignature
    reason: str


@dataclass(frozen=True)
class LoadedForecaster:
    """A validated forecaster and its open onnxruntime session."""

    kind: str
    variant: str
    signature: FileSignature
    fingerprint: str  # SHA-256 of the file
    contract: OnnxContract
    session: ort.InferenceSession
    interval_s: int
    published_at: str
    assets: tuple[str, ...]
    identity: dict[str, Any]  # what every answer names: kind, variant, fingerprint, ...

    @property
    def bars_needed(self) -> int:
        """Candles one forecast takes: the contract's ``input_length`` (``context_length`` + 1)."""
        return self.contract.input_length


def load_forecaster(
    path: Path, signature: FileSignature, reporting_dir: Path, threads: int
) -> LoadedForecaster | Refused:
    """Load, check and open ``path``; a ``Refused`` (never an exception) when it must not serve."""
    kind, variant = parse_name(path.name) or ("", "")
    try:
        payload = path.read_bytes()
        model = onnx.load_from_string(payload)
        contract = OnnxContract.from_model(model)
    except (OSError, ArtifactError) as error:
        return Refused(signature, f"cannot be read as a forecaster: {_short(error)}")
    except Exception as error:  # a truncated protobuf raises DecodeError, among others
        return Refused(signature, f"cannot be read as a forecaster: {_short(error)}")
    problem = _refusal(contract, kind, variant, payload, path, reporting_dir)
    if problem:
        return Refused(signature, problem)
    try:
        session = make_session(
            payload, {"intra_op_num_threads": threads, "inter_op_num_threads": 1}
        )
    except Exception as error:  # onnxruntime refuses graphs with its own exception types
        return Refused(signature, f"onnxruntime cannot open it: {_short(error)}")
    fingerprint = hashlib.sha256(payload).hexdigest()
    published_at = datetime.fromtimestamp(signature.mtime_ns / 1e9, UTC).isoformat()
    assets = _assets(path)
    return LoadedForecaster(
        kind=kind,
        variant=variant,
        signature=signature,
        fingerprint=fingerprint,
        contract=contract,
        session=session,
        interval_s=int(pd.Timedelta(contract.interval).total_seconds()),
        published_at=published_at,
        assets=assets,
        identity={
            "kind": kind,
            "variant": variant,
            "fingerprint": fingerprint,
            "trained_on": published_at,
            "assets": list(assets),
            "training_range": contract.training_range,
            "validation": contract.validation,
        },
    )


def _refusal(
    contract: OnnxContract,
    kind: str,
    variant: str,
    payload: bytes,
    path: Path,
    reporting_dir: Path,
) -> str | None:
    """Why a readable file must not be served, or None."""
    if contract.artifact != "forecaster":
        return f"its contract says artifact {contract.artifact!r}, not 'forecaster'"
    if contract.model_kind != kind:
        return f"its contract says model kind {contract.model_kind!r}, its name says {kind!r}"
    if not (contract.validation or {}).get("passed"):
        return (
            "its contract does not record a passed validation (see "
            f"{kind}_forecaster_validation_report.json); only `kedro run`'s validation publishes"
        )
    if variant == "fp32":
        return None
    # A variant carries its source's contract; the variants report says it passed its
    # tolerance against the fp32 file published now (not an older one).
    report_path = reporting_dir / f"{kind}_forecaster_variants_report.json"
    if not report_path.exists():
        return None
    report = json.loads(report_path.read_text())
    verdict = report.get("variants", {}).get(variant, {}).get("verdict")
    if verdict != "passed":
        return f"{report_path.name} gives the {variant} variant the verdict {verdict!r}"
    source = path.with_name(fp32_name(kind))
    expected = report.get("fp32", {}).get("sha256")
    if source.exists() and expected and hashlib.sha256(source.read_bytes()).hexdigest() != expected:
        return (
            f"it was checked against another {source.name} than the one published now "
            "(stale: rerun `kedro run --pipelines=variants`)"
        )
    return None


def _assets(path: Path) -> tuple[str, ...]:
    """The assets the sidecar lists (multi-asset forecasters), else none named."""
    kind = (parse_name(path.name) or ("lstm", ""))[0]
    sidecar = path.with_name(fp32_name(kind).removesuffix(".onnx") + ".json")
    try:
        assets = json.loads(sidecar.read_text()).get("assets", [])
    except (OSError, ValueError):
        return ()
    return tuple(str(a) for a in assets) if isinstance(assets, list) else ()


def _short(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text[:300]}"
