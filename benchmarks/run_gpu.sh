#!/bin/bash
# One prepared GPU run: PyTorch plain port, then our OGAN step on Keras/JAX.
cd "$(dirname "$0")"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 BENCH_OUT=$OUT/bench_gpu.jsonl
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv > $OUT/gpu.txt 2>&1
KERAS_BACKEND=jax python3 -c "import keras, jax, torch; print('keras', keras.__version__, 'jax', jax.__version__, jax.devices(), 'torch', torch.__version__)" 2>&1 | tee -a $OUT/gpu.txt
timeout 110 python3 benchmarks/bench_gpu.py torch $BENCH_ARGS 2>&1 | tee $OUT/torch.log
KERAS_BACKEND=jax timeout 270 python3 benchmarks/bench_gpu.py keras $BENCH_ARGS 2>&1 | grep -v "^ *\[" | tee $OUT/keras.log
echo done
