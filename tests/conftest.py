"""Shared fixtures. The checkpoint is part of the package: tests load it, never skip."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib

matplotlib.use("Agg")

import pytest


@pytest.fixture(scope="session")
def shared_model():
    """The book's shared checkpoint (probabilities output)."""
    from shared import models
    return models.load_model()


@pytest.fixture(scope="session")
def test_images():
    """The first two test-split images of every class (12 images, with masks)."""
    from shared import data
    return data.load_split("test", 2)
