"""`make demo` (demo/demo.sh): runs end to end and does what it tells the user."""

import os
import re
import socket
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO = os.path.join(ROOT, "demo", "demo.sh")
OSTREE_PY = os.path.join(os.path.dirname(sys.executable), "ostree-py")
REF_OSTREE = "/usr/bin/ostree"
CSUM = r"[0-9a-f]{64}"


def run_demo(demo_dir, timeout=120):
    env = dict(os.environ, DEMO_DIR=str(demo_dir), OSTREE_PY=OSTREE_PY)
    for k in ("OSTREE_SYSROOT", "OSTREE_REPO", "OSTREE_PY_DEBUG", "OSTREE_SYSROOT_DEBUG"):
        env.pop(k, None)
    return subprocess.run(["bash", DEMO], capture_output=True, text=True, env=env,
                          timeout=timeout, check=False)


def command_output(out, command):
    """The indented lines printed by each `$ ostree-py COMMAND...` step, one string per run."""
    blocks = []
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(f"    $ ostree-py {command}"):
            block = []
            for nxt in lines[i + 1:]:
                if not nxt.startswith("    | "):
                    break
                block.append(nxt[6:])
            blocks.append("\n".join(block))
    return blocks


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    if not os.access(OSTREE_PY, os.X_OK):
        pytest.fail(f"{OSTREE_PY} missing: make install")
    d = tmp_path_factory.mktemp("demo") / "out"
    p = run_demo(d)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return d, p.stdout


def test_demo_succeeds_and_reports_each_step(demo):
    _, out = demo
    for n in range(1, 7):
        assert f"\n==> {n}. " in out
    assert "\n==> Done" in out
    assert "error:" not in out


def test_upgrade_gives_two_deployments_with_etc_merged(demo):
    _, out = demo
    statuses = command_output(out, "admin status")
    assert len(statuses) == 3  # after deploy, after upgrade, after rollback
    after_deploy, after_upgrade, after_rollback = statuses
    deployments = re.findall(rf"^  demo ({CSUM})\.0$", after_upgrade, re.M)
    assert len(deployments) == 2 and deployments[0] != deployments[1]
    assert re.findall(r"Version: (\d+)", after_upgrade) == ["2", "1"]
    assert re.findall(r"Version: (\d+)", after_deploy) == ["1"]
    assert re.findall(r"Version: (\d+)", after_rollback) == ["1"]
    assert "origin refspec: demo:demo/x86_64/stable" in after_upgrade
    # the upgrade merged the local /etc change (the demo prints the new deployment's files)
    assert command_output(out, "admin upgrade")[0].startswith(
        "Copying /etc changes: 1 modified, 0 removed, 1 added")
    assert re.search(r"etc/demo/demo\.conf: +color=green ", out)
    assert re.search(r"etc/demo/local\.conf: +written by the local admin ", out)
    assert re.search(r'etc/os-release: +PRETTY_NAME="Demo OS 2"', out)
    assert "Deleted deployment " + deployments[0] + ".0" in command_output(out, "admin undeploy")[0]


def test_final_sysroot_is_rolled_back(demo):
    d, out = demo
    sysroot = d / "sysroot"
    deploys = sorted(os.listdir(sysroot / "ostree/deploy/demo/deploy"))
    v1 = re.search(rf"\$ ostree-py --repo=server-repo commit .*Demo\\ OS\\ 1.*\n    \| ({CSUM})", out).group(1)
    assert [x for x in deploys if not x.endswith(".origin")] == [v1 + ".0"]
    dep = sysroot / "ostree/deploy/demo/deploy" / (v1 + ".0")
    assert (dep / "etc/demo/demo.conf").read_text() == "# demo daemon configuration\ncolor=green\n"
    assert (dep / "etc/demo/local.conf").exists()
    assert not (dep / "usr/bin/newtool").exists()
    assert os.listdir(sysroot / "boot/loader/entries") == ["ostree-1.conf"]
    cfg = (sysroot / "boot/loader/syslinux.cfg").read_text()
    assert cfg.startswith("DEFAULT Demo OS 1 (ostree:0)\n") and "Demo OS 2" not in cfg
    # the server has both versions
    log = subprocess.run([OSTREE_PY, f"--repo={d}/server-repo", "log", "demo/x86_64/stable"],
                         capture_output=True, text=True, check=True).stdout
    assert re.findall(r"Version: (\d+)", log) == ["2", "1"]


def test_reference_ostree_reads_the_demo_sysroot(demo):
    d, out = demo
    if not os.path.exists(REF_OSTREE):
        pytest.fail("reference ostree missing: make install")
    env = dict(os.environ, OSTREE_SYSROOT_DEBUG="mutable-deployments")
    env.pop("OSTREE_SYSROOT", None)
    ref = subprocess.run([REF_OSTREE, "admin", "status", f"--sysroot={d}/sysroot"],
                         capture_output=True, text=True, env=env, check=False)
    assert ref.returncode == 0, ref.stderr
    assert ref.stdout.rstrip("\n") == command_output(out, "admin status")[-1]


def test_http_server_is_stopped(demo):
    d, _ = demo
    assert not (d / "httpd").exists()
    port = int((d / "httpd-port").read_text())
    deadline = time.monotonic() + 5  # --autoexit polls every 0.25 s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            break
        assert time.monotonic() < deadline, "trivial-httpd still serving after the demo"
        time.sleep(0.2)


def test_demo_reruns_in_the_same_folder_and_refuses_foreign_ones(demo, tmp_path):
    d, _ = demo
    (d / "stale-file").write_text("from an earlier run")
    p = run_demo(d)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert not (d / "stale-file").exists()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "precious").write_text("keep me")
    p = run_demo(foreign, timeout=30)
    assert p.returncode == 1
    assert "not a demo folder" in p.stderr
    assert (foreign / "precious").read_text() == "keep me"
