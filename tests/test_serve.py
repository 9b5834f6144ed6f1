"""The page's server (apps/serve/): its JSON endpoints on a tiny model, bad
input answered on the page while serving goes on, one trace per model; and
what a hostile web page or client may send it: a foreign Host, a
cross-origin POST, bad lengths, a short body, a pixel bomb, more
connections than workers."""

import io
import json
import socket
import struct
import time
import urllib.error
import urllib.request
import warnings
import zlib
from pathlib import Path

import imageio.v3 as iio
import keras
import numpy as np
import pytest

from ogan_tf import api
from ogan_tf.apps import serve as serve_module
from ogan_tf.apps.serve import Explorer, engine, gate, pool, server
from ogan_tf.data.shapes import make_shapes
from ogan_tf.latent import files
from ogan_tf.model.networks import build_encoder, build_generator

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
        self.port = int(url.rstrip("/").rsplit(":", 1)[1])

    def get(self, path):
        with urllib.request.urlopen(self.url + path.lstrip("/")) as r:
            return r.status, r.read()

    def post(self, path, body, raw=False, kind=None):
        data = body if raw else json.dumps(body).encode()
        kind = kind or ("application/octet-stream" if raw else "application/json")  # page.js's
        request = urllib.request.Request(self.url + path.lstrip("/"), data=data, method="POST",
                                         headers={"Content-Type": kind})
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
    logged = []
    srv, url = server.start(explorer, log=logged.append)
    client = Client(url)
    client.server, client.logged = srv, logged
    yield client, explorer, model, images, root
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

    status, answer_edit = client.post("/api/edit", {"code": answer["code"], "moves": []})
    assert answer_edit["image"] == answer["reconstruction"]  # the code travels exactly

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
    assert "not JSON" in client.post("/api/edit", b"{", raw=True,
                                             kind="application/json")[1]["error"]
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


# What a hostile page or client may send ----------------------------------------------------
ONE_LINE_JSON = "application/json"


def raw_request(port, data, timeout=10, half_close=False):
    """Send `data` on a fresh connection to 127.0.0.1:port and read until the
    server closes it: (status, {header: value}, body as JSON or bytes, seconds)."""
    start = time.monotonic()
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(data)
        if half_close:
            conn.shutdown(socket.SHUT_WR)
        while got := conn.recv(65536):
            chunks.append(got)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    if headers.get("Content-Type") == ONE_LINE_JSON:
        body = json.loads(body)
    return int(lines[0].split()[1]), headers, body, time.monotonic() - start


