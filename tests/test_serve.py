"""The page's server (use/serve/): its JSON endpoints on a tiny model, bad
input answered on the page while serving goes on, one trace per model."""

import io
import json
import struct
import urllib.error
import urllib.request
import zlib

import imageio.v3 as iio
import keras
import numpy as np
import pytest

from ogan_tf.core.networks import build_encoder, build_generator
from ogan_tf.data.shapes import make_shapes
from ogan_tf.use import api
from ogan_tf.use.latent import files
from ogan_tf.use.serve import Explorer, server

Z_DIM, RES = 8, 32


def png_bytes(image):
    out = io.BytesIO()
    iio.imwrite(out, image, extension=".png")
    return out.getvalue()


def huge_png(side=20000):
    """A PNG whose header says side x side pixels (the data is a few bytes):
    over Pillow's decompression-bomb limit."""
    data = bytearray(png_bytes(np.zeros((8, 8, 3), np.uint8)))
    data[16:24] = struct.pack(">II", side, side)  # IHDR width, height
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def decoded(url):
    assert url.startswith("data:image/png;base64,")
    import base64
    return iio.imread(io.BytesIO(base64.b64decode(url.split(",", 1)[1])), extension=".png")


class Client:
    def __init__(self, url):
        self.url = url

    def get(self, path):
        with urllib.request.urlopen(self.url + path.lstrip("/")) as r:
            return r.status, r.read()

    def post(self, path, body, raw=False):
        data = body if raw else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path.lstrip("/"), data=data, method="POST")
        try:
            with urllib.request.urlopen(request) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """A tiny untrained model served with a home folder holding a good
    direction and one of another z_dim, and an index folder of 12 shapes."""
    root = tmp_path_factory.mktemp("serve")
    home = root / "run"
    files.Direction(np.arange(Z_DIM) - 3.5, {"run": "tiny", "step": 0}).save(
        home / "directions" / "ramp.npy")
    files.Direction(np.ones(16), {"run": "big", "step": 9}).save(home / "directions" / "big.npy")
    images = make_shapes(12, RES, 4)[0]
    (root / "set").mkdir()
    for i, image in enumerate(images):
        iio.imwrite(root / "set" / f"{i:03d}.png", image)
    keras.utils.set_random_seed(0)
    model = api.OganModel(build_encoder(RES, Z_DIM, "sm_4x4", channels=16),
                          build_generator(RES, Z_DIM, "sm_4x4", channels=16), 0.9,
                          {"run": "tiny", "step": 0, "weights": "raw"}, log=lambda m: None,
                          home=home)
    explorer = Explorer(model, root / "set", log=lambda m: None)
    srv, url = server.start(explorer, log=lambda m: None)
    yield Client(url), explorer, model, images, root
    srv.shutdown()
    srv.server_close()


def test_the_page_and_its_description(page):
    client, explorer, model, images, root = page
    status, html = client.get("/")
    assert status == 200 and b'src="page.js"' in html
    assert client.get("/page.js")[0] == 200 and client.get("/page.css")[0] == 200
    info = json.loads(client.get("/api/info")[1])
    assert (info["run"], info["z_dim"], info["resolution"]) == ("tiny", Z_DIM, RES)
    names = [s["name"] for s in info["sliders"]]
    assert names[0] == "ramp" and "pc1" in names and "big" not in names
    assert len(info["notes"]) == 1 and "big left out" in info["notes"][0]
    assert "z_dim is 8" in info["notes"][0]
    assert info["index"]["images"] == 12


