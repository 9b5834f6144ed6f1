#!/bin/bash
# The GPU figures in one call (benchmarks/README.md#gpu), from the repository
# root, on a machine with a GPU, PyTorch and JAX and no TensorFlow:
#
#   benchmarks/run_gpu.sh OUT_DIR                 # at most 9 minutes on one GPU
#   benchmarks/run_gpu.sh --cpu-smoke OUT_DIR     # the same shrunk to a CPU check (SMOKE=1)
#
# 1. installs what the machine lacks (keras, namex, optree, lmdb) offline
#    from the wheels `make gpu-wheels` put in benchmarks/wheels/ (WHEELS=);
#    the package itself runs from this working tree;
# 2. the plain PyTorch port's step, float32 (its default TF32) and bf16
#    autocast, at 128 px batch 64 (bench_gpu.py torch);
# 3. our step on Keras/JAX at 128 px batch 64: float32, bf16, fused, fastest;
#    and float32 at the 256 px EMA preset's settings (bench_gpu.py keras);
# 4. `ogan-tf train` through the real input pipeline on a generated folder of
#    JPEGs with the default callbacks, at 128 px batch 64 (the folder preset)
#    and at celeba_hq_256's settings; steps/s from metrics.jsonl after the
#    first row (gpu_report.py train-row);
# 5. the ratios (gpu_report.py summary).
# OUT_DIR gets rows.jsonl (every row), ratios.jsonl, env.txt and one log per
# stage; each stage has a time limit (T_* below), and a stage that fails or
# runs out leaves its rows missing and the ratios say which.
set -u
cd "$(dirname "$0")/.." || exit 2
SMOKE=${SMOKE:-0}
DEST=""
for arg in "$@"; do
  case $arg in
    --cpu-smoke) SMOKE=1 ;;
    -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1' "$0"; exit 0 ;;
    -*) echo "run_gpu.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
    *) DEST=$arg ;;
  esac
done
DEST=${DEST:-${OUT:-}}
if [ -z "$DEST" ]; then echo "run_gpu.sh: name the folder for the rows (see --help)" >&2; exit 2; fi
mkdir -p "$DEST" && DEST=$(cd "$DEST" && pwd) || exit 2
PY=${PYTHON:-python3}
WHEELS=${WHEELS:-$PWD/benchmarks/wheels}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ogan_gpu.XXXXXX") || exit 2
trap 'rm -rf "$WORK"' EXIT
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=3
ROWS=$DEST/rows.jsonl
for file in rows.jsonl ratios.jsonl torch.log keras.log keras_256.log train_128.log train_256.log
do : > "$DEST/$file"; done  # a folder used before starts empty

if [ "$SMOKE" = 1 ]; then  # a CPU check: tiny networks, few steps
  SIZE_128=(--res 32 --batch 8) SIZE_256=(--res 32 --batch 8) STEPS=(--steps 2 --repeats 1)
  SMOKE_NETS=(--smoke)
  TRAIN_ALL=(--resolution 32 --batch-size 8 --channels 32 --log-every 2 --sample-every 4
             --checkpoint-every 4)
  TRAIN_128=(--steps 6) TRAIN_256=(--steps 6)
  IMAGES=(--count 40 --size 40) IMAGES_256=(--count 40 --size 40)
  # generous: a shared 2-core machine compiles slowly, and a smoke run checks, not times
  # One OpenMP thread: PyTorch's spin-waiting threads ran its tiny step 50x slower
  # on the loaded 2-core development machine (1.8 against 94 img/s).
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
  : "${T_TORCH:=600}" "${T_KERAS:=1200}" "${T_TRAIN:=900}"
else
  SIZE_128=(--res 128 --batch 64) SIZE_256=() STEPS=(--steps 20 --repeats 3)
  SMOKE_NETS=()
  TRAIN_ALL=()
  TRAIN_128=(--steps "${TRAIN_STEPS_128:-600}") TRAIN_256=(--steps "${TRAIN_STEPS_256:-300}")
  IMAGES=(--count 512 --size 160) IMAGES_256=(--count 512 --size 320)
  # at most 530 s together: with the set-up, inside a device call's 600 s
  : "${T_TORCH:=60}" "${T_KERAS:=180}" "${T_KERAS_256:=80}" "${T_TRAIN:=90}" "${T_TRAIN_256:=120}"
fi
: "${T_KERAS_256:=$T_KERAS}" "${T_TRAIN_256:=$T_TRAIN}"

