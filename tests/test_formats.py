"""The field's formats: StyleGAN2-ADA dataset zips as a Source and as labels
for `direction`, and InterFaceGAN / GANSpace direction files for `edit`."""

import io
import json
import zipfile

import imageio.v3 as iio
import numpy as np
import pytest

from ogan_tf import api, cli
from ogan_tf.data import choice, sources, stylegan_zip
from ogan_tf.data.shapes import make_shapes
from ogan_tf.errors import DataError
from ogan_tf.latent import files

from conftest import one_line_error, tiny_config, training_batches

RES = 32


def dataset_zip(path, n=12, labels="classes", seed=0):
    """A zip as stylegan2-ada-pytorch's dataset_tool.py writes it: PNGs in
    folders of 1000 (00000/img00000000.png), dataset.json with the labels,
    stored uncompressed; labels: "classes" (ints 0..2), "vectors"
    (2 numbers), None (no dataset.json) or "null" ({"labels": null})."""
    images, _ = make_shapes(n, RES, seed)
    names = [f"{i // 1000:05d}/img{i:08d}.png" for i in range(n)]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, image in zip(names, images):
            buffer = io.BytesIO()
            iio.imwrite(buffer, image, extension=".png")
            archive.writestr(name, buffer.getvalue())
        if labels == "classes":
            table = [[name, i % 3] for i, name in enumerate(names)]
        elif labels == "vectors":
            table = [[name, [float(i), float(i % 2)]] for i, name in enumerate(names)]
        if labels in ("classes", "vectors"):
            archive.writestr("dataset.json", json.dumps({"labels": table}))
        elif labels == "null":
            archive.writestr("dataset.json", json.dumps({"labels": None}))
    return path, names, images


def test_a_dataset_zip_is_a_source_with_its_images_in_name_order(tmp_path):
    path, names, images = dataset_zip(tmp_path / "set.zip")
    assert sources.detect_format(path) == "zip"
    source = sources.open_path(str(path), RES)
    assert isinstance(source, stylegan_zip.ZipSource) and len(source) == 12
    assert list(source.members) == names
    assert np.array_equal(source.load(5)[0], images[5])  # PNG: lossless, same size
    assert source.describe() == f"12 images in zip {path}, 12 labelled"
    assert len(source.heldout(2)) == 2 and len(source.train_indices) == 10


def test_train_reads_a_zip_given_as_data(tmp_path, monkeypatch):
    path, _, _ = dataset_zip(tmp_path / "set.zip", n=20)
    monkeypatch.chdir(tmp_path)
    assert choice.is_data_path("set.zip")  # no '/': an existing file, not a preset
    picked = choice.resolve_data(str(path))
    cfg = tiny_config(picked.preset, **picked.overrides, resolution=RES, batch_size=4)
    batch = next(iter(training_batches(cfg, log=lambda m: None)))
    assert tuple(batch.shape) == (4, RES, RES, 3)


def test_a_zip_without_images_or_not_a_zip_is_one_line(tmp_path):
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("dataset.json", "{}")
        archive.writestr("readme.txt", "no images")
    with pytest.raises(DataError, match="holds no images") as err:
        sources.open_path(str(empty), RES)
    assert "\n" not in str(err.value)
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"PK not really")
    with pytest.raises(DataError, match="not a readable zip"):
        sources.open_path(str(fake), RES)


def test_members_of_a_zip_read_as_paths(tmp_path):
    path, names, images = dataset_zip(tmp_path / "set.zip", n=3)
    got = api.read_image(path / names[2], RES)
    assert np.array_equal(got, images[2])
    with pytest.raises(api.ImageError, match="no member 00000/nope.png"):
        api.read_image(path / "00000" / "nope.png", RES)


