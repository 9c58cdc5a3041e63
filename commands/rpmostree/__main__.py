"""``python -m ostree_py.commands.rpmostree``: the same as running ``rpm-ostree-py``."""

import sys

from . import main

sys.exit(main())
