"""Using a trained model: export files, the Python API, the CLI commands."""

import json
import textwrap

import imageio.v3 as iio
import numpy as np
import pytest

from ogan_tf import api, cli
from ogan_tf.data import images as image_io
from ogan_tf.errors import OganError
from ogan_tf.inference import export
from ogan_tf.model import losses
from ogan_tf.runs import models as run_models
from ogan_tf.runs.folder import RunDir

from conftest import TINY, TINY_SETTINGS, one_line_error, tiny_networks

Z_DIM, RES = 8, 32


@pytest.fixture(scope="module")
def nets():
    return tiny_networks()


def uint8_images(n, size=RES, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3)).astype(np.uint8)


def test_uint8_encoder_is_standardize_of_E_on_the_training_range(nets):
    G, E = nets
    codes_model, raw_model = export.uint8_encoders(E)
    for n in (1, 5):  # any batch size
        x = uint8_images(n, seed=n)
        raw = E.predict_on_batch(image_io.to_float(x))
        assert np.allclose(raw_model.predict_on_batch(x), raw, atol=1e-6)
        codes = codes_model.predict_on_batch(x)
        assert codes.dtype == np.float32 and codes.shape == (n, Z_DIM)
        assert np.allclose(codes, np.asarray(losses.standardize(raw)), atol=1e-5)
    # A constant code standardises to zeros, as losses.standardize
    assert np.allclose(codes_model.layers[-1](np.full((2, Z_DIM), 3.0, np.float32)), 0.0)


@pytest.mark.trains
def test_exported_files_load_in_a_fresh_process_with_plain_keras(nets, tmp_path, fresh_keras):
    G, E = nets
    out = export.export_models(G, E, tmp_path / "export", {"run": "t", "recon_scale": 0.9})
    x = uint8_images(3)
    z = np.random.default_rng(1).normal(size=(4, Z_DIM)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "z.npy", z)
    expected = {
        "codes": np.asarray(losses.standardize(E.predict_on_batch(image_io.to_float(x)))),
        "images": G.predict_on_batch(z),
    }
    np.savez(tmp_path / "expected.npz", **expected)
    script = textwrap.dedent(
        f"""
        import sys, numpy as np, keras
        d = {str(tmp_path)!r}
        e = keras.models.load_model(d + "/export/encoder.keras")  # safe_mode on by default
        g = keras.models.load_model(d + "/export/generator.keras")
        keras.models.load_model(d + "/export/encoder_raw.keras", safe_mode=True)
        exp = np.load(d + "/expected.npz")
        codes = e.predict(np.load(d + "/x.npy"), verbose=0)
        assert codes.dtype == np.float32, codes.dtype
        assert np.allclose(codes, exp["codes"], atol=1e-5), abs(codes - exp["codes"]).max()
        assert np.allclose(g.predict(np.load(d + "/z.npy"), verbose=0), exp["images"], atol=1e-6)
        assert "ogan_tf" not in sys.modules
        import tensorflow as tf  # the SavedModel, as a server would load it
        saved = tf.saved_model.load(d + "/export/encoder")  # keep it: it owns the variables
        served = saved.serve(tf.constant(np.load(d + "/x.npy")))
        assert np.allclose(served, exp["codes"], atol=1e-5)
        print("ok")
        """
    )
    result = fresh_keras.run(script)
    assert result.ok, result.error[-2000:]
    assert result.out.strip().endswith("ok")
    info = json.loads((out / "info.json").read_text())
    assert info["z_dim"] == Z_DIM and info["resolution"] == RES and info["run"] == "t"


