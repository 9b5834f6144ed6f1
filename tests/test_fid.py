"""FID that says what it is: KID's maths, the standard Inception graph's
loader (on a tiny stand-in in the same file format), the choice of network
and the cached reference statistics."""

import json

import numpy as np
import pytest

from ogan_tf.evaluation import feature_distances as fd
from ogan_tf.evaluation import features, fid, inception_graph, reference

from conftest import one_line_error, tiny_config


# KID ------------------------------------------------------------------------------
def test_kid_of_hand_checkable_sets():
    # d = 1; x = {0, 0}, y = {1, 1}: k(x, x') = 1, k(y, y') = 8, k(x, y) = 1,
    # so the unbiased MMD^2 is 1 + 8 - 2 * 1 = 7, in every subset.
    x, y = np.zeros((2, 1)), np.ones((2, 1))
    assert fd.mmd2_unbiased(x, y) == pytest.approx(7.0)
    assert fd.kernel_distance(x, y, subsets=5) == (pytest.approx(7.0), 0.0, 2)


def test_kid_matches_stylegan2_ada_formula_and_is_unbiased():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 16)), rng.normal(size=(50, 16)) + 0.3
    # StyleGAN2-ADA's metrics/kernel_inception_distance.py, one subset
    n, m = x.shape[1], len(x)
    a = (x @ x.T / n + 1) ** 3 + (y @ y.T / n + 1) ** 3
    b = (x @ y.T / n + 1) ** 3
    theirs = ((a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m) / m
    assert fd.mmd2_unbiased(x, y) == pytest.approx(theirs, rel=1e-10)
    # Two samples of one distribution: ~0 within the spread over subsets;
    # a mean shift of every feature by s raises it (about (3 s^2 ...) > 0).
    a_set, b_set = rng.normal(size=(200, 16)), rng.normal(size=(200, 16))
    same, spread, size = fd.kernel_distance(a_set, b_set, subsets=10, subset_size=100)
    assert size == 100 and abs(same) < 3 * spread + 1e-3
    shifted = [fd.kernel_distance(a_set, b_set + s, subsets=10, subset_size=100)[0]
               for s in (0.25, 0.5, 1.0)]
    assert same < shifted[0] < shifted[1] < shifted[2], (same, shifted)


@pytest.mark.parametrize("n_a, n_b", [(300, 200), (12, 9), (4, 3), (40, 300)])
def test_the_fid_forms_agree_with_and_without_the_reference_root(n_a, n_b):
    # d = 16: fewer samples than features on either side (4: the SVD root), or more
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(n_a, 16)), 1.5 * rng.normal(size=(n_b, 16)) + 0.2
    plain = fd.frechet_distance(a, b)
    mu, cov = fd.gaussian_stats(a)
    root = fd.covariance_sqrt(a)
    assert np.allclose(root @ root, cov, atol=1e-10)
    assert fd.frechet_from_stats(mu, cov, *fd.gaussian_stats(b), root) == pytest.approx(plain)
    assert fd.frechet_to_features(mu, cov, root, b) == pytest.approx(plain)


# The standard graph, on a stand-in --------------------------------------------------
def build_standin(path, width=inception_graph.FEATURES, resize=True, output="pool_3"):
    """A tiny frozen GraphDef with the 2015-12-05 graph's tensor names: the
    JPEG placeholder, DecodeJpeg, Cast, ExpandDims (the input FID feeds),
    ResizeBilinear to 299 px, the [-1, 1] scaling, then a 1x1 convolution to
    `width` features and an average pool named pool_3 (the output)."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        contents = tf.compat.v1.placeholder(tf.string, [], name="DecodeJpeg/contents")
        x = tf.cast(tf.io.decode_jpeg(contents, channels=3, name="DecodeJpeg"), tf.float32,
                    name="Cast")
        x = tf.expand_dims(x, 0, name="ExpandDims")
        if resize:
            x = tf.compat.v1.image.resize_bilinear(x, tf.constant([299, 299]),
                                                   name="ResizeBilinear")
        x = tf.multiply(tf.subtract(x, 128.0, name="Sub"), 1 / 128.0, name="Mul")
        x = tf.nn.avg_pool2d(x, 23, 23, "VALID")  # 13 x 13
        w = np.random.default_rng(0).normal(size=(1, 1, 3, width)).astype(np.float32)
        x = tf.nn.relu(tf.nn.conv2d(x, tf.constant(w), 1, "VALID"))
        tf.nn.avg_pool2d(x, 13, 13, "VALID", name=output)
    path.write_bytes(graph.as_graph_def().SerializeToString())
    return path


def graph_by_session(path, images):
    """pool_3:0 fed one image at a time through ExpandDims:0 in a TF1 session,
    as TTUR's fid.py does."""
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(path.read_bytes())
    with tf.Graph().as_default() as graph:
        tf.compat.v1.import_graph_def(graph_def, name="")
        with tf.compat.v1.Session(graph=graph) as sess:
            return np.concatenate([
                sess.run("pool_3:0", {"ExpandDims:0": image[None].astype(np.float32)})
                .reshape(1, -1) for image in images])


