"""Stored outputs reproduce on another CPU.

A reader's machine is not the one that stored the outputs: numpy's SIMD code paths and
oneDNN's kernels change floating-point results in the last bits from one CPU to the
next. Here two chapters (the data chapter and a gradient chapter) are executed again
under nbval with numpy's vector dispatch limited to SSE4.2 (every dispatched feature
from AVX on, which this machine has, disabled) and oneDNN limited to SSE4.1: another
code path on any x86-64 machine. Their stored outputs must still match.
"""

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ["data_and_model", "gradcam"]
SLOW_PATH = ("AVX", "F16C", "FMA3", "AVX2")     # and every AVX512 feature


def restricted_cpu_environment() -> dict:
    """Environment variables that move numpy and TensorFlow to older code paths."""
    from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    disable = [f for f in __cpu_dispatch__
               if (f in SLOW_PATH or f.startswith("AVX512")) and __cpu_features__.get(f)]
    env = dict(os.environ, ONEDNN_MAX_CPU_ISA="SSE41")
    if disable:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(disable)
    return env


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                    reason="the restricted code paths are x86-64 ISA levels")
def test_chapters_reproduce_on_restricted_cpu_code_paths():
    env = restricted_cpu_environment()
    probe = subprocess.run([sys.executable, "-c", "import numpy.core._multiarray_umath as m; "
                            "print(sorted(k for k, v in m.__cpu_features__.items() if v))"],
                           env=env, capture_output=True, text=True, check=True)
    assert "AVX2" not in probe.stdout      # the switch took effect
    notebooks = [str(ROOT / "book" / "chapters" / f"{c}.ipynb") for c in CHAPTERS]
    result = subprocess.run([sys.executable, "-m", "pytest", *notebooks, "-q", "-p",
                             "no:cacheprovider"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-6000:]
