"""`fetch` against a local HTTP server on 127.0.0.1: resume, checksum refusal, archives, records."""
from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest

from reproduce import official as official_files


def _payload(size: int, seed: str) -> bytes:
    blocks = (hashlib.sha256(f"{seed}{index}".encode()).digest() for index in range(size // 32 + 1))
    return b"".join(blocks)[:size]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    """Serves server.files; honours `Range: bytes=N-`; cuts paths in server.cut_once mid-body once."""

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        state = self.server
        path = unquote(self.path.lstrip("/"))
        requested_range = self.headers.get("Range")
        state.requests.append((path, requested_range))
        body = state.files.get(path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        if requested_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", requested_range)[1])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        remaining = body[start:]
        if path in state.cut_once:
            state.cut_once.discard(path)
            self.wfile.write(remaining[: len(remaining) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(remaining)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files, httpd.cut_once, httpd.requests = {}, set(), []
    httpd.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def layout(tmp_path, monkeypatch):
    """A private data root and manifest; returns a function writing the manifest."""
    data = tmp_path / "data"
    manifest = tmp_path / "manifest.json"
    monkeypatch.setenv("DGN_AM_DATA", str(data))
    monkeypatch.setenv("DGN_AM_MANIFEST", str(manifest))
    monkeypatch.delenv("DGN_AM_MIRROR", raising=False)

    def write(files: list[dict], archives: dict | None = None) -> Path:
        for entry in files:
            entry.setdefault("urls", [] if "archive" in entry else ["http://official.invalid/" + entry["dest"]])
            for key in ("size", "sha1", "sha256"):
                entry.setdefault(key, None)
            entry.setdefault("license", "test")
            entry.setdefault("group", "test")
        manifest.write_text(json.dumps({"archives": archives or {}, "files": files}))
        return data

    return write


def _files_under(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_fetch_places_a_verified_file(server, layout):
    body = _payload(5000, "a")
    server.files["nets/a/a.bin"] = body
    data = layout([{"name": "a", "dest": "nets/a/a.bin", "size": len(body), "sha256": _sha256(body)}])
    (outcome,) = official_files.fetch(base_urls=[server.base_url])
    assert outcome.ok, outcome.message
    assert (data / "nets/a/a.bin").read_bytes() == body
    assert official_files.status() == [(outcome.file, "verified")]
    assert _files_under(data) == ["nets/a/a.bin"]


def test_resume_after_a_cut_connection(server, layout):
    body = _payload(300_000, "cut")
    server.files["big.bin"] = body
    server.cut_once.add("big.bin")
    data = layout([{"name": "big", "dest": "big.bin", "sha256": _sha256(body)}])
    (outcome,) = official_files.fetch(base_urls=[server.base_url])
    assert outcome.ok, outcome.message
    assert (data / "big.bin").read_bytes() == body
    assert server.requests == [("big.bin", None), ("big.bin", f"bytes={len(body) // 2}-")]
    assert _files_under(data) == ["big.bin"]


def test_resume_of_a_part_file_left_by_an_earlier_run(server, layout):
    body = _payload(100_000, "part")
    server.files["x/part.bin"] = body
    data = layout([{"name": "part", "dest": "x/part.bin", "sha256": _sha256(body)}])
    part = official_files.downloads_dir() / "x__part.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(body[:12_345])
    (outcome,) = official_files.fetch(base_urls=[server.base_url])
    assert outcome.ok, outcome.message
    assert server.requests == [("x/part.bin", "bytes=12345-")]
    assert (data / "x/part.bin").read_bytes() == body
    assert not part.exists()


def test_checksum_mismatch_is_refused_and_the_file_not_kept(server, layout):
    good, bad = _payload(4000, "good"), _payload(4000, "bad")
    server.files["m/file.bin"] = bad
    data = layout([{"name": "file", "dest": "m/file.bin", "sha256": _sha256(good)}])
    (outcome,) = official_files.fetch(base_urls=[server.base_url])
    assert not outcome.ok
    assert f"sha256 mismatch: expected {_sha256(good)}, got {_sha256(bad)}" in outcome.message
    assert str(data / "m/file.bin") in outcome.message
    assert _files_under(data) == []


def test_next_mirror_is_tried_after_a_404(server, layout):
    body = _payload(1000, "404")
    server.files["second/f.txt"] = body
    data = layout([{"name": "f", "dest": "f.txt", "sha256": _sha256(body)}])
    (outcome,) = official_files.fetch(base_urls=[server.base_url + "/first", server.base_url + "/second"])
    assert outcome.ok, outcome.message
    assert (data / "f.txt").read_bytes() == body


def test_unpublished_checksum_is_recorded_on_first_download_and_then_enforced(server, layout):
    body = _payload(2000, "tofu")
    server.files["w.caffemodel"] = body
    data = layout([{"name": "w", "dest": "w.caffemodel"}])
    assert official_files.fetch(base_urls=[server.base_url])[0].ok
    record = json.loads((data / ".recorded_checksums.json").read_text())
    assert record["w.caffemodel"]["sha256"] == _sha256(body)
    assert record["w.caffemodel"]["size"] == len(body)
    assert official_files.status()[0][1] == "verified"
    (data / "w.caffemodel").write_bytes(body[:-1] + b"\0")
    assert official_files.status()[0][1] == "corrupt"
    server.files["w.caffemodel"] = _payload(2000, "changed upstream")
    (outcome,) = official_files.fetch(base_urls=[server.base_url])
    assert not outcome.ok and "recorded on first download" in outcome.message


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, content in members.items():
            bundle.writestr(name, content)
    return buffer.getvalue()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as bundle:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            bundle.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _generator_manifest(layout, archive_sha256=None) -> Path:
    archives = {"gen.zip": {"urls": ["http://official.invalid/gen.zip"], "sha256": archive_sha256}}
    return layout([{"name": f"gen-{layer}", "dest": f"nets/upconv/{layer}/generator.caffemodel",
                    "archive": "gen.zip", "member": f"gen/{layer}/generator.caffemodel"}
                   for layer in ("fc6", "fc7")], archives)


def test_zip_archive_extraction_takes_only_the_members_asked_for(server, layout):
    members = {f"gen/{layer}/generator.caffemodel": _payload(3000, layer) for layer in ("fc6", "fc7", "pool5")}
    members["gen/README"] = b"not wanted"
    server.files["gen.zip"] = archive = _zip(members)
    data = _generator_manifest(layout, _sha256(archive))
    outcomes = official_files.fetch(base_urls=[server.base_url])
    assert [outcome.ok for outcome in outcomes] == [True, True], [o.message for o in outcomes]
    for layer in ("fc6", "fc7"):
        got = (data / f"nets/upconv/{layer}/generator.caffemodel").read_bytes()
        assert got == members[f"gen/{layer}/generator.caffemodel"]
    assert [path for path, _ in server.requests if path == "gen.zip"] == ["gen.zip"]
    assert _files_under(data) == [".recorded_checksums.json", "nets/upconv/fc6/generator.caffemodel",
                                  "nets/upconv/fc7/generator.caffemodel"]


def test_mirror_holding_extracted_members_needs_no_archive(server, layout):
    content = _payload(3000, "extracted")
    data = _generator_manifest(layout)
    for layer in ("fc6", "fc7"):
        server.files[f"nets/upconv/{layer}/generator.caffemodel"] = content
    outcomes = official_files.fetch(base_urls=[server.base_url])
    assert all(outcome.ok for outcome in outcomes), [o.message for o in outcomes]
    assert (data / "nets/upconv/fc7/generator.caffemodel").read_bytes() == content
    assert "gen.zip" not in [path for path, _ in server.requests]


def test_tar_gz_archive_extraction_and_kept_archive(server, layout):
    weights = _payload(5000, "places")
    server.files["places.tar.gz"] = _tar_gz({"./places205CNN_iter_300000.caffemodel": weights,
                                            "./places205CNN_deploy.prototxt": b"name: 'x'"})
    data = layout([{"name": "places", "dest": "nets/placesCNN/places205CNN_iter_300000.caffemodel",
                    "archive": "places.tar.gz", "member": "places205CNN_iter_300000.caffemodel",
                    "sha256": _sha256(weights)}],
                  {"places.tar.gz": {"urls": ["http://official.invalid/places.tar.gz"]}})
    (outcome,) = official_files.fetch(base_urls=[server.base_url], keep_archives=True)
    assert outcome.ok, outcome.message
    assert (data / "nets/placesCNN/places205CNN_iter_300000.caffemodel").read_bytes() == weights
    assert (official_files.downloads_dir() / "places.tar.gz").is_file()


def test_archive_without_the_member_says_so(server, layout):
    server.files["gen.zip"] = _zip({"gen/fc6/generator.caffemodel": b"only fc6"})
    data = _generator_manifest(layout)
    fc6, fc7 = official_files.fetch(base_urls=[server.base_url])
    assert fc6.ok and not fc7.ok
    assert "gen.zip has no member gen/fc7/generator.caffemodel" in fc7.message
    assert not (data / "nets/upconv/fc7/generator.caffemodel").exists()


def test_archive_member_with_wrong_checksum_is_not_kept(server, layout):
    server.files["gen.zip"] = _zip({"gen/fc6/generator.caffemodel": b"tampered"})
    data = layout([{"name": "gen-fc6", "dest": "fc6.caffemodel", "archive": "gen.zip",
                    "member": "gen/fc6/generator.caffemodel", "sha256": _sha256(b"original")}],
                  {"gen.zip": {"urls": ["http://official.invalid/gen.zip"]}})
    (outcome,) = official_files.fetch(base_urls=[server.base_url])
    assert not outcome.ok and "sha256 mismatch" in outcome.message
    assert [name for name in _files_under(data) if not name.startswith(".downloads/")] == \
        [".recorded_checksums.json"]


def test_archive_placed_by_hand_is_used_without_network(layout):
    content = _payload(3000, "fc6")
    data = _generator_manifest(layout)
    official_files.downloads_dir().mkdir(parents=True)
    (official_files.downloads_dir() / "gen.zip").write_bytes(
        _zip({"gen/fc6/generator.caffemodel": content, "gen/fc7/generator.caffemodel": content}))
    outcomes = official_files.fetch(base_urls=["http://127.0.0.1:9/unreachable"])
    assert all(outcome.ok for outcome in outcomes), [o.message for o in outcomes]
    assert (data / "nets/upconv/fc6/generator.caffemodel").read_bytes() == content
    assert (official_files.downloads_dir() / "gen.zip").is_file()


def test_unwritable_destination_is_one_clear_error(server, layout):
    body = _payload(100, "w")
    server.files["images/w.jpg"] = body
    data = layout([{"name": "w", "dest": "images/w.jpg", "sha256": _sha256(body)}])
    data.mkdir()
    (data / "images").write_text("a file where a directory should be")
    with pytest.raises(official_files.UserError, match=f"cannot write under {data}"):
        official_files.fetch(base_urls=[server.base_url])


def test_verified_files_are_left_alone_and_corrupt_ones_replaced(server, layout):
    body = _payload(1500, "again")
    server.files["again.bin"] = body
    data = layout([{"name": "again", "dest": "again.bin", "sha256": _sha256(body)}])
    assert official_files.fetch(base_urls=[server.base_url])[0].ok
    (outcome,) = official_files.fetch(base_urls=[server.base_url])
    assert outcome.message == "already verified" and len(server.requests) == 1
    (data / "again.bin").write_bytes(b"damaged")
    assert official_files.missing_files() == [outcome.file]
    assert official_files.fetch(base_urls=[server.base_url])[0].ok
    assert (data / "again.bin").read_bytes() == body and len(server.requests) == 2
