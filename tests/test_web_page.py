"""The browser page (`python -m reproduce web SITE --demo`) in Debian's headless Chromium, driven
by Playwright (reproduce.web.browser): it loads; its start code is NumPy's; a 3-iteration autorun
agrees with the Python driver (the Job API) from the same seed and settings within 1e-5 relative
(reproduce.conformance.compare's tolerance and error analysis), or the difference is shown to
start at a flipped ReLU/max-pool decision; bad URL parameters end in data-state "error" with the
message; the image is not blank; the saved PNG is the release's array; the URL follows the form;
Stop stops; with a (software) WebGPU adapter the page says why it stays on wasm."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from common.numerics import relative_error
from reproduce.conformance.compare import RTOL
from reproduce.outputs.images import to_saved_array
from reproduce.step.rules import Schedule
from reproduce.web.browser import SOFTWARE_WEBGPU_FLAGS, PageDriver
from support.web import REPO_ROOT, demo_site, driver_run, explain_divergence, first_divergence

DEMO = json.loads((REPO_ROOT / "models" / "demo" / "demo.json").read_text())


@pytest.fixture(scope="module")
def site():
    return demo_site()


@pytest.fixture(scope="module")
def browser(site):
    with PageDriver(site) as driver:
        yield driver


def test_page_loads_with_the_demo_settings(browser):
    page = browser.open()
    try:
        page.wait_for_function("document.body.dataset.state === 'ready'")
        labels = (REPO_ROOT / "models" / "demo" / "labels.txt").read_text().split("\n")[:len(DEMO["units"])]
        options = page.eval_on_selector_all("#class-list option", "nodes => nodes.map(n => n.textContent)")
        assert options == [f"{unit} {label}" for unit, label in enumerate(labels)]
        assert len(options) == len(DEMO["units"])
        form = {name: page.input_value(f"#{name}") for name in ("unit", "seed", "n_iters", "start_lr", "end_lr")}
        assert form == {"unit": str(DEMO["units"][0]), "seed": str(DEMO["seed"]),
                        "n_iters": str(DEMO["n_iters"]), "start_lr": "8", "end_lr": "1e-10"}
        assert page.inner_text("#backend").startswith("wasm")
        assert "MB in the tab" in page.inner_text("#memory")
        page.fill("#class-filter", "star")
        visible = page.eval_on_selector_all("#class-list option:not([hidden])", "n => n.map(o => o.textContent)")
        assert visible == ["3 star"]
    finally:
        page.close()


def test_start_code_in_chromium_is_numpys(browser):
    page = browser.open()
    try:
        for seed in (0, 1, 42, 123456789, 2**32 - 1):
            for size in (256, 4096):
                code = page.evaluate("async ([seed, size]) => Array.from((await import('./seed.mjs'))"
                                     ".startCode(seed, size))", [seed, size])
                expected = np.random.RandomState(seed).normal(0, 1, (1, size)).astype(np.float32)[0]
                np.testing.assert_array_equal(np.array(code, np.float32), expected)
    finally:
        page.close()


@pytest.mark.parametrize("unit, seed", [(3, 0), (7, 11)])
def test_three_iteration_autorun_agrees_with_the_python_driver(browser, site, ort_threads, unit, seed,
                                                               tmp_path):
    n_iters, start_lr, end_lr = 3, 8.0, 1e-10
    outcome = browser.run(f"unit={unit}&seed={seed}&n_iters={n_iters}&start_lr={start_lr}"
                          f"&end_lr={end_lr}&autorun=1")
    page = outcome.result
    assert (page["unit"], page["seed"], page["backend"], page["iterations"]) == (unit, seed, "wasm", 3)
    result = driver_run(unit, seed, n_iters, start_lr, end_lr, ort_threads)
    assert len(page["acts"]) == len(result.acts) == n_iters
    parted = first_divergence(page["acts"], page["code"], result, RTOL)
    if parted is None:
        assert relative_error(page["acts"], result.acts) <= RTOL
        assert relative_error(page["code"], result.codes[-1]) <= RTOL
        return
    schedule = Schedule.from_flags(n_iters, start_lr, end_lr, DEMO["L2"])
    origins = explain_divergence(site, result, parted, unit, schedule, tmp_path)
    assert origins and all(origin.is_decision for origin in origins), [o.describe() for o in origins]


@pytest.mark.parametrize("query, message", [
    ("unit=12", "unit 12: out of range for layer fc8 (12 units)"),
    ("n_iters=0", "n_iters 0: must be at least 1"),
    ("seed=abc", 'seed "abc": must be a whole number in [0, 4294967295]'),
    ("seed=-3", 'seed "-3": must be a whole number'),
    ("start_lr=fast", 'start_lr "fast": must be a finite number'),
])
def test_bad_parameter_ends_in_the_error_state_with_its_message(browser, query, message):
    outcome = browser.run(f"{query}&autorun=1")
    assert outcome.state == "error"
    assert outcome.text.startswith(message)


def test_image_is_not_blank_and_the_saved_png_is_the_releases_array(browser):
    page = browser.open("unit=5&seed=3&n_iters=12&start_lr=8.0&end_lr=1e-10&autorun=1", wait_ready=False)
    try:
        assert browser.outcome(page).state == "done"
        shot = np.asarray(Image.open(io.BytesIO(page.locator("#image").screenshot())).convert("L"), np.float64)
        assert shot.std() > 20, shot.std()
        image = np.array(page.evaluate("Array.from(window.dgnAm.last.image)"), np.float32)
        expected = to_saved_array(image.reshape(1, 3, 56, 56))
        with page.expect_download() as download:
            page.click("#save")
        assert download.value.suggested_filename == "fc8_0005_12_0.99_8.0__3.png"
        saved = Image.open(download.value.path())
        assert saved.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(saved), expected)
    finally:
        page.close()


def test_url_reflects_the_settings_and_stop_ends_the_run(browser):
    page = browser.open()
    try:
        page.wait_for_function("document.body.dataset.state === 'ready'")
        page.select_option("#class-list", "6")
        page.fill("#seed", "9")
        page.fill("#n_iters", "5000")
        page.dispatch_event("#seed", "change")
        query = page.evaluate("location.search")
        assert query == "?unit=6&seed=9&n_iters=5000&start_lr=8&end_lr=1e-10"
        page.click("#run")
        page.wait_for_function("document.body.dataset.state === 'running'")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('iteration 3')")
        page.evaluate("document.getElementById('stop').click()")  # no actionability waits on a busy page
        outcome = browser.outcome(page)
        assert outcome.state == "stopped"
        result = outcome.result
        assert result["stopped"] and 3 <= result["iterations"] < 5000
        reopened = browser.open(query.lstrip("?"))
        try:
            assert reopened.input_value("#unit") == "6" and reopened.input_value("#seed") == "9"
        finally:
            reopened.close()
    finally:
        page.close()


def test_with_a_webgpu_adapter_the_page_says_why_it_uses_wasm(site, browser):
    with PageDriver(site, extra_flags=SOFTWARE_WEBGPU_FLAGS, playwright=browser.playwright) as driver:
        page = driver.open("unit=3&seed=0&n_iters=1&autorun=1", wait_ready=False)
        try:
            outcome = driver.outcome(page)
            note = page.evaluate("window.dgnAm.engine.note")
            has_adapter = page.evaluate("async () => !!(navigator.gpu && await navigator.gpu.requestAdapter())")
        finally:
            page.close()
        if not has_adapter:
            pytest.skip("this chromium offers no software WebGPU adapter (SwiftShader)")
        engine = outcome.result["backend"]
        if engine == "webgpu":
            assert "within" in note
        else:
            assert note.startswith("wasm (WebGPU"), note
        # onnxruntime-web 1.30.0: a Conv of the LRN gradient fails in its WebGPU kernel
        assert engine == "webgpu" or "Conv" in note or "from wasm's" in note, note
