"""Testing with Concept Activation Vectors (TCAV; Kim et al. 2018, ICML, "Interpretability
Beyond Feature Attribution: Quantitative Testing with Concept Activation Vectors").

An attribution map says *where* a model looked; TCAV asks whether a human concept
("red", "striped", "blotchy") matters to a class, for any Keras model the engine
accepts (:mod:`shared.methods.graph`), at any of its convolutional feature layers.

1. **CAV** (paper Sec. 3.2): the activations ``f_l(x)`` of layer ``l``, flattened, of
   concept images (label 1) and random images (label 0) are separated by a linear
   classifier; the concept activation vector ``v_C^l`` is the normal of its decision
   boundary, pointing toward the concept, unit norm. Its held-out accuracy says the
   concept is *linearly readable* at that layer, not that the model *uses* it.
2. **Directional derivative** (Sec. 3.3): how the logit ``h_{l,k}`` of class ``k`` moves
   when the activation moves toward the concept::

       S_{C,k,l}(x) = lim_{e -> 0} (h_{l,k}(f_l(x) + e v_C^l) - h_{l,k}(f_l(x))) / e
                    = grad_{f_l(x)} h_{l,k}(f_l(x)) . v_C^l

   (the target *logit*, as the engine's gradient methods use; the reference code
   differentiates the cross-entropy loss instead and counts negative values, which has
   the same sign for two classes whose logits mirror each other, not in general).
3. **TCAV score** (Sec. 3.4): the share of the class's images whose directional
   derivative is positive, ``TCAV_{C,k,l} = |{x in X_k : S_{C,k,l}(x) > 0}| / |X_k|``.
4. **Significance** (Sec. 3.5): a CAV learnt from one random set may be meaningless, so
   one CAV is learnt per random set and the concept's TCAV scores are compared, by a
   two-sided t-test, with the scores of CAVs learnt between random sets (the null
   distribution, centred on 0.5). With several concepts, a Bonferroni factor divides
   the level.

Choices, and where they come from (the reference implementation is
``github.com/tensorflow/tcav``, files ``tcav/cav.py``, ``tcav/tcav.py``, ``tcav/utils.py``):

* **classifier**: ``"logistic"`` (default), scikit-learn's ``LogisticRegression``
  (L2, C = 1, lbfgs, unpenalised intercept; ``max_iter=1000`` so that it converges on
  wide activations), the reference code's ``model_type='logistic'``; or ``"sgd"``,
  ``SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3)``, a hinge-loss linear SVM
  trained by stochastic gradient descent, the reference code's default
  (``model_type='linear'``), here seeded. Logistic regression is the default because
  its objective is strictly convex (one solution, whatever the order of the examples)
  and because, with its intercept fitted exactly, a direction along which every concept
  image has the same activation gets no weight from the concept images. SGD's intercept
  is learnt slowly, so on activations that are not centred (after a ReLU every one is
  >= 0) part of the offset between the two sets' mean activations lands in the vector:
  on the tests' toy model (sets of 24 images, 768 numbers), a concept that raises the
  blue channel got SGD CAVs with a negative sum over the red channel in 97 % of 40
  draws (logistic regression: 57 %; SGD on activations centred by hand: 62 %), so the
  model's use of red made an unused concept "significant" in 16 of 20 tests; SGD's
  held-out accuracy was 0.54 against 0.93. Either way the CAV is the coefficient
  vector (for label 1, the concept, so it points toward the concept) divided by its
  norm; the norm never changes a sign, so it never changes a score.
* **split**: stratified, ``test_share=0.33`` of the images held out for the accuracy, as
  in the reference code's ``train_test_split(..., test_size=0.33, stratify=y)``; here
  seeded.
* **unequal set sizes**: the reference code truncates both sets to the smaller one's
  size ("to make sure positive and negative examples are balanced"), keeping the first
  images; so does :func:`cav` (:attr:`CAV.n_concept` and :attr:`CAV.n_random` are the
  numbers used). The paper draws its random sets at one fixed size (the code names them
  ``random500_i``), so equal sizes are the intended use; they are not required here.
* **null pairing**: with random sets ``R_0 .. R_{m-1}``, the concept gets ``m`` CAVs
  (``C`` vs ``R_i``) and the null ``m (m - 1)`` CAVs, one for every *ordered* pair
  ``R_i`` vs ``R_j``, ``i != j``: the reference code's pairing when no single random
  counterpart is named (``TCAV._process_what_to_run_expand``). ``R_j`` vs ``R_i``
  points roughly opposite to ``R_i`` vs ``R_j``, so the null scores come in near
  complementary pairs, centred on 0.5 by construction (and not independent, which the
  t-test assumes; the reference code accepts this).
* **test**: ``scipy.stats.ttest_ind`` with its defaults (Student's two-sample t-test,
  pooled variance, two-sided) between the concept's ``m`` scores and the null's
  ``m (m - 1)``, as the reference code's ``utils.print_results`` and
  ``utils_plot.plot_results`` do; significant when ``p < alpha / bonferroni``. The
  paper (Sec. 3.5) describes it as many training runs against different random sets,
  a two-sided t-test that rejects the null hypothesis of a TCAV score of 0.5, and a
  Bonferroni correction; the code's null is the random-vs-random scores, whose mean is
  about 0.5.

Two things to know when reading a result:

* the m concept CAVs share one concept set, so whatever that sample has by chance
  along a direction the model reads (its own noise) is in every one of them and the
  t-test, which treats the m scores as independent, does not average it out: a concept
  the model ignores can come out significant more often than ``alpha`` says (on the
  toy model, 3 of 20 draws at alpha = 0.05; 0 of 20 when every concept image had the
  same total red, so that the sample had no such noise). More random sets do not
  remove it: the offset is the same in every concept CAV;
* when the gradient of the logit with respect to the layer is the same for every image
  (a head that is linear in the layer, e.g. global average pooling and a dense layer),
  every image has the same directional derivative and each TCAV score is 0 or 1.

Everything is numpy in and out: images float32 (N, H, W, 3) in [0, 1], checked before
any work (:func:`shared.methods.check_images`); the layer is checked by the engine
(:meth:`shared.methods.network`'s ``layer``), whose error names it and lists the usable
layers. Results are deterministic for a given ``seed``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Sequence

import numpy as np

from . import methods
from .metrics import bootstrap_ci

CLASSIFIERS = ("sgd", "logistic")
"""The linear classifiers a CAV can be learnt with (see the module's docstring)."""

SGD_PARAMETERS = dict(alpha=0.01, max_iter=1000, tol=1e-3)
"""The reference code's ``SGDClassifier`` settings (``CAV.default_hparams``)."""


@dataclasses.dataclass(frozen=True, eq=False)
class CAV:
    """A concept activation vector.

    Attributes:
        vector: float64 (D,), unit norm, in the flattened activation space of ``layer``
            (D = h * w * channels), pointing toward the concept.
        layer: the layer's name.
        accuracy: the classifier's accuracy on the held-out share of the images (0.5 is
            chance: the concept is not linearly readable at this layer).
        n_concept, n_random: the numbers of concept and random images used (equal: the
            larger set is truncated to the smaller one's size).
        shape: the activation's shape (h, w, channels), to reshape ``vector`` into.
    """
    vector: np.ndarray
    layer: str
    accuracy: float
    n_concept: int
    n_random: int
    shape: tuple = ()


@dataclasses.dataclass(frozen=True, eq=False)
class TCAVResult:
    """The outcome of :func:`tcav`: one concept, one layer, one set of images.

    Attributes:
        layer: the layer's name.
        targets: int32 (N,), the class whose logit was differentiated for each image.
        scores: float64 (m,), the concept's TCAV score against each random set.
        null_scores: float64 (m (m - 1),), the TCAV scores of the random-vs-random CAVs,
            ordered pairs (i, j), i != j, in the order (0, 1), (0, 2), ..., (1, 0), ...
        mean, low, high: the mean of ``scores`` and its 95 % percentile bootstrap
            interval (:func:`shared.metrics.bootstrap_ci`).
        null_mean: the mean of ``null_scores`` (about 0.5).
        p_value: two-sided Student's t-test of ``scores`` against ``null_scores``.
        accuracy: the mean held-out accuracy of the concept's CAVs.
        null_accuracy: the same for the random-vs-random CAVs (about 0.5).
        alpha, bonferroni: the level and the number of tests it is divided by.
        significant: ``p_value < alpha / bonferroni``. A significant score may lie
            above the null (the concept raises the class's logit) or below it
            (the concept lowers it): compare ``mean`` with ``null_mean``.
        cavs: the concept's CAVs, one per random set.
    """
    layer: str
    targets: np.ndarray
    scores: np.ndarray
    null_scores: np.ndarray
    mean: float
    low: float
    high: float
    null_mean: float
    p_value: float
    accuracy: float
    null_accuracy: float
    alpha: float
    bonferroni: int
    significant: bool
    cavs: tuple


# --------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------

def _layer(model, layer) -> str:
    """The engine's check of a layer name (its ValueError names the layer and lists the
    usable ones); ``None`` is the last convolutional feature map."""
    return methods.network(model).layer(layer)


def _image_set(images, model, name: str, minimum: int) -> np.ndarray:
    try:
        x = methods.check_images(images, model)
    except ValueError as e:
        raise ValueError(f"{name}: {e}") from None
    if len(x) < minimum:
        raise ValueError(f"{name} has {len(x)} image{'s' * (len(x) != 1)}; at least "
                         f"{minimum} are needed")
    return x


def _seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return int(seed)


def _classifier(classifier) -> str:
    if classifier not in CLASSIFIERS:
        raise ValueError(f"classifier must be one of {', '.join(map(repr, CLASSIFIERS))}, "
                         f"got {classifier!r}")
    return classifier


def _split_sizes(n_each: int, test_share) -> tuple[int, int]:
    """(train, test) sizes of a stratified split of ``2 n_each`` examples; each part
    needs an example of both labels."""
    if isinstance(test_share, bool) or not isinstance(test_share, numbers.Real) \
            or not 0 < test_share < 1:
        raise ValueError(f"test_share must be a number strictly between 0 and 1, got "
                         f"{test_share!r}")
    total = 2 * n_each
    n_test = math.ceil(test_share * total)        # scikit-learn rounds the test part up
    n_train = total - n_test
    if n_test < 2 or n_train < 2:
        raise ValueError(f"test_share={test_share} splits {n_each} concept and {n_each} "
                         f"random images into {n_train} for training and {n_test} for "
                         "testing; each part needs at least one image of each set: "
                         "use more images or another test_share")
    return n_train, n_test


# --------------------------------------------------------------------------------------
# CAVs
# --------------------------------------------------------------------------------------

def _flat(acts: np.ndarray) -> np.ndarray:
    return acts.reshape(len(acts), -1).astype(np.float64)


def _fit(concept: np.ndarray, random: np.ndarray, layer: str, shape: tuple, *, seed: int,
         test_share: float, classifier: str) -> CAV:
    """Learn a CAV from flattened activations (n, D) of the concept and random images."""
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.model_selection import train_test_split
    from threadpoolctl import threadpool_limits

    n = min(len(concept), len(random))           # the reference code's balancing
    x = np.concatenate([concept[:n], random[:n]])
    y = np.r_[np.ones(n, np.int64), np.zeros(n, np.int64)]
    if np.ptp(x, axis=0).max() == 0:
        raise ValueError(f"every image has the same activation at layer {layer!r} (a "
                         "constant or dead layer?): no direction separates the concept "
                         "from the random images there")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_share, stratify=y, random_state=seed)
    if classifier == "sgd":
        clf = SGDClassifier(**SGD_PARAMETERS, random_state=seed)
    else:
        clf = LogisticRegression(max_iter=1000)
    # One thread: a CAV's fit is small, and threads that wait for busy cores make it
    # tens of times slower (0.5 s instead of 15 ms for 40 images x 768 numbers).
    with threadpool_limits(limits=1):
        clf.fit(x_train, y_train)
    accuracy = float(np.mean(clf.predict(x_test) == y_test))
    # One coefficient row for two labels, for label classes_[1] = 1: the concept.
    w = clf.coef_[0].astype(np.float64)
    norm = float(np.linalg.norm(w))
    if not np.isfinite(norm) or norm == 0:
        raise ValueError(f"the classifier found no direction at layer {layer!r} (its "
                         "coefficients are all zero): the activations do not separate "
                         "the concept from the random images")
    vector = w / norm
    vector.flags.writeable = False
    return CAV(vector, layer, accuracy, n, n, tuple(int(s) for s in shape))


