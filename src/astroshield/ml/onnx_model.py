"""Loading a shipped or registered ONNX model: metadata beside it, hash checked, one thread.

Every served model (AdversaryEncoder, ThreatDetectorNN, StrategyGenerator, ActorCritic) is an
ONNX file with a JSON file of the same stem beside it (name, version, ``sha256`` of the ONNX
file, data-set hash, training configuration, metrics). :func:`load_checked` refuses a file
whose hash differs from its metadata, or from the hash a model registry expects, so a file
swapped on disk is never served.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import onnxruntime as ort

MODELS_DIR = Path(__file__).resolve().parent / "models"


class ModelFileError(ValueError):
    """A model file that is missing, unreadable or differs from its metadata."""


def shipped_path(name: str, version: str) -> Path:
    """The ONNX file of a model shipped in the package (``models/NAME-VERSION.onnx``)."""
    return MODELS_DIR / f"{name}-{version}.onnx"


def metadata_path(onnx_path: Path) -> Path:
    return onnx_path.with_suffix(".json")


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_checked_metadata(onnx_path: Path, expected_sha256: str | None = None) -> dict[str, Any]:
    """The metadata JSON beside ``onnx_path`` after checking the file's sha256 against it
    (and against ``expected_sha256``, a registry's record, when given)."""
    meta_path = metadata_path(onnx_path)
    try:
        metadata: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        actual = file_sha256(onnx_path)
    except (OSError, ValueError) as error:
        raise ModelFileError(f"{onnx_path}: cannot be loaded: {error}") from None
    if metadata.get("sha256") != actual:
        raise ModelFileError(
            f"{onnx_path}: sha256 {actual} differs from {metadata.get('sha256')} in "
            f"{meta_path}; refusing a model file that is not the one its metadata describes"
        )
    if expected_sha256 is not None and expected_sha256 != actual:
        raise ModelFileError(
            f"{onnx_path}: sha256 {actual} differs from the registry's {expected_sha256}; "
            "refusing a model file that is not the registered one"
        )
    return metadata


def inference_session(onnx_path: Path, threads: int = 1) -> ort.InferenceSession:
    """An onnxruntime CPU session; one thread by default, as a request is served on one core."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(
        str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
    )