def test_api_shapes_dtypes_and_any_image_size(nets, tmp_path):
    G, E = nets
    messages = []
    model = api.OganModel(E, G, 0.9, {},
                          log=messages.append)
    codes = model.encode(uint8_images(5))
    assert codes.shape == (5, Z_DIM) and codes.dtype == np.float32
    assert np.allclose(codes.std(axis=1), 1.0, atol=1e-4)
    assert model.encode(uint8_images(2), raw=True).shape == (2, Z_DIM)
    images = model.decode(codes)
    assert images.shape == (5, RES, RES, 3) and images.dtype == np.uint8
    assert model.decode(codes[0]).shape == (1, RES, RES, 3)
    assert model.reconstruct(uint8_images(3)).shape == (3, RES, RES, 3)
    # Files and arrays of other sizes are centre-cropped and resized
    iio.imwrite(tmp_path / "wide.png", uint8_images(1, 64)[0][:, :48])
    (tmp_path / "broken.png").write_bytes(b"not an image")
    iio.imwrite(tmp_path / "grey.png", uint8_images(1)[0][..., 0])
    strip = model.interpolate(str(tmp_path / "wide.png"), uint8_images(1, 50)[0], steps=6)
    assert strip.shape == (6, RES, RES, 3) and strip.dtype == np.uint8
    loaded, names = api.load_images(
        [tmp_path / "broken.png", tmp_path / "wide.png", tmp_path / "grey.png"], RES,
        messages.append,
    )
    # The broken file is skipped and named; grey is made RGB, as in training
    assert loaded.shape == (2, RES, RES, 3)
    assert names == [str(tmp_path / "wide.png"), str(tmp_path / "grey.png")]
    assert [m for m in messages if "broken.png is unreadable" in m] and len(messages) == 1
    grey = loaded[1]
    assert np.array_equal(grey[..., 0], grey[..., 2])
    # Files go through the training pipeline's own loader (images.load)

    expected = image_io.load((tmp_path / "wide.png").read_bytes(), RES)[0]
    assert np.array_equal(loaded[0], expected)


def test_api_bad_input_is_a_clear_error(nets, tmp_path):
    G, E = nets
    model = api.OganModel(E, G, 0.9, {},
                          log=lambda m: None)
    with pytest.raises(OganError, match=r"codes have shape \(2, 5\); this model's codes are "
                                         r"\(n, 8\)"):
        model.decode(np.zeros((2, 5)))
    with pytest.raises(OganError, match="codes hold NaN or infinite values"):
        model.decode(np.full((1, 8), np.inf))
    with pytest.raises(OganError, match="codes are not lists of numbers"):
        model.decode([["a"] * 8])
    with pytest.raises(api.ImageError, match="shape .*pass RGB images"):
        model.encode(np.zeros((2, RES, RES, 4), np.uint8))
    with pytest.raises(api.ImageError, match="dtype float32; pass uint8"):
        model.encode(np.zeros((2, RES, RES, 3), np.float32))
    (tmp_path / "a.png").write_bytes(b"junk")
    with pytest.raises(api.ImageError, match="no usable image .*a.png is unreadable"):
        model.encode([tmp_path / "a.png"])


