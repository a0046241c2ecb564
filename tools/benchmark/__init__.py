"""Measured speeds and their ratios to the book's targets (a report, not a test).

    python -m tools.benchmark                  # every subject, then the chapter times
    python -m tools.benchmark methods lime     # these subjects only
    python -m tools.benchmark --help           # the subjects and their options

All numbers are measured in this one run on this machine: a ratio compares two timings
taken side by side, so it means something even on a busy or slow machine.

One module per subject, each with a ``run`` (or the functions it lists):
:mod:`.generation` (data generation and the forward pass), :mod:`.methods` (every
method, the gradient and faithfulness ratios), :mod:`.perturbation` (occlusion and RISE
against their bare forward passes), :mod:`.lime_anchors` (LIME against the lime
package's own usage, anchors), :mod:`.featurevis` (ms per optimisation step),
:mod:`.scorecard` (the scorecard's settings against the defaults) and
:mod:`.book` (a chapter kernel's start-up imports, with and without compiled bytecode, and
the chapters' execution times recorded by ``tools.execute_chapters``; no chapter is
executed). The timing helpers they share are in :mod:`.timing`.
"""