def test_zip_labels_as_attributes(tmp_path):
    path, names, _ = dataset_zip(tmp_path / "classes.zip")
    assert files.labels_folder(path) == path
    got_names, values, attribute = files.read_labels(path, "2")
    assert got_names == names and attribute == "class2"
    assert values.tolist() == [float(i % 3 == 2) for i in range(12)]
    with pytest.raises(files.LabelError, match=r"3 classes \(0, 1, 2\); pick one"):
        files.read_labels(path)
    with pytest.raises(files.LabelError, match="has no class .class7.; it has: 0, 1, 2"):
        files.read_labels(path, "class7")
    vectors, _, _ = dataset_zip(tmp_path / "vectors.zip", labels="vectors")
    _, values, attribute = files.read_labels(vectors, "label1")
    assert attribute == "label1" and values.tolist() == [float(i % 2) for i in range(12)]
    for labels in (None, "null"):
        bare, _, _ = dataset_zip(tmp_path / f"bare-{labels}.zip", labels=labels)
        with pytest.raises(files.LabelError, match="has no labels"):
            files.read_labels(bare)


# Direction files of other tools -----------------------------------------------------
def test_interfacegan_and_ganspace_direction_files(tmp_path):
    d = np.arange(8.0) - 3.5
    np.save(tmp_path / "boundary.npy", d[None])  # InterFaceGAN: (1, d)
    vector, info = files.load_direction(tmp_path / "boundary.npy", z_dim=8)
    assert np.allclose(vector, d / np.linalg.norm(d)) and info == {}
    rows = np.stack([np.eye(8)[i] for i in range(4)])  # GANSpace components: (k, d)
    np.save(tmp_path / "components.npy", rows)
    assert np.allclose(files.load_direction(tmp_path / "components.npy", 8, row=2)[0],
                       np.eye(8)[2])
    with pytest.raises(files.DirectionError, match=r"4 directions; pick one with --row N"):
        files.load_direction(tmp_path / "components.npy", 8)
    with pytest.raises(files.DirectionError, match="--row 4 is not one of 0..3"):
        files.load_direction(tmp_path / "components.npy", 8, row=4)
    np.save(tmp_path / "wide.npy", np.ones((1, 512)))  # a StyleGAN boundary: another width
    with pytest.raises(files.DirectionError) as err:
        files.load_direction(tmp_path / "wide.npy", z_dim=8)
    assert "512 entries" in str(err.value) and "z_dim is 8" in str(err.value)
    assert "\n" not in str(err.value)


def test_edit_refuses_a_direction_of_another_width_in_one_line(tmp_path, capsys):
    np.save(tmp_path / "wide.npy", np.ones((1, 512)))
    image = tmp_path / "a.png"
    iio.imwrite(image, make_shapes(1, RES, 0)[0][0])
    export = tmp_path / "export"
    _tiny_export(export)
    assert cli.main(["edit", str(image), "--direction", str(tmp_path / "wide.npy"),
                     "--run", str(export), "-o", str(tmp_path / "out.png")]) == 1
    one_line_error(capsys, "512 entries", "z_dim is 8")


def _tiny_export(folder):
    """An export folder of untrained tiny networks (.keras files only)."""
    from ogan_tf.inference.export import export_models

    from conftest import tiny_networks

    generator, encoder = tiny_networks()
    export_models(generator, encoder, folder, {"run": "tiny", "step": 0, "weights": "raw",
                                                "recon_scale": 0.9}, saved_model=False)


def test_direction_from_a_dataset_zips_labels(tmp_path, capsys):
    path, _, _ = dataset_zip(tmp_path / "set.zip", n=24)
    export = tmp_path / "export"
    _tiny_export(export)
    out = tmp_path / "class1.npy"
    assert cli.main(["direction", "--labels", str(path), "--attribute", "1",
                     "--run", str(export), "-o", str(out)]) == 0
    vector, info = files.load_direction(out, z_dim=8)
    assert info["attribute"] == "class1" and info["counts"] == {"positive": 8, "negative": 16}
    assert info["images_folder"] == str(path) and "heldout_accuracy" in info