def cav(model, layer, concept_images, random_images, *, seed: int = 0,
        test_share: float = 0.33, classifier: str = "logistic") -> CAV:
    """Learn the concept activation vector of a concept at ``layer``.

    The activations ``f_l(x)`` of the concept images (label 1) and of the random images
    (label 0), flattened, are split (stratified, ``test_share`` held out, seeded) and
    separated by a linear classifier ``w . f_l(x) + b``; the CAV is ``w / ||w||``, the
    unit normal of the boundary, pointing toward the concept. The larger set is
    truncated to the smaller one's size first (the reference code's balancing).

    Args:
        layer: a convolutional feature layer's name (``None``: the last one), checked
            by the engine.
        concept_images, random_images: float32 (N, H, W, 3) in [0, 1], at least 2 each.
        seed: the split's and the SGD classifier's random state.
        test_share: the share of the images held out to measure the accuracy.
        classifier: ``"logistic"`` (LogisticRegression, the default) or ``"sgd"`` (the
            reference code's default, a hinge-loss SGDClassifier; see the module's
            docstring for why it is not the default here).

    Returns:
        :class:`CAV`; its ``accuracy`` is measured on the held-out images.
    """
    name = _layer(model, layer)
    concept = _image_set(concept_images, model, "concept_images", 2)
    random = _image_set(random_images, model, "random_images", 2)
    seed, classifier = _seed(seed), _classifier(classifier)
    _split_sizes(min(len(concept), len(random)), test_share)
    a = methods.activations(model, concept, name)
    r = methods.activations(model, random, name)
    return _fit(_flat(a), _flat(r), name, a.shape[1:], seed=seed, test_share=test_share,
                classifier=classifier)


