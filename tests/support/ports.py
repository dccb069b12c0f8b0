"""A local TCP port nobody listens on (bound once by the OS, then released)."""
from __future__ import annotations

import socket


def free_port() -> int:
    """A port of 127.0.0.1 that was free a moment ago: for a server to start on, or to be
    refused on (nothing listens there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
