"""rpm-ostree-py's story in every order: a hypothesis state machine runs install,
uninstall, upgrade (onto new bases), rollback, deploy REV, kargs, cleanup and ostree's
pin over a folder sysroot, with a model of what each deployment must hold
(its base commit, its layered packages, its pin). After every step `status`
works and says what the model says, every deployment's base commit is still
in the repo (so it can be re-layered), its files match its packages, and the
reference `ostree fsck` accepts the system repo. `deploy REV` draws any base ever
made: one whose history down from the branch's tip has a pruned commit must fail as
rpm-ostree's walk does. STATES_EXAMPLES=N runs N sequences instead of 6.
"""

import os
import shutil
import subprocess

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, \
    run_state_machine_as_test

from test_rpmostree import OS, make_base, ostree, rpmostree, rpms, status_json  # noqa: F401 (rpms: fixture)

MAX_DEPLOYMENTS = 4


class Layering(RuleBasedStateMachine):
    """Model: a list of deployments, each {"base", "requested", "pinned", "override"}."""

    rpms = None
    top = None

    @initialize(layered=st.booleans())
    def setup(self, layered=False):
        import tempfile
        self.dir = tempfile.mkdtemp(dir=self.top)
        s = self.s = f"{self.dir}/sysroot"
        import os
        os.mkdir(s)
        ostree("admin", "init-fs", s)
        ostree("admin", "os-init", f"--sysroot={s}", OS)
        self.tree = f"{self.dir}/tree"
        import pathlib
        make_base(pathlib.Path(self.tree), self.rpms, "1")
        self.nbase = 0
        self.created = []
        self.tip = self._new_base()
        ostree("admin", "deploy", f"--sysroot={s}", f"--os={OS}", "--karg=root=LABEL=rootfs", f"{OS}/base")
        self.model = [dict(base=self.tip, requested=frozenset(), pinned=False, override=None)]
        if layered:       # start from a layered deployment half of the time
            self.install("foo")

    def teardown(self):
        if getattr(self, "dir", None):
            subprocess.run(["chattr", "-R", "-i", self.dir], capture_output=True)
            shutil.rmtree(self.dir, ignore_errors=True)

    def _new_base(self):
        self.nbase += 1
        with open(f"{self.tree}/usr/share/base-version", "w") as f:
            f.write(f"{self.nbase}\n")
        csum = ostree(f"--repo={self.s}/ostree/repo", "commit", "-b", f"{OS}/base", f"--tree=dir={self.tree}",
                      f"--add-metadata-string=version={self.nbase}.0", "--owner-uid=0", "--owner-gid=0",
                      f"--timestamp=2026-01-{self.nbase:02d}T00:00:00Z").stdout.strip()
        self.created.append(csum)
        return csum

    def _new(self, base, requested, override):
        """A new default deployment: the merge (first) one and pinned ones stay."""
        new = dict(base=base, requested=frozenset(requested), pinned=False, override=override)
        self.model = [new] + [d for i, d in enumerate(self.model) if i == 0 or d["pinned"]]

    # ------------------------------------------------------------ rules

    @rule(pkg=st.sampled_from(["foo"]))
    def install(self, pkg):
        cur = self.model[0]
        p = rpmostree(self.s, "install", pkg, check=False)
        if pkg in cur["requested"]:
            assert p.returncode == 1 and "is already requested" in p.stderr, p.stderr
            return
        assert p.returncode == 0, p.stdout + p.stderr
        self._new(cur["base"], cur["requested"] | {pkg}, cur["override"])

    @precondition(lambda self: self.model[0]["requested"])
    @rule()
    def uninstall(self):
        cur = self.model[0]
        pkg = sorted(cur["requested"])[0]
        p = rpmostree(self.s, "uninstall", pkg, check=False)
        assert p.returncode == 0, p.stdout + p.stderr
        self._new(cur["base"], cur["requested"] - {pkg}, cur["override"])

    @rule()
    def kargs(self):
        cur = self.model[0]
        self.nkargs = getattr(self, "nkargs", 0) + 1
        rpmostree(self.s, "kargs", f"--append=step={self.nkargs}")
        self._new(cur["base"], cur["requested"], cur["override"])

    @rule()
    def new_base(self):
        self.tip = self._new_base()

    @rule()
    def upgrade(self):
        cur = self.model[0]
        p = rpmostree(self.s, "upgrade", check=False)
        assert p.returncode == 0, p.stdout + p.stderr
        if cur["base"] == self.tip:
            # as rpm-ostree: dropping a pinned base (deploy REV) alone is no upgrade
            assert "No upgrade available." in p.stdout, p.stdout
            return
        self._new(self.tip, cur["requested"], None)

    @precondition(lambda self: len(self.model) >= 2)
    @rule()
    def rollback(self):
        p = rpmostree(self.s, "rollback", check=False)
        assert p.returncode == 0, p.stdout + p.stderr
        self.model = [self.model[1], self.model[0]] + self.model[2:]

    def _gap_before(self, rev):
        """The first commit missing from the repo on the branch's history from its tip down
        to ``rev`` (each base's parent is the one made before it), or None."""
        for c in reversed(self.created[self.created.index(rev):]):
            if not os.path.exists(f"{self.s}/ostree/repo/objects/{c[:2]}/{c[2:]}.commit"):
                return c
        return None

    @rule(data=st.data())
    def deploy(self, data):
        cur = self.model[0]
        # any base ever made: a cleanup prunes those no deployment or ref holds, and a
        # gap in the history ends rpm-ostree's walk down the branch with an error
        rev = data.draw(st.sampled_from(self.created), label="rev")
        gap = self._gap_before(rev)
        p = rpmostree(self.s, "deploy", rev, check=False)
        if gap is not None:
            assert (p.returncode, p.stderr) == (1, f"error: No such metadata object {gap}.commit\n"), \
                p.stdout + p.stderr
            return
        assert p.returncode == 0, p.stdout + p.stderr
        if rev == cur["base"] and cur["override"] == rev:
            assert "No change." in p.stdout
            return
        self._new(rev, cur["requested"], rev)

    @precondition(lambda self: len(self.model) > 1)
    @rule()
    def cleanup_rollback(self):
        rpmostree(self.s, "cleanup", "-r")
        self.model = [self.model[0]] + [d for d in self.model[1:] if d["pinned"]]

    @rule()
    def cleanup_base(self):
        rpmostree(self.s, "cleanup", "-b")

    @precondition(lambda self: len(self.model) < MAX_DEPLOYMENTS)
    @rule(data=st.data())
    def pin(self, data):
        i = data.draw(st.integers(0, len(self.model) - 1), label="index")
        ostree("admin", "pin", f"--sysroot={self.s}", str(i))
        self.model[i]["pinned"] = True

    # ------------------------------------------------------------ what must hold

    @invariant()
    def deployments_match_model(self):
        if not hasattr(self, "model"):
            return
        deps = status_json(self.s)
        assert len(deps) == len(self.model), (deps, self.model)
        for i, (d, m) in enumerate(zip(deps, self.model)):
            want = sorted(m["requested"])
            assert d["requested-packages"] == want, (i, d, m)
            if want:
                assert d["base-checksum"] == m["base"] and d["packages"] == want, (i, d, m)
            else:
                assert d["checksum"] == m["base"] and "base-checksum" not in d, (i, d, m)
            assert d["pinned"] == m["pinned"], (i, d, m)
            # the base is still there: its version shows, and it can be read
            assert d.get("version") == ostree(f"--repo={self.s}/ostree/repo", "show",
                                              "--print-metadata-key=version", m["base"]).stdout.strip("'\n")
            root = f"{self.s}/ostree/deploy/{OS}/deploy/{d['checksum']}.{d['serial']}"
            import os
            assert os.path.exists(f"{root}/usr/bin/foo") == ("foo" in m["requested"]), (i, d, m)
            with open(f"{root}/usr/share/base-version") as f:
                assert f.read() == ostree(f"--repo={self.s}/ostree/repo", "cat", m["base"],
                                          "/usr/share/base-version").stdout
        text = rpmostree(self.s, "status", "-v")
        assert text.stdout.count("Version: ") == len(self.model), text.stdout
        fsck = ostree("fsck", f"--repo={self.s}/ostree/repo", check=False)
        assert fsck.returncode == 0, fsck.stdout + fsck.stderr


