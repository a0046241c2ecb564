"""Saliency maps and SmoothGrad: the gradient of the class logit with respect to the pixels.

Both differentiate the target class's logit ``y_c`` (never the softmax probability,
whose gradient also depends on the other classes):

* saliency (Simonyan, Vedaldi & Zisserman 2014, ICLR workshop):
  ``M_ij = max_channel |dy_c/dx_ij|``;
* SmoothGrad (Smilkov et al. 2017, arXiv:1706.03825): the gradient averaged over noisy
  copies, ``1/n sum_s dy_c/dx (x + eps_s)`` with ``eps_s ~ N(0, sigma^2)``.
"""

from __future__ import annotations

import numpy as np

from . import primitives
from .postprocess import reduce_channels
from .registry import attribution

_REDUCE = "Simonyan et al. 2014: the largest absolute value over the colour channels"


@attribution(register=False)
def input_gradients(model, images, targets, *, batch_size=32):
    """Raw gradients d y_c / d x of the target logits, float32 (N, H, W, 3)."""
    return primitives.gradients(model, images, targets, batch_size=batch_size)


@attribution(sources={"reduce": _REDUCE})
def saliency(model, images, targets, *, reduce="max_abs", batch_size=32):
    """Saliency maps (N, H, W): the input gradient of the target logit, reduced over
    the colour channels by ``reduce`` (see :data:`shared.methods.REDUCTIONS`)."""
    grads = primitives.gradients(model, images, targets, batch_size=batch_size)
    return reduce_channels(grads, reduce)


_SMOOTH = {
    "n_samples": "Smilkov et al. 2017: little changes beyond about 50 samples",
    "noise": "Smilkov et al. 2017: 10-20 % of the input range; 0.15 is the middle",
    "seed": "any: the noise of sample s of image i depends only on (seed, i, s)",
}


@attribution(register=False, sources=_SMOOTH)
def smooth_gradients(model, images, targets, *, n_samples=50, noise=0.15, seed=0,
                     batch_size=32):
    """SmoothGrad's mean gradient over ``n_samples`` noisy copies, (N, H, W, 3).

    ``noise`` is the standard deviation as a fraction of the input range (1 here:
    images are in [0, 1]). The noise of sample ``s`` of image ``i`` depends only on
    ``(seed, i, s)``, so results do not depend on the batching.
    """
    sigma = np.float32(noise * (1.0 - 0.0))   # a fraction of the input range [0, 1]

    def noisy(image, sample):
        eps = [np.random.default_rng([seed, i, s]).standard_normal(images.shape[1:], np.float32)
               for i, s in zip(image, sample)]
        return images[image] + sigma * np.stack(eps)

    return primitives.mean_input_gradients(model, targets, noisy, n_samples,
                                           batch_size=batch_size)


@attribution(sources={**_SMOOTH, "reduce": _REDUCE})
def smoothgrad(model, images, targets, *, n_samples=50, noise=0.15, seed=0,
               reduce="max_abs", batch_size=32):
    """SmoothGrad maps (N, H, W): the mean noisy gradient, reduced over channels."""
    grads = smooth_gradients.unchecked(model, images, targets, n_samples=n_samples,
                                       noise=noise, seed=seed, batch_size=batch_size)
    return reduce_channels(grads, reduce)
