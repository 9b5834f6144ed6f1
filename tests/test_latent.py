"""The latent tools (latent/, apps/commands.py): directions from examples, edits,
principal axes, neighbours; their files, the API and the CLI commands."""

import csv
import json
import os
import shutil

import imageio.v3 as iio
import numpy as np
import pytest

from ogan_tf import api, cli
from ogan_tf.data.shapes import make_shapes
from ogan_tf.errors import OganError
from ogan_tf.latent import cache, files, fit, similarity
from ogan_tf.model.networks import build_encoder, build_generator

from conftest import TINY, one_line_error

Z_DIM, RES = 8, 32


def planted(n=600, z_dim=16, strength=1.5, seed=0):
    """Codes with a known unit direction d (entries summing to 0, as N-codes'
    do): labels shift the codes by +-strength along d, values by 2 * value."""
    rng = np.random.default_rng(seed)
    d = rng.normal(size=z_dim)
    d -= d.mean()
    d /= np.linalg.norm(d)
    labels = rng.integers(0, 2, n)
    values = rng.normal(size=n)
    noise = rng.normal(size=(n, z_dim))
    return d, labels, noise + strength * (2 * labels - 1)[:, None] * d, values, \
        noise + 2.0 * values[:, None] * d


# Directions: the maths, no model ----------------------------------------------------
def test_a_planted_class_direction_is_found_with_its_sign_and_score():
    d, labels, codes, _, _ = planted()
    vector, stats = fit.find_direction(codes, labels)
    assert vector.dtype == np.float32 and np.isclose(np.linalg.norm(vector), 1, atol=1e-6)
    assert vector @ d > 0.93  # the positive class lies on the side it points to
    assert stats["readout"] == "logistic regression"
    positive = int(labels.sum())
    assert stats["counts"] == {"positive": positive, "negative": len(labels) - positive}
    assert stats["train"] + stats["heldout"] == len(labels) and stats["heldout"] == 120
    assert stats["heldout_accuracy"] > 0.85 and stats["chance"] < 0.6  # Bayes: Phi(1.5) = 0.93
    assert stats["positive_mean"] > 1 > -1 > stats["negative_mean"]
    # -1/1 labels are the same two classes
    again, _ = fit.find_direction(codes, 2 * labels - 1)
    assert np.allclose(again, vector, atol=1e-6)
    # Codes that carry no attribute: chance-level score, as a user must see it
    noise = np.random.default_rng(5).normal(size=codes.shape)
    assert fit.find_direction(noise, labels)[1]["heldout_accuracy"] < 0.65


def test_a_planted_continuous_direction_is_found_with_r2_and_slope():
    d, _, _, values, codes = planted()
    vector, stats = fit.find_direction(codes, values)
    assert vector @ d > 0.98 and stats["readout"] == "least squares"
    assert stats["heldout_r2"] > 0.7 and stats["counts"] == {"examples": len(values)}
    # value ~ codes @ d / 2 + noise: the least-squares slope is a bit under 1/2 (noise shrinks it)
    assert 0.35 < stats["value_per_unit"] < 0.5


def test_the_logistic_readout_is_the_exact_minimum():
    _, labels, codes, _, _ = planted(n=200, strength=0.7)
    w, b = fit.fit_logistic(codes, labels, ridge=1e-2)
    x = np.concatenate([codes, np.ones((len(codes), 1))], 1)
    p = 1 / (1 + np.exp(-(x @ np.r_[w, b])))
    weight = np.where(labels == 1, 0.5 / labels.sum(), 0.5 / (1 - labels).sum())
    grad = x.T @ (weight * (p - labels)) + 1e-2 * np.r_[w, 0]
    assert np.abs(grad).max() < 1e-9
    # Separable classes stay finite (the ridge) and exact
    _, labels, codes, _, _ = planted(n=200, strength=6)
    w, _ = fit.fit_logistic(codes, labels)
    assert np.isfinite(w).all()


