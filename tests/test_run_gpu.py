"""benchmarks/run_gpu.sh shrunk to a CPU check (--cpu-smoke): every stage a
GPU call runs, with tiny networks and few steps, and the rows and ratios it
writes. Needs PyTorch and JAX beside the package: skipped without them
(`pip install torch==2.13.0` installs PyTorch for the CPU)."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MISSING = [name for name in ("torch", "jax") if importlib.util.find_spec(name) is None]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.trains,
    pytest.mark.skipif(bool(MISSING), reason=f"{' and '.join(MISSING)} not installed: "
                       "run_gpu.sh times PyTorch beside our step on JAX (pip install "
                       "torch==2.13.0 'jax[cpu]')"),
]


def gpu_report():
    spec = importlib.util.spec_from_file_location("gpu_report",
                                                  ROOT / "benchmarks" / "gpu_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_cpu_smoke_writes_every_row_and_ratios_computed_from_them(tmp_path):
    report, out = gpu_report(), tmp_path / "out"
    env = {**os.environ, "PYTHON": sys.executable, "TMPDIR": str(tmp_path)}
    done = subprocess.run(["bash", "benchmarks/run_gpu.sh", "--cpu-smoke", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "exit status" not in done.stdout, done.stdout  # no stage failed or ran out
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["env.txt", "rows.jsonl", "ratios.jsonl", "torch.log", "keras.log", "keras_256.log",
         "train_128.log", "train_256.log"])  # at most 8 files: what a device call returns

    rows = read_jsonl(out / "rows.jsonl")
    assert sorted((r["tag"], r["mode"]) for r in rows) == sorted(
        [("128", m) for m in ("plain_f32", "plain_bf16", "fit_f32", "fit_bf16", "fused_f32",
                              "fastest", "train")] + [("256", "fit_f32"), ("256", "train")])
    for row in rows:
        fields = report.TRAIN_FIELDS if row["kind"] == "train" else report.STEP_FIELDS
        assert set(fields) <= set(row), (row, set(fields) - set(row))
        assert row["img_s"] > 0 and row["res"] == 32 and row["batch"] == 8
    by_key = {(r["tag"], r["mode"]): r for r in rows}
    assert by_key["128", "fastest"]["fused"] and by_key["128", "fastest"]["precision"] == \
        "mixed_bfloat16"
    assert by_key["256", "fit_f32"]["variant"] == "sm_4x4"  # the 256 px preset's networks
    train_256 = by_key["256", "train"]
    assert train_256["preset"] == "celeba_hq_256" and train_256["ema_decays"] == [0.999, 0.9999]
    assert by_key["128", "train"]["preset"] == "folder"
    for train in (train_256, by_key["128", "train"]):  # steps/s of the rows after the first
        assert train["steps"] == 6 and train["rows_used"] == 2
        assert train["img_s"] == pytest.approx(train["steps_s"] * train["batch"])

    ratios = read_jsonl(out / "ratios.jsonl")
    assert [r["name"] for r in ratios] == [entry[0] for entry in report.RATIOS]
    for ratio in ratios:
        (*top, top_field), (*bottom, bottom_field) = ratio["numerator"], ratio["denominator"]
        assert ratio["ratio"] == pytest.approx(by_key[tuple(top)][top_field] /
                                               by_key[tuple(bottom)][bottom_field])
        assert ratio["met"] == (None if ratio["goal"] is None else ratio["ratio"] >= ratio["goal"])
        assert ratio["name"] in done.stdout  # the table printed at the end
    assert "tensorflow importable" in (out / "env.txt").read_text()
