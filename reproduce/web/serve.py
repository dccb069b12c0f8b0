"""Serving a built site on 127.0.0.1 with the headers threaded WebAssembly needs.

onnxruntime-web runs on several threads only in a cross-origin isolated page (SharedArrayBuffer):
every response carries `Cross-Origin-Opener-Policy: same-origin` and
`Cross-Origin-Embedder-Policy: require-corp` (and `Cross-Origin-Resource-Policy: same-origin`
for the page's own files); `Cache-Control: no-cache` so a rebuilt site is picked up.
"""
from __future__ import annotations

from pathlib import Path

from common.errors import UserError
from reproduce.conformance.runtimes import LocalServer

DEFAULT_PORT = 8000
ISOLATION_HEADERS = (("Cross-Origin-Opener-Policy", "same-origin"),
                     ("Cross-Origin-Embedder-Policy", "require-corp"),
                     ("Cross-Origin-Resource-Policy", "same-origin"),
                     ("Cache-Control", "no-cache"))


def site_server(root: Path, port: int = 0) -> LocalServer:
    """A LocalServer over the site (context manager: serves in a thread); port 0 picks a free
    one. A UserError naming --serve when the port cannot be used."""
    if not 0 <= port <= 65535:
        raise UserError(f"--serve {port}: not a port number (0-65535; 0: any free port)")
    try:
        return LocalServer(root, port, ISOLATION_HEADERS)
    except OSError as error:
        raise UserError(f"--serve {port}: cannot listen on 127.0.0.1:{port} "
                        f"({error.strerror or error})") from None


def serve_forever(server: LocalServer) -> None:
    """Serves on the calling thread until interrupted (KeyboardInterrupt propagates)."""
    try:
        server.server.serve_forever()
    finally:
        server.server.server_close()