# --------------------------------------------------------------------------------------
# Directional derivatives and scores
# --------------------------------------------------------------------------------------

def _vector(vector, layer: str, size: int | None) -> np.ndarray:
    if isinstance(vector, CAV):
        if vector.layer != layer:
            raise ValueError(f"the CAV was learnt at layer {vector.layer!r}, not at "
                             f"{layer!r}")
        vector = vector.vector
    v = np.asarray(vector)
    if not np.issubdtype(v.dtype, np.number) or not np.isfinite(v).all():
        raise ValueError("vector must be finite numbers (a CAV or its .vector)")
    v = v.reshape(-1).astype(np.float64)
    if size is not None and v.size != size:
        raise ValueError(f"vector has {v.size} entries, but layer {layer!r}'s activation "
                         f"has {size} (h * w * channels): was it learnt at another layer "
                         "or on images of another size?")
    return v


def _activation_size(model, layer: str, images: np.ndarray) -> int:
    shape = tuple(methods.network(model).tensor(layer).shape[1:])
    if all(s is not None for s in shape):
        return int(np.prod(shape))
    # A model that takes any size: the activation's size depends on the images.
    return int(np.prod(methods.activations(model, images[:1], layer).shape[1:]))


def _layer_gradients(model, images, targets, layer: str) -> np.ndarray:
    """d logit_t / d f_l(x) for each image, flattened, float64 (N, D)."""
    _, g = methods.layer_gradients(model, images, targets, layer)
    return _flat(g)


