"""One fresh Python process that loads saved files with plain Keras.

Several tests check that a saved file loads in a process that never
imported ogan_tf (no custom objects, nothing registered by our import).
Starting a Python that imports Keras and TensorFlow costs several CPU
seconds, so the session starts one such child and sends it each test's
script; each script runs in a namespace of its own with its own sys.argv,
and its output or traceback comes back. The child imports nothing of
ogan_tf, so a script may still assert `"ogan_tf" not in sys.modules`.
"""

import json
import os
import subprocess
import sys
import tempfile

# The child: reads one JSON request per line, answers one JSON line.
SERVER = r"""
import contextlib, io, json, os, sys, traceback
# Answers on a copy of stdout; anything else written to fd 1 goes to stderr.
answers = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
for line in sys.stdin:
    request = json.loads(line)
    out = io.StringIO()
    ok, error = True, ""
    sys.argv = ["-c", *request["argv"]]
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(request["script"], "<test script>", "exec"), {"__name__": "__main__"})
    except BaseException:
        ok, error = False, traceback.format_exc()
    answers.write(json.dumps({"ok": ok, "out": out.getvalue(), "error": error}) + "\n")
    answers.flush()
"""


class Result:
    def __init__(self, ok, out, error):
        self.ok, self.out, self.error = ok, out, error


class FreshKeras:
    """run(script, *argv) -> Result(ok, out, error) from the shared child."""

    def __init__(self):
        self.stderr = tempfile.TemporaryFile(mode="w+")
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        self.process = subprocess.Popen([sys.executable, "-c", SERVER], env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.stderr)

    def run(self, script, *argv):
        self.process.stdin.write(json.dumps({"script": script, "argv": list(map(str, argv))})
                                 + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:  # the child died: its stderr says why
            self.stderr.seek(0)
            return Result(False, "", f"the child exited ({self.process.wait()}): "
                          + self.stderr.read()[-3000:])
        return Result(**json.loads(line))

    def close(self):
        self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.stderr.close()
