"""Which tensor is activated and which of its values `--unit` (and `--xy`) name: one rule for
Caffe blobs and ONNX tensors alike, used by the step graph, the Job, `layers` and sweeps.

The release's rule (docs/method.md, "One run"): a conv layer's blob (N×C×H×W) is indexed
`[0, unit, xy, xy]`, so `--unit` ranges over the C channels and `--xy` picks the row and
column; any other blob (fc layers: N×K) is indexed by the flat `unit` over one sample's values.
The batch is the tensor's first axis (`batch_axis` 0).
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


@dataclass(frozen=True)
class ActLayer:
    """The activated tensor: its name, one sample's shape, the axis that is the batch."""

    name: str
    sample_shape: tuple[int, ...]
    batch_axis: int = 0

    @classmethod
    def of_tensor(cls, name: str, shape: tuple[int, ...], batch_axis: int = 0) -> "ActLayer":
        """From the tensor's full static shape (any batch); a UserError when it has no batch
        axis (a scalar) or an unknown dimension."""
        if not shape:
            raise UserError(f"--act_layer {name}: a scalar; the act layer needs a batch axis")
        if any(not isinstance(dim, int) or dim < 1 for dim in shape):
            raise UserError(f"--act_layer {name}: shape {shape} is not fully known")
        sample = tuple(dim for axis, dim in enumerate(shape) if axis != batch_axis)
        return cls(name, sample, batch_axis)

    @property
    def layout(self) -> UnitLayout:
        return UnitLayout.CHANNELS if len(self.sample_shape) == 3 else UnitLayout.FLAT

    @property
    def size(self) -> int:
        """Values per sample (the flat indices 0 … size−1 the step graph's one-hot spans)."""
        return math.prod(self.sample_shape)

    @property
    def unit_count(self) -> int:
        """The `--unit` range: channels for CHANNELS, else every value of a sample."""
        return self.sample_shape[0] if self.layout is UnitLayout.CHANNELS else self.size

    def check_unit(self, unit: int) -> None:
        if not 0 <= unit < self.unit_count:
            what = "channels" if self.layout is UnitLayout.CHANNELS else "units"
            raise UserError(f"--unit {unit}: out of range for layer {self.name} "
                            f"({self.unit_count} {what})")

    def check_xy(self, xy: int) -> None:
        if self.layout is UnitLayout.CHANNELS:
            height, width = self.sample_shape[1:]
            if not (0 <= xy < height and xy < width):
                raise UserError(f"--xy {xy}: out of range for layer {self.name} ({height}×{width})")

    def flat_index(self, unit: int, xy: int = 0) -> int:
        """The unit's index into one sample's flattened values (checked)."""
        self.check_unit(unit)
        self.check_xy(xy)
        if self.layout is UnitLayout.CHANNELS:
            height, width = self.sample_shape[1:]
            return (unit * height + xy) * width + xy
        return unit
