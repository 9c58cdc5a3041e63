"""Fixtures of the network tests (defined in netutil.py, which the tests import by that
unique name: several test directories have a conftest.py)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from netutil import nginx, ours, ref  # noqa: E402,F401
