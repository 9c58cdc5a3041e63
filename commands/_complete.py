"""Shell completion for bash, zsh and fish, for either program.

The scripts ``PROG completion SHELL`` prints call the program back with
``OSTREE_PY_COMPLETE=SHELL`` and the command line up to the cursor as the only
argument; it prints one candidate a line. Candidates are commands, options,
and values read from the repository or sysroot the command line names (or
the default one): refs, remotes and deployment indexes. File names are left
to the shell (it falls back to them when there is no candidate).
"""

import os
import shlex

# Which values a command's positional arguments take ([first, then the rest]).
POSITIONAL = {
    "admin deploy": ["refs"], "admin switch": ["refs"], "admin set-origin": ["remotes", "refs"],
    "admin undeploy": ["deployments"], "admin pin": ["deployments"],
    "cat": ["refs", None], "checkout": ["refs", None], "diff": ["refs"], "export": ["refs"],
    "gpg-sign": ["refs", None], "log": ["refs"], "ls": ["refs", None], "pull": ["remotes", None],
    "refs": ["refs"], "reset": ["refs"], "rev-parse": ["refs"], "show": ["refs"], "sign": ["refs", None],
    "remote delete": ["remotes"], "remote show-url": ["remotes"], "remote refs": ["remotes"],
    "remote summary": ["remotes"], "remote gpg-import": ["remotes", None],
    "remote gpg-list-keys": ["remotes"], "remote list-cookies": ["remotes"],
    "remote add-cookie": ["remotes", None], "remote delete-cookie": ["remotes", None],
    "static-delta list": [None], "help": ["commands"], "completion": ["shells"],
}
# Which values an option takes, by long name (any command).
OPTION_VALUES = {"from": "refs", "to": "refs", "only-branch": "refs", "branch": "refs",
                 "parent": "refs", "remote": "remotes", "rev": "refs", "ref": "refs"}


def _split(line: str) -> list:
    """The words of a command line being typed (an open quote is closed); the last is
    the word under the cursor ("" after a space)."""
    for tail in ("", '"', "'"):
        try:
            words = shlex.split(line + tail)
            break
        except ValueError:
            continue
    else:
        words = line.split()
    if not line or line[-1].isspace():
        words.append("")
    return words


def _find(options, word):
    """The Option ``word`` (--long, --long=V or -x) names, or None."""
    if word.startswith("--"):
        name = word[2:].partition("=")[0]
        return next((o for o in options if o.long == name), None)
    if word.startswith("-") and len(word) == 2:
        return next((o for o in options if o.short == word[1]), None)
    return None


class _State:
    """Where the words typed so far lead: the command path, the options' values and
    the positional arguments (GLib's rule: the command is the first words not
    starting with "-", wherever options stand)."""

    def __init__(self, program, words):
        self.program = program
        self.path = ""
        depth = 0
        for w in words:
            if w.startswith("-") and w != "-":
                continue
            sub = f"{self.path} {w}" if self.path else w
            if not program.is_group(self.path) or not program.has_module(sub):
                break
            self.path, depth = sub, depth + 1
        self.options = list(program.options_of(self.path))
        self.seen = {}      # long name -> last value given (for --repo, --sysroot)
        self.positional = []
        expect = None
        for w in words:
            if expect is not None:
                self.seen[expect.long] = w
                expect = None
            elif w.startswith("-") and w != "-":
                opt = _find(self.options, w)
                if opt is not None and opt.kind != "flag":
                    if "=" in w:
                        self.seen[opt.long] = w.partition("=")[2]
                    else:
                        expect = opt
            elif depth:
                depth -= 1  # a word of the command path
            else:
                self.positional.append(w)
        self.expect = expect


def _repo(state, environ):
    from ostree_py.repo import Repo
    path = state.seen.get("repo") or environ.get("OSTREE_REPO") or ""
    if not path:
        path = "." if os.path.isdir("objects") and os.path.exists("config") else \
            os.path.join(environ.get("OSTREE_SYSROOT") or "/", "ostree/repo")
    return Repo.open(path)