def directional_derivatives(model, layer, images, targets, vector) -> np.ndarray:
    """The directional derivatives ``S_{C,k,l}(x) = grad_{f_l(x)} h_{l,k}(f_l(x)) . v``.

    ``h_{l,k}`` is the logit of class ``k`` (before the softmax) as a function of the
    activation of ``layer``; ``v`` the concept's CAV.

    Args:
        layer: a convolutional feature layer's name (``None``: the last one).
        images: float32 (N, H, W, 3) in [0, 1].
        targets: the class ``k`` per image: ``None`` (each image's predicted class), an
            int or one of the book's class names, or one int per image.
        vector: a :class:`CAV` learnt at ``layer``, or a vector of h * w * channels
            numbers in the flattened activation space.

    Returns:
        float64 (N,).
    """
    name = _layer(model, layer)
    x = _image_set(images, model, "images", 1)
    v = _vector(vector, name, _activation_size(model, name, x))
    t = methods.resolve_targets(model, x, _class(targets))
    return _layer_gradients(model, x, t, name) @ v


def tcav_score(derivatives) -> float:
    """The TCAV score: the share of images whose directional derivative is positive,
    ``|{x in X_k : S_{C,k,l}(x) > 0}| / |X_k|`` (a derivative of exactly 0 is not)."""
    s = np.asarray(derivatives)
    if s.ndim != 1 or len(s) == 0:
        raise ValueError(f"derivatives must be a non-empty 1-D array (one per image), got "
                         f"shape {s.shape}")
    if not np.issubdtype(s.dtype, np.number) or not np.isfinite(s).all():
        raise ValueError("derivatives must be finite numbers")
    return float(np.mean(s > 0))


