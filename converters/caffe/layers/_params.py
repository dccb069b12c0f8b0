"""Reading Caffe's repeated-or-_h/_w spatial parameters and negative axes, as Caffe does."""
from __future__ import annotations

from converters.caffe.files import CaffeError
from converters.caffe.reader import CaffeLayer


def spatial_values(layer: CaffeLayer, param, name: str, spatial_axes: int,
                   default: int | None) -> list[int]:
    """Per-axis values of `name` (kernel_size, pad, stride, dilation) as BaseConvolutionLayer
    reads them: `name_h`/`name_w` when set (2-D only), else one value for all axes or one per
    axis, else `default`."""
    singular = {"kernel_size": "kernel", "pad": "pad", "stride": "stride"}.get(name)
    fields = param.DESCRIPTOR.fields_by_name
    if singular and f"{singular}_h" in fields and (param.HasField(f"{singular}_h")
                                                   or param.HasField(f"{singular}_w")):
        if spatial_axes != 2:
            raise CaffeError(f"layer {layer.name}: {singular}_h/_w need 2 spatial axes")
        return [getattr(param, f"{singular}_h"), getattr(param, f"{singular}_w")]
    field = fields[name]
    if field.is_repeated:
        values = list(getattr(param, name))
    else:
        values = [getattr(param, name)] if param.HasField(name) else []
    if not values:
        if default is None:
            raise CaffeError(f"layer {layer.name}: {name} is required")
        return [default] * spatial_axes
    if len(values) == 1:
        return values * spatial_axes
    if len(values) != spatial_axes:
        raise CaffeError(f"layer {layer.name}: {name} has {len(values)} values for "
                         f"{spatial_axes} spatial axes")
    return values


def canonical_axis(layer: CaffeLayer, axis: int, rank: int) -> int:
    """Blob::CanonicalAxisIndex: negative axes count from the end."""
    if not -rank <= axis < rank:
        raise CaffeError(f"layer {layer.name}: axis {axis} out of range for a {rank}-D blob")
    return axis % rank
