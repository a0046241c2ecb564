"""The scorecard: every method and control measured on the same images, paired.

    python -m shared.scorecard                 # what is missing: the truth, then each entry
    python -m shared.scorecard gradcam rise    # these (recomputed with --force)
    python -m shared.scorecard --list          # what is committed

The images are the first :data:`PER_CLASS` lesion images of each lesion class of the
test split (200), the same for every entry. Their scenes are redrawn to measure what
each element is worth to the model (:mod:`~shared.scorecard.groundtruth`: Shapley
values over the scene's elements, single-removal drops, removal curves), and every
entry (:func:`entries`: the registered methods and the controls) is scored on every
metric of :data:`METRICS` (:mod:`~shared.scorecard.measures`), one value per image.
:mod:`~shared.scorecard.tables` reads the committed files: :func:`scorecard` for rows
with intervals, :func:`per_image` for figures, :func:`versus_best` (every method against the best)
and :func:`compare` (one entry against others) for paired tests; :func:`measure`
scores maps of your own on the same images, like the scorecard;
:mod:`~shared.scorecard.figures` draws it (forest plots, critical-difference diagrams,
scatter plots of two columns, per-class curves).
:mod:`~shared.scorecard.experiments` runs the comparison chapter's shortcut and
imbalance experiments on the extra checkpoints and reads their results.
"""

from .groundtruth import (MIN_GAP, PERMUTATIONS, antithetic_permutations, curve_area,
                          normalised, removal_curve,
                          scene_game, scene_truth, shapley_values)
from .measures import METRICS, STEPS, Evidence, Metric
from .run import (CONTROL_NOTES, DRAWS, PER_CLASS, RESULTS, SANITY_PER_CLASS, Entry,
                  control_maps, empty_scenes, entries, evaluate_batch, evaluate_entry,
                  evaluation_set, image_truth, in_sanity_set, randomized_models, renoised,
                  training_references)
from .experiments import (EXPERIMENTS, compute_experiment, imbalance_behaviour_table, imbalance_methods_table,
                          load_experiment, marked_test_set, marker_measures,
                          shortcut_behaviour_table, shortcut_methods_table)
from .figures import class_curves, critical_difference, forest, mean_ranks, scatter
from .tables import (available, chance, compare, format_comparison, format_intervals,
                     format_scorecard,
                     interval, load, mean_curves, measure, per_image, scorecard, truth_of,
                     versus_best)

__all__ = [
    "METRICS", "Metric", "Evidence", "STEPS",
    "Entry", "entries", "CONTROL_NOTES", "control_maps", "training_references",
    "PER_CLASS", "SANITY_PER_CLASS", "DRAWS", "RESULTS",
    "evaluation_set", "in_sanity_set", "empty_scenes", "randomized_models", "renoised",
    "image_truth", "evaluate_batch", "evaluate_entry",
    "shapley_values", "antithetic_permutations", "scene_game", "scene_truth",
    "removal_curve", "normalised",
    "curve_area", "PERMUTATIONS", "MIN_GAP",
    "load", "available", "per_image", "interval", "chance", "scorecard",
    "format_scorecard", "format_intervals", "versus_best", "compare", "format_comparison", "truth_of",
    "measure", "mean_curves",
    "forest", "mean_ranks", "critical_difference", "scatter", "class_curves",
    "EXPERIMENTS", "compute_experiment", "marked_test_set", "marker_measures", "load_experiment",
    "shortcut_behaviour_table", "shortcut_methods_table", "imbalance_behaviour_table",
    "imbalance_methods_table",
]
