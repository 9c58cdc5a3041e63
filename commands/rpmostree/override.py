"""``rpm-ostree-py override``: the group of base package overrides."""

SUMMARY = "Manage base package overrides"
