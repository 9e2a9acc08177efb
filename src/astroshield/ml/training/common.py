"""What every trainer shares: deterministic seeding and the ONNX export.

Determinism (same seed and data, same ONNX bytes): one torch thread,
``torch.use_deterministic_algorithms``, seeded initialisation; shuffling takes its own
``torch.Generator`` seeded from the same seed in each trainer.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence

import torch
from torch import nn


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def export_onnx(
    model: nn.Module, example: torch.Tensor, input_name: str, output_names: Sequence[str]
) -> bytes:
    """The ONNX bytes of ``model`` called on ``example`` (TorchScript exporter, opset 17,
    the first axis of the input and of every output dynamic: any batch size)."""
    model.eval()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (example,),
            buffer,  # type: ignore[arg-type]  # a file-like object works (documented)
            dynamo=False,
            input_names=[input_name],
            output_names=list(output_names),
            dynamic_axes={name: {0: "batch"} for name in (input_name, *output_names)},
            opset_version=17,
        )
    return buffer.getvalue()
