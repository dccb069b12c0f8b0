"""The browser page's ports of the driver's arithmetic, run in node (no browser needed), against
Python: the start code (NumPy's legacy RandomState(s).normal, web/app/seed.mjs) for 1,004 seeds at
both code lengths the nets use (256: the demo generator, 4096: the fc6 generator), the loop's
rules (web/app/rules.mjs from reproduce.step.rules.to_json), the release's image writer
(web/app/image.mjs), the PNG encoder, Python's float formatting for the file names and the URL
parameter checks (web/app/params.mjs)."""
from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image

from reproduce.outputs.images import to_saved_array
from reproduce.step import rules
from reproduce.step.rules import Schedule
from support.web import correctly_rounded_log, libm_log, polar_arguments, run_node

SEEDS = [*range(1000), 123456789, 2**31, 4000000000, 2**32 - 1]
SIZES = (256, 4096)


def _write(path, array) -> None:
    path.write_bytes(np.ascontiguousarray(array).tobytes())


def _doubles(path) -> np.ndarray:
    return np.frombuffer(path.read_bytes(), np.float64)


def test_start_code_port_draws_numpys_values_bit_for_bit(tmp_path):
    """With the C library's log values injected, the port (MT19937 init_genrand seeding, twist,
    tempering, 53-bit doubles, the polar method and its cached second value) gives NumPy's float64
    draws bit for bit, every log argument being the r2 NumPy drew; with its own correctly rounded
    log, the float32 start code (what the nets use) equals NumPy's for every seed, and a float64
    draw differs only where the C library's log is not correctly rounded (there the port's is)."""
    largest = max(SIZES)
    (tmp_path / "seeds.json").write_text(json.dumps({"seeds": SEEDS, "sizes": list(SIZES)}))
    expected = {size: np.stack([np.random.RandomState(seed).normal(0, 1, (1, size))[0]
                                for seed in SEEDS]) for size in SIZES}
    for size in SIZES:
        _write(tmp_path / f"numpy_{size}.f64", expected[size])
    r2 = np.stack([polar_arguments(seed, largest) for seed in SEEDS])
    platform_log = libm_log(r2.ravel()).reshape(r2.shape)
    _write(tmp_path / "r2.f64", r2)
    _write(tmp_path / "libm_log.f64", platform_log)

    answer = run_node("seed_check.mjs", tmp_path)

    assert answer["argument_mismatches"] == 0
    assert answer["injected"] == {str(size): 0 for size in SIZES}
    port_log = _doubles(tmp_path / "port_log.f64").reshape(r2.shape)
    log_differs = port_log != platform_log
    for x, port_value in zip(r2[log_differs], port_log[log_differs]):
        assert port_value == correctly_rounded_log(float(x)), x
    for size in SIZES:
        port = _doubles(tmp_path / f"port_{size}.f64").reshape(len(SEEDS), size)
        np.testing.assert_array_equal(port.astype(np.float32), expected[size].astype(np.float32))
        differing = port != expected[size]
        pair_log_differs = np.repeat(log_differs[:, :size // 2], 2, axis=1)
        assert not (differing & ~pair_log_differs).any()
        # a log one ulp off moves f = sqrt(-2 log(r2) / r2) by about 2^-53 relative
        np.testing.assert_allclose(port, expected[size], rtol=1e-15, atol=0)
    print(f"C library log not correctly rounded for {int(log_differs.sum())} of {log_differs.size} "
          f"polar-method arguments; float64 draws differing in the last bits: "
          f"{int((port != expected[largest]).sum())} of {port.size}")


def _request(tmp_path, images):
    settings = {"act_layer": "fc8", "activation_shape": [12], "units": 12, "xy": 0,
                "defaults": {"unit": 0, "seed": 0, "n_iters": 200, "start_lr": 8.0,
                             "end_lr": 1e-10}}
    request = {
        "rules": {"step_size": rules.to_json(rules.STEP_SIZE),
                  "l2_factor": rules.to_json(rules.L2_FACTOR),
                  "stopped": rules.to_json(rules.STOPPED)},
        "schedules": [[200, 8.0, 1e-10, 0.99], [30, 1.0, 1e-10, 0.99], [7, 2.0, -1.0, 1.0],
                      [13, 0.3, 7.0, 0.0], [1, 8.0, 1e-10, 1.5], [999, 1e-3, 3.7, -0.2]],
        "norms": [[0.0, 1.0], [1.0, 0.0], [1e-12, 3.0], [2.5, 4.0], [0.0, 0.0]],
        "floats": [8.0, 1e-10, 0.99, 2.0, 1.0, 0.1, 1e-05, 0.0001, 123456789012345.0, 1e16,
                   1.5e300, 2.5e-7, 100.0, 0.3, -2.0],
        "searches": ["", "unit=11&seed=4294967295&n_iters=3&start_lr=1&end_lr=-1&autorun=1",
                     "unit=12", "n_iters=0", "seed=abc", "seed=-1", "seed=1.5", "seed=4294967296",
                     "start_lr=nan", "end_lr=1e999", "unit=1&unit=2", "colour=red",
                     "threads=0", "backend=cuda", "autorun=yes"],
        "settings": settings,
        "images": [{"file": f"image_{index}.f32", "height": image.shape[1], "width": image.shape[2]}
                   for index, image in enumerate(images)],
    }
    for index, image in enumerate(images):
        _write(tmp_path / f"image_{index}.f32", image.astype(np.float32))
    (tmp_path / "request.json").write_text(json.dumps(request))
    return request


def test_rules_images_png_and_names_ports_equal_python(tmp_path):
    """Step sizes, L2 factors and stops equal reproduce.step.rules' (float64, bit for bit); the
    saved array equals the release's writer's byte for byte (clipped, flat and ordinary images);
    the PNG holds exactly that array; the file-name floats are Python's str()."""
    rng = np.random.default_rng(7)
    images = [rng.normal(0, 80, (3, 56, 56)), rng.uniform(-300, 300, (3, 227, 227)),
              np.full((3, 8, 8), 5.0), rng.normal(0, 1e-3, (3, 9, 13))]
    request = _request(tmp_path, images)
    answer = run_node("port_check.mjs", tmp_path)
    for (n_iters, start_lr, end_lr, l2), steps, factor in zip(
            request["schedules"], answer["step_sizes"], answer["l2_factors"]):
        schedule = Schedule.from_flags(n_iters, start_lr, end_lr, l2)
        assert steps == [schedule.step_size(i) for i in range(n_iters)]
        assert factor == schedule.l2_factor
    assert answer["stopped"] == [bool(rules.stopped(np.float32(gen), np.float32(net)))
                                 for gen, net in request["norms"]]
    assert answer["python_floats"] == [str(value) for value in request["floats"]]
    for index, image in enumerate(images):
        expected = to_saved_array(image.astype(np.float32))
        saved = np.frombuffer((tmp_path / f"saved_{index}.u8").read_bytes(), np.uint8)
        np.testing.assert_array_equal(saved.reshape(expected.shape), expected)
        png = Image.open(io.BytesIO((tmp_path / f"saved_{index}.png").read_bytes()))
        assert png.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(png), expected)


def test_url_parameters_are_checked_as_the_driver_checks_flags(tmp_path):
    """Good values parse; each bad one (unit out of range, n_iters 0, a seed that is not a whole
    number in NumPy's range, a non-finite step, a repeated or unknown name) is one message naming
    the parameter."""
    request = _request(tmp_path, [])
    answer = run_node("port_check.mjs", tmp_path)
    outcomes = dict(zip(request["searches"], answer["parameters"]))
    assert outcomes[""]["values"]["n_iters"] == 200
    good = outcomes["unit=11&seed=4294967295&n_iters=3&start_lr=1&end_lr=-1&autorun=1"]["values"]
    assert (good["unit"], good["seed"], good["n_iters"], good["end_lr"], good["autorun"]) == (
        11, 4294967295, 3, -1, True)
    expected_messages = {
        "unit=12": "unit 12: out of range for layer fc8 (12 units)",
        "n_iters=0": "n_iters 0: must be at least 1",
        "seed=abc": "seed \"abc\"", "seed=-1": "seed \"-1\"", "seed=1.5": "seed \"1.5\"",
        "seed=4294967296": "seed \"4294967296\"", "start_lr=nan": "start_lr \"nan\"",
        "end_lr=1e999": "end_lr \"1e999\"", "unit=1&unit=2": "parameter unit given twice",
        "colour=red": "unknown parameter \"colour\"", "threads=0": "threads 0",
        "backend=cuda": "backend \"cuda\"", "autorun=yes": "autorun \"yes\""}
    for search, start in expected_messages.items():
        assert outcomes[search].get("error", "").startswith(start), (search, outcomes[search])