def test_endpoints_match_the_api(page):
    client, explorer, model, images, root = page
    status, answer = client.post("/api/encode", png_bytes(images[3]), raw=True)
    assert status == 200
    code = np.asarray(answer["code"], np.float32)
    assert np.allclose(code, model.encode(images[3:4])[0], atol=1e-4)
    assert np.array_equal(decoded(answer["original"]), images[3])
    recon = model.reconstruct(images[3:4])[0].astype(int)
    assert np.abs(decoded(answer["reconstruction"]).astype(int) - recon).max() <= 1

    ramp = files.load_direction(root / "run" / "directions" / "ramp.npy")[0]
    status, answer = client.post("/api/edit", {"code": code.tolist(), "moves": [
        {"vector": ramp.tolist(), "amount": 1.5}]})
    expected = model.edit(images[3:4], ramp, [1.5])[0, 0].astype(int)
    assert status == 200 and np.abs(decoded(answer["image"]).astype(int) - expected).max() <= 1

    other = model.encode(images[5:6])[0]
    status, answer = client.post("/api/interpolate", {"a": code.tolist(), "b": other.tolist(),
                                                      "steps": 5})
    strip = [decoded(u).astype(int) for u in answer["images"]]
    assert status == 200 and len(strip) == 5
    assert np.abs(strip[-1] - model.reconstruct(images[5:6])[0]).max() <= 1

    status, answer = client.post("/api/neighbours", {"code": code.tolist(), "k": 3})
    first = answer["neighbours"][0]
    assert status == 200 and first["name"].endswith("003.png") and first["similarity"] > 0.9999
    status, answer = client.post("/api/samples", {"n": 16, "seed": 2})
    assert status == 200 and len(answer["images"]) == 16
    assert decoded(answer["images"][0]).shape == (RES, RES, 3)


@pytest.mark.parametrize("body, status, message", [
    (b"this is not an image\n", 400, "not a PNG, JPEG, WebP or BMP image"),
    ("truncated", 400, "undecodable PNG"),
    ("huge", 400, "exceeds limit"),
])
def test_bad_uploads_are_a_message_and_serving_goes_on(page, body, status, message):
    client, explorer, model, images, root = page
    if body == "truncated":
        body = png_bytes(images[0])[:200]
    elif body == "huge":
        body = huge_png()
    got, answer = client.post("/api/encode", body, raw=True)
    assert got == status and message in answer["error"] and "\n" not in answer["error"]
    assert client.post("/api/encode", png_bytes(images[1]), raw=True)[0] == 200


def test_bad_requests_are_one_line(page, monkeypatch):
    client, explorer, model, images, root = page
    wide = io.BytesIO()
    np.save(wide, np.ones(16, np.float32))
    status, answer = client.post("/api/direction", wide.getvalue(), raw=True)
    assert status == 400 and "16 entries" in answer["error"] and "z_dim is 8" in answer["error"]
    short = io.BytesIO()
    np.save(short, np.ones(Z_DIM, np.float32))
    status, answer = client.post("/api/direction", short.getvalue(), raw=True)
    assert status == 200 and np.isclose(np.linalg.norm(answer["vector"]), 1.0)
    assert client.post("/api/edit", {"code": [0.0] * 5})[1]["error"].startswith(
        "the code has shape (5,)")
    status, answer = client.post("/api/edit", {"code": [0.0] * Z_DIM, "moves": [
        {"vector": [1.0] * Z_DIM, "amount": "much"}]})
    assert status == 400 and "amount of slider 1 is not a finite number" in answer["error"]
    assert "not JSON" in client.post("/api/edit", b"{", raw=True)[1]["error"]
    assert client.post("/api/interpolate", {"a": [0] * Z_DIM, "b": [0] * Z_DIM,
                                            "steps": 99})[0] == 400
    assert client.post("/api/nothing", {})[0] == 404
    monkeypatch.setattr(server, "MAX_BODY", 100)
    status, answer = client.post("/api/encode", png_bytes(images[0]), raw=True)
    assert status == 413 and "the page takes files up to" in answer["error"]


def test_requests_trace_each_model_once_and_write_nothing(page):
    client, explorer, model, images, root = page
    for i in range(3):
        client.post("/api/encode", png_bytes(images[i]), raw=True)
        client.post("/api/samples", {"n": 5 + i, "seed": i})
    written = sorted(p.relative_to(root / "run").parts[0] for p in (root / "run").rglob("*")
                     if p.is_file())
    assert set(written) == {"directions", "index_cache"}  # what `neighbours` writes
    if keras.backend.backend() == "tensorflow":
        assert explorer.encoder.traces() == 1 and explorer.generator.traces() == 1
