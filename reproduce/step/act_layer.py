"""Which tensor is activated and which of its values `--unit` (and `--xy`, `--token`) name: one
rule for Caffe blobs and ONNX tensors alike, used by the step graph, the Job, `layers`, sweeps
and the web page.

The release's rule (docs/method.md, "One run"): a conv layer's blob (N×C×H×W) is indexed
`[0, unit, xy, xy]`, so `--unit` ranges over the C channels and `--xy` picks the row and
column; any other blob (fc layers: N×K) is indexed by the flat `unit` over one sample's values.
The batch is the tensor's first axis (`batch_axis` 0).

Token layouts (transformers: ViT, ...): a rank-3 tensor is a sequence of T tokens of C
channels, batch first ([B, T, C], `batch_axis` 0) or sequence first ([T, B, C], `batch_axis`
1; the batch axis is the one whose size is the batch, the first when both are). `--unit` is a
channel c; the activation is the mean over the tokens of channel c (the default), or the value
of channel c at token `--token K`. Caffe nets have no rank-3 blobs, so their rule is unchanged.

A tensor whose batch axis does not hold the batch (at batch B its size is not B: attention
heads or tokens merged with the batch, a model exported for one sample) has no unit rule and
is refused; for ONNX models the axis is also measured at two batch sizes
(reproduce.step.onnx_net.batch_axes, `check_batch_axis`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from common.errors import UserError


class UnitLayout(Enum):
    """How a unit number addresses one sample's values."""

    CHANNELS = "channels"  # C×H×W per sample: unit = channel, at row/column xy
    FLAT = "flat"  # any other shape: unit = flat index into the sample's values
    TOKENS = "tokens"  # T×C per sample: unit = channel, the mean over tokens or at one token


