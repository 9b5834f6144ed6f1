"""The page's HTTP side: Python's standard ThreadingHTTPServer on 127.0.0.1,
the static page (static/, package data) and JSON endpoints over an Explorer.

    GET  /                   the page (static/index.html, page.js)
    GET  /api/info           the run, sizes, sliders, notes
    POST /api/encode         body: an image file's bytes -> original, reconstruction, code
    POST /api/edit           {"code", "moves": [{"vector", "amount"}]} -> image
    POST /api/interpolate    {"a", "b", "steps"} -> images
    POST /api/neighbours     {"code", "k"} -> [{name, similarity, image}]
    POST /api/samples        {"n", "seed"} -> images
    POST /api/direction      body: a direction .npy's bytes -> a slider

Images travel as PNG data URLs. Bad input is answered with status 400 (413
for a body over MAX_BODY) and {"error": one line}; the page shows it and the
server goes on serving. Nothing is written anywhere (the index cache is
written by Explorer, as `ogan-tf neighbours` does).
"""

import base64
import io
import json
import threading
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

from PIL import Image

from ...errors import OganError, first_line

MAX_BODY = 64 * 1024 * 1024  # bytes of one upload
DRAIN_MAX = 1024 * 1024 * 1024  # a larger body is not read to say it is too large
HOST = "127.0.0.1"
STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
          "/index.html": ("index.html", "text/html; charset=utf-8"),
          "/page.js": ("page.js", "text/javascript; charset=utf-8"),
          "/page.css": ("page.css", "text/css; charset=utf-8")}


class RequestError(OganError):
    """A request the page should not have sent (bad JSON, a missing field)."""


def png_url(image):
    """uint8 (h, w, 3) -> a PNG data URL."""
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def static_file(name):
    return resources.files(__package__).joinpath("static", name).read_bytes()


def _field(body, name, default=None, kind=None):
    if name not in body and default is None:
        raise RequestError(f"the request lacks {name!r}")
    value = body.get(name, default)
    if kind is not None:
        try:
            value = kind(value)
        except (TypeError, ValueError):
            raise RequestError(f"{name!r} must be a {kind.__name__}, not {value!r}") from None
    return value


def api_routes(explorer):
    """{path: handler(body) -> JSON-able}: JSON bodies are dicts, the two
    upload routes get the raw bytes."""

    def encode(data):
        image, recon, code = explorer.upload(data)
        return {"original": png_url(image), "reconstruction": png_url(recon),
                "code": [round(float(c), 5) for c in code]}

    def edit(body):
        moves = _field(body, "moves", [])
        if not isinstance(moves, list) or not all(isinstance(m, dict) for m in moves):
            raise RequestError("'moves' must be a list of {vector, amount}")
        return {"image": png_url(explorer.edit(_field(body, "code"), moves))}

    def interpolate(body):
        images = explorer.interpolate(_field(body, "a"), _field(body, "b"),
                                      _field(body, "steps", 8, int))
        return {"images": [png_url(i) for i in images]}

    def neighbours(body):
        found = explorer.neighbours(_field(body, "code"), _field(body, "k", 8, int))
        return {"neighbours": [{"name": n, "similarity": round(s, 4),
                                "image": None if i is None else png_url(i)}
                               for n, s, i in found]}

    def samples(body):
        images = explorer.samples(_field(body, "n", 16, int), _field(body, "seed", 0, int))
        return {"images": [png_url(i) for i in images]}

    return {"/api/encode": encode, "/api/edit": edit, "/api/interpolate": interpolate,
            "/api/neighbours": neighbours, "/api/samples": samples,
            "/api/direction": lambda data: explorer.direction(data)}


RAW_BODY = ("/api/encode", "/api/direction")


class JsonHandler(BaseHTTPRequestHandler):
    """The HTTP plumbing of the page's server: JSON (or bytes) answers, quiet logs."""

    server_version = "ogan-tf"

    def log_message(self, format, *args):  # the console keeps only errors
        pass

    def _send(self, status, body, kind="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def _drain(self, size, chunk=1 << 20):
        """Read and drop a body (up to DRAIN_MAX; past it the connection closes)."""
        if size > DRAIN_MAX:
            self.close_connection = True
            return
        while size > 0:
            got = self.rfile.read(min(chunk, size))
            if not got:
                break
            size -= len(got)


def json_object(data):
    """A request body as a JSON object, else RequestError."""
    try:
        data = json.loads(data or b"{}")
    except ValueError as err:
        raise RequestError(f"the request is not JSON ({err})") from None
    if not isinstance(data, dict):
        raise RequestError("the request must be a JSON object")
    return data


def make_handler(explorer, log=print):
    """The page's request handler: its files, /api/info and the POST endpoints."""
    routes = api_routes(explorer)

    class Handler(JsonHandler):
        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/api/info":
                return self._send(HTTPStatus.OK, {**explorer.describe(), "max_upload": MAX_BODY})
            if path in STATIC:
                name, kind = STATIC[path]
                return self._send(HTTPStatus.OK, static_file(name), kind)
            self._send(HTTPStatus.NOT_FOUND, {"error": f"no page {path}"})

        def do_POST(self):
            path = self.path.split("?", 1)[0]
            if path not in routes:
                return self._send(HTTPStatus.NOT_FOUND, {"error": f"no endpoint {path}"})
            size = int(self.headers.get("Content-Length") or 0)
            if size > MAX_BODY:
                self._drain(size)  # a browser reads the answer once its upload is sent
                return self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {
                    "error": f"that file is {size / 2**20:.0f} MB; the page takes files up "
                             f"to {MAX_BODY // 2**20} MB"})
            data = self.rfile.read(size)
            try:
                result = routes[path](data if path in RAW_BODY else json_object(data))
            except OganError as err:
                return self._send(HTTPStatus.BAD_REQUEST, {"error": first_line(err)})
            except Exception as err:  # a bug: said on the page and the console, serving on
                log(f"error in {path}:\n{traceback.format_exc()}")
                return self._send(HTTPStatus.INTERNAL_SERVER_ERROR,
                                  {"error": f"internal error: {first_line(err)}"})
            self._send(HTTPStatus.OK, result)

    return Handler


def make_server(explorer, port=0, log=print):
    """A ThreadingHTTPServer on 127.0.0.1:port (0: a free port), not started."""
    server = ThreadingHTTPServer((HOST, port), make_handler(explorer, log))
    server.daemon_threads = True
    return server


def start(explorer, port=0, log=print):
    """(server, url) with the server answering on a background thread;
    server.shutdown() stops it."""
    server = make_server(explorer, port, log)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{HOST}:{server.server_address[1]}/"
