"""The exported step graph and Loop model in onnxruntime-node and onnxruntime-web (wasm), under
node and in headless Chromium (web/): one step from the demo run's states agrees with ONNX
Runtime in Python within 1e-5 (reproduce.conformance.compare), batch 1 and 4."""
from __future__ import annotations

import pytest

from reproduce.conformance.compare import RTOL
from reproduce.conformance.runtimes import RUNTIMES
from support.conformance import available_runtime, by_model, results_for

WEB_RUNTIMES = ("onnxruntime-node", "onnxruntime-web-node", "onnxruntime-web-chromium")


@pytest.fixture(scope="module")
def web_results():
    available = tuple(name for name in WEB_RUNTIMES if RUNTIMES[name]().unavailable() is None)
    return results_for(available) if available else []


@pytest.mark.parametrize("name", WEB_RUNTIMES)
def test_one_step_agrees_with_onnxruntime_python(name, web_results):
    results = by_model(web_results, available_runtime(name))
    assert set(results) == {f"{kind}, batch {batch}" for kind in ("step graph", "Loop")
                            for batch in (1, 4)}
    for model, result in results.items():
        assert result.status == "agrees", (model, result.status, result.detail)
        assert result.cases == 2
        assert max(result.errors.values()) <= RTOL, (model, result.errors)


def test_page_reports_a_bad_case_directory_as_an_error(tmp_path):
    runtime = available_runtime("onnxruntime-web-chromium")
    from reproduce.conformance.cases import Case
    from reproduce.conformance.runtimes import RuntimeFailure
    not_a_model = tmp_path / "model.onnx"
    not_a_model.write_bytes(b"not an onnx file")
    with pytest.raises(RuntimeFailure):
        runtime.run(not_a_model, [Case("only", {}, ("y",))], tmp_path / "work")