def _values(kind, state, environ) -> list:
    """Candidates of a kind of value; nothing when the repo/sysroot cannot be read."""
    try:
        if kind == "refs":
            return sorted(_repo(state, environ).list_refs())
        if kind == "remotes":
            from ostree_py.repo.remotes import list_remotes
            return list_remotes(_repo(state, environ))
        if kind == "deployments":
            from ostree_py.sysroot import Sysroot
            sr = Sysroot(state.seen.get("sysroot") or environ.get("OSTREE_SYSROOT") or "/", environ)
            sr.load()
            return [str(i) for i in range(len(sr.deployments))]
        if kind == "shells":
            return list(SHELLS)
        if kind == "commands":
            return [name for name, _ in state.program.visible_subcommands("")]
    except Exception:  # noqa: BLE001 - completion never fails, it offers nothing
        return []
    return []


def candidates(program, line: str, environ) -> list:
    """Full words that can replace the last word of ``line`` (the program name first)."""
    words = _split(line)[1:]
    if not words:
        return []
    cur = words[-1]
    state = _State(program, words[:-1])
    if state.expect is not None:
        found = _values(OPTION_VALUES.get(state.expect.long), state, environ)
    elif cur.startswith("--") and "=" in cur:
        opt = _find(state.options, cur)
        head = cur.partition("=")[0] + "="
        found = [head + v for v in _values(OPTION_VALUES.get(opt.long) if opt else None, state, environ)]
    elif cur.startswith("-"):
        found = ["--help"] + [f"--{o.long}" for o in state.options if not o.hidden]
    elif program.is_group(state.path):
        found = [name for name, _ in program.visible_subcommands(state.path)]
    else:
        kinds = POSITIONAL.get(state.path) if program.complete_positional else None
        kind = None
        if kinds:
            kind = kinds[min(len(state.positional), len(kinds) - 1)]
        found = _values(kind, state, environ)
    seen = set()
    return [c for c in found if c.startswith(cur) and not (c in seen or seen.add(c))]


def complete(program, shell: str, line: str, environ, out) -> int:
    """Print the candidates for ``line``, as ``shell`` takes them; exit code 0."""
    found = candidates(program, line, environ)
    if shell == "bash":
        # bash splits words at ":" and "=" too: it replaces only what follows the last one
        cur = _split(line)[-1]
        cut = max(cur.rfind(":"), cur.rfind("="))
        if cut >= 0:
            found = [c[cut + 1:] for c in found]
    for c in found:
        out.write(c + "\n")
    return 0


def script(shell: str, prog: str) -> str:
    """The completion script of ``prog`` for ``shell`` (bash, zsh or fish)."""
    fn = "_" + "".join(c if c.isalnum() else "_" for c in prog) + "_completion"
    if shell == "bash":
        return (f"# bash completion for {prog} (from `{prog} completion bash`)\n"
                f"{fn}() {{\n"
                f"    local IFS=$'\\n'\n"
                f"    COMPREPLY=($(OSTREE_PY_COMPLETE=bash \"$1\" \"${{COMP_LINE:0:COMP_POINT}}\" 2>/dev/null))\n"
                f"}}\n"
                f"complete -o default -F {fn} {prog}\n")
    if shell == "zsh":
        return (f"#compdef {prog}\n"
                f"# zsh completion for {prog} (from `{prog} completion zsh`)\n"
                f"{fn}() {{\n"
                f"    local -a found\n"
                f"    found=(\"${{(@f)$(OSTREE_PY_COMPLETE=zsh ${{words[1]}} \"${{BUFFER[1,CURSOR]}}\" 2>/dev/null)}}\")\n"
                f"    if [[ -n ${{found[1]}} ]]; then\n"
                f"        compadd -Q -- \"${{found[@]}}\"\n"
                f"    else\n"
                f"        _files\n"
                f"    fi\n"
                f"}}\n"
                f"compdef {fn} {prog}\n")
    if shell == "fish":
        return (f"# fish completion for {prog} (from `{prog} completion fish`)\n"
                f"function {fn}\n"
                f"    env OSTREE_PY_COMPLETE=fish {prog} (commandline -cp)\n"
                f"end\n"
                f"complete -c {prog} -a '({fn})'\n")
    raise ValueError(shell)


SHELLS = ("bash", "zsh", "fish")


def install_path(shell: str, prog: str, environ) -> str:
    """Where a user's shell finds completions for ``prog`` without further set-up."""
    home = environ.get("HOME") or os.path.expanduser("~")
    data = environ.get("XDG_DATA_HOME") or os.path.join(home, ".local/share")
    config = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    return {"bash": os.path.join(data, "bash-completion/completions", prog),
            "zsh": os.path.join(home, ".zfunc", "_" + prog),
            "fish": os.path.join(config, "fish/completions", prog + ".fish")}[shell]
