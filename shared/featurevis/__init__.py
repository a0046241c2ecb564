"""Feature visualisation: images optimised to excite a class, a channel or a layer.

Attribution methods explain one prediction; the methods here explain the network from
inside: they *make* an input that a part of the network responds to strongly. Both are
the same loop, gradient ascent on the input:

* **activation maximisation** (Erhan et al. 2009; Simonyan, Vedaldi & Zisserman 2014;
  Olah, Mordvintsev & Schubert 2017, "Feature Visualization", Distill): start from
  grey noise and climb an :class:`Objective`, e.g. a class logit or one channel's mean
  activation (:func:`optimize`, in :mod:`~shared.featurevis.ascent`);
* **Deep Dream** (Mordvintsev, Olah & Tyka 2015, "Inceptionism", Google Research blog):
  start from a real image and raise a whole layer's activation, at several scales
  (:func:`deep_dream`, in :mod:`~shared.featurevis.dream`).

The parts, each replaceable, each in a module of its own:

* **objectives** (:func:`class_logit`, :func:`channel`, :func:`layer_activation`;
  :mod:`~shared.featurevis.objectives`), combined by weighted sums
  (``class_logit(2) + 0.5 * channel("block4_sepconv2_act", 7)``). A list of objectives
  gives one image each, optimised together in one batch by one compiled function per
  (model, objective structure) (:data:`TRACES` counts their traces);
* the **parametrization** (:mod:`~shared.featurevis.parametrizations`): raw
  ``"pixels"`` (kept in [0, 1] by clipping after each step), or lucid's ``"fourier"``
  basis (spectrum scaled by 1/frequency, colours decorrelated, mapped to [0, 1] by a
  sigmoid);
* **regularizers**: random transformations every step (lucid's
  ``standard_transforms``; :mod:`~shared.featurevis.transforms`), a Gaussian blur every
  few steps, a total-variation penalty, an L2 penalty
  (:mod:`~shared.featurevis.regularizers`); each one off when its weight or period is 0.

Where each default comes from is in :data:`SOURCES` (print them with :func:`defaults`;
:mod:`~shared.featurevis.registry`). Measurements for the chapters
(:mod:`~shared.featurevis.measures`): :func:`evaluate` (an objective's value, without
transformations), :func:`high_frequency_share`, :func:`shift_gap`,
:func:`strongest_channels` and the sanity check :func:`randomization_check`, whose
:func:`rank_correlation` is :func:`shared.metrics.rank_correlation` on the images'
values.
"""

from .ascent import ADAM, LEARNING_RATES, Visualization, evaluate, optimize
from .dream import deep_dream, dream_step, octave_sizes
from .measures import (RandomizationCheck, high_frequency_share, radial_power,
                       randomization_check, rank_correlation, shift_gap, spectral_distance,
                       strongest_channels)
from .objectives import (KINDS, TRACES, Objective, Term, channel, class_logit,
                         layer_activation)
from .parametrizations import COLOR_CORRELATION_SQRT, PARAMETRIZATIONS, Fourier, Pixels
from .regularizers import l2_penalty, total_variation
from .registry import SOURCES, VISUALIZATIONS, defaults
from .transforms import Transforms

__all__ = ["ADAM", "COLOR_CORRELATION_SQRT", "Fourier", "KINDS", "LEARNING_RATES", "Objective",
           "PARAMETRIZATIONS", "Pixels", "RandomizationCheck", "SOURCES", "TRACES", "Term",
           "Transforms", "VISUALIZATIONS", "Visualization", "channel", "class_logit",
           "deep_dream", "defaults", "dream_step", "evaluate", "high_frequency_share",
           "l2_penalty", "layer_activation", "octave_sizes", "optimize", "radial_power",
           "randomization_check", "rank_correlation", "shift_gap", "spectral_distance",
           "strongest_channels", "total_variation"]
