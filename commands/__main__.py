"""``python -m ostree_py.commands``: the same as running ``ostree-py``."""

import sys

from . import main

sys.exit(main())
