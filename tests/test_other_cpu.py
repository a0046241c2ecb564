"""`make test` executes the chapters on another CPU's code paths (tools/other_cpu.py):
the switches must take effect, or the chapters would only be checked on this CPU."""

import platform
import subprocess
import sys

import pytest

from tools import other_cpu

pytestmark = pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                                reason="the restricted code paths are x86-64 ISA levels")

PROBE = """
import numpy.core._multiarray_umath as m
print(sorted(k for k, v in m.__cpu_features__.items() if v))
"""


def test_numpy_loses_its_vector_paths_and_onednn_is_capped_below_this_cpu():
    from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__ as here
    env = other_cpu.environment()
    probe = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                           text=True, check=True)
    there = eval(probe.stdout.strip().splitlines()[-1])
    assert here.get("AVX2") and "AVX2" not in there
    assert not any(f.startswith("AVX512") for f in set(there) & set(__cpu_dispatch__))
    assert env["ONEDNN_MAX_CPU_ISA"] == ("AVX2" if here.get("AVX512F") else "SSE41")


def test_the_command_runs_with_the_switches_and_returns_its_status():
    ok = "import os, sys; sys.exit(0 if os.environ.get('ONEDNN_MAX_CPU_ISA') else 3)"
    assert other_cpu.main(["python", "-c", ok]) == 0
    assert other_cpu.main(["python", "-c", "raise SystemExit(7)"]) == 7
