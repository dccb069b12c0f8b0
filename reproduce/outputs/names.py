"""A layer name as one safe path component: what every output file or folder named after a
layer uses (act_max's images, sweep folders).

Caffe's layer names (`fc8`, `conv5`, `pool5`) are kept as they are, so the release's file
names do not change. Any other name (ONNX tensor names such as
`/layer4/layer4.1/relu_1/Relu_output_0`, GoogLeNet's `loss3/classifier`, anything a user
types) becomes a readable slug: every character outside `A-Z a-z 0-9 _ . -` (path separators
included) becomes `_`, runs of dots become `_` (no `..`), leading and trailing `_ . -` are
dropped, the slug is cut to MAX_SLUG characters, and a short hash of the full name is
appended, so two names never share a slug. The result never holds a path separator, never
is or contains `..`, never starts with a dot and is at most MAX_SLUG + 7 characters long.
"""
from __future__ import annotations

import hashlib
import re

MAX_SLUG = 96  # characters kept from the name (file names stay far below 255 bytes)
_SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def layer_slug(name: str) -> str:
    """`name` itself when it is already one safe component, else its slug plus a short hash."""
    if _SAFE.fullmatch(name) and ".." not in name and len(name) <= MAX_SLUG:
        return name
    slug = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    slug = re.sub(r"\.{2,}", "_", slug).strip("_.-")[:MAX_SLUG].rstrip(".")
    return f"{slug or 'layer'}-{hashlib.sha1(name.encode()).hexdigest()[:6]}"
