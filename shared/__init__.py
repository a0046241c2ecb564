"""Helper package of the book *Interpreting convolutional neural networks*.

Modules (imported on demand, so ``import shared`` stays light):

- :mod:`shared.data`: the synthetic lesion dataset with ground-truth masks
- :mod:`shared.models`: the Xception builder, the shared checkpoint, the ImageNet path
- :mod:`shared.train`: ``python -m shared.train`` reproduces the checkpoint (and
  :mod:`shared.train_folder` trains on a reader's own folder of images)
- :mod:`shared.examples`: the fixed test images every chapter explains
- :mod:`shared.setting`: ``BOOK_MODEL``, which points the chapters at a reader's own model
- :mod:`shared.methods`: the interpretability methods, one module each
- :mod:`shared.metrics`: explanations measured against the masks
- :mod:`shared.concepts`: testing with concept activation vectors (TCAV)
- :mod:`shared.concept_sets`: drawn concept and random image sets for TCAV, and its ground truth
- :mod:`shared.counterfactuals`: the smallest scene edits or pixel changes that change a decision
- :mod:`shared.scorecard`: every method and control on the same 200 images, against
  ground truth made by redrawing the scenes (``python -m shared.scorecard``)
- :mod:`shared.viz`: the book's figure style
"""

__version__ = "0.1.0"