def test_least_squares_is_the_normal_equations_solution():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(50, 4)), rng.normal(size=50)
    w, b = fit.fit_least_squares(x, y, ridge=0)
    expected = np.linalg.lstsq(np.c_[x, np.ones(50)], y, rcond=None)[0]
    assert np.allclose(np.r_[w, b], expected)


def test_examples_that_cannot_give_a_direction_are_clear_errors():
    codes = np.random.default_rng(0).normal(size=(10, 4))
    with pytest.raises(fit.DirectionError, match="one class only"):
        fit.find_direction(codes, np.ones(10))
    with pytest.raises(fit.DirectionError, match="negative class has 1 usable"):
        fit.find_direction(codes, np.r_[np.ones(9), 0])
    with pytest.raises(fit.DirectionError, match="too few"):
        fit.find_direction(codes[:3], np.arange(3.0))


def test_orthogonalize_removes_the_other_directions():
    rng = np.random.default_rng(2)
    d, others = rng.normal(size=8), rng.normal(size=(2, 8))
    out = fit.orthogonalize(d, others)
    assert np.isclose(np.linalg.norm(out), 1, atol=1e-6)
    assert np.abs(others @ out).max() < 1e-5 and out @ d > 0
    with pytest.raises(fit.DirectionError, match="span"):
        fit.orthogonalize(others[0] + 2 * others[1], others)


def test_principal_axes_find_a_planted_axis_and_walk_it():
    d, _, _, _, codes = planted(n=2000)
    mean, axes, std, explained = fit.principal_axes(codes, 3)
    assert axes.shape == (3, 16) and abs(axes[0] @ d) > 0.99
    assert np.allclose(axes @ axes.T, np.eye(3), atol=1e-5)
    assert std[0] > std[1] and np.isclose(std[0] ** 2, (((codes - mean) @ axes[0]) ** 2).mean())
    assert explained[0] > 0.2 and explained.sum() <= 1
    walks = fit.walk(mean, axes, std, steps=7, span=3)
    assert walks.shape == (3, 7, 16)
    assert np.allclose(walks[0, 0], mean - 3 * std[0] * axes[0], atol=1e-5)
    assert np.allclose(walks[1, 3], mean, atol=1e-6)


# Neighbours: the maths ------------------------------------------------------------
def test_nearest_in_blocks_equals_the_full_product_and_duplicates_are_found():
    rng = np.random.default_rng(3)
    index = rng.normal(size=(1000, 8)).astype(np.float32)
    index[[10, 500, 999]] = index[[3, 7, 7]]  # duplicates: (3, 10), (7, 500), (7, 999), (500, 999)
    queries = rng.normal(size=(5, 8))
    rows, sims = similarity.nearest(queries, index, 4, block=64)
    full = similarity.unit_rows(queries) @ similarity.unit_rows(index).T
    assert np.array_equal(rows, np.argsort(-full, axis=1, kind="stable")[:, :4])
    assert np.allclose(sims, np.sort(full, axis=1)[:, ::-1][:, :4], atol=1e-6)
    rows, _ = similarity.nearest(index[:2], index, 3, block=100, exclude=[0, -1])
    assert 0 not in rows[0] and rows[1, 0] == 1
    pairs = similarity.duplicate_pairs(index, 0.9999, block=128)
    assert [(i, j) for i, j, _ in pairs] == [(3, 10), (7, 500), (7, 999), (500, 999)]
    assert all(s > 0.9999 for *_, s in pairs)


# Files --------------------------------------------------------------------------
def test_direction_files_round_trip_and_refuse_another_z_dim(tmp_path):
    vector = fit.unit(np.arange(8.0) - 3.5).astype(np.float32)
    path = files.Direction(vector, {"run": "a", "step": 5, "z_dim": 8}).save(tmp_path / "d.npy")
    loaded, info = files.load_direction(path, z_dim=8)
    assert np.allclose(loaded, vector) and info["run"] == "a"
    assert json.loads((tmp_path / "d.json").read_text())["step"] == 5
    with pytest.raises(files.DirectionError, match=r"8 entries \(found on run 'a'\).*z_dim is 16"):
        files.load_direction(path, z_dim=16)
    np.save(tmp_path / "bad.npy", np.zeros((2, 2, 8)))
    with pytest.raises(files.DirectionError, match="one vector"):
        files.load_direction(tmp_path / "bad.npy")
    (tmp_path / "junk.npy").write_bytes(b"junk")
    with pytest.raises(files.DirectionError, match="not a readable .npy"):
        files.load_direction(tmp_path / "junk.npy")