# --------------------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------------------

def _t_test(scores: np.ndarray, null: np.ndarray) -> float:
    """Two-sided Student's t-test (scipy's ``ttest_ind`` defaults). When neither group
    varies the statistic is undefined: p = 1 for equal means, 0 otherwise."""
    import warnings

    from scipy import stats
    if np.ptp(scores) == 0 and np.ptp(null) == 0:
        return 1.0 if scores[0] == null[0] else 0.0
    with warnings.catch_warnings():
        # one constant group (every score 1, say) is fine: the pooled variance is the
        # other group's; scipy warns of "precision loss" in its moments all the same
        warnings.filterwarnings("ignore", "Precision loss", RuntimeWarning)
        return float(stats.ttest_ind(scores, null).pvalue)


def _recent(store: dict, kept: int, key, compute):
    """``store[key]``, computed by ``compute()`` when missing; ``store`` keeps the
    ``kept`` most recently used keys (a dict in use order, the oldest first)."""
    value = store.pop(key) if key in store else compute()
    store[key] = value
    while len(store) > kept:
        store.pop(next(iter(store)))
    return value


_RANDOM_ACTIVATIONS: dict = {}
"""Activations of the last 24 random sets :func:`tcav` saw: (network, layer, the images'
fingerprint) -> (a weak reference to the network, the activations). The same random
sets serve every concept and class."""


def _random_activations(model, images: np.ndarray, layer: str) -> np.ndarray:
    """``methods.activations(model, images, layer)``, reused when the same network saw
    the same images at the same layer recently."""
    import weakref
    net = methods.network(model)
    key = (id(net), layer, _digest([images]))
    if key in _RANDOM_ACTIVATIONS and _RANDOM_ACTIVATIONS[key][0]() is not net:
        del _RANDOM_ACTIVATIONS[key]              # a new network reused an old one's id
    return _recent(_RANDOM_ACTIVATIONS, 24, key, lambda: (
        weakref.ref(net), methods.activations(model, images, layer)))[1]


_NULL_CAVS: dict = {}
"""The random-vs-random CAVs of the last 4 (layer, settings, random activations)
:func:`tcav` saw."""


def _digest(arrays) -> str:
    """A fingerprint of a list of arrays' shapes and bytes."""
    import hashlib
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        h.update(repr(a.shape).encode())
        h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()


