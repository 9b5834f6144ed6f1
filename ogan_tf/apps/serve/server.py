"""The page's HTTP side: the static page (static/, package data) and JSON
endpoints over an Explorer, on a PoolServer (pool.py) bound to 127.0.0.1
or --host.

    GET  /                   the page (static/index.html, page.js)
    GET  /api/info           the run, sizes, sliders, notes
    POST /api/encode         body: an image file's bytes -> original, reconstruction, code
    POST /api/edit           {"code", "moves": [{"vector", "amount"}]} -> image
    POST /api/interpolate    {"a", "b", "steps"} -> images
    POST /api/neighbours     {"code", "k"} -> [{name, similarity, image}]
    POST /api/samples        {"n", "seed"} -> images
    POST /api/direction      body: a direction .npy's bytes -> a slider

Every request passes the gate first (gate.py: Host, Origin, Content-Type,
Content-Length); every answer carries its security headers. Images travel
as PNG data URLs. Bad input is answered with a 4xx status and {"error": one
line}; the page shows it and the server goes on serving. A connection that
sends nothing for TIMEOUT seconds is dropped. Nothing is written anywhere
(the index cache is written by Explorer, as `ogan-tf neighbours` does).
"""

import base64
import io
import json
import threading
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from importlib import resources

from PIL import Image

from ...errors import OganError, first_line
from ...messages import say
from .gate import (
    BYTES_TYPES,
    IMAGE_TYPES,
    JSON_TYPES,
    SECURITY_HEADERS,
    Gate,
    Refused,
    declared_length,
)
from .pool import WORKERS, PoolServer

MAX_BODY = 64 * 1024 * 1024  # bytes of one upload
MAX_JSON = 4 * 1024 * 1024  # bytes of a JSON request (a few dozen slider vectors)
DRAIN_MAX = 1024 * 1024 * 1024  # a larger body is not read to say it is too large
SMALL_BODY = 64 * 1024  # read before a refusal, so the client sees the answer, not a reset
TIMEOUT = 30  # seconds a connection may wait on its client (then 408, closed)
SPARE_TIMEOUT = 5  # the same for a connection that is only told the server is busy
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
                "code": [float(c) for c in code]}  # exact: edits start from the same z

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


UPLOADS = {"/api/encode": IMAGE_TYPES, "/api/direction": BYTES_TYPES}  # raw-body routes


class JsonHandler(BaseHTTPRequestHandler):
    """The HTTP plumbing of the page's server: the gate on every request,
    JSON (or bytes) answers with the security headers, quiet logs, errors
    of the standard library's parsing as one line of JSON too."""

    server_version = "ogan-tf"
    timeout = TIMEOUT  # StreamRequestHandler sets it on the socket

    def setup(self):
        if self.server.is_spare():
            self.timeout = SPARE_TIMEOUT
        super().setup()

    def log_message(self, format, *args):  # the console keeps only errors
        pass

    def end_headers(self):  # on every answer, the standard library's included
        for name, value in SECURITY_HEADERS:
            self.send_header(name, value)
        super().end_headers()

    def send_error(self, code, message=None, explain=None):
        """A bad request line, an unknown method, headers too long: one line of JSON."""
        self.close_connection = True
        self._send(code, {"error": message or HTTPStatus(code).phrase})

    def parse_request(self):
        """The request line and headers, then the checks every request passes."""
        if not super().parse_request():
            return False
        try:
            if self.server.is_spare():
                raise Refused(HTTPStatus.SERVICE_UNAVAILABLE,
                              f"the server is busy with {self.server.worker_count} requests; "
                              "try again in a moment")
            self.server.gate.check_host(self.headers)
        except Refused as err:
            self._refuse(err)
            return False
        return True

    def _send(self, status, body, kind="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _refuse(self, err):
        """Answer a failed check in one line and close the connection."""
        self.close_connection = True
        size = err.drain if err.drain is not None else declared_length(self.headers)
        if size is not None and (err.drain is not None or size <= SMALL_BODY):
            self._drain(size)
        self._send(err.status, {"error": err.message})

    def _drain(self, size, chunk=1 << 20):
        """Read and drop a body (up to DRAIN_MAX; past it the connection closes)."""
        if size > DRAIN_MAX:
            return
        while size > 0:
            got = self.rfile.read(min(chunk, size))
            if not got:
                break
            size -= len(got)

    def _body(self, limit, what):
        """The request's body, exactly its Content-Length (checked by the gate)."""
        size = self.server.gate.body_length(self.headers, limit, what)
        try:
            data = self.rfile.read(size)
        except TimeoutError:
            raise Refused(HTTPStatus.REQUEST_TIMEOUT, f"the body stopped coming for "
                                                      f"{self.timeout} s", drain=0) from None
        if len(data) < size:
            raise Refused(HTTPStatus.BAD_REQUEST,
                          f"the body ended after {len(data)} of its {size} bytes", drain=0)
        return data


def json_object(data):
    """A request body as a JSON object, else RequestError."""
    try:
        data = json.loads(data or b"{}")
    except ValueError as err:
        raise RequestError(f"the request is not JSON ({first_line(err)})") from None
    if not isinstance(data, dict):
        raise RequestError("the request must be a JSON object")
    return data


def make_handler(explorer, log=say):
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
            try:
                if path not in routes:
                    raise Refused(HTTPStatus.NOT_FOUND, f"no endpoint {path}")
                self.server.gate.check_origin(self.headers)
                if path in UPLOADS:
                    self.server.gate.check_type(self.headers, UPLOADS[path])
                    body = self._body(MAX_BODY, "file")
                else:
                    self.server.gate.check_type(self.headers, JSON_TYPES)
                    body = self._body(MAX_JSON, "request")
            except Refused as err:
                return self._refuse(err)
            self._answer(path, routes[path], body)

        def _answer(self, path, route, body):
            try:
                result = route(body if path in UPLOADS else json_object(body))
            except OganError as err:
                return self._send(HTTPStatus.BAD_REQUEST, {"error": first_line(err)})
            except Exception as err:  # a bug: said on the page and, in one line, the console
                where = traceback.extract_tb(err.__traceback__)[-1]
                log(f"error in {path}: {type(err).__name__}: {first_line(err)} "
                    f"({where.filename.rsplit('/', 1)[-1]}:{where.lineno})")
                return self._send(HTTPStatus.INTERNAL_SERVER_ERROR,
                                  {"error": f"internal error: {first_line(err)}"})
            self._send(HTTPStatus.OK, result)

    return Handler


def make_server(explorer, port=0, log=say, host=HOST, workers=WORKERS):
    """A PoolServer on host:port (0: a free port), not started; its `gate`
    answers to the loopback names and `host` with the port bound, and its
    `url` is the page's address."""
    server = PoolServer((host, port), make_handler(explorer, log), workers, log)
    bound, port = server.server_address[:2]
    server.gate = Gate(host, bound, port)
    server.url = server.gate.url
    return server


def start(explorer, port=0, log=say, host=HOST, workers=WORKERS):
    """(server, url) with the server answering on a background thread;
    server.shutdown() stops it."""
    server = make_server(explorer, port, log, host, workers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.url
