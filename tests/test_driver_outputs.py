"""Spec sentences about inputs and outputs: start code, bounds, the image writer, file names,
encoding an image, labels and collages."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from reproduce.inputs.bounds import load_bounds
from reproduce.outputs.collage import write_collage
from reproduce.run.encoder import load_mean_image, preprocess
from common.errors import UserError
from reproduce.outputs.images import result_file_name, save_result_image, to_saved_array
from reproduce.outputs.labels import caption, read_labels
from reproduce.inputs.start_code import random_start_code
from support.paths import SHARED


def test_start_code_is_numpys_legacy_global_generator():
    """np.random.seed(s); np.random.normal(0, 1, (1, 4096)), float64."""
    state = np.random.get_state()
    try:
        np.random.seed(17)
        expected = np.random.normal(0, 1, (1, 4096))
    finally:
        np.random.set_state(state)
    code = random_start_code(17, 4096)
    assert code.dtype == np.float64
    np.testing.assert_array_equal(code, expected)


def test_bounds_are_one_line_upper_and_zero_lower(tmp_path):
    path = tmp_path / "b.txt"
    path.write_text("1 2.5 3")
    lower, upper = load_bounds(path, 3)
    assert lower.dtype == upper.dtype == np.float64 and upper.shape == (1, 3)
    np.testing.assert_array_equal(upper, [[1, 2.5, 3]])
    np.testing.assert_array_equal(lower, np.zeros((1, 3)))
    for text, message in (("1 2", "holds 2 numbers, the code has 3"), ("1 2 3\n4 5 6", "found 2"),
                          ("1 x 3", "could not convert")):
        path.write_text(text)
        with pytest.raises(UserError, match=message):
            load_bounds(path, 3)


def test_saved_image_is_rgb_clipped_mapped_and_stretched_again():
    """BGR→RGB, clip to [−120, 120], map to [0, 1], stretch to min/max, uint8(clip(b)+0.5)."""
    bgr = np.zeros((1, 3, 1, 4), np.float32)
    bgr[0, 0] = [-200, -60, 0, 60]  # blue
    bgr[0, 2] = [0, 0, 0, 100]  # red
    saved = to_saved_array(bgr)
    a = (np.clip(np.stack([bgr[0, 2], bgr[0, 1], bgr[0, 0]], -1)[0].astype(np.float64), -120, 120)
         + 120) / 240
    b = (a - a.min()) * (255 / (a.max() - a.min()))
    np.testing.assert_array_equal(saved[0], (np.clip(b, 0, 255) + 0.5).astype(np.uint8))
    assert saved[0, 0, 2] == 0 and saved[0, 3, 0] == 255  # the stretch reaches 0 and 255
    flat = to_saved_array(np.full((1, 3, 2, 2), 7.0, np.float32))
    np.testing.assert_array_equal(flat, np.zeros((2, 2, 3), np.uint8))  # a range of 0 counts as 1


def test_result_file_name_uses_str_of_the_floats():
    assert result_file_name("fc8", 643, 200, 0.99, 8.0, 0) == "fc8_0643_200_0.99_8.0__0.jpg"
    assert result_file_name("conv5", 8, 5, 1.0, 2.0, 3) == "conv5_0008_05_1.0_2.0__3.jpg"


def test_saved_files_are_jpeg_and_lossless_png(tmp_path):
    image = np.random.default_rng(0).uniform(-130, 130, (1, 3, 8, 8)).astype(np.float32)
    saved = save_result_image(tmp_path / "x.jpg", image)
    assert Image.open(tmp_path / "x.jpg").format == "JPEG"
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "x.png")), saved)


def test_encoder_input_is_bgr_minus_centre_cropped_mean(tmp_path):
    """Resize, HWC→CHW, RGB→BGR, minus the mean image cropped at (M − h) // 2."""
    Image.new("RGB", (40, 30), (200, 100, 50)).save(tmp_path / "flat.png")
    mean = np.arange(12 * 12 * 3, dtype=np.float32).reshape(12, 12, 3)
    np.save(tmp_path / "mean.npy", mean)
    data = preprocess(tmp_path / "flat.png", load_mean_image(tmp_path / "mean.npy"), (7, 7))
    assert data.shape == (1, 3, 7, 7) and data.dtype == np.float32
    crop = mean[2:9, 2:9]  # (12 − 7) // 2 = 2
    np.testing.assert_array_equal(data[0, 0], 50 - crop[:, :, 0])
    np.testing.assert_array_equal(data[0, 2], 200 - crop[:, :, 2])


@pytest.mark.skipif(not (SHARED / "originals" / "ilsvrc_2012_mean.mat").is_file(),
                    reason="../shared/originals/ilsvrc_2012_mean.mat is absent (check out ../shared)")
def test_mean_mat_loads_as_256_square_bgr():
    mean = load_mean_image(SHARED / "originals" / "ilsvrc_2012_mean.mat")
    assert mean.shape == (256, 256, 3) and mean.dtype == np.float32


def test_labels_first_synonym_places_names_and_plain_lists(tmp_path):
    synsets = tmp_path / "synset_words.txt"
    synsets.write_text("n01440764 tench, Tinca tinca\nn01443537 goldfish, Carassius auratus\n")
    places = tmp_path / "categoryIndex_places205.txt"
    places.write_text("abbey 0\nart_gallery 8\ndoorway/outdoor 71\n")
    plain = tmp_path / "labels.txt"
    plain.write_text("circle\nsquare\n")
    assert read_labels(synsets) == {0: "tench", 1: "goldfish"}
    assert read_labels(places) == {0: "abbey", 8: "art gallery", 71: "doorway/outdoor"}
    assert read_labels(plain) == {0: "circle", 1: "square"}
    assert caption(read_labels(tmp_path / "absent.txt"), 643) == "643"


@pytest.mark.skipif(not (SHARED / "originals" / "misc" / "synset_words.txt").is_file(),
                    reason="../shared/originals/misc/synset_words.txt is absent (check out ../shared)")
def test_experiment_one_captions_from_the_real_synset_list():
    labels = read_labels(SHARED / "originals" / "misc" / "synset_words.txt")
    assert [labels[u] for u in (643, 624, 304, 629, 437)] == ["mask", "library", "leaf beetle",
                                                              "lipstick", "beacon"]


def test_collage_tiles_labelled_panels_one_pixel_apart(tmp_path):
    images = [np.full((20, 20, 3), value, np.uint8) for value in (0, 100, 200)]
    path = write_collage(tmp_path / "c.png", images, ["a", "b", "c"])
    sheet = np.asarray(Image.open(path))
    assert sheet.shape[1] == 3 * 20 + 2 and sheet.shape[0] > 20  # captions scale with the image
    full = np.asarray(Image.open(write_collage(tmp_path / "f.png", [np.zeros((227, 227, 3), np.uint8)],
                                               ["mask"])))
    assert full.shape[0] >= 227 + 10 + 30 and (full[227:237] == 255).all()  # 10 px band, 30 pt
    assert (sheet[:20, 20] == 255).all() and (sheet[:20, 21] == 100).all()
    cropped = np.asarray(Image.open(write_collage(tmp_path / "d.png", images, ["1", "2", "3"],
                                                  crop=(1, 1, 19))))
    assert cropped.shape[1] == 3 * 19 + 2 and (cropped[:19, 19] == 255).all()