def _class(targets):
    """A class name (:data:`shared.data.CLASS_NAMES`) as its index; anything else as it
    is, for :func:`shared.methods.resolve_targets` to check."""
    if isinstance(targets, str):
        from . import data
        return data.class_index(targets)
    return targets


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def tcav(model, layer, concept_images, random_sets: Sequence, images, targets=None, *,
         seed: int = 0, test_share: float = 0.33, classifier: str = "logistic",
         alpha: float = 0.05, bonferroni: int = 1) -> TCAVResult:
    """TCAV's significance test of one concept for one class at one layer.

    With random sets ``R_0 .. R_{m-1}`` (m >= 2):

    * the concept's scores: for each i, the CAV of the concept vs ``R_i`` and its TCAV
      score ``|{x in images : S(x) > 0}| / N``;
    * the null scores: for each ordered pair ``i != j``, the CAV of ``R_i`` vs ``R_j``
      (``R_i`` as the "concept") and its TCAV score on the same images;
    * ``p``: two-sided Student's t-test between the m concept scores and the
      m (m - 1) null scores; significant when ``p < alpha / bonferroni``.

    Args:
        layer: a convolutional feature layer's name (``None``: the last one).
        concept_images: float32 (N, H, W, 3) in [0, 1], at least 2.
        random_sets: at least 2 arrays of random images, at least 2 images each (equal
            sizes, and the concept's size, are the paper's use; not required).
        images: the images to test, float32 (N, H, W, 3) in [0, 1]: in the paper, the
            images of the class ``targets`` names.
        targets: the class whose logit is differentiated: ``None`` (each image's
            predicted class), an int or one of the book's class names
            (:data:`shared.data.CLASS_NAMES`), or one int per image.
        seed: CAV ``k`` (the concept's first, then the null's in pair order) is learnt
            with the seed of ``numpy.random.SeedSequence(seed)``'s k-th child; the
            bootstrap interval uses ``seed``.
        test_share, classifier: as in :func:`cav`.
        alpha: the test's level.
        bonferroni: the number of tests made together (concepts, layers, classes): the
            level is divided by it.

    The null CAVs depend only on the random sets' activations at the layer and on
    ``seed``, ``test_share`` and ``classifier``: a call with the same ones as a recent
    call reuses the random sets' activations and the CAVs it learnt (the same numbers),
    so several concepts or classes tested against one set of random sets compute them
    once.

    Returns:
        :class:`TCAVResult`.
    """
    name = _layer(model, layer)
    x = _image_set(images, model, "images", 1)
    concept = _image_set(concept_images, model, "concept_images", 2)
    if isinstance(random_sets, np.ndarray) and random_sets.ndim == 4:
        raise ValueError("random_sets must be a sequence of image arrays (at least 2 sets), "
                         "got a single array of images")
    try:
        random_sets = list(random_sets)
    except TypeError:
        raise ValueError(f"random_sets must be a sequence of image arrays, got "
                         f"{type(random_sets).__name__}") from None
    if len(random_sets) < 2:
        raise ValueError(f"random_sets has {len(random_sets)} set"
                         f"{'s' * (len(random_sets) != 1)}; the test needs at least 2 "
                         "(the null distribution is learnt between random sets)")
    randoms = [_image_set(r, model, f"random_sets[{i}]", 2) for i, r in enumerate(random_sets)]
    seed, classifier = _seed(seed), _classifier(classifier)
    bonferroni = _positive_int("bonferroni", bonferroni)
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number strictly between 0 and 1, got {alpha!r}")
    for r in randoms:
        _split_sizes(min(len(concept), len(r)), test_share)
        for s in randoms:
            if s is not r:
                _split_sizes(min(len(r), len(s)), test_share)
    t = methods.resolve_targets(model, x, _class(targets))

    acts = [methods.activations(model, concept, name)] + [
        _random_activations(model, r, name) for r in randoms]
    shape = acts[0].shape[1:]
    flat = [_flat(a) for a in acts]
    grads = _layer_gradients(model, x, t, name)
    seeds = iter(np.random.SeedSequence(seed).spawn(len(randoms) ** 2))

    def learn(positive, negative):
        k = int(next(seeds).generate_state(1)[0])
        c = _fit(flat[positive], flat[negative], name, shape, seed=k,
                 test_share=test_share, classifier=classifier)
        return c, tcav_score(grads @ c.vector)

    m = len(randoms)
    concept_runs = [learn(0, 1 + i) for i in range(m)]
    # The random-vs-random CAVs depend on the random sets' activations and the settings
    # only, not on the concept or the images tested: the last ones learnt are kept and
    # reused (the same seeds, so the same vectors), so that testing several concepts
    # against the same random sets, as the paper does, learns one null per layer.
    key = (name, seed, classifier, float(test_share), _digest(flat[1:]))
    null_cavs = _recent(_NULL_CAVS, 4, key, lambda: [
        learn(1 + i, 1 + j)[0] for i in range(m) for j in range(m) if i != j])
    null_runs = [(c, tcav_score(grads @ c.vector)) for c in null_cavs]
    scores = np.array([s for _, s in concept_runs])
    null = np.array([s for _, s in null_runs])
    mean, low, high, _ = bootstrap_ci(scores, seed=seed)
    p = _t_test(scores, null)
    for a in (t, scores, null):
        a.flags.writeable = False
    return TCAVResult(
        layer=name, targets=t, scores=scores, null_scores=null, mean=mean, low=low,
        high=high, null_mean=float(null.mean()), p_value=p,
        accuracy=float(np.mean([c.accuracy for c, _ in concept_runs])),
        null_accuracy=float(np.mean([c.accuracy for c, _ in null_runs])),
        alpha=float(alpha), bonferroni=bonferroni, significant=bool(p < alpha / bonferroni),
        cavs=tuple(c for c, _ in concept_runs))
