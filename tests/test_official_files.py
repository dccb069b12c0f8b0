"""The manifest of official files, their status, and the offline messages of `fetch`/`models`."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reproduce import official as official_files
from reproduce.official.manifest import ManifestError, load_manifest
from support.paths import REPO_ROOT, SHARED
from support.ports import free_port

ORIGINALS = SHARED / "originals"

# Checksums given by the issue (published by BVLC for the weights; computed from the release).
ISSUE_SHA1 = {
    "nets/caffenet/bvlc_reference_caffenet.caffemodel": "4c8d77deb20ea792f84eb5e6d0a11ca0a8660a46",
    "nets/googlenet/bvlc_googlenet.caffemodel": "405fc5acd08a3bb12de8ee5e23a96bec22f08204",
}
ISSUE_SHA256 = {
    "act_range/3x/fc6.txt": "615c088ea5beff9c1cd67fe643d8daa5ea7370cb93a70656951b88194a7c65cc",
    "act_range/3x/conv5.txt": "fb9cb107e64e85389ed8526927386db64193f9a683a1fcc93c4d9e692086515c",
    "act_range/2x/fc6.txt": "2d69ff42fd36b74b710c8263e18605b405fb1c3fe0e267ef2a65436dc344857a",
    "misc/synset_words.txt": "acf75ef0abe89694b19056e0796401068b459c457baa30335f240c7692857355",
    "misc/categoryIndex_places205.txt": "8271d045edeb578fc1d824968e16cc98ada32cbc960dd8a9b2f9b835b7625d18",
    "ilsvrc_2012_mean.mat": "c4f327c5c5e71f84d26e93547e41e66dd298af1ee3b78819af2a0509a631fb3a",
    "images/red_pepper.jpg": "7e2c8cf115cb23fff9f02471cf4ce15361417382f48d056ad064371f84e1fa0d",
}
# Destinations the other parts of the project read (the interfaces of the project brief).
INTERFACE_DESTS = [
    "nets/caffenet/caffenet.prototxt", "nets/caffenet/bvlc_reference_caffenet.caffemodel",
    "nets/googlenet/bvlc_googlenet_updated.prototxt", "nets/googlenet/bvlc_googlenet.caffemodel",
    "nets/placesCNN/places205CNN_deploy_updated.prototxt",
    "nets/placesCNN/places205CNN_iter_300000.caffemodel",
    *(f"nets/upconv/{layer}/generator.{kind}" for layer in ("fc6", "fc7", "pool5")
      for kind in ("caffemodel", "prototxt")),
    "act_range/1x/fc6.txt", "act_range/2x/fc6.txt", "act_range/3x/fc6.txt",
    "act_range/3x/conv5.txt", "act_range/3x/fc7.txt",
    "misc/synset_words.txt", "misc/categoryIndex_places205.txt", "ilsvrc_2012_mean.mat",
    "images/red_pepper.jpg", *(f"examples/example{index}.jpg" for index in range(1, 6)),
]


@pytest.fixture(scope="module")
def manifest():
    return {official.dest: official for official in load_manifest(REPO_ROOT / "models" / "manifest.json")}


def test_manifest_lists_every_file_the_experiments_use(manifest):
    assert sorted(set(INTERFACE_DESTS) - set(manifest)) == []


def test_manifest_carries_the_published_checksums(manifest):
    for dest, sha1 in ISSUE_SHA1.items():
        assert manifest[dest].sha1 == sha1
    for dest, sha256 in ISSUE_SHA256.items():
        assert manifest[dest].sha256 == sha256


def test_every_entry_has_a_source_and_a_license(manifest):
    for official in manifest.values():
        assert official.sources and all(url.startswith(("http://", "https://")) for url in official.sources)
        assert official.license


def test_generators_say_non_commercial_and_come_from_the_deepsim_archive(manifest):
    for layer in ("fc6", "fc7", "pool5"):
        generator = manifest[f"nets/upconv/{layer}/generator.caffemodel"]
        assert generator.archive.name == "release_deepsim_v0.zip"
        assert generator.member == f"release_deepsim_v0/{layer}/generator.caffemodel"
        assert "NON-COMMERCIAL" in generator.license
    places = manifest["nets/placesCNN/places205CNN_iter_300000.caffemodel"]
    assert places.archive.name == "placesCNN.tar.gz"


def test_release_files_come_from_the_authors_repository(manifest):
    for official in manifest.values():
        if official.sha256:
            assert official.urls[0] == ("https://raw.githubusercontent.com/Evolving-AI-Lab/"
                                        f"synthesizing/master/{official.dest}")


@pytest.mark.skipif(not ORIGINALS.is_dir(), reason="reference copies ../shared/originals absent (check out ../shared)")
def test_manifest_matches_the_reference_copies(manifest):
    checked = 0
    for path in sorted(ORIGINALS.rglob("*")):
        dest = path.relative_to(ORIGINALS).as_posix()
        if not path.is_file() or dest not in manifest or path.stat().st_size == 0:
            continue
        data = path.read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (manifest[dest].size, manifest[dest].sha256), dest
        checked += 1
    assert checked >= 20


def test_malformed_manifest_entry_is_refused_with_its_name(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"files": [{"name": "bad", "dest": "x.txt", "urls": ["http://x"],
                                           "sha256": "not-hex"}]}))
    with pytest.raises(ManifestError, match=r"files\[0\] \(bad\).*64 lowercase hex"):
        load_manifest(path)
    path.write_text("{")
    with pytest.raises(ManifestError, match="cannot be read as JSON"):
        load_manifest(path)


@pytest.fixture
def private_data(tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("DGN_AM_DATA", str(data))
    monkeypatch.delenv("DGN_AM_MIRROR", raising=False)
    return data


def test_data_path_follows_DGN_AM_DATA(private_data):
    assert official_files.data_path("misc/synset_words.txt") == private_data / "misc/synset_words.txt"


def test_status_tells_verified_present_missing_corrupt(private_data, tmp_path, monkeypatch):
    content = b"4 4 5\n"
    manifest = tmp_path / "manifest.json"
    entries = [{"name": "verified", "dest": "a.txt", "sha256": hashlib.sha256(content).hexdigest()},
               {"name": "corrupt", "dest": "b.txt", "sha256": hashlib.sha256(b"other").hexdigest()},
               {"name": "present", "dest": "c.txt"},
               {"name": "missing", "dest": "d.txt", "sha1": "0" * 40}]
    for entry in entries:
        entry["urls"] = ["http://official.invalid/" + entry["dest"]]
    manifest.write_text(json.dumps({"files": entries}))
    monkeypatch.setenv("DGN_AM_MANIFEST", str(manifest))
    private_data.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (private_data / name).write_bytes(content)
    assert [(official.name, state) for official, state in official_files.status()] == \
        [(name, name) for name in ("verified", "corrupt", "present", "missing")]
    assert [official.name for official in official_files.missing_files()] == ["corrupt", "missing"]
    assert official_files.status(["present"])[0][1] == "present"


def test_require_says_where_to_place_a_missing_file(private_data):
    with pytest.raises(official_files.OfficialFileMissing) as error:
        official_files.require("nets/caffenet/bvlc_reference_caffenet.caffemodel")
    message = str(error.value)
    assert f"at {private_data}/nets/caffenet/bvlc_reference_caffenet.caffemodel" in message
    assert "python -m reproduce fetch caffenet-weights" in message


def _cli(*args: str, data: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DGN_AM_DATA": str(data)}
    env.pop("DGN_AM_MIRROR", None)
    env.pop("DGN_AM_MANIFEST", None)
    return subprocess.run([sys.executable, "-m", "reproduce", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_offline_fetch_gives_one_line_per_missing_file_and_writes_nothing(tmp_path, manifest):
    data = tmp_path / "data"
    result = _cli("fetch", "--mirror", f"http://127.0.0.1:{free_port()}", data=data)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(manifest)
    for line, official in zip(lines, manifest.values()):
        assert line.startswith(f"missing  {official.name}: not fetched: 127.0.0.1:")
        assert f"at {data / official.dest} " in line
    assert not data.exists() or [path for path in data.rglob("*") if path.is_file()] == []


def test_models_lists_each_missing_file_with_its_exact_path(tmp_path, manifest):
    data = tmp_path / "data"
    result = _cli("models", data=data)
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(manifest) + 1
    for line, official in zip(lines, manifest.values()):
        assert line.split()[:2] == ["missing", official.name]
        assert f"at {data / official.dest} " in line
    assert lines[-1].startswith(f"{len(manifest)} files: 0 verified, 0 present, {len(manifest)} missing")


def test_unknown_name_is_one_clear_line(tmp_path):
    result = _cli("models", "no-such-file", data=tmp_path / "data")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "unknown official file 'no-such-file'" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(not ORIGINALS.is_dir(), reason="reference copies ../shared/originals absent (check out ../shared)")
def test_a_directory_in_the_release_layout_serves_as_an_offline_mirror(tmp_path, manifest):
    data = tmp_path / "data"
    result = _cli("fetch", "--mirror", ORIGINALS.as_uri(), "labels", "mean", "images", "examples", data=data)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("fetch: 9 of 9 files in place")
    models = _cli("models", "labels", "mean", "images", "examples", data=data)
    assert models.returncode == 0, models.stderr
    assert [line.split()[0] for line in models.stdout.splitlines()[:-1]] == ["verified"] * 9


def test_mirrors_come_from_DGN_AM_MIRROR(monkeypatch):
    monkeypatch.setenv("DGN_AM_MIRROR", "http://a.example/x, file:///srv/y  http://b.example")
    assert official_files.mirrors_from_environment() == ["http://a.example/x", "file:///srv/y",
                                                         "http://b.example"]