@pytest.mark.trains
@pytest.mark.slow
def test_cli_commands_on_a_tiny_run(dirs, trained_run, tmp_path, capsys):
    runs, samples, dir_args = dirs
    runs_arg = ["--runs-dir", str(runs)]
    trained_run(*TINY, "--steps", "10", "--run", "t")  # as `ogan-tf train` with these flags
    exported = runs / "t" / "export"
    assert sorted(p.name for p in exported.iterdir()) == sorted(export.FILES)  # .keras only
    shapes = [tmp_path / f"{i}.png" for i in range(3)]
    for i, path in enumerate(shapes):
        iio.imwrite(path, uint8_images(1, 40 + i, seed=i)[0])
    (tmp_path / "bad.png").write_bytes(b"junk")
    images = [str(p) for p in shapes] + [str(tmp_path / "bad.png")]

    out = tmp_path / "o"
    assert cli.main(["encode", *images, "-o", str(out / "codes.npy"), "--run", "t", *runs_arg]) == 0
    assert "skipped" in capsys.readouterr().out
    codes = np.load(out / "codes.npy")
    assert codes.shape == (3, 8) and codes.dtype == np.float32
    assert cli.main(["decode", str(out / "codes.npy"), "-o", str(out / "dec.png"),
                     "--run", str(exported)]) == 0
    assert iio.imread(out / "dec.png").shape == (64, 64, 3)  # 2 x 2 grid, one blank
    assert cli.main(["reconstruct", *images, "-o", str(out / "rec.png"), "--run", "t",
                     *runs_arg]) == 0
    assert iio.imread(out / "rec.png").shape == (32, 6 * 32, 3)
    assert cli.main(["interpolate", images[0], images[1], "-o", str(out / "strip.png"),
                     "--steps", "8", "--run", "t", *runs_arg]) == 0
    assert iio.imread(out / "strip.png").shape == (32, 10 * 32, 3)
    # export, samples and evaluate take a run folder or an export folder, as the others
    assert cli.main(["evaluate", "--run", str(exported), "--no-fid", "--images", "16"]) == 0
    result = json.loads((runs / "t" / "eval.json").read_text())
    assert result["step"] == 10 and result["eval_images"] == 16 and "swd_samples" in result
    assert RunDir(runs, "t").read_metrics()[-1]["event"] == "eval"
    assert cli.main(["export", "--run", str(runs / "t")]) == 0
    assert (exported / "encoder" / "saved_model.pb").is_file()

    capsys.readouterr()
    # Bad input: one line, exit 1, nothing written
    np.save(out / "wide.npy", np.zeros((2, 5), np.float32))
    assert cli.main(["decode", str(out / "wide.npy"), "-o", str(out / "x.png"), "--run", "t",
                     *runs_arg]) == 1
    one_line_error(capsys, "codes have shape (2, 5)", "(n, 8)")
    assert not (out / "x.png").exists()
    assert cli.main(["encode", images[0], "-o", str(out / "c.npy"), "--run", "nope",
                     *runs_arg]) == 1
    one_line_error(capsys, "no run 'nope'")
    (runs / "empty").mkdir()
    RunDir(runs, "empty").write_config(RunDir(runs, "t").read_config())
    assert cli.main(["export", "--run", "empty", *runs_arg]) == 1
    one_line_error(capsys, "run 'empty' has no checkpoint")
    assert cli.main(["encode", str(tmp_path / "bad.png"), "-o", str(out / "c.npy"),
                     "--run", "t", *runs_arg]) == 1
    one_line_error(capsys, "no usable image", "bad.png is unreadable")
    assert not (out / "c.npy").exists()


@pytest.mark.trains
@pytest.mark.slow
def test_evaluation_tensorboard_and_ema_export_during_training(dirs):
    from ogan_tf.training import train as training

    runs, samples, _ = dirs
    run = training.start_run(runs, samples, "m", "shapes", dict(
        TINY_SETTINGS, dataset_size=64, steps=10, log_every=5,
        sample_every=5, checkpoint_every=10, eval_every=5, eval_images=8, tensorboard=True,
        ema_decays=(0.9,),
    ))
    training.train(run, samples)
    rows = RunDir(runs, "m").read_metrics()
    evals = [r for r in rows if r.get("event") == "eval"]
    assert [r["step"] for r in evals] == [5, 10]
    assert all(r["eval_images"] == 8 and "swd_recon" in r for r in evals)
    assert [r["step"] for r in rows if "event" not in r] == [5, 10]
    import tensorflow as tf

    tags = {}
    for events in (runs / "m" / "tensorboard").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(event.step)
    assert tags["train/loss"] == [5, 10] and tags["eval/swd_samples"] == [5, 10]
    assert tags["grids/random"] == [5, 10] and tags["grids/interpolation"] == [5, 10]
    # The export at the end holds the EMA weights, as the grids
    info = json.loads((runs / "m" / "export" / "info.json").read_text())
    assert info["weights"] == "ema-0.9" and info["step"] == 10
    import keras

    exported = keras.models.load_model(runs / "m" / "export" / "encoder_raw.keras")
    ema = run_models.load_run(runs, "m", "0.9")[1].encoder.get_weights()
    raw = run_models.load_run(runs, "m", "raw")[1].encoder.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(exported.get_weights(), ema))
    assert not all(np.array_equal(a, b) for a, b in zip(exported.get_weights(), raw))


def test_train_flags_for_evaluation_tensorboard_and_export():
    args = cli.parser().parse_args(
        ["train", "--tensorboard", "on", "--eval-fid", "off", "--eval-every", "500",
         "--export-at-end", "all", "--gan-loss", "hinge", "--encoder-term", "mse"]
    )
    assert (args.tensorboard, args.eval_fid, args.eval_every) == (True, False, 500)
    assert (args.export_at_end, args.gan_loss, args.encoder_term) == ("all", "hinge", "mse")
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["train", "--tensorboard", "maybe"])
