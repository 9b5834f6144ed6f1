#!/usr/bin/env bash
# make test-package: ogan_tf as a user installs it, not as the tree runs it.
# Builds the sdist and, from it, the wheel; checks the sdist carries what its
# tests need; installs the wheel into a fresh venv; then, from a folder
# outside the tree: --version, exit statuses, training the default preset (its
# log read as a file), a folder of 40 PNGs and the offline digits for a few
# steps, samples, export, the export loaded by plain Keras in a fresh process,
# the Python API, and the page answering once.
# Usage: tests/test_package.sh [PYTHON]   (default: python3; a venv with `build`
# in BUILD_PYTHON, default .venv/bin/python, builds the package)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${1:-python3}
build_python=${BUILD_PYTHON:-$root/.venv/bin/python}
work=$(mktemp -d /tmp/ogan-package.XXXXXX)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "test-package: FAILED: $*" >&2; exit 1; }
step() { echo "test-package: $*"; }

step "building the sdist and the wheel from it"
"$build_python" -m build --outdir "$work/dist" "$root" > "$work/build.log" 2>&1 ||
    { tail -20 "$work/build.log"; fail "python -m build"; }
sdist=$(ls "$work"/dist/*.tar.gz) wheel=$(ls "$work"/dist/*.whl)
listing=$(tar tzf "$sdist")
for member in LICENSE CITATION.cff README.md tests/conftest.py tests/fresh_keras.py \
        tests/cpu_durations.py experiments/shapes.toml; do
    grep -q "^[^/]*/$member\$" <<< "$listing" || fail "the sdist lacks $member"
done
members=$("$build_python" -c "import sys, zipfile; print('\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))" "$wheel")
grep -qx "ogan_tf/experiments/shapes.toml" <<< "$members" || fail "the wheel lacks the presets"
grep -qx "ogan_tf/apps/serve/static/index.html" <<< "$members" || fail "the wheel lacks the page"

step "installing $(basename "$wheel") into a fresh venv ($("$python" -V))"
"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --upgrade pip > /dev/null
"$work/venv/bin/pip" install --quiet "$wheel[quality]" > "$work/install.log" 2>&1 ||
    { tail -20 "$work/install.log"; fail "pip install"; }
bin=$work/venv/bin
mkdir "$work/user" && cd "$work/user"  # outside the tree: nothing of it on the path
dirs=(--runs-dir runs --samples-dir samples)

"$bin/ogan-tf" --version | grep -q "^ogan-tf [0-9]" || fail "--version"
set +e
"$bin/ogan-tf" train --no-such-flag > /dev/null 2>&1; usage=$?
"$bin/ogan-tf" samples --run ghost "${dirs[@]}" > /dev/null 2> err.txt; missing=$?
set -e
[ "$usage" = 2 ] || fail "an unknown flag exited $usage, not 2"
[ "$missing" = 1 ] || fail "a missing run exited $missing, not 1"
[ "$(wc -l < err.txt)" = 1 ] || fail "a missing run's error is not one line: $(cat err.txt)"

step "training the default preset for 200 steps, its log to a file"
"$bin/ogan-tf" train --steps 200 --run default "${dirs[@]}" > train.log 2>&1 ||
    { tail -20 train.log; fail "ogan-tf train (default preset)"; }
if grep -q $'[\x1b\r\b]' train.log; then fail "escape codes or redraws in the log"; fi
counts=$(grep -cE '^step [0-9,]+/200 ' train.log || true)
[ "$counts" = 2 ] || fail "expected 2 progress lines (100/200, 200/200), found $counts"
grep -qE '^step 200/200 \(100\.0%\)' train.log || fail "the progress does not reach 200/200"
grep -q '/100 \[' train.log && fail "a second progress counter in the log"

step "a folder of 40 PNGs (its --dry-run first), and the offline digits"
"$bin/python" - << 'EOF'
import numpy as np
from pathlib import Path
from PIL import Image

folder, rng = Path("images"), np.random.default_rng(0)
folder.mkdir()
for i in range(40):
    Image.fromarray(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(folder / f"{i}.png")
EOF
"$bin/ogan-tf" train --data images/ --run planned --dry-run "${dirs[@]}" > plan.log 2>&1 ||
    { tail -20 plan.log; fail "ogan-tf train --data images/ --dry-run"; }
grep -q "folder recipe: resolution 32" plan.log && grep -q "^  steps .* = 3000" plan.log ||
    { cat plan.log; fail "--dry-run prints the folder recipe's resolution and steps"; }
[ ! -e runs/planned ] || fail "--dry-run wrote runs/planned"
"$bin/ogan-tf" train --data images/ --steps 3 --run folder "${dirs[@]}" > folder.log 2>&1 ||
    { tail -20 folder.log; fail "ogan-tf train --data images/"; }
"$bin/ogan-tf" train --data mnist --data-dir data --steps 3 --run mnist "${dirs[@]}" \
    > mnist.log 2>&1 || { tail -20 mnist.log; fail "ogan-tf train --data mnist"; }

step "samples (quiet), export, plain Keras, the API"
quiet=$("$bin/ogan-tf" samples -q --run default "${dirs[@]}")
[ -z "$quiet" ] || fail "--quiet printed: $quiet"
ls samples/default/random_step*.png > /dev/null || fail "no grids from ogan-tf samples"
"$bin/ogan-tf" export --run folder --runs-dir runs > /dev/null || fail "ogan-tf export"
"$bin/python" - << 'EOF' || fail "the export does not load in plain Keras"
import sys

import keras
import numpy as np

encoder = keras.saving.load_model("runs/folder/export/encoder.keras")
codes = encoder.predict(np.zeros((2, *encoder.input_shape[1:]), "float32"), verbose=0)
assert codes.shape[0] == 2 and "ogan_tf" not in sys.modules, codes.shape
EOF
"$bin/python" -c "
from ogan_tf import api
import numpy as np
model = api.load('default', 'runs')
assert model.encode(np.zeros((1, 32, 32, 3), 'uint8')).shape == (1, model.z_dim)
" || fail "api.load"

step "the page"
"$bin/ogan-tf" serve --run default --runs-dir runs --port 0 --samples 0 > serve.log 2>&1 &
server=$!
for _ in $(seq 120); do grep -q "serving" serve.log && break; sleep 1; done
url=$(grep -o 'http://127.0.0.1:[0-9]*/' serve.log) || { cat serve.log; fail "ogan-tf serve"; }
"$bin/python" -c "
import json, sys, urllib.request
info = json.load(urllib.request.urlopen(sys.argv[1] + 'api/info', timeout=30))
assert info, info
" "$url" || fail "the page's /api/info"
kill "$server"; server=""
step "passed"
