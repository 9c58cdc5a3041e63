import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import reliability_harness as H  # noqa: E402


def pytest_collection_modifyitems(config, items):
    if not shutil.which(H.REFERENCE):
        skip = pytest.mark.skip(reason="reference ostree not installed")
        for item in items:
            if "reliability" in str(item.fspath):
                item.add_marker(skip)


@pytest.fixture
def h():
    return H