def test_attribute_tables_celeba_and_csv(tmp_path):
    table = tmp_path / "list_attr_celeba.txt"
    table.write_text("3\nSmiling Young Male\n"
                     "000001.jpg  1 -1 -1\n000002.jpg -1  1 -1\n000003.jpg  1  1 -1\n")
    names, values, attribute = files.read_labels(table, "Young")
    assert names == ["000001.jpg", "000002.jpg", "000003.jpg"] and attribute == "Young"
    assert values.tolist() == [-1, 1, 1]
    with pytest.raises(files.LabelError, match="no attribute 'smiling'; did you mean Smiling"):
        files.read_labels(table, "smiling")
    with pytest.raises(files.LabelError, match="3 attributes; pick one with --attribute"):
        files.read_labels(table)
    (tmp_path / "age.csv").write_text("a.png,31.5\nb.png,40\n")
    names, values, attribute = files.read_labels(tmp_path / "age.csv")
    assert names == ["a.png", "b.png"] and values.tolist() == [31.5, 40] and attribute == "age"
    (tmp_path / "two.csv").write_text("file,age,glasses\na.png,31,0\nb.png,40,1\n")
    assert files.read_labels(tmp_path / "two.csv", "glasses")[1].tolist() == [0, 1]
    (tmp_path / "bad.csv").write_text("file,age\na.png,old\n")
    with pytest.raises(files.LabelError, match="bad.csv line 2: 'old' is not a number"):
        files.read_labels(tmp_path / "bad.csv")
    table.write_text("Smiling Young\n000001.jpg 1\n")
    with pytest.raises(files.LabelError, match="line 2 has 2 fields, expected 3"):
        files.read_labels(table, "Smiling")


def test_list_values_of_options_may_start_with_a_minus():
    assert cli.glue_list_values(["edit", "a.png", "--amounts", "-2,-1,0", "-o", "x.png"]) == \
        ["edit", "a.png", "--amounts=-2,-1,0", "-o", "x.png"]
    args = cli.parser().parse_args(cli.glue_list_values(
        ["edit", "a.png", "--direction", "d.npy", "--amounts", "-1.5,0,2", "-o", "x.png"]))
    assert args.amounts == (-1.5, 0.0, 2.0)
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["edit", "a.png", "--direction", "d.npy", "--amounts", "a,b",
                                 "-o", "x.png"])


# The API on tiny untrained networks ------------------------------------------------------
@pytest.fixture(scope="module")
def model():
    generator = build_generator(RES, Z_DIM, "sm_4x4", channels=16)
    encoder = build_encoder(RES, Z_DIM, "sm_4x4", channels=16)
    return api.OganModel(encoder, generator, 0.9, {"run": "tiny", "step": 0},
                         log=lambda m: None)


