"""The torch twin of the gradient fixtures' digits CNN (``gap_cnn.onnx``), shared by the
benchmarks that run a torch peer on the same weights.

onnx2torch would build it from the graph, but it imports torchvision, whose PyPI wheels
do not load against the CPU build of torch 2.13; the architecture is written out here
(as scripts/make_gradient_fixtures.py defines it) and the ONNX initializers, named after
this module's state dict, are loaded by name. Import torch before this module (and before
scipy/sklearn) in a benchmark.
"""

from __future__ import annotations

from typing import Any

import torch
from onnx import numpy_helper
from torch import nn


class GapCNN(nn.Module):
    """conv / ReLU / max-pool / conv / ReLU / global average pooling / linear.

    ``forward`` gives the logits, or the softmax probabilities with ``proba=True``.
    """

    def __init__(self, proba: bool = False) -> None:
        super().__init__()
        self.proba = proba
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 12, 3, padding=1),
            nn.ReLU(),
        )
        self.head = nn.Linear(12, 10)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.logits(x)
        return torch.softmax(logits, dim=1) if self.proba else logits


def gap_cnn_twin(proto: Any, proba: bool = False) -> GapCNN:
    """The twin of ``proto`` (the loaded ``gap_cnn.onnx``) with its weights, in eval mode."""
    twin = GapCNN(proba)
    state = {
        init.name: torch.from_numpy(numpy_helper.to_array(init).copy())
        for init in proto.graph.initializer
    }
    twin.load_state_dict(state)
    return twin.eval()
