"""``rpm-ostree-py db``: the group of rpmdb queries."""

