"""The checks a request to the page's server passes before any work, and
the headers every answer carries.

A local server is reached by every page the user's browser opens: a page
of another site can POST to it, and through DNS rebinding (its own name
pointed at 127.0.0.1) read its answers. So the Host must be an address the
server is served on, a POST's Origin (when there is one) the page's own,
and its Content-Type what the page sends (JSON or bytes, which a browser
sends across sites only after asking, and this server never agrees). The
body's length is checked before a byte is read. A failed check is a
`Refused`: a status and one line, answered as JSON.
"""

import ipaddress
import re
import socket
from http import HTTPStatus

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
JSON_TYPES = ("application/json",)
BYTES_TYPES = ("application/octet-stream",)  # what page.js sends for a file
IMAGE_TYPES = BYTES_TYPES + ("image/*",)  # and what curl --data-binary may say of one

# The page's own script, stylesheet and fetches, images as data: URLs; no
# frames, no forms, no plugins, no referrer.
SECURITY_HEADERS = (
    ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                                "form-action 'none'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)
_DIGITS = re.compile(r"[0-9]{1,18}")


class Refused(Exception):
    """A request answered with `status` and one line, without doing its work.
    drain: bytes of body to read first (None: a small declared body)."""

    def __init__(self, status, message, drain=None):
        super().__init__(message)
        self.status, self.message, self.drain = HTTPStatus(status), message, drain


def host_name(address):
    """An address as a URL or a Host header writes it (IPv6 in brackets)."""
    return f"[{address}]" if ":" in address and not address.startswith("[") else address


def bind_family(host, port):
    """The socket family for serving on `host` (IPv4, IPv6, or a name's first)."""
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                              flags=socket.AI_PASSIVE)[0][0]


def is_loopback(address):
    """Whether a bound address is this machine only (127.0.0.0/8, ::1)."""
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def page_url(host, bound, port):
    """The URL to print: --host's, or 127.0.0.1's when it names every address."""
    try:
        wildcard = ipaddress.ip_address(bound.split("%")[0]).is_unspecified
    except ValueError:
        wildcard = False
    return f"http://{'127.0.0.1' if wildcard else host_name(host)}:{port}/"


def media_type(headers):
    return (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()


def declared_length(headers):
    """The Content-Length when it is one plain number, else None."""
    value = (headers.get("Content-Length") or "").strip()
    return int(value) if _DIGITS.fullmatch(value) else None


class Gate:
    """The checks of one server: the names it answers to (the loopback names,
    --host and the address bound, each with the port served)."""

    def __init__(self, host, bound, port):
        names = {*LOOPBACK_NAMES, host_name(host), host_name(bound)}
        self.hosts = frozenset(f"{n}:{port}".lower() for n in names)
        if port == 80:  # a browser leaves the default port out
            self.hosts |= {n.lower() for n in names}
        self.origins = frozenset(f"http://{h}" for h in self.hosts)
        self.url = page_url(host, bound, port)

    def check_host(self, headers):
        hosts = headers.get_all("Host") or []
        if len(hosts) != 1 or hosts[0].strip().lower() not in self.hosts:
            shown = ", ".join(repr(h) for h in hosts) or "no Host"
            raise Refused(HTTPStatus.MISDIRECTED_REQUEST,
                          f"this server answers requests for {self.url}, not {shown}")

    def check_origin(self, headers):
        """A POST from a page of another origin is refused (a form or script
        on any site the browser shows could send one)."""
        origin = headers.get("Origin")
        if origin is not None and origin.strip().lower() not in self.origins:
            raise Refused(HTTPStatus.FORBIDDEN,
                          f"a page from {origin!r} cannot use this server; open {self.url}")

    @staticmethod
    def check_type(headers, accepted):
        kind = media_type(headers)
        ok = any(kind == a or (a.endswith("/*") and kind.startswith(a[:-1]) and kind != a[:-1])
                 for a in accepted)
        if not ok:
            raise Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                          f"this endpoint takes {' or '.join(accepted)}, not "
                          f"{kind or 'a body without Content-Type'}")

    @staticmethod
    def body_length(headers, limit, what):
        """The declared body length, checked: no chunked body, one plain
        number, at most `limit` (else 413, the body drained so a browser
        reads the answer)."""
        if headers.get("Transfer-Encoding") is not None:
            raise Refused(HTTPStatus.LENGTH_REQUIRED,
                          "a body sent in chunks is not read; send it with a Content-Length",
                          drain=0)
        values = {v.strip() for v in headers.get_all("Content-Length") or []}
        if not values:
            raise Refused(HTTPStatus.LENGTH_REQUIRED, "the request has no Content-Length")
        if len(values) > 1 or not _DIGITS.fullmatch(next(iter(values))):
            shown = ", ".join(sorted(repr(v) for v in values))
            raise Refused(HTTPStatus.BAD_REQUEST,
                          f"Content-Length {shown} is not one number of bytes", drain=0)
        size = int(next(iter(values)))
        if size > limit:
            raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                          f"that {what} is {size / 2**20:.0f} MB; the page takes {what}s up "
                          f"to {limit // 2**20} MB", drain=size)
        return size
