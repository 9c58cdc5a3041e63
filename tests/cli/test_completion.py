"""Shell completion: the scripts `PROG completion SHELL` prints, run in a real
bash, complete commands, options, refs, remotes and deployment indexes."""

import os
import shutil
import subprocess
import sys

import pytest

BIN = os.path.dirname(sys.executable)
OSTREE = shutil.which("ostree", path="/usr/bin:/bin")


def _env(**extra):
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    for k in ("OSTREE_REPO", "OSTREE_SYSROOT", "OSTREE_PY_PRGNAME", "OSTREE_PY_COMPLETE"):
        env.pop(k, None)
    env.update(extra)
    return env


def bash_complete(line, prog="ostree-py", cwd=None, **env):
    """What bash offers for ``line`` (cursor at its end) with the script sourced."""
    script = (f'source <({prog} completion bash) || exit 9\n'
              f'complete -p {prog} >/dev/null || exit 8\n'
              'COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}\n'
              f'_{prog.replace("-", "_")}_completion {prog}\n'
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    p = subprocess.run(["bash", "-c", script, "bash", line], capture_output=True, text=True,
                       env=_env(**env), cwd=cwd)
    assert (p.returncode, p.stderr) == (0, "")
    return [w for w in p.stdout.split("\n") if w]


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    assert OSTREE, "the reference ostree is not installed: make install"
    d = tmp_path_factory.mktemp("compl")
    repo = d / "repo"
    tree = d / "tree"
    tree.mkdir()
    (tree / "f").write_text("x\n")
    for argv in (["init", f"--repo={repo}", "--mode=archive"],
                 [f"--repo={repo}", "commit", "-b", "main", f"--tree=dir={tree}"],
                 [f"--repo={repo}", "refs", "--create=exampleos/x86_64/stable", "main"],
                 [f"--repo={repo}", "refs", "--create=origin:rel/1", "main"],
                 [f"--repo={repo}", "remote", "add", "--no-gpg-verify", "origin", "http://example.com"],
                 [f"--repo={repo}", "remote", "add", "--no-gpg-verify", "other", "http://example.org"]):
        subprocess.run([OSTREE, *argv], check=True, capture_output=True)
    return repo


def test_commands_and_groups():
    top = bash_complete("ostree-py ")
    assert "admin" in top and "rev-parse" in top and "static-delta" in top
    assert "help" not in top and "completion" not in top  # hidden, as in --help
    assert bash_complete("ostree-py re") == ["refs", "remote", "reset", "rev-parse"]
    assert bash_complete("ostree-py admin un") == ["undeploy", "unlock"]
    assert bash_complete("ostree-py --verbose static-delta gen") == ["generate"]


def test_options():
    assert bash_complete("ostree-py rev-parse --") == ["--help", "--repo", "--single", "--verbose", "--version"]
    assert bash_complete("ostree-py commit --add-metadata-s") == ["--add-metadata-string"]
    assert "--sysroot" in bash_complete("ostree-py admin status --")
    assert "--print-current-dir" not in bash_complete("ostree-py admin status --")  # hidden


def test_refs_from_the_repository_named_anywhere(repo):
    expected = ["exampleos/x86_64/stable", "main", "origin:rel/1"]
    assert bash_complete(f"ostree-py --repo={repo} rev-parse ") == expected
    assert bash_complete(f"ostree-py log --repo {repo} ") == expected
    assert bash_complete("ostree-py show ex", OSTREE_REPO=str(repo)) == ["exampleos/x86_64/stable"]
    # bash breaks words at ":" and "=": it is offered what follows them
    assert bash_complete(f"ostree-py log --repo={repo} origin:") == ["rel/1"]
    assert bash_complete(f"ostree-py static-delta generate --repo={repo} --from=m") == ["main"]
    assert bash_complete(f"ostree-py static-delta generate --repo={repo} --to m") == ["main"]


def test_remotes(repo):
    assert bash_complete(f"ostree-py remote delete --repo={repo} ") == ["origin", "other"]
    assert bash_complete(f"ostree-py pull --repo={repo} o") == ["origin", "other"]


def test_no_repository_offers_nothing_and_says_nothing(tmp_path):
    assert bash_complete(f"ostree-py rev-parse --repo={tmp_path}/nope ") == []
    assert bash_complete("ostree-py rev-parse ", cwd=tmp_path, OSTREE_SYSROOT=str(tmp_path)) == []


def test_deployment_indexes(tmp_path):
    """admin undeploy/pin offer the indexes of the sysroot's deployments."""
    assert OSTREE
    root, tree, osrepo = tmp_path / "sysroot", tmp_path / "tree", tmp_path / "osrepo"
    files = {"usr/bin/sh": "sh\n", "usr/lib/modules/5.0/vmlinuz": "kernel\n",
             "usr/etc/os-release": "ID=testos\nPRETTY_NAME=TestOS\n"}
    for rel, text in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(text)
    env = dict(os.environ, OSTREE_SYSROOT_DEBUG="mutable-deployments")
    env.pop("OSTREE_SYSROOT", None)

    def ref(*argv):
        subprocess.run([OSTREE, *map(str, argv)], check=True, capture_output=True, env=env)
    ref("init", f"--repo={osrepo}", "--mode=archive")
    ref(f"--repo={osrepo}", "commit", "--bootable", "-b", "os", tree)
    root.mkdir()
    ref("admin", "init-fs", root)
    ref("admin", "os-init", f"--sysroot={root}", "testos")
    ref(f"--repo={root}/ostree/repo", "pull-local", "--remote=testos", osrepo, "os")
    for _ in range(2):
        ref("admin", "deploy", f"--sysroot={root}", "--os=testos", "testos:os")
    assert bash_complete(f"ostree-py admin undeploy --sysroot={root} ") == ["0", "1"]
    assert bash_complete("ostree-py admin pin ", OSTREE_SYSROOT=str(root)) == ["0", "1"]


def test_rpm_ostree_py_commands_and_options():
    top = bash_complete("rpm-ostree-py ", prog="rpm-ostree-py")
    assert "install" in top and "status" in top and "completion" not in top
    assert bash_complete("rpm-ostree-py db ", prog="rpm-ostree-py") == ["diff", "list", "version"]
    assert "--json" in bash_complete("rpm-ostree-py status --", prog="rpm-ostree-py")


def test_script_follows_the_program_name(tmp_path):
    link = tmp_path / "ostree"
    link.symlink_to(os.path.join(BIN, "ostree-py"))
    p = subprocess.run([str(link), "completion", "bash"], capture_output=True, text=True, env=_env())
    assert p.returncode == 0 and p.stdout.endswith("complete -o default -F _ostree_completion ostree\n")


@pytest.mark.parametrize("shell, marker", [("zsh", "compdef _ostree_py_completion ostree-py\n"),
                                           ("fish", "complete -c ostree-py -a '(_ostree_py_completion)'\n")])
def test_zsh_and_fish_scripts(shell, marker, cli):
    r = cli(["completion", shell])
    assert r.rc == 0 and r.out.endswith(marker) and "OSTREE_PY_COMPLETE=" + shell in r.out


def test_zsh_and_fish_get_whole_words(repo):
    """zsh and fish replace the whole word: the candidates keep their --opt= and REMOTE: parts."""
    env = _env(OSTREE_PY_COMPLETE="fish")
    p = subprocess.run(["ostree-py", f"ostree-py static-delta generate --repo={repo} --from=origin:"],
                       capture_output=True, text=True, env=env)
    assert p.stdout == "--from=origin:rel/1\n"


def test_install_writes_where_the_shell_looks(cli, tmp_path):
    r = cli(["completion", "--install", "bash"], env={"XDG_DATA_HOME": str(tmp_path)})
    path = tmp_path / "bash-completion/completions/ostree-py"
    assert (r.rc, r.out) == (0, f"{path}\n")
    assert path.read_text() == cli(["completion", "bash"]).out


@pytest.mark.parametrize("argv", [["completion"], ["completion", "tcsh"], ["completion", "bash", "zsh"]])
def test_bad_shell_is_a_usage_error(cli, argv):
    r = cli(argv)
    assert r.rc == 1 and r.err.endswith("error: SHELL must be one of bash, zsh, fish\n")
    assert r.err.startswith("Usage:\n  ostree-py completion [OPTION…] bash|zsh|fish\n")


@pytest.mark.parametrize("line", ["", "ostree-py", "ostree-py 'unclosed", "ostree-py --repo=",
                                  "ostree-py admin undeploy --sysroot=/nonexistent "])
def test_completion_never_fails(line):
    p = subprocess.run(["ostree-py", line], capture_output=True, text=True,
                       env=_env(OSTREE_PY_COMPLETE="bash"))
    assert (p.returncode, p.stderr) == (0, "")


@pytest.mark.skipif(not shutil.which("fish"), reason="fish is not installed (it is not a project requirement)")
def test_fish_completes_through_the_script(repo):
    script = ("ostree-py completion fish | source\n"
              'complete -C"ostree-py adm"\n'
              f'complete -C"ostree-py static-delta generate --repo={repo} --from=ori"\n')
    p = subprocess.run(["fish", "-c", script], capture_output=True, text=True, env=_env())
    assert p.returncode == 0
    assert p.stdout.split("\n")[:2] == ["admin", "--from=origin:rel/1"]


def test_container_commands_and_options():
    """Hidden like the reference's listing, but completed once typed (as help is)."""
    assert "container" not in bash_complete("ostree-py ")
    assert bash_complete("ostree-py container ") == ["encapsulate", "unencapsulate", "image"]
    assert bash_complete("ostree-py container image prune-") == ["prune-layers", "prune-images"]
    assert bash_complete("ostree-py container encapsulate --max") == ["--max-layers"]
    assert bash_complete("ostree-py container image pull --ostree-") == ["--ostree-digestfile"]