def http(port, method, path, headers=(), body=b"", host=None, **kw):
    """raw_request of one request; Host 127.0.0.1:port unless `host`."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host or f'127.0.0.1:{port}'}", *headers]
    return raw_request(port, ("\r\n".join(lines) + "\r\n\r\n").encode() + body, **kw)


def assert_one_line(status, headers, body, wanted):
    assert status == wanted, (status, body)
    assert headers["Content-Type"] == ONE_LINE_JSON and "\n" not in body["error"]


def test_a_foreign_host_is_refused(page, capfd):
    client = page[0]
    for host in ("evil.example:%d", "127.0.0.1:%d0", "localhost.evil.example:%d"):
        status, headers, body, _ = http(client.port, "GET", "/api/info", host=host % client.port)
        assert_one_line(status, headers, body, 421)
        assert "answers requests for http://127.0.0.1:" in body["error"]
    status, headers, body, _ = http(client.port, "GET", "/api/info",
                                    host=f"LocalHost:{client.port}")
    assert status == 200 and body["run"] == "tiny"
    assert "Traceback" not in "".join(capfd.readouterr()) and not client.logged


def test_a_cross_origin_post_is_refused(page):
    client = page[0]
    samples = json.dumps({"n": 1}).encode()

    def post(kind, origin=None):
        headers = [f"Content-Type: {kind}", f"Content-Length: {len(samples)}"]
        return http(client.port, "POST", "/api/samples", headers + (
            [f"Origin: {origin}"] if origin else []), samples)

    for origin in ("http://evil.example", "null", f"http://127.0.0.1:{client.port}.evil.example"):
        for kind in ("text/plain", "application/json"):
            status, headers, body, _ = post(kind, origin)
            assert_one_line(status, headers, body, 403)
            assert "cannot use this server" in body["error"]
    for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        status, headers, body, _ = post(kind)  # what a form may send across sites
        assert_one_line(status, headers, body, 415)
    assert post("application/json; charset=utf-8", f"http://localhost:{client.port}")[0] == 200
    assert post("application/json")[0] == 200  # curl and scripts send no Origin


@pytest.mark.parametrize("headers, status, message", [
    (["Content-Length: -1"], 400, "is not one number of bytes"),
    (["Content-Length: abc"], 400, "is not one number of bytes"),
    (["Content-Length: 1e3"], 400, "is not one number of bytes"),
    (["Content-Length: 2", "Content-Length: 3"], 400, "is not one number of bytes"),
    ([], 411, "no Content-Length"),
    (["Transfer-Encoding: chunked"], 411, "in chunks is not read"),
    (["Content-Length: 99999999999"], 413, "the page takes requests up to"),
])
def test_bad_lengths_are_one_line(page, capfd, headers, status, message):
    client = page[0]
    got = http(client.port, "POST", "/api/samples", ["Content-Type: application/json", *headers],
               b"2\r\n{}\r\n0\r\n\r\n" if "chunked" in str(headers) else b"{}")
    assert_one_line(*got[:3], status)
    assert message in got[2]["error"] and got[3] < 5
    assert "Traceback" not in "".join(capfd.readouterr()) and not client.logged
    assert client.post("/api/samples", {"n": 1})[0] == 200


def test_a_short_body_is_dropped_after_the_timeout(page, monkeypatch):
    client = page[0]
    assert server.TIMEOUT < 60  # what a connection that stops sending may hold a worker
    monkeypatch.setattr(client.server.RequestHandlerClass, "timeout", 1)
    headers = ["Content-Type: application/json", "Content-Length: 100"]
    status, got, body, seconds = http(client.port, "POST", "/api/samples", headers, b'{"n": 1')
    assert_one_line(status, got, body, 408)
    assert 0.9 < seconds < 5 and "stopped coming for 1 s" in body["error"]
    status, got, body, seconds = http(client.port, "POST", "/api/samples", headers, b'{"n": 1',
                                      half_close=True)  # the client says it is done
    assert_one_line(status, got, body, 400)
    assert "ended after 7 of its 100 bytes" in body["error"] and seconds < 1


def grey_png(side):
    """A side x side PNG of one grey, written row by row with zlib (about
    140 KB for 12000: it decodes to side^2 bytes, and RGB three times that)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))

    packer, row = zlib.compressobj(9), bytes(side + 1)  # filter byte 0, then the row
    pixels = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


def memory_kb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])


def test_a_pixel_bomb_is_refused_before_decoding(page, recwarn):
    client, explorer, model, images, root = page
    try:
        Path("/proc/self/clear_refs").write_text("5")  # the peak memory starts again here
    except OSError:
        pytest.skip("needs Linux's /proc/self/clear_refs to measure the peak memory")
    bomb = grey_png(12000)  # 144 million pixels, below Pillow's own refusal
    assert len(bomb) < 200_000
    before = memory_kb("VmRSS")
    status, answer = client.post("/api/encode", bomb, raw=True)
    grown = (memory_kb("VmHWM") - before) / 1024
    assert status == 400 and "12000 x 12000 = 144,000,000 pixels" in answer["error"]
    assert f"up to {explorer.max_pixels:,} pixels" in answer["error"]
    assert grown < 100, f"the server grew by {grown:.0f} MB"  # decoding it takes 432 MB
    assert not [w for w in recwarn if issubclass(w.category, Warning)
                and "decompression bomb" in str(w.message)]
    assert client.post("/api/encode", png_bytes(images[1]), raw=True)[0] == 200


