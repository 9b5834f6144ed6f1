"""`ogan-tf serve`: a local page on a trained model (docs/page.md).

  engine.py   Explorer: the one loaded G and E on fixed batch shapes, the
              run's directions, principal axes and index folder
  server.py   the standard library's ThreadingHTTPServer on 127.0.0.1: the
              static page (static/) and its JSON endpoints
  static/     index.html, page.js, page.css (package data)
"""

from ...errors import OganError
from ..api import load
from .engine import Explorer
from .server import make_server

__all__ = ["Explorer", "make_server", "serve"]


def serve(run, runs_dir="runs", weights="auto", images=None, port=8765, samples=1000,
          log=print):
    """Load the run once and serve its page on http://127.0.0.1:port/ until
    Ctrl-C (then returns)."""
    model = load(run, runs_dir, weights, log=log)
    explorer = Explorer(model, images, samples, log)
    try:
        server = make_server(explorer, port, log)
    except OSError as err:
        raise OganError(f"cannot serve on 127.0.0.1:{port} ({err.strerror or err}); "
                        "pass another --port (PORT=)") from None
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    log(f"serving run {model.info.get('run')!r} (step {model.info.get('step')}, weights "
        f"{model.info.get('weights')}) on {url}  (Ctrl-C stops it)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log("stopped")
    finally:
        server.server_close()
