"""`ogan-tf serve`: a local page on a trained model (docs/page.md).

  engine.py   Explorer: the one loaded G and E on fixed batch shapes, the
              run's directions, principal axes and index folder; the
              upload pixel limit
  server.py   the static page (static/) and its JSON endpoints
  gate.py     what every request is checked for (Host, Origin, type,
              length) and the headers every answer carries
  pool.py     the HTTP server: ThreadingHTTPServer with bounded threads
  static/     index.html, page.js, page.css (package data)
"""

from ...api import load
from ...errors import OganError
from ...messages import say
from .engine import Explorer
from .gate import is_loopback
from .server import HOST, make_server

__all__ = ["Explorer", "make_server", "serve"]


def serve(run, runs_dir="runs", weights="auto", images=None, port=8765, samples=1000,
          log=say, host=HOST, max_pixels=None):
    """Load the run once and serve its page on http://host:port/ until
    Ctrl-C (then returns). host: 127.0.0.1 by default (this machine only);
    max_pixels: the largest image an upload may decode to (None: from the
    model's resolution)."""
    model = load(run, runs_dir, weights, log=log)
    explorer = Explorer(model, images, samples, log, max_pixels=max_pixels)
    try:
        server = make_server(explorer, port, log, host=host)
    except OSError as err:
        raise OganError(f"cannot serve on {host}:{port} ({err.strerror or err}); "
                        "pass another --port (PORT=) or --host") from None
    bound = server.server_address[0]
    if not is_loopback(bound):
        log(f"warning: serving on {bound}, which is not this machine only: whoever reaches "
            "it can use the page and see the --images folder; an ssh tunnel to 127.0.0.1 "
            "keeps it private (docs/page.md)")
    log(f"serving run {model.info.get('run')!r} (step {model.info.get('step')}, weights "
        f"{model.info.get('weights')}) on {server.url}  (Ctrl-C stops it)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log("stopped")
    finally:
        server.server_close()