@dataclass(frozen=True)
class ActLayer:
    """The activated tensor: its name, one sample's shape (batch axis removed), the axis that
    is the batch, and for a token layout the chosen token (None: the mean over tokens)."""

    name: str
    sample_shape: tuple[int, ...]
    batch_axis: int = 0
    token: int | None = None

    @classmethod
    def of_tensor(cls, name: str, shape: tuple[int, ...], batch_axis: int | None = None, *,
                  batch: int | None = None, token: int | None = None) -> "ActLayer":
        """From the tensor's full static shape; `batch_axis` None: 0, or for a rank-3 tensor
        the axis whose size is `batch` (module docstring). A UserError when it has no batch
        axis (a scalar; with `batch` given, no axis of that size where the batch should be),
        an unknown dimension, or `token` does not fit."""
        if not shape:
            raise UserError(f"--act_layer {name}: a scalar; the act layer needs a batch axis")
        if any(not isinstance(dim, int) or dim < 1 for dim in shape):
            raise UserError(f"--act_layer {name}: shape {shape} is not fully known")
        if batch_axis is None:
            batch_axis = token_batch_axis(shape, batch) if len(shape) == 3 else 0
        if batch is not None and batch > 1 and shape[batch_axis] == 1:
            raise UserError(f"--act_layer {name}: its shape {'x'.join(map(str, shape))} keeps "
                            f"batch 1 at a batch of {batch} (the model was exported for one "
                            f"sample: its Reshape targets fix it); run one sample per step "
                            f"graph with --batch 1")
        if batch is not None and shape[batch_axis] != batch:
            raise UserError(f"--act_layer {name}: no axis of shape {'x'.join(map(str, shape))} "
                            f"is the batch of {batch} (it is mixed into another dimension, as "
                            f"attention heads are); pick a tensor with a batch axis")
        sample = tuple(dim for axis, dim in enumerate(shape) if axis != batch_axis)
        layer = cls(name, sample, batch_axis, token)
        layer.check_token()
        return layer

    @property
    def layout(self) -> UnitLayout:
        rank = len(self.sample_shape)
        return {3: UnitLayout.CHANNELS, 2: UnitLayout.TOKENS}.get(rank, UnitLayout.FLAT)

    @property
    def tokens(self) -> int:
        """T, the sequence length of a token layout (1 otherwise)."""
        return self.sample_shape[0] if self.layout is UnitLayout.TOKENS else 1

    @property
    def reduces_tokens(self) -> bool:
        """True when the activation is the mean over the tokens (a token layout, no --token)."""
        return self.layout is UnitLayout.TOKENS and self.token is None

    @property
    def size(self) -> int:
        """Values per sample."""
        return math.prod(self.sample_shape)

    @property
    def picked_size(self) -> int:
        """The length of the per-sample vector `flat_index` indexes (what the step graph's
        one-hot spans): the C channel means when the tokens are averaged, else every value."""
        return self.sample_shape[1] if self.reduces_tokens else self.size

    @property
    def unit_count(self) -> int:
        """The `--unit` range: channels for CHANNELS and TOKENS, else every value of a sample."""
        if self.layout is UnitLayout.CHANNELS:
            return self.sample_shape[0]
        if self.layout is UnitLayout.TOKENS:
            return self.sample_shape[1]
        return self.size

    def describe_unit(self) -> str:
        """What one unit is, in a few words (`layers`' UNIT column)."""
        if self.layout is UnitLayout.CHANNELS:
            return f"channel at --xy ({self.sample_shape[1]}x{self.sample_shape[2]})"
        if self.layout is UnitLayout.TOKENS:
            where = f"token {self.token}" if self.token is not None else "mean"
            return f"channel, {where} of {self.tokens} tokens"
        return "flat index"

    def check_token(self) -> None:
        if self.token is None:
            return
        if self.layout is not UnitLayout.TOKENS:
            raise UserError(f"--token {self.token}: layer {self.name} is not a token layout "
                            f"([B, T, C] or [T, B, C]); leave --token out")
        if not 0 <= self.token < self.tokens:
            raise UserError(f"--token {self.token}: out of range for layer {self.name} "
                            f"({self.tokens} tokens: 0-{self.tokens - 1})")

    def check_unit(self, unit: int) -> None:
        if not 0 <= unit < self.unit_count:
            what = "units" if self.layout is UnitLayout.FLAT else "channels"
            raise UserError(f"--unit {unit}: out of range for layer {self.name} "
                            f"({self.unit_count} {what})")

    def check_xy(self, xy: int) -> None:
        if self.layout is UnitLayout.CHANNELS:
            height, width = self.sample_shape[1:]
            if not (0 <= xy < height and xy < width):
                raise UserError(f"--xy {xy}: out of range for layer {self.name} ({height}×{width})")

    def flat_index(self, unit: int, xy: int = 0) -> int:
        """The unit's index into the per-sample vector the step graph picks from (checked):
        one sample's flattened values (batch first), or its C channel means (`picked_size`)."""
        self.check_unit(unit)
        self.check_xy(xy)
        if self.layout is UnitLayout.CHANNELS:
            height, width = self.sample_shape[1:]
            return (unit * height + xy) * width + xy
        if self.layout is UnitLayout.TOKENS and self.token is not None:
            return self.token * self.sample_shape[1] + unit
        return unit


def check_batch_axis(layer: ActLayer, measured: int | None) -> None:
    """A UserError when the batch axis the shape rule chose (`layer.batch_axis`) is not the axis
    that really grows with the batch (`measured`: from shapes at two batch sizes; None when
    no axis does, e.g. the batch merged with attention heads)."""
    if measured is None:
        raise UserError(f"--act_layer {layer.name}: no axis of its own is the batch (it is mixed "
                        f"into another dimension, as attention heads are); pick a tensor with a "
                        f"batch axis")
    if measured != layer.batch_axis:
        raise UserError(f"--act_layer {layer.name}: its batch is axis {measured}, which its shape "
                        f"does not tell at this batch size; use another --batch")


def token_batch_axis(shape: tuple[int, ...], batch: int | None) -> int:
    """The batch axis of a rank-3 token tensor: 1 when only the second axis has the batch's
    size ([T, B, C]), else 0 ([B, T, C])."""
    if batch is not None and shape[0] != batch and shape[1] == batch:
        return 1
    return 0