def test_layering_in_every_order(rpms, tmp_path):  # noqa: F811
    Layering.rpms = rpms
    Layering.top = str(tmp_path)
    run_state_machine_as_test(Layering, settings=settings(
        max_examples=int(os.environ.get("STATES_EXAMPLES", 6)), stateful_step_count=15, deadline=None, database=None,
        suppress_health_check=list(HealthCheck)))


def test_rollback_keeps_its_base(rpms, tmp_path):  # noqa: F811
    """The issue's story, step by step: install, a new base, upgrade, rollback, then
    install / uninstall / upgrade on the rolled-back deployment."""
    Layering.rpms = rpms
    Layering.top = str(tmp_path)
    m = Layering()
    try:
        m.setup()
        for step in (m.install, m.new_base, m.upgrade, m.rollback):
            step() if step != m.install else step("foo")
            m.deployments_match_model()
        refs = ostree("refs", f"--repo={m.s}/ostree/repo").stdout.split()
        assert [r for r in refs if r.startswith("rpmostree/base/")] == ["rpmostree/base/0", "rpmostree/base/1"]
        m.uninstall()
        m.deployments_match_model()
        m.install("foo")
        m.deployments_match_model()
        m.upgrade()
        m.deployments_match_model()
    finally:
        m.teardown()
