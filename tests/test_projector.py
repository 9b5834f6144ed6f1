"""`ogan-tf projector`: the files TensorBoard's embedding projector reads."""

import io
import zipfile

import imageio.v3 as iio
import keras
import numpy as np
import pytest

from ogan_tf import api, cli
from ogan_tf.apps import projector
from ogan_tf.data.shapes import make_shapes
from ogan_tf.model.networks import build_encoder, build_generator

from conftest import one_line_error

Z_DIM, RES = 8, 32


def read_config(path):
    from google.protobuf import text_format
    from tensorboard.plugins.projector import ProjectorConfig

    return text_format.Parse(path.read_text(), ProjectorConfig())


def check_folder(out, count, z_dim, thumb, header=None):
    """The config's paths name the files beside it, and the files' shapes agree."""
    config = read_config(out / projector.CONFIG)
    (embedding,) = config.embeddings
    for relative in (embedding.tensor_path, embedding.metadata_path,
                     embedding.sprite.image_path):
        assert not relative.startswith("/") and (out / relative).is_file(), relative
    codes = np.loadtxt(out / embedding.tensor_path, delimiter="\t", ndmin=2)
    assert codes.shape == (count, z_dim) and list(embedding.tensor_shape) == [count, z_dim]
    rows = (out / embedding.metadata_path).read_text().splitlines()
    assert len(rows) == count + (header is not None)
    if header is not None:
        assert rows[0].split("\t") == header
    side = int(np.ceil(np.sqrt(count)))
    assert list(embedding.sprite.single_image_dim) == [thumb, thumb]
    assert iio.imread(out / embedding.sprite.image_path).shape == (side * thumb, side * thumb, 3)
    return codes, rows


def test_projector_files_paths_shapes_and_labels(tmp_path):
    images = make_shapes(5, RES, 3)[0]
    (tmp_path / "set" / "sub").mkdir(parents=True)
    paths = [tmp_path / "set" / f"{i}.png" for i in range(4)] + [tmp_path / "set" / "sub" /
                                                                 "4.png"]
    for path, image in zip(paths, images):
        iio.imwrite(path, image)
    (tmp_path / "set" / "broken.png").write_bytes(b"junk")
    (tmp_path / "set" / "attr.csv").write_text(
        "file,shape,size\n0.png,circle,3\n1.png,square,4\nsub/4.png,cross,5\n")
    keras.utils.set_random_seed(0)
    model = api.OganModel(build_encoder(RES, Z_DIM, "sm_4x4", channels=16),
                          build_generator(RES, Z_DIM, "sm_4x4", channels=16), 0.9,
                          {"run": "t"}, log=lambda m: None)
    out = tmp_path / "proj"
    assert projector.write_projector(model, [tmp_path / "set"], out,
                                     tmp_path / "set" / "attr.csv", log=lambda m: None) == 5
    codes, rows = check_folder(out, 5, Z_DIM, RES, header=["file", "shape", "size"])
    assert np.allclose(codes, model.encode(paths), atol=1e-4)  # in the order of the listing
    assert rows[1].endswith("0.png\tcircle\t3") and rows[5].endswith("4.png\tcross\t5")
    assert rows[3].endswith("2.png\t\t")  # not in the table: blank labels

    projector.write_projector(model, [paths[0], paths[1]], out, log=lambda m: None)
    check_folder(out, 2, Z_DIM, RES)  # names only: one column, no header
    assert projector.thumbnail_size(100_000, 128) == 8192 // 317


def test_projector_reads_members_of_a_dataset_zip(tmp_path):
    images = make_shapes(3, RES, 4)[0]
    names = [f"00000/img{i:08d}.png" for i in range(3)]
    with zipfile.ZipFile(tmp_path / "set.zip", "w", compression=zipfile.ZIP_STORED) as archive:
        for name, image in zip(names, images):
            buffer = io.BytesIO()
            iio.imwrite(buffer, image, extension=".png")
            archive.writestr(name, buffer.getvalue())
    members = [str(tmp_path / "set.zip" / name) for name in names]
    keras.utils.set_random_seed(0)
    model = api.OganModel(build_encoder(RES, Z_DIM, "sm_4x4", channels=16),
                          build_generator(RES, Z_DIM, "sm_4x4", channels=16), 0.9,
                          {"run": "t"}, log=lambda m: None)
    out = tmp_path / "proj"
    assert projector.write_projector(model, members, out, log=lambda m: None) == 3
    codes, rows = check_folder(out, 3, Z_DIM, RES)
    assert rows == members and np.allclose(codes, model.encode(images), atol=1e-4)
    sprite = iio.imread(out / projector.SPRITE)
    assert np.array_equal(sprite[:RES, RES:2 * RES], images[1])  # the thumbnails are the members


@pytest.mark.slow
def test_cli_projector_on_a_run_with_a_celeba_table(tiny_run, tmp_path, capsys):
    runs, name = tiny_run
    for i, image in enumerate(make_shapes(3, 48, 5)[0]):
        iio.imwrite(tmp_path / f"00000{i}.jpg", image)
    (tmp_path / "list_attr_celeba.txt").write_text(
        "3\nSmiling Young\n000000.jpg 1 -1\n000001.jpg -1 1\n000002.jpg 1 1\n")
    args = ["--run", name, "--runs-dir", str(runs)]
    assert cli.main(["projector", str(tmp_path), "-o", str(tmp_path / "p"), "--labels",
                     str(tmp_path / "list_attr_celeba.txt"), "--attribute", "Young", *args]) == 0
    assert "tensorboard --logdir" in capsys.readouterr().out
    check_folder(tmp_path / "p", 3, 8, 32, header=["file", "Young"])
    assert cli.main(["projector", str(tmp_path), "-o", str(tmp_path / "q"), "--labels",
                     str(tmp_path / "list_attr_celeba.txt"), "--attribute", "Old", *args]) == 1
    one_line_error(capsys, "no attribute 'Old'")
    assert not (tmp_path / "q").exists()
