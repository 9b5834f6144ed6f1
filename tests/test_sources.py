"""Image sets on disk: decoding, crop geometry, formats, bad files, errors."""

import io
import itertools
import struct
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from ogan_tf.config import load_preset
from ogan_tf.data import images, pipeline, sources
from ogan_tf.data.choice import is_data_path, run_name_for_path
from ogan_tf.errors import DataError

from conftest import training_batches

RED, GREEN, BLUE = (255, 0, 0), (0, 200, 0), (0, 0, 255)


def encode(array_or_image, fmt, **kw):
    image = array_or_image if isinstance(array_or_image, Image.Image) else \
        Image.fromarray(array_or_image)
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


def framed(width, height, side, inner=GREEN, outer=RED):
    """An image whose author's centre crop (side `side`) is `inner`, the rest `outer`."""
    a = np.empty((height, width, 3), np.uint8)
    a[:] = outer
    left, top, right, bottom = images.crop_box(width, height, side)
    a[top:bottom, left:right] = inner
    return a


def assert_only_green(image):
    """Lossy codecs shift colours a little; red from outside the crop would
    bring R towards 255 and G towards 0."""
    assert image[..., 0].max() < 100 and image[..., 1].min() > 120, image[..., :2].reshape(-1, 2)


def gradient(size=48):
    y, x = np.mgrid[:size, :size]
    return np.stack([x * 255 // size, y * 255 // size, (x + y) * 127 // size], -1).astype(np.uint8)

# --- images.py: one image ---------------------------------------------------


def test_crop_box_is_the_authors_centre_crop():
    # o_gan_lsun.py: side min(256, h, w), offset (size - side + 1) // 2
    assert images.crop_box(341, 256, 256) == (43, 0, 299, 256)
    assert images.crop_box(256, 400, 256) == (0, 72, 256, 328)
    assert images.crop_box(300, 301, 256) == (22, 23, 278, 279)
    assert images.crop_box(200, 150) == (25, 0, 175, 150)  # crop_max 0: min(h, w)
    assert images.crop_box(1024, 1024) == (0, 0, 1024, 1024)


@pytest.mark.parametrize("w,h,crop_max", [(341, 256, 256), (256, 400, 256), (300, 200, 0),
                                          (520, 390, 256)])
@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_crop_then_resize_keeps_only_the_centre(w, h, crop_max, fmt):
    payload = encode(framed(w, h, crop_max), fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    for draft in (False, True):
        out, upscaled = images.load(payload, 64, crop_max, jpeg_draft=draft)
        assert out.shape == (64, 64, 3) and out.dtype == np.uint8 and not upscaled
        # No red from outside the crop, even at the borders (JPEG's chroma
        # subsampling bleeds a little; a draft decode's scaled pixels may
        # straddle the crop's edge)
        if fmt == "PNG":
            assert (out == GREEN).all()
        else:
            assert_only_green(out[1:-1, 1:-1] if draft else out)


def test_resize_is_antialiased_like_pil_bilinear():
    # 1-pixel stripes average to grey when shrunk (a non-antialiased resize aliases them)
    stripes = np.zeros((256, 256, 3), np.uint8)
    stripes[:, ::2] = 255
    out, _ = images.load(encode(stripes, "PNG"), 32)
    assert np.abs(out.astype(float) - 127.5).max() < 10  # not aliased: 0 or 255


@pytest.mark.parametrize("mode,fmt", [("L", "PNG"), ("P", "PNG"), ("RGBA", "PNG"),
                                      ("LA", "PNG"), ("L", "JPEG"), ("CMYK", "JPEG"),
                                      ("RGB", "WEBP"), ("RGB", "BMP"), ("P", "BMP"),
                                      ("1", "PNG")])
def test_every_mode_becomes_8_bit_rgb(mode, fmt):
    image = Image.fromarray(gradient()).convert(mode)
    out, _ = images.load(encode(image, fmt), 32)
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8
    reference, _ = images.crop_and_resize(image.convert("RGB"), 32)
    assert np.abs(out.astype(int) - reference).mean() < 4


def test_16_bit_greyscale_is_scaled_not_clipped():
    grey = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)  # 0 .. 65520
    out, _ = images.load(encode(Image.fromarray(grey), "PNG"), 64)
    expected = np.round(grey / 257.0)
    assert np.abs(out[..., 0].astype(int) - expected).max() <= 1
    assert (out[..., 0] == out[..., 2]).all() and out.max() == 255


def test_small_images_are_upscaled_and_flagged():
    out, upscaled = images.load(encode(gradient(20), "PNG"), 32)
    assert out.shape == (32, 32, 3) and upscaled


def test_format_is_told_from_the_bytes():
    a = gradient()
    assert images.sniff_format(encode(a, "WEBP")) == "WEBP"
    assert images.sniff_format(encode(a, "JPEG")) == "JPEG"
    assert images.sniff_format(encode(a, "PNG")) == "PNG"
    assert images.sniff_format(encode(a, "BMP")) == "BMP"
    assert images.sniff_format(b"hello world, no image") is None


@pytest.mark.parametrize("payload", [b"", b"plain text", encode(gradient(), "JPEG")[:300],
                                     encode(gradient(), "PNG")[:100],
                                     encode(gradient(), "WEBP")[:40]])
def test_broken_bytes_raise_bad_image(payload):
    with pytest.raises(images.BadImage):
        images.load(payload, 32)

# --- fixtures: a folder, an LMDB, multi-resolution TFRecords ----------------


@pytest.fixture
def image_folder(tmp_path):
    """14 readable images in mixed formats and modes (two smaller than 32 px),
    a truncated JPEG, a text file and a hidden file."""
    root = tmp_path / "my images"
    (root / "sub" / "deeper").mkdir(parents=True)
    rng = np.random.default_rng(0)
    made = 0
    for i in range(12):
        a = np.clip(gradient(64) + rng.integers(0, 40, (64, 64, 3)), 0, 255).astype(np.uint8)
        image, fmt, ext = [
            (Image.fromarray(a), "PNG", "png"),
            (Image.fromarray(a), "JPEG", "jpg"),
            (Image.fromarray(a).convert("L"), "PNG", "PNG"),
            (Image.fromarray(a).convert("P"), "PNG", "png"),
            (Image.fromarray(a).convert("RGBA"), "PNG", "png"),
            (Image.fromarray(a), "WEBP", "webp"),
            (Image.fromarray(a), "BMP", "bmp"),
            (Image.fromarray(a), "JPEG", "jpeg"),
        ][i % 8]
        folder = [root, root / "sub", root / "sub" / "deeper"][i % 3]
        (folder / f"img{i:02d}.{ext}").write_bytes(encode(image, fmt))
        made += 1
    grey16 = (gradient(64)[..., 0].astype(np.uint16) * 257)
    Image.fromarray(grey16).save(root / "sub" / "grey16.png")
    (root / "tiny.png").write_bytes(encode(gradient(20), "PNG"))
    (root / "zz_broken.jpg").write_bytes(encode(gradient(64), "JPEG")[:200])
    (root / "notes.txt").write_text("not an image")
    (root / ".DS_Store").write_bytes(b"\0\1")
    return root


def folder_config(path, **kw):
    return load_preset("folder", data_path=str(path), resolution=32, batch_size=4, **kw)


def test_folder_lists_images_recursively_and_ignores_other_files(image_folder):
    source = sources.FolderSource(image_folder, 32)
    assert len(source) == 15  # 12 + grey16 + tiny + broken (by extension)
    assert source.ignored == 1  # notes.txt; hidden files are not counted
    assert sum("/deeper/" in source.name(i) for i in range(len(source))) == 4


# The input pipeline's two engines: tf.data, and Python threads where
# TensorFlow is not installed (data/threaded.py; `import tensorflow` fails).
ENGINES = ["tf.data", "threads"]


@pytest.fixture(params=ENGINES)
def engine(request, monkeypatch):
    if request.param == "threads":
        monkeypatch.setitem(sys.modules, "tensorflow", None)  # `import tensorflow` fails
    return request.param


def take(stream, n):
    """The first n batches of either engine's stream (threads: (batch,)
    tuples, as Keras takes them from a generator), as numpy arrays."""
    return [np.asarray(b[0] if isinstance(b, tuple) else b)
            for b in itertools.islice(iter(stream), n)]


def test_folder_pipeline_counts_skipped_and_upscaled(image_folder, engine):
    config = folder_config(image_folder)
    stats, messages = pipeline.DataStats(log=lambda m: None), []
    ds = training_batches(config, stats, log=messages.append)
    assert (engine == "threads") == (not hasattr(ds, "element_spec"))  # the engine asked for
    held, train = sources.split(15)
    assert len(held) == 3 and len(train) == 12
    assert set(held).isdisjoint(train)
    batches = take(ds, 40)  # several epochs of 12 files
    x = np.concatenate(batches)
    assert x.shape == (160, 32, 32, 3) and x.dtype == np.float32
    assert -1.0 <= x.min() and x.max() <= 1.0 and x.std() > 0.1
    names = [sources.FolderSource(image_folder, 32).files[i] for i in train]
    assert "zz_broken.jpg" in names and "tiny.png" in names  # both are training files
    epochs = 160 // 11  # 11 readable training files; prefetching reads ahead
    assert epochs <= stats.skipped <= epochs + 6
    assert epochs <= stats.upscaled <= epochs + 6
    assert stats.row() == {"data_skipped": stats.skipped, "data_upscaled": stats.upscaled}
    assert any("images in folder" in m and "1 other files ignored" in m for m in messages)


def test_data_gone_mid_run_stops_with_a_message_not_a_hang(image_folder, monkeypatch, engine):
    monkeypatch.setattr(pipeline, "MIN_FAILURE_STREAK", 30)
    stats = pipeline.DataStats(log=lambda m: None)
    config = folder_config(image_folder)
    ds = iter(training_batches(config, stats, log=lambda m: None))
    next(ds)
    for path in image_folder.rglob("*.*"):  # the disk went away
        path.write_bytes(b"gone")
    with pytest.raises(Exception, match="could not be read"):
        for _ in range(200):
            next(ds)
    assert stats.fatal and "is the data still there?" in stats.fatal


def test_heldout_images_are_fixed_and_never_trained_on(image_folder):
    config = folder_config(image_folder)
    a = sources.open_source(config).heldout(48)
    b = sources.open_source(config).heldout(48)
    assert a.shape == (48, 32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    source = sources.open_source(config)
    held, train = sources.split(len(source))
    held_names = {source.files[i] for i in held}
    train_names = {source.files[i] for i in train}
    assert held_names and not held_names & train_names


def test_empty_folder_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(DataError, match="no images .* found in .*empty"):
        sources.open_source(folder_config(tmp_path / "empty"))


def test_unreadable_set_is_a_clear_error_not_a_hang(tmp_path):
    for i in range(5):
        (tmp_path / f"bad{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DataError, match="none of the first 4 training images"):
        training_batches(folder_config(tmp_path))


def test_missing_preset_data_names_the_path_and_how_to_get_it(tmp_path):
    config = load_preset("lsun_church", data_dir=str(tmp_path))
    with pytest.raises(DataError) as err:
        sources.open_source(config)
    message = str(err.value)
    assert str(tmp_path / "lsun" / "church_outdoor_train_lmdb") in message
    assert "http://dl.yf.io/lsun/scenes/" in message and "DATA_DIR=" in message
    assert "\n" not in message


def test_data_root_default_and_env(monkeypatch, tmp_path):
    config = load_preset("ffhq")
    monkeypatch.delenv(sources.DATA_DIR_ENV, raising=False)
    assert sources.data_location(config) == sources.Path.home() / "ogan_data" / "ffhq"
    monkeypatch.setenv(sources.DATA_DIR_ENV, str(tmp_path))
    assert sources.data_location(config) == tmp_path / "ffhq"
    assert sources.data_location(config.replace(data_dir="/x")) == sources.Path("/x/ffhq")


def test_run_names_for_paths(tmp_path, monkeypatch):
    assert run_name_for_path("/data/church_outdoor_train_lmdb/") == \
        "church_outdoor_train_lmdb"
    assert run_name_for_path("~/my pics") == "my_pics"
    assert is_data_path("./x") and is_data_path("/x") and is_data_path("a/b")
    assert not is_data_path("lsun_church") and not is_data_path("pics")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pics").mkdir()
    (tmp_path / "shapes").mkdir()
    assert is_data_path("pics") and not is_data_path("shapes")  # presets first


def test_presets_mirror_the_authors_scripts():
    for name in ("celeba_hq", "ffhq", "lsun_church", "lsun_bedroom"):
        base, sm, big = (load_preset(name), load_preset(name + "_sm"), load_preset(name + "_256"))
        faces = not name.startswith("lsun")
        assert (base.resolution, base.variant, base.z_dim, base.batch_size, base.rho_weight,
                base.rmsprop_update) == (128, "dcgan_5x5", 128, 64, 0.5, "author")
        assert base.recon_scale == 0.9 == sm.recon_scale  # the author's final scripts
        assert base.crop_max == (0 if faces else 256) == big.crop_max
        assert sm.variant == "sm_4x4" and sm.data_path == base.data_path
        assert (big.resolution, big.variant, big.z_dim, big.batch_size, big.rho_weight,
                big.recon_scale, big.ema_decays) == \
            (256, "sm_4x4", 256, 48, 1.0, 0.9, (0.999, 0.9999))


@pytest.fixture
def lsun_lmdb(tmp_path):
    """An LSUN-style LMDB: 6 WebP and 4 JPEG values of LSUN-like sizes, one
    value of garbage and one truncated JPEG."""
    import lmdb

    path = tmp_path / "church_outdoor_train_lmdb"
    env = lmdb.open(str(path), map_size=1 << 24)
    with env.begin(write=True) as txn:
        for i in range(10):
            w, h = (96, 72) if i % 2 else (72, 100)
            payload = encode(framed(w, h, 64), "WEBP" if i < 6 else "JPEG", quality=95)
            txn.put(f"{i:040x}".encode(), payload)
        txn.put(b"f" * 40, b"\x00\x01 not an image")
        txn.put(b"e" * 40, encode(framed(96, 72, 64), "JPEG")[:150])
    env.close()
    return path


def test_lmdb_values_decode_by_magic_number_and_bad_ones_are_skipped(lsun_lmdb):
    source = sources.open_path(str(lsun_lmdb), 32, crop_max=64)
    assert isinstance(source, sources.LmdbSource) and len(source) == 12
    formats = {}
    ok, bad = 0, 0
    for i in range(len(source)):
        try:
            image, upscaled = source.load(i)
            ok += 1
            assert image.shape == (32, 32, 3) and not upscaled
            assert_only_green(image)  # the centre crop only
        except images.BadImage:
            bad += 1
    with source.env.begin() as txn:
        for key, value in txn.cursor():
            formats[images.sniff_format(value)] = formats.get(images.sniff_format(value), 0) + 1
    assert (ok, bad) == (10, 2)
    assert formats == {"WEBP": 6, "JPEG": 5, None: 1}


def test_lmdb_training_pipeline_counts_the_broken_values(lsun_lmdb):
    config = load_preset("lsun_church", data_path=str(lsun_lmdb), resolution=32,
                         batch_size=2, crop_max=64)
    stats = pipeline.DataStats(log=lambda m: None)
    ds = training_batches(config, stats, log=lambda m: None)
    _, train = sources.split(12)
    n_train = len(train)
    broken_in_train = sum(i >= 10 for i in train)  # keys ee.., ff.. sort last
    x = np.concatenate([b.numpy() for b in ds.take(3 * n_train // 2)])  # >= 2 epochs
    assert x.shape[1:] == (32, 32, 3) and -1 <= x.min() and x.max() <= 1
    assert stats.skipped >= broken_in_train  # each broken key read at least once
    assert stats.upscaled == 0
    heldout = sources.open_source(config).heldout(8)
    assert heldout.shape == (8, 32, 32, 3)


def write_tfrecords(folder, name, log2s, n=6, channels=3):
    """A ProGAN/StyleGAN multi-resolution set: <name>-rNN.tfrecords each."""
    import tensorflow as tf

    folder.mkdir(parents=True, exist_ok=True)
    for lod in log2s:
        res = 2**lod
        with tf.io.TFRecordWriter(str(folder / f"{name}-r{lod:02d}.tfrecords")) as writer:
            for i in range(n):
                hwc = framed(res, res, res)
                hwc[: res // 4] = (i * 40, 0, 0)  # a band on top that differs per image
                chw = hwc.transpose(2, 0, 1)[:channels]
                feature = {
                    "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=chw.shape)),
                    "data": tf.train.Feature(bytes_list=tf.train.BytesList(
                        value=[chw.tobytes()])),
                }
                writer.write(tf.train.Example(features=tf.train.Features(
                    feature=feature)).SerializeToString())


def test_tfrecords_pick_the_training_resolution_or_the_next_larger(tmp_path):
    folder = tmp_path / "ffhq"
    write_tfrecords(folder, "ffhq", [3, 4, 5, 6], n=6)
    exact = sources.open_path(str(folder), 32)
    assert isinstance(exact, sources.TFRecordSource) and exact.file_resolution == 32
    assert len(exact) == 6 and exact.path.name == "ffhq-r05.tfrecords"
    (folder / "ffhq-r05.tfrecords").unlink()
    larger = sources.TFRecordSource(folder, 32)
    assert larger.file_resolution == 64
    image, upscaled = larger.load(2)
    assert image.shape == (32, 32, 3) and not upscaled
    assert np.abs(image[20:].astype(int) - GREEN).max() <= 1  # resized, same content
    assert abs(int(image[2, 16, 0]) - 80) <= 1  # image 2's band
    with pytest.raises(DataError, match="go up to 64 px.*--resolution 64"):
        sources.TFRecordSource(folder, 128)


def test_tfrecords_bad_record_and_truncated_file(tmp_path):
    folder = tmp_path / "celeba"
    write_tfrecords(folder, "celebahq", [5], n=4, channels=1)
    path = folder / "celebahq-r05.tfrecords"
    # append a record whose shape does not match its data, then a truncated one
    bad = b"\x0a\x00"  # an Example with empty features: no shape, no data
    header = struct.pack("<Q", len(bad))
    crc = struct.pack("<I", zlib.crc32(header) & 0xFFFFFFFF)
    with open(path, "ab") as f:
        f.write(header + crc + bad + crc)
        f.write(struct.pack("<Q", 5000) + b"\0\0\0\0" + b"short")
    source = sources.TFRecordSource(folder, 32)
    assert len(source) == 5 and source.truncated
    image, _ = source.load(0)
    assert image.shape == (32, 32, 3) and (image[..., 0] == image[..., 1]).all()  # C=1 -> grey
    with pytest.raises(images.BadImage):
        source.load(4)

# --- the command line --------------------------------------------------------


@pytest.mark.trains
def test_cli_trains_on_a_folder_path_and_resumes(image_folder, dirs, capsys):
    from ogan_tf import cli
    from ogan_tf.runs.folder import RunDir

    from conftest import TINY

    runs, samples, dir_args = dirs
    args = ["train", "--data", str(image_folder), *TINY, "--resolution", "32",
            "--log-every", "1", "--sample-every", "2", "--checkpoint-every", "2",
            "--export-at-end", "none", *dir_args]
    assert cli.main([*args, "--steps", "2"]) == 0
    out = capsys.readouterr().out
    assert "run name 'my_images' from the path" in out  # the folder is "my images"
    assert "15 images in folder" in out
    run = RunDir(runs, "my_images")
    config = run.read_config()
    assert (config.preset, config.dataset, config.data_path) == \
        ("folder", "auto", str(image_folder))
    rows = run.read_metrics()
    assert [r["step"] for r in rows] == [1, 2]
    assert all(isinstance(r["data_skipped"], int) and r["data_upscaled"] >= 0 for r in rows)
    assert (samples / "my_images" / "reconstruction_step0000002.png").is_file()
    # the same command resumes the run (same data path), a longer one trains on
    assert cli.main([*args, "--steps", "3"]) == 0
    assert "resuming run 'my_images' from step 2" in capsys.readouterr().out
    assert [r["step"] for r in run.read_metrics()] == [1, 2, 3]
    # `ogan-tf samples` finds the held-out images through the run's config
    for png in (samples / "my_images").glob("*.png"):
        png.unlink()
    assert cli.main(["samples", "--run", "my_images", *dir_args]) == 0
    assert (samples / "my_images" / "interpolation_step0000003.png").is_file()


@pytest.mark.slow  # two runs, one at 64 px: ~17 CPU s
@pytest.mark.trains
def test_cli_trains_a_presets_recipe_on_a_folder(image_folder, dirs):
    """--data <folder> --preset shapes: the shapes recipe (networks, settings,
    32 px) on the folder's images; --resolution overrides the preset's."""
    from ogan_tf import cli
    from ogan_tf.runs.folder import RunDir

    from conftest import TINY

    runs, samples, dir_args = dirs
    args = ["train", "--data", str(image_folder), "--preset", "shapes", *TINY,
            "--steps", "2", "--log-every", "1", "--sample-every", "2", "--export-at-end", "none",
            *dir_args]
    assert cli.main([*args, "--run", "a"]) == 0
    config = RunDir(runs, "a").read_config()
    shapes = load_preset("shapes")
    assert (config.preset, config.dataset, config.data_path, config.resolution) == \
        ("shapes", "auto", str(image_folder), 32)
    assert (config.variant, config.encoder_norm, config.steps) == \
        (shapes.variant, shapes.encoder_norm, 2)
    assert cli.main([*args, "--run", "b", "--resolution", "64"]) == 0
    assert RunDir(runs, "b").read_config().resolution == 64
    assert (samples / "b" / "random_step0000002.png").is_file()


@pytest.mark.parametrize("data_args,fragments", [
    (["--data", "lsun_church"],
     ["no data at", "church_outdoor_train_lmdb", "dl.yf.io/lsun", "DATA_DIR="]),
    (["--data", "./no/such/folder"], ["no data at", "no/such/folder"]),
])
def test_cli_missing_data_is_one_line_and_writes_nothing(data_args, fragments, dirs, capsys,
                                                         tmp_path, monkeypatch):
    from ogan_tf import cli

    monkeypatch.setenv(sources.DATA_DIR_ENV, str(tmp_path / "nothing here"))
    runs, _, dir_args = dirs
    assert cli.main(["train", *data_args, *dir_args]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith("ogan-tf: error: ")
    for fragment in fragments:
        assert fragment in err, err
    assert not runs.exists()


def test_data_stats_name_each_bad_file_once():
    messages = []
    stats = pipeline.DataStats(log=messages.append)
    for _ in range(3):
        for name in ("a.jpg", "b.jpg", "c.jpg", "d.jpg"):
            stats.skip(name, "truncated")
    stats.upscale("small.png", 128)
    stats.upscale("small.png", 128)
    assert stats.row() == {"data_skipped": 12, "data_upscaled": 2}
    assert [m.split()[4] for m in messages[:3]] == ["a.jpg", "b.jpg", "c.jpg"]
    assert len(messages) == 4 and "small.png is smaller than 128 px" in messages[3]