def test_the_pixel_limit_fits_the_model(page, monkeypatch):
    client, explorer, model, images, root = page
    assert engine.pixel_limit(32) == 16_000_000 and engine.pixel_limit(1024) == 16 * 1024 ** 2
    assert engine.pixel_limit(4096) == 40_000_000 and engine.pixel_limit(32, 5000) == 5000
    with pytest.raises(engine.OganError, match="--max-pixels takes 1 to 89478485"):
        engine.pixel_limit(32, 10 ** 9)
    monkeypatch.setattr(explorer, "max_pixels", 64 * 64 - 1)
    big = png_bytes(np.zeros((64, 64, 3), np.uint8))
    status, answer = client.post("/api/encode", big, raw=True)
    assert status == 400 and "64 x 64 = 4,096 pixels" in answer["error"]
    assert client.post("/api/encode", png_bytes(images[1]), raw=True)[0] == 200


def test_connections_past_the_workers_are_told_busy(page):
    client = page[0]
    idle = [socket.create_connection(("127.0.0.1", client.port)) for _ in range(pool.WORKERS)]
    try:
        status, headers, body, seconds = http(client.port, "GET", "/api/info")
        assert_one_line(status, headers, body, 503)
        assert f"busy with {pool.WORKERS} requests" in body["error"] and seconds < 5
    finally:
        for conn in idle:
            conn.close()
    deadline = time.monotonic() + 10
    while (status := http(client.port, "GET", "/api/info")[0]) == 503:
        assert time.monotonic() < deadline, "the workers were not given back"
        time.sleep(0.05)
    assert status == 200


@pytest.mark.parametrize("method, path, host", [
    ("GET", "/", None), ("GET", "/api/info", None), ("GET", "/nothing", None),
    ("GET", "/", "evil.example"), ("PUT", "/", None), ("BREW", "/", None)])
def test_every_answer_carries_the_security_headers(page, method, path, host):
    client = page[0]
    status, headers, body, _ = http(client.port, method, path, host=host)
    for name, value in gate.SECURITY_HEADERS:
        assert headers[name] == value
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert status == 200 or "\n" not in body["error"]


def test_the_gate_knows_the_served_names():
    remote = gate.Gate("192.168.1.5", "192.168.1.5", 8000)
    assert {"192.168.1.5:8000", "127.0.0.1:8000", "localhost:8000", "[::1]:8000"} <= remote.hosts
    assert "192.168.1.5" not in remote.hosts and remote.url == "http://192.168.1.5:8000/"
    assert "http://localhost:8000" in remote.origins
    assert gate.Gate("0.0.0.0", "0.0.0.0", 8000).url == "http://127.0.0.1:8000/"
    assert gate.Gate("::1", "::1", 80).url == "http://[::1]:80/"
    assert "[::1]" in gate.Gate("::1", "::1", 80).hosts  # port 80 is left out of a Host
    assert gate.is_loopback("127.0.0.1") and gate.is_loopback("::1")
    assert not gate.is_loopback("0.0.0.0") and not gate.is_loopback("192.168.1.5")


def test_serve_says_its_url_and_warns_off_loopback(page, monkeypatch):
    client, explorer, model, images, root = page
    monkeypatch.setattr(serve_module, "load", lambda *a, **k: model)
    monkeypatch.setattr(pool.PoolServer, "serve_forever", lambda self: (_ for _ in ()).throw(
        KeyboardInterrupt))
    said = []
    serve_module.serve("tiny", port=0, samples=0, log=said.append, host="localhost")
    assert any("on http://localhost:" in line for line in said) and said[-1] == "stopped"
    assert not any(line.startswith("warning") for line in said)
    monkeypatch.setattr(serve_module, "is_loopback", lambda address: False)
    said.clear()
    serve_module.serve("tiny", port=0, samples=0, log=said.append, host="localhost")
    assert any(line.startswith("warning: serving on 127.0.0.1, which is not this machine only")
               for line in said)
