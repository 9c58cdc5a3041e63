"""``rpm-ostree-py db``: the group of rpmdb queries."""

SUMMARY = "Commands to query the RPM database"
