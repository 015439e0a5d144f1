"""``GuidedBackprop`` (Springenberg et al. 2015) and ``Deconvolution`` (Zeiler & Fergus
2014): the gradient with a modified ReLU backward rule."""

from __future__ import annotations

import numpy as np

from ._base import Attribution, GradientExplainer
from ._space import Space
from ._targets import Targets

_ACTIVATIONS_NOTE = """
    Which activations change: every ``Relu`` node, and ``Clip(x, 0, c)`` (ReLU6 and
    other capped ReLUs, as MobileNet exports them), which follows the same rule (its
    cap still blocks gradients above ``c`` under guided backprop). ``LeakyRelu``,
    ``PRelu``, ``Elu``, ``HardSwish``, ``HardSigmoid``, ``Sigmoid``, ``Tanh``, ``Gelu``
    and ``Clip`` with another lower bound keep their true gradient: they are not
    ReLU-like switches (captum likewise changes only ``nn.ReLU`` modules; unlike captum,
    a ReLU written as a function in PyTorch is an ONNX ``Relu`` node here, and changes
    too). Max-pooling routes gradients to its maxima as usual.
"""


class _ReluRuleExplainer(GradientExplainer):
    relu_rule = "standard"

    def _attribute(self, space: Space, targets: Targets) -> Attribution:
        rows = np.arange(len(space.X))
        _, grads = space.at_inputs(rows, targets.seeds(rows), self.relu_rule)
        return Attribution(space.features(grads))


class GuidedBackprop(_ReluRuleExplainer):
    __doc__ = (
        """Guided backpropagation: only positive gradients pass a ReLU, and only where
    its input was positive.

    Parameters
    ----------
    model : DifferentiableOnnxModel, ONNX model or object with gradients
        See :class:`~blackbox_xai.explainers.gradients.GradientExplainer`; the model's
        ``gradient`` must take ``relu_rule="guided"``.

    Notes
    -----
    ``values`` have the input's shape (one value per token for token-id models, summed
    over the embedding dimension); ``base_values`` are zeros.
    """
        + _ACTIVATIONS_NOTE
    )

    method = "guided_backprop"
    relu_rule = "guided"


class Deconvolution(_ReluRuleExplainer):
    __doc__ = """DeconvNet: positive gradients pass a ReLU whatever its input was.

    Parameters
    ----------
    model : DifferentiableOnnxModel, ONNX model or object with gradients
        See :class:`~blackbox_xai.explainers.gradients.GradientExplainer`; the model's
        ``gradient`` must take ``relu_rule="deconv"``.

    Notes
    -----
    ``values`` have the input's shape; ``base_values`` are zeros.
    """ + _ACTIVATIONS_NOTE.replace(
        "(its\n    cap still blocks gradients above ``c`` under guided backprop)",
        "(DeconvNet ignores its input, the cap included)",
    )

    method = "deconvolution"
    relu_rule = "deconv"
