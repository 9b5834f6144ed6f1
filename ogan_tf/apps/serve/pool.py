"""The page's HTTP server: the standard library's ThreadingHTTPServer with a
bounded number of request threads.

Every connection of ThreadingHTTPServer gets a thread of its own, with no
cap, so a few parallel uploads could exhaust the memory. Here WORKERS
threads do the work; past them, up to SPARES more connections are each
answered 503 in one line by a short-lived thread, and past those a
connection is closed unanswered. Errors inside a request never print a
traceback: a client gone away is silent, anything else one log line.
"""

import sys
import threading
from http.server import ThreadingHTTPServer

from ...errors import first_line
from ...messages import say
from .gate import bind_family

WORKERS = 8  # above the 6 connections a browser opens to one host
SPARES = 8   # connections at a time told "busy" rather than dropped


class PoolServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer on (host, port) with `workers` request threads.
    A handler learns whether it is a spare (to answer 503) from is_spare()."""

    daemon_threads = True
    block_on_close = False  # Ctrl-C never waits for a client's open connection

    def __init__(self, address, handler, workers=WORKERS, log=say):
        self.address_family = bind_family(*address)
        self.workers, self.spares = threading.Semaphore(workers), threading.Semaphore(SPARES)
        self.worker_count, self.log, self._local = workers, log, threading.local()
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        """A thread for the connection when a worker or a spare is free; else close it."""
        for slot, spare in ((self.workers, False), (self.spares, True)):
            if slot.acquire(blocking=False):
                try:
                    threading.Thread(target=self._work, daemon=True,
                                     args=(request, client_address, slot, spare)).start()
                except BaseException:
                    slot.release()
                    raise
                return
        self.shutdown_request(request)

    def _work(self, request, client_address, slot, spare):
        self._local.spare = spare
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            slot.release()

    def is_spare(self):
        """Whether the calling request thread is a spare (the workers are all busy)."""
        return getattr(self._local, "spare", False)

    def handle_error(self, request, client_address):
        """One line, no traceback; a closed or timed-out connection says nothing."""
        err = sys.exc_info()[1]
        if err is None or isinstance(err, OSError):
            return
        self.log(f"a request from {client_address[0]} failed: {type(err).__name__}: "
                 f"{first_line(err)}")
