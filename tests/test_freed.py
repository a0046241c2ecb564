"""Every registered method frees the shared checkpoint.

Run as a reader would: a fresh interpreter (so that each library is imported for the
first time inside the method, as in a chapter), the shared checkpoint, one test image,
each method at its defaults except the number of samples or evaluations (:data:`CHEAP`:
the same code runs, fewer times); the model is dropped and collected, and a weak
reference tells whether anything (a cache, a closure, a library's stored traceback)
still holds it.
The toy-model version of this test (tests/test_engine.py) runs in the test process,
where earlier tests have already imported every library.
"""

import json
import os
import subprocess
import sys

import pytest

from shared import methods

pytestmark = pytest.mark.book

CHEAP = {"scorecam": {"layer": "block1_conv1_act"},      # 32 channels, not 512
         "smoothgrad": {"n_samples": 4}, "expected_gradients": {"n_samples": 4},
         "occlusion": {"patch": 56, "stride": 56}, "rise": {"n_samples": 64},
         "lime": {"n_samples": 50}, "kernel_shap": {"n_samples": 50},
         "partition_shap": {"max_evals": 50}, "deep_shap": {"n_samples": 4}}
"""Parameters that only set how many images a method scores (for Score-CAM, the layer:
one image per channel), made small: seconds, not minutes, for the whole registry."""

SCRIPT = """
import gc, json, sys, weakref
from shared import data, methods, models
image = data.load_split("test", 1).images[:1]
cheap = json.loads(sys.argv[1])
alive = {}
for name in sys.argv[2:]:
    model = models.load_model()
    methods.ATTRIBUTIONS[name](model, image, **cheap.get(name, {}))
    ref = weakref.ref(model)
    del model
    gc.collect()
    alive[name] = ref() is not None
print(json.dumps(alive))
"""


def test_every_method_frees_the_shared_checkpoint():
    names = list(methods.ATTRIBUTIONS)
    result = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(CHEAP), *names],
                            capture_output=True,
                            text=True, timeout=1200,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert result.returncode == 0, result.stderr[-3000:]
    alive = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(alive) == set(names)
    assert not any(alive.values()), f"still referenced after the call: {alive}"
