"""The library's public face: ``from ostree_py import ...`` (ostree_py/__init__.py)."""

import subprocess
import sys
import textwrap

import pytest

import ostree_py


def _example() -> str:
    doc = ostree_py.__doc__
    head, sep, body = doc.partition("Example (tests/unit/test_public_api.py runs it as it stands here)::\n")
    assert sep, "the package docstring lost its example"
    return textwrap.dedent(body)


def test_the_documented_example_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    code = _example()
    assert "from ostree_py import" in code and "commit(" in code and "pull(" in code
    # in a fresh interpreter, as a reader would paste it
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 0, p.stderr


def test_every_public_name_resolves():
    for name in ostree_py.__all__:
        assert getattr(ostree_py, name) is not None, name
    assert issubclass(ostree_py.RefNotFoundError, ostree_py.OstreeError)
    assert ostree_py.Repo.__module__ == "ostree_py.repo"


def test_import_is_lazy():
    # `ostree-py rev-parse` imports the package: the API must not load the library
    code = ("import sys, ostree_py; "
            "print(sorted(m for m in sys.modules if m.startswith('ostree_py.')))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert p.stdout.strip() == "['ostree_py.features']"


def test_unknown_names_and_submodules():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ostree_py.nope  # noqa: B018
    from ostree_py import signing
    assert signing.__name__ == "ostree_py.signing"
    assert ostree_py.__version__ == ostree_py.features.OSTREE_PY_VERSION


def _readme_example() -> str:
    from pathlib import Path
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    _, sep, rest = text.partition("<!-- library-example: tests/unit/test_public_api.py runs this block -->\n```python\n")
    assert sep, "README.md lost its library example"
    return rest.partition("\n```\n")[0]


def test_the_readme_example_is_the_documented_one_and_runs(tmp_path, monkeypatch):
    code = _readme_example()
    assert code.strip() == _example().strip()
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
