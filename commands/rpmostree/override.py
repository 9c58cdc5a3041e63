"""``rpm-ostree-py override``: the group of base package overrides."""