@pytest.mark.jax(slow=True)
def test_standard_graph_loader_on_a_standin(tmp_path, monkeypatch):
    path = build_standin(tmp_path / inception_graph.GRAPH_FILE)
    monkeypatch.setenv(features.GRAPH_ENV, str(path))
    network = features.feature_network("auto", log=None)
    assert network.name == "inception-2015-12-05" and network.comparable
    assert network.row()["fid_network_sha256"] == inception_graph.file_digest(path)[:16]
    images = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    got = network.features(images)
    assert got.shape == (5, 2048)
    # The same features as TTUR's feed of the same tensor, image by image
    assert np.allclose(got, graph_by_session(path, images), atol=1e-5)


@pytest.mark.parametrize("build, fragment", [
    (lambda p: p.write_bytes(b"\x00not a graph" * 50), "not a GraphDef"),
    (lambda p: build_standin(p, output="pool_4"), "has no pool_3:0"),
    (lambda p: build_standin(p, resize=False), "not resized"),
    (lambda p: build_standin(p, width=64), "64 features, not 2048"),
])
def test_a_placed_file_that_is_not_the_graph_is_one_line(tmp_path, build, fragment):
    path = tmp_path / "placed.pb"
    build(path)
    with pytest.raises(inception_graph.NetworkFileError) as err:
        features.feature_network(str(path))
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_network_choice_without_files_names_both(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv(features.GRAPH_ENV, raising=False)
    with pytest.raises(features.MissingWeightsError) as err:
        features.feature_network("auto")
    text = str(err.value)
    assert inception_graph.GRAPH_FILE in text and features.INCEPTION_WEIGHTS_FILE in text
    with pytest.raises(features.MissingWeightsError, match="--fid-network keras"):
        features.feature_network("standard")
    with pytest.raises(features.MissingWeightsError, match="neither one of auto, standard"):
        features.feature_network("standrd")
    with pytest.raises(features.MissingWeightsError) as err:
        features.inception_model()
    assert str(tmp_path / "models") in str(err.value) and "\n" not in str(err.value)


@pytest.mark.slow
def test_keras_fallback_with_random_weights_is_named_not_comparable():
    from ogan_tf.data import shapes

    network = features.keras_network(features.inception_model(weights=None))
    assert network.row()["fid_network"] == features.KERAS_NAME
    assert network.row()["fid_comparable"] is False
    feats = network.features(shapes.make_shapes(2, 32, seed=0)[0])
    assert feats.shape == (2, 2048) and np.all(np.isfinite(feats))


# Reference statistics ---------------------------------------------------------------
class Counting:
    """A cheap stand-in network: 8x8-pooled pixels, counting the images it saw."""

    def __init__(self, name="tiny"):
        self.seen = 0
        self.network = features.FeatureNetwork(name, self.features, False, "test")

    def features(self, images):
        self.seen += len(images)
        n, h = len(images), images.shape[1]
        pooled = images.reshape(n, 8, h // 8, 8, h // 8, 3).mean(axis=(2, 4))
        return pooled.reshape(n, -1) / 255.0


def test_reference_statistics_computed_once_and_recomputed_for_another_setting(tmp_path):
    config = tiny_config()
    source = fid.open_source(config)
    tiny = Counting()
    ref = reference.reference_stats(source, config, tiny.network, 40, tmp_path, log=None)
    assert ref.count == 40 and tiny.seen == 40 and ref.path.parent.name == "fid_reference"
    key = json.loads(str(np.load(ref.path)["key"]))
    assert (key["network"], key["resolution"], key["count"]) == ("tiny", 32, 40)
    again = reference.reference_stats(source, config, tiny.network, 40, tmp_path, log=None)
    assert tiny.seen == 40 and np.array_equal(again.mu, ref.mu)  # read, not computed
    notes = []
    other = Counting("other")
    reference.reference_stats(source, config, other.network, 40, tmp_path, log=notes.append)
    assert other.seen == 40
    assert any("another setting" in n and "'tiny'" in n for n in notes), notes
    at64 = tiny_config(resolution=64)
    notes.clear()
    reference.reference_stats(fid.open_source(at64), at64, tiny.network, 40, tmp_path,
                              log=notes.append)
    assert any("resolution 32 (now 64)" in n for n in notes), notes


def test_reference_of_a_folder_is_cached_beside_the_data(tmp_path):
    import imageio.v3 as iio

    from ogan_tf.data import shapes

    data = tmp_path / "set"
    data.mkdir()
    for i, image in enumerate(shapes.make_shapes(12, 32, seed=3)[0]):
        iio.imwrite(data / f"{i:02d}.png", image)
    config = tiny_config("folder", data_path=str(data), resolution=32)
    source = fid.open_source(config)
    tiny = Counting()
    ref = reference.reference_stats(source, config, tiny.network, None, tmp_path / "runs",
                                    log=None)
    assert ref.path == data / ".ogan_fid" / "set.npz"
    assert ref.count == len(source.train_indices) == tiny.seen
    assert len(fid.open_source(config)) == 12  # the cache folder is not an image


def test_fid_plan_defaults_and_bad_counts(tmp_path):
    tiny = Counting().network
    plan = fid.fid_plan(tiny, runs_dir=tmp_path)
    assert (plan.sample_images, plan.real_images) == (fid.CPU_FID_IMAGES, fid.CPU_FID_IMAGES)
    assert fid.fid_plan(tiny, 100, 0, tmp_path).real_images is None  # 0: every image
    with pytest.raises(fid.OganError, match="--fid-images must be at least 2"):
        fid.fid_plan(tiny, 1, None, tmp_path)


# The command ---------------------------------------------------------------------------
def test_evaluate_names_the_network_and_the_counts(tmp_path, capsys):
    from ogan_tf import cli
    from ogan_tf.runs.folder import RunDir
    from ogan_tf.runs.models import save_checkpoint
    from ogan_tf.training.building import build_model

    runs, config = tmp_path / "runs", tiny_config()
    run = RunDir(runs, "t")
    run.write_config(config)
    save_checkpoint(run, build_model(config), 0, keep=1)  # untrained: figures, not quality
    graph = build_standin(tmp_path / inception_graph.GRAPH_FILE)
    args = ["evaluate", "--run", "t", "--runs-dir", str(runs), "--images", "8",
            "--fid-images", "8", "--fid-real", "16", "--fid-network"]
    assert cli.main([*args, str(graph)]) == 0
    row = json.loads((runs / "t" / "eval.json").read_text())
    assert (row["fid_network"], row["fid_comparable"]) == ("inception-2015-12-05", True)
    assert (row["fid_real_images"], row["fid_sample_images"], row["fid_recon_images"]) == \
        (16, 8, 8)
    assert row["fid_samples"] > 0 and np.isfinite(row["kid_samples_std"])
    first = capsys.readouterr().out
    assert "features of 16 real images" in first and "2015-12-05, 16 real images" in first
    (tmp_path / "bad.pb").write_bytes(b"\x08\x01 junk")
    assert cli.main([*args, str(tmp_path / "bad.pb")]) == 1
    one_line_error(capsys, "is not the 2015-12-05 Inception graph")
