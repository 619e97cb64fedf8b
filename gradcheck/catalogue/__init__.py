"""The layer catalogue, as data.

Each :class:`LayerSpec` says what a layer is (its differentiable arrays, how to draw kink-free
inputs, which configurations to try) and, per profile, a :class:`Binding`: the names to look
for and the *call plan* the untrusted runner interprets. Checks read these entries; adding a
layer or a convention means adding an entry here, not a branch in every check.

Array names are canonical (``x``, ``w``, ``b``, ``gamma``, ...); a binding's ``display`` maps
them to the profile's spelling (``W``, ``dW``) for messages.

The data model is in :mod:`.model`, shared input generators in :mod:`.inputs`, and each family
of layers in its own module (``dense``, ``activations``, ``losses``, ``norms``, ``dropout``,
``conv``, ``nets``), each defining ``LAYERS``. A new family is one new module plus one line in
``FAMILIES`` below; the order of ``FAMILIES`` is the order of the reports.
"""

from __future__ import annotations

from . import activations, conv, dense, dropout, losses, nets, norms
from .activations import gen_relu, gen_smooth
from .conv import gen_conv, gen_pool
from .dense import gen_affine, gen_pair
from .dropout import gen_dropout
from .inputs import GRID_STEP, KINK_MARGIN, LARGE, distinct_grid, gen_signed_large, softmax
from .losses import gen_softmax, gen_svm
from .model import PROFILES, Arrays, Binding, Case, Generator, LayerSpec
from .nets import gen_two_layer_net
from .norms import gen_norm

#: the families, in report order
FAMILIES = (
    dense,        # add, mul, affine
    activations,  # relu, sigmoid, tanh
    losses,       # softmax_loss, svm_loss
    norms,        # batchnorm, layernorm
    dropout,      # dropout
    conv,         # conv, maxpool
    nets,         # two_layer_net
)

LAYERS: tuple[LayerSpec, ...] = tuple(spec for family in FAMILIES for spec in family.LAYERS)

BY_ID: dict[str, LayerSpec] = {spec.id: spec for spec in LAYERS}


#: argument names that only one profile uses (a tie-breaker for ``--profile auto``)
ARGUMENT_NAMES: dict[str, set[str]] = {
    "cs231n": {"input_dim", "hidden_dim", "num_classes", "weight_scale", "reg", "bn_param",
               "dropout_param", "conv_param", "pool_param"},
    "dlfs": {"input_size", "hidden_size", "output_size", "weight_init_std", "dropout_ratio",
             "pool_h", "pool_w", "train_flg"},
}


def layer_ids() -> list[str]:
    """Every catalogue id, in catalogue order."""
    return [spec.id for spec in LAYERS]


def names_for(profile: str) -> list[str]:
    """Every name a submission of this profile may define."""
    return [n for spec in LAYERS if profile in spec.bindings for n in spec.bindings[profile].names]


__all__ = [
    "ARGUMENT_NAMES", "Arrays", "BY_ID", "Binding", "Case", "FAMILIES", "GRID_STEP", "Generator",
    "KINK_MARGIN", "LARGE", "LAYERS", "LayerSpec", "PROFILES", "distinct_grid", "gen_affine",
    "gen_conv", "gen_dropout", "gen_norm", "gen_pair", "gen_pool", "gen_relu", "gen_signed_large",
    "gen_smooth", "gen_softmax", "gen_svm", "gen_two_layer_net", "layer_ids", "names_for",
    "softmax",
]