def write_shapes(folder, n, seed, **fixed):
    """n shapes PNGs in folder (factors in `fixed` set for all); their paths."""
    images, _ = make_shapes(n, RES, seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{i:03d}.png" for i in range(n)]
    for path, image in zip(paths, images):
        iio.imwrite(path, image)
    return paths


def test_edit_shapes_amount_zero_is_the_reconstruction(model, tmp_path):
    images = make_shapes(3, RES, 1)[0]
    d = fit.unit(np.arange(Z_DIM) - 3.5)
    out = model.edit(images, d, [-2, 0, 1.5, 3])
    assert out.shape == (3, 4, RES, RES, 3) and out.dtype == np.uint8
    assert np.abs(out[:, 1].astype(int) - model.reconstruct(images)).max() <= 1
    other = np.eye(Z_DIM)[0]
    ortho = model.edit(images, d, [2], orthogonal_to=[other])
    expected = model.decode(0.9 * model.encode(images) + 2 * fit.orthogonalize(d, [other]))
    assert np.abs(ortho[:, 0].astype(int) - expected).max() <= 1
    with pytest.raises(OganError, match=r"shape \(5,\)"):
        model.edit(images, np.ones(5), [1])
    messages = []
    model.log = messages.append
    try:
        model.edit(images, files.Direction(d, {"run": "other", "step": 3}), [1])
    finally:
        model.log = lambda m: None
    assert messages == ["note: the direction was found on run 'other' step 3; "
                        "this model is run 'tiny' step 0"]
    files.Direction(np.ones(16), {"run": "big", "step": 9}).save(tmp_path / "big.npy")
    with pytest.raises(files.DirectionError, match="found on run 'big'.*z_dim is 8"):
        model.edit(images, tmp_path / "big.npy", [1])


def test_direction_from_folders_skips_and_names_an_unreadable_file(model, tmp_path):
    messages = []
    model.log = messages.append
    try:
        check_direction_from_folders(model, messages, tmp_path)
    finally:
        model.log = lambda m: None


def check_direction_from_folders(tiny, messages, tmp_path):
    write_shapes(tmp_path / "pos", 6, 1)
    write_shapes(tmp_path / "neg", 5, 2)
    (tmp_path / "pos" / "broken.png").write_bytes(b"not an image")
    direction = tiny.direction(tmp_path / "pos", tmp_path / "neg", attribute="big")
    assert direction.info["counts"] == {"positive": 6, "negative": 5}
    assert direction.info["run"] == "tiny" and direction.info["z_dim"] == Z_DIM
    assert "heldout_accuracy" in direction.info and direction.vector.shape == (Z_DIM,)
    assert [m for m in messages if "broken.png is unreadable" in m]
    with pytest.raises(fit.DirectionError, match="same images: one class only"):
        tiny.direction(tmp_path / "pos", tmp_path / "pos")
    (tmp_path / "only_bad").mkdir()
    (tmp_path / "only_bad" / "x.png").write_bytes(b"junk")
    with pytest.raises(api.ImageError, match="the negative examples: no usable image"):
        tiny.direction(tmp_path / "pos", tmp_path / "only_bad")


def test_neighbours_find_known_duplicates_and_the_cache_is_reused(model, tmp_path):
    paths = write_shapes(tmp_path / "set", 12, 4)
    shutil.copy(paths[2], tmp_path / "set" / "copy_of_002.png")
    shutil.copy(paths[7], tmp_path / "set" / "sub_copy_of_007.png")
    messages = []
    model.log, model.home = messages.append, tmp_path / "run"
    try:
        index = model.index(tmp_path / "set")
        assert len(index) == 14 and list((tmp_path / "run" / "index_cache").glob("set-*.npz"))
        pairs = model.duplicates(index, threshold=0.99999)
        assert sorted((os.path.basename(a), os.path.basename(b)) for a, b, _ in pairs) == [
            ("002.png", "copy_of_002.png"), ("007.png", "sub_copy_of_007.png")]
        rows, sims = model.neighbours([str(paths[2])], index, k=3)
        assert index.names[rows[0, 0]].endswith("copy_of_002.png")  # itself left out
        assert sims[0, 0] > 0.99999 and sims[0, 0] >= sims[0, 1] >= sims[0, 2]
        assert str(paths[2]) not in [index.names[r] for r in rows[0]]
        messages.clear()
        again = model.index(tmp_path / "set")
        assert any("from the cache" in m for m in messages)
        assert np.array_equal(again.codes, index.codes) and again.names == index.names
        os.utime(paths[0], ns=(1, 1))  # a changed file: encoded again
        messages.clear()
        model.index(tmp_path / "set")
        assert not any("from the cache" in m for m in messages)
    finally:
        model.log, model.home = (lambda m: None), None


# The commands on a tiny trained run --------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory, _trained_runs):
    """A copy of the session's tiny run "t" (`ogan-tf train` with TINY, 10
    steps: tests/conftest.py), which this module's tests write into."""
    root = tmp_path_factory.mktemp("latent")
    runs = root / "runs"
    shutil.copytree(_trained_runs(*TINY, "--steps", "10", "--run", "t") / "runs", runs)
    big = write_shapes(root / "big", 8, 11)
    small = write_shapes(root / "small", 8, 12)
    return root, ["--run", "t", "--runs-dir", str(runs)], big, small


@pytest.mark.trains
@pytest.mark.slow
def test_cli_direction_edit_and_principal(trained, capsys):
    root, run, big, small = trained
    out = root / "out"
    (root / "big" / "broken.png").write_bytes(b"junk")
    assert cli.main(["direction", "--positive", str(root / "big"), "--negative",
                     str(root / "small"), "-o", str(out / "big.npy"), *run]) == 0
    log = capsys.readouterr().out
    assert "broken.png is unreadable" in log and "held-out accuracy" in log
    info = json.loads((out / "big.json").read_text())
    assert info["counts"] == {"positive": 8, "negative": 8} and info["step"] == 10
    assert info["attribute"] == "big" and info["z_dim"] == Z_DIM
    assert np.load(out / "big.npy").shape == (Z_DIM,)
    assert (root / "runs" / "t" / "directions" / "big.npy").is_file()
    assert (root / "runs" / "t" / "directions" / "big.json").is_file()

    # A CelebA-style table, and a CSV of a continuous value
    rows = [f"{p.name} {1 if i % 2 else -1} 1" for i, p in enumerate(big)]
    (root / "big" / "list_attr.txt").write_text(f"{len(rows)}\nOdd Always\n" + "\n".join(rows))
    assert cli.main(["direction", "--labels", str(root / "big" / "list_attr.txt"),
                     "--attribute", "Odd", "-o", str(out / "odd.npy"), *run]) == 0
    odd = json.loads((out / "odd.json").read_text())
    assert odd["counts"] == {"positive": 4, "negative": 4}
    with open(root / "size.csv", "w", newline="") as f:
        csv.writer(f).writerows([(str(p), 0.1 * i) for i, p in enumerate(big + small)])
    assert cli.main(["direction", "--labels", str(root / "size.csv"), "-o",
                     str(out / "size.npy"), *run]) == 0
    assert "heldout_r2" in json.loads((out / "size.json").read_text())

    amounts = ["--amounts", "-2,-1,0,1,2"]
    assert cli.main(["edit", str(big[0]), str(small[0]), "--direction", str(out / "big.npy"),
                     *amounts, "--orthogonal-to", str(out / "odd.npy"), "-o",
                     str(out / "strip.png"), *run]) == 0
    assert iio.imread(out / "strip.png").shape == (2 * RES, 6 * RES, 3)

    assert cli.main(["principal", "--images", str(root / "small"), "-k", "3", "--steps", "5",
                     "-o", str(out / "pcs.png"), *run]) == 0
    assert iio.imread(out / "pcs.png").shape == (3 * RES, 5 * RES, 3)
    pcs = root / "runs" / "t" / "directions" / "principal-small"
    assert sorted(p.name for p in pcs.glob("*.npy")) == ["pc1.npy", "pc2.npy", "pc3.npy"]
    assert cli.main(["principal", "-k", "2", "--samples", "50", "-o", str(out / "z.png"),
                     "--directions", str(out / "axes"), *run]) == 0
    assert iio.imread(out / "z.png").shape == (2 * RES, 7 * RES, 3)
    assert sorted(p.name for p in (out / "axes").glob("*.npy")) == ["pc1.npy", "pc2.npy"]
    capsys.readouterr()
    # Where the direction files cannot go: the grid is kept, one line says so
    (out / "a_file").write_text("x")
    assert cli.main(["principal", "-k", "2", "--samples", "50", "-o", str(out / "z2.png"),
                     "--directions", str(out / "a_file" / "axes"), *run]) == 1
    one_line_error(capsys, f"wrote the grid {out / 'z2.png'}, but not", "--directions DIR")
    assert (out / "z2.png").is_file()

    # Bad input: one line, exit 1
    assert cli.main(["direction", "--labels", str(root / "big" / "list_attr.txt"),
                     "--attribute", "Always", "-o", str(out / "x.npy"), *run]) == 1
    one_line_error(capsys, "one class only")
    assert cli.main(["direction", "--positive", str(root / "big"), "--negative",
                     str(root / "big"), "-o", str(out / "x.npy"), *run]) == 1
    one_line_error(capsys, "same folder", "one class only")
    assert cli.main(["direction", "--positive", str(root / "big"), "-o", str(out / "x.npy"),
                     *run]) == 1
    one_line_error(capsys, "--positive and --negative go together")
    assert not (out / "x.npy").exists()
    files.Direction(np.ones(16), {"run": "other", "step": 3}).save(out / "wide.npy")
    assert cli.main(["edit", str(big[0]), "--direction", str(out / "wide.npy"),
                     "-o", str(out / "y.png"), *run]) == 1
    one_line_error(capsys, "16 entries (found on run 'other')", "z_dim is 8")
    assert cli.main(["edit", str(root / "big" / "broken.png"), "--direction",
                     str(out / "big.npy"), "-o", str(out / "y.png"), *run]) == 1
    one_line_error(capsys, "no usable image", "broken.png is unreadable")
    assert not (out / "y.png").exists()


@pytest.mark.trains
@pytest.mark.slow
def test_cli_neighbours_and_duplicates(trained, capsys):
    root, run, big, small = trained
    out = root / "nb"
    shutil.copy(small[3], root / "small" / "again_003.png")
    assert cli.main(["neighbours", str(big[0]), str(small[1]), "--index", str(root / "small"),
                     "-k", "3", "-o", str(out / "grid.png"), *run]) == 0
    assert iio.imread(out / "grid.png").shape == (2 * RES, 4 * RES, 3)
    assert list((root / "runs" / "t" / "index_cache").glob("small-*.npz"))
    assert cli.main(["neighbours", "--index", str(root / "small"), "--duplicates",
                     "--threshold", "0.99999", "-o", str(out / "pairs.csv"), *run]) == 0
    log = capsys.readouterr().out
    assert "from the cache" in log and "1 pair(s) of 9 image(s)" in log
    with open(out / "pairs.csv") as f:
        pairs = list(csv.DictReader(f))
    assert [(os.path.basename(p["file_a"]), os.path.basename(p["file_b"])) for p in pairs] == [
        ("003.png", "again_003.png")]
    assert cli.main(["neighbours", "--index", str(root / "small"), "-o", str(out / "g.png"),
                     *run]) == 1
    one_line_error(capsys, "give query images")


def test_an_index_cache_that_cannot_be_written_loses_no_codes(tmp_path, monkeypatch):
    """A full disk or a read-only run folder while caching a folder's codes:
    a warning, and the codes all the same."""
    generator, encoder = build_generator(RES, Z_DIM, "sm_4x4", channels=16), \
        build_encoder(RES, Z_DIM, "sm_4x4", channels=16)
    lines = []
    model = api.OganModel(encoder, generator, 0.9, {"run": "r", "step": 1}, log=lines.append,
                          home=tmp_path / "run")
    paths = write_shapes(tmp_path / "pics", 4, 3)

    def read_only(path, *args, **kwargs):
        raise OSError(30, "Read-only file system", str(path))

    monkeypatch.setattr(cache, "atomic_write", read_only)
    index = model.index(tmp_path / "pics")
    assert index.codes.shape == (4, Z_DIM) and index.names == [str(p) for p in paths]
    assert "warning: not cached (" in lines[-1] and "Read-only file system" in lines[-1]
    assert not list((tmp_path / "run").rglob("*.npz"))

