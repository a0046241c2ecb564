"""Run a command on another CPU's code paths, as a reader's machine would run it.

    python -m tools.other_cpu pytest --nbval book/chapters      # what `make test` does
    python -m tools.other_cpu --print                            # the variables it sets

A reader's machine is not the one that stored the book's outputs: numpy's SIMD code and
oneDNN's kernels (TensorFlow) sum in other orders on other CPUs, and results change in
the last bits. Two switches move this machine to other code paths:

* ``NPY_DISABLE_CPU_FEATURES``: numpy's dispatch without AVX, AVX2, FMA3, F16C and every
  AVX-512 feature this CPU has (numpy refuses to disable a feature the CPU lacks, so the
  list is made from what it reports);
* ``ONEDNN_MAX_CPU_ISA``: oneDNN one instruction-set level below this CPU's best: AVX2 on
  an AVX-512 machine (the kernels of most laptops), SSE4.1 otherwise (any x86-64).

Executing every chapter under nbval this way checks that the printed digits survive
another CPU, in the same time as a normal run (AVX2 kernels are nearly as fast here).
On a machine that is not x86-64 the command runs unchanged.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys

SLOW_PATH = ("AVX", "F16C", "FMA3", "AVX2")        # and every AVX512 feature


def environment(base: dict | None = None) -> dict:
    """``base`` (default: this process's environment) with the two switches set; on a CPU
    that is not x86-64, ``base`` unchanged."""
    env = dict(os.environ if base is None else base)
    if platform.machine() not in ("x86_64", "AMD64"):
        return env
    from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    disable = [f for f in __cpu_dispatch__
               if (f in SLOW_PATH or f.startswith("AVX512")) and __cpu_features__.get(f)]
    if disable:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(disable)
    env["ONEDNN_MAX_CPU_ISA"] = "AVX2" if __cpu_features__.get("AVX512F") else "SSE41"
    return env


def changed(env: dict) -> dict:
    return {k: v for k, v in env.items() if os.environ.get(k) != v}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    env = environment()
    if not argv or argv == ["--print"]:
        for key, value in changed(env).items():
            print(f"{key}={value!r}")
        return 0
    for key, value in changed(env).items():
        print(f"on another CPU's code paths: {key}={value}", flush=True)
    if argv[0] in ("pytest", "python"):       # this interpreter, not whatever is on PATH
        argv = [sys.executable] + (["-m", "pytest"] if argv[0] == "pytest" else []) + argv[1:]
    return subprocess.run(argv, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