stage() {  # stage NAME SECONDS COMMAND...: run it with a time limit, log in $DEST/NAME.log
  local name=$1 seconds=$2; shift 2
  echo "== $name (at most ${seconds} s): $*"
  timeout -k 15 "$seconds" "$@" >> "$DEST/$name.log" 2>&1
  local rc=$?
  local why=""; [ $rc = 124 ] && why=", out of time"
  [ $rc = 0 ] || echo "   $name: exit status $rc$why (see $name.log)"
  grep -h '^{' "$DEST/$name.log" | tail -n 20 | cut -c1-160
}

# 1. what the machine lacks (of what `make gpu-wheels` carries), installed offline
missing=$("$PY" - <<'EOF'
import importlib.util
carried = {"keras": "keras", "namex": "namex", "optree": "optree", "lmdb": "lmdb"}
print(" ".join(d for module, d in carried.items() if importlib.util.find_spec(module) is None))
EOF
)
if [ -n "$missing" ]; then
  echo "== installing from $WHEELS: $missing"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --find-links "$WHEELS" --target "$WORK/site" $missing || {
    echo "run_gpu.sh: could not install $missing from $WHEELS; run 'make gpu-wheels'" \
      "where pip reaches PyPI and carry benchmarks/wheels" >&2
    exit 1; }
fi
export PYTHONPATH="$PWD:$WORK/site${PYTHONPATH:+:$PYTHONPATH}"
{
  date -u +"date %Y-%m-%dT%H:%M:%SZ"
  changed=$(git diff --quiet 2>/dev/null || echo ' (changed)')
  echo "git $(git rev-parse --short HEAD 2>/dev/null || echo '?')$changed"
  [ "$SMOKE" = 1 ] && echo "smoke run (--cpu-smoke): tiny networks, few steps; no figures"
  if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1
  else
    echo "gpu: none (no nvidia-smi)"
  fi
  echo "cpu $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) x $(nproc)"
  "$PY" - <<'EOF' 2>&1
import importlib.util, sys
import imageio, jax, keras, numpy, PIL, scipy, torch
print("python", sys.version.split()[0], "keras", keras.__version__, "jax", jax.__version__,
      jax.devices(), "torch", torch.__version__, "numpy", numpy.__version__,
      "pillow", PIL.__version__, "imageio", imageio.__version__, "scipy", scipy.__version__)
print("tensorflow importable:", importlib.util.find_spec("tensorflow") is not None)
EOF
} > "$DEST/env.txt"
cat "$DEST/env.txt"

# The image folders `ogan-tf train` reads (before any timing: nothing else runs then)
"$PY" benchmarks/gpu_report.py images "$WORK/img128" "${IMAGES[@]}" &&
  "$PY" benchmarks/gpu_report.py images "$WORK/img256" "${IMAGES_256[@]}" || exit 1

# 2, 3. the steps
stage torch "$T_TORCH" "$PY" benchmarks/bench_gpu.py torch --tag 128 "${SIZE_128[@]}" \
  "${STEPS[@]}" "${SMOKE_NETS[@]}" --modes plain_f32,plain_bf16 --out "$ROWS"
stage keras "$T_KERAS" "$PY" benchmarks/bench_gpu.py keras --tag 128 "${SIZE_128[@]}" \
  "${STEPS[@]}" "${SMOKE_NETS[@]}" --modes fit_f32,fit_bf16,fused_f32,fastest --out "$ROWS"
stage keras_256 "$T_KERAS_256" "$PY" benchmarks/bench_gpu.py keras --tag 256 \
  --preset celeba_hq_256 "${SIZE_256[@]}" "${STEPS[@]}" "${SMOKE_NETS[@]}" --modes fit_f32 \
  --out "$ROWS"

# 4. ogan-tf train on the folders (the folder preset at 128 px; celeba_hq_256)
train() {  # train TAG SECONDS FLAGS...
  local tag=$1 seconds=$2; shift 2
  stage "train_$tag" "$seconds" "$PY" -m ogan_tf train --data "$WORK/img$tag/" --run "t$tag" \
    --runs-dir "$WORK/runs" --samples-dir "$WORK/samples" "${TRAIN_ALL[@]}" "$@"
  "$PY" benchmarks/gpu_report.py train-row "$WORK/runs/t$tag" --tag "$tag" --out "$ROWS" \
    >> "$DEST/train_$tag.log" 2>&1 || echo "   train_$tag: no rate (see train_$tag.log)"
  tail -n 1 "$DEST/train_$tag.log" | cut -c1-160
}
train 128 "$T_TRAIN" "${TRAIN_128[@]}"
train 256 "$T_TRAIN_256" --preset celeba_hq_256 "${TRAIN_256[@]}"

# 5. the ratios
echo "== ratios (rows in $DEST)$([ "$SMOKE" = 1 ] && echo '; a smoke run: no figures')"
"$PY" benchmarks/gpu_report.py summary "$ROWS" --out "$DEST/ratios.jsonl"
