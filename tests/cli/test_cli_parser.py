"""The GOption-compatible parser: each rule as checked against the reference."""

import pytest
from hypothesis import given, strategies as st

from ostree_py.commands._cli import (HelpRequested, Option, OptionError, format_help,
                                     parse_args)

OPTS = [
    Option("subject", "s", "string", "SUBJECT", "One line subject"),
    Option("body", "m", "string", "BODY", "Full description"),
    Option("orphan", help="Create a commit without writing a ref"),
    Option("selinux-policy-from-base", "P", help="flag P"),
    Option("devino-canonical", "I", help="flag I"),
    Option("add-metadata-string", kind="string-array", arg="KEY=VALUE"),
    Option("depth", kind="int", arg="DEPTH"),
    Option("big", kind="int64"),
    Option("ratio", kind="double"),
    Option("repo", kind="filename", arg="PATH"),
]


def parse(*argv):
    return parse_args(list(argv), OPTS)


def error(*argv):
    with pytest.raises(OptionError) as e:
        parse(*argv)
    return str(e.value)


def test_defaults_are_false_none_and_empty_list():
    opts, args = parse()
    assert opts.orphan is False and opts.subject is None and opts.depth is None
    assert opts.add_metadata_string == [] and args == []
    assert opts.selinux_policy_from_base is False  # dashes become underscores


@pytest.mark.parametrize("argv", [
    ["--subject=hi"], ["--subject", "hi"], ["-s", "hi"], ["-P", "-s", "hi"], ["-Ps", "hi"],
    ["-sP", "hi"], ["--subject=x", "--subject=hi"],
])
def test_string_value_forms(argv):
    opts, args = parse(*argv)
    assert opts.subject == "hi" and args == []


def test_short_value_is_never_attached():
    # GLib has no -ovalue: -shello is -s with h... and h is help.
    with pytest.raises(HelpRequested):
        parse("-shello", "x")
    assert error("-shello") == "Missing argument for -s"
    assert error("-s=foo") == "Missing argument for -s"


def test_required_value_is_the_next_argument_whatever_it_looks_like():
    assert parse("--subject", "--orphan")[0].subject == "--orphan"
    assert parse("-s", "--")[0].subject == "--"
    assert parse("-m", "hi", "-s", "-m")[0].subject == "-m"
    assert error("-s", "--", "-m") == "Missing argument for -m"


def test_empty_values():
    assert parse("--subject=")[0].subject == ""
    assert parse("-s", "")[0].subject == ""


def test_grouped_flags():
    opts, _ = parse("-PI")
    assert opts.selinux_policy_from_base and opts.devino_canonical
    assert parse("-PP")[0].selinux_policy_from_base


def test_flag_with_value_is_set_and_value_ignored():
    assert parse("--orphan=no")[0].orphan is True
    assert parse("--orphan=")[0].orphan is True


def test_arrays_accumulate_and_strings_keep_the_last():
    opts, _ = parse("--add-metadata-string=a=1", "--add-metadata-string", "b=2", "-s", "x", "-s", "y")
    assert opts.add_metadata_string == ["a=1", "b=2"] and opts.subject == "y"


def test_options_before_and_after_positionals():
    opts, args = parse("a", "-s", "x", "b", "--orphan", "c")
    assert args == ["a", "b", "c"] and opts.subject == "x" and opts.orphan


def test_double_dash_ends_options_once():
    opts, args = parse("a", "--", "-s", "--", "b")
    assert args == ["a", "-s", "--", "b"] and opts.subject is None
    assert parse("--")[1] == []


def test_single_dash_is_positional():
    assert parse("-")[1] == ["-"]


@pytest.mark.parametrize("argv,message", [
    (["--foo"], "Unknown option --foo"),
    (["--foo=bar"], "Unknown option --foo=bar"),
    (["-x"], "Unknown option -x"),
    (["-Px"], "Unknown option -Px"),
    (["-xP"], "Unknown option -xP"),
    (["-sx", "-Z"], "Unknown option -sx"),
    (["-xs"], "Unknown option -xs"),
    (["-P="], "Unknown option -P="),
    (["--P"], "Unknown option --P"),
    (["---orphan"], "Unknown option ---orphan"),
    (["--=x"], "Unknown option --=x"),
    (["-="], "Unknown option -="),
    (["--help=x"], "Unknown option --help=x"),
    (["--subj=x"], "Unknown option --subj=x"),  # no abbreviations
    (["-x", "--foo"], "Unknown option -x"),      # the first one, in order
    (["--foo", "-x"], "Unknown option --foo"),
    (["--foo", "-s"], "Unknown option --foo"),
    (["-s"], "Missing argument for -s"),
    (["--subject"], "Missing argument for --subject"),
    (["-sx"], "Missing argument for -s"),
    (["-sm"], "Missing argument for -s"),
    (["-sm", "a", "b"], "Error parsing option -m"),
    (["-ss", "a", "b"], "Error parsing option -s"),
])
def test_error_messages(argv, message):
    assert error(*argv) == message


@pytest.mark.parametrize("argv", [
    ["--help"], ["-h"], ["-?"], ["--help-all"], ["-Ph"], ["-hx"], ["-h", "--foo"],
    ["-s", "x", "-h"], ["-sh", "x"], ["-h=x"],
])
def test_help_requests(argv):
    with pytest.raises(HelpRequested):
        parse(*argv)


def test_help_after_an_error_is_too_late():
    assert error("-x", "-h") == "Unknown option -x"
    assert error("-xh") == "Unknown option -xh"
    # ...but a value may be "--help"
    assert parse("-s", "--help")[0].subject == "--help"


@pytest.mark.parametrize("text,value", [
    ("5", 5), ("0x10", 16), ("0X1f", 31), ("010", 8), (" 7", 7), ("\t7", 7), ("+9", 9),
    ("-3", -3), ("-0", 0), ("0", 0), ("-2147483648", -2147483648), ("2147483647", 2147483647),
])
def test_int_like_strtol_base_0(text, value):
    assert parse(f"--depth={text}")[0].depth == value


@pytest.mark.parametrize("text", ["abc", "", "5 ", "1e3", "0x", "08", "1.5", "--1", "0x1g", "٣"])
def test_int_garbage(text):
    assert error(f"--depth={text}") == f"Cannot parse integer value “{text}” for --depth"


@pytest.mark.parametrize("text", ["2147483648", "-2147483649", "99999999999"])
def test_int_out_of_range(text):
    assert error(f"--depth={text}") == f"Integer value “{text}” for --depth out of range"


def test_int_error_names_the_option_as_spelled():
    opts = [Option("depth", "d", "int", "D")]
    with pytest.raises(OptionError, match="for -d$"):
        parse_args(["-d", "x"], opts)


def test_int64_range():
    assert parse("--big=9223372036854775807")[0].big == 2**63 - 1
    assert error("--big=9223372036854775808") == "Integer value “9223372036854775808” for --big out of range"


def test_double():
    assert parse("--ratio=0.5")[0].ratio == 0.5
    assert parse("--ratio= 2")[0].ratio == 2.0
    assert error("--ratio=x") == "Cannot parse double value “x” for --ratio"
    assert error("--ratio=1 ") == "Cannot parse double value “1 ” for --ratio"
    assert error("--ratio=1e999") == "Double value “1e999” for --ratio out of range"


def test_option_spec_validation():
    with pytest.raises(ValueError):
        Option("x", kind="bogus")
    with pytest.raises(ValueError):
        Option("x", "ab")
    assert Option("karg-append", kind="string-array").dest == "karg_append"
    assert Option("x", dest="y").dest == "y"


# ------------------------------------------------------------------ help layout

def test_help_layout_matches_glib():
    text = format_help("ostree frob [OPTION…] PATH", "Frob a thing", [
        Option("repo", kind="filename", arg="PATH", help="Repo"),
        Option("subject", "s", "string", "SUBJECT", "Subject"),
        Option("mode", kind="string", help="No placeholder"),
        Option("secret", help="Hidden", hidden=True),
        Option("verbose", "v", help="Verbose"),
    ], "Extra text.")
    assert text == (
        "Usage:\n"
        "  ostree frob [OPTION…] PATH\n"
        "\n"
        "Frob a thing\n"
        "\n"
        "Help Options:\n"
        "  -h, --help                Show help options\n"
        "\n"
        "Application Options:\n"
        "  --repo=PATH               Repo\n"
        "  -s, --subject=SUBJECT     Subject\n"
        "  --mode                    No placeholder\n"
        "  -v, --verbose             Verbose\n"
        "\n"
        "Extra text.\n")


# ------------------------------------------------------------------ properties

_name = st.from_regex(r"[a-z][a-z0-9]{0,5}(-[a-z0-9]{1,4})?", fullmatch=True)
_positional = st.text(min_size=1).filter(lambda s: not s.startswith("-"))
_value = st.text()


@st.composite
def _command_lines(draw):
    """A set of options, and a command line using them, as (options, tokens, positionals, expected)."""
    names = draw(st.lists(_name, min_size=1, max_size=6, unique=True))
    kinds = draw(st.lists(st.sampled_from(["flag", "string", "string-array"]),
                          min_size=len(names), max_size=len(names)))
    options = [Option(n, kind=k) for n, k in zip(names, kinds)]
    # Each option token is self-contained (--name or --name=value) so that
    # any reordering keeps its meaning.
    tokens, expected = [], {o.dest: o.default() for o in options}
    for o in draw(st.lists(st.sampled_from(options), max_size=8)):
        if o.kind == "flag":
            tokens.append([f"--{o.long}"])
            expected[o.dest] = True
        else:
            v = draw(_value)
            tokens.append(draw(st.sampled_from([[f"--{o.long}={v}"], [f"--{o.long}", v]])))
    positionals = draw(st.lists(_positional, max_size=5))
    return options, tokens, positionals


@given(_command_lines(), st.data())
def test_any_interleaving_of_options_and_positionals_parses_the_same(cl, data):
    options, tokens, positionals = cl
    canonical = [t for tok in tokens for t in tok] + positionals
    ref_opts, ref_args = parse_args(canonical, options)
    assert ref_args == positionals
    # Keep the option tokens in order (arrays and last-wins depend on it),
    # but put the positionals anywhere among them.
    slots = data.draw(st.permutations([True] * len(tokens) + [False] * len(positionals)))
    it_t, it_p, argv = iter(tokens), iter(positionals), []
    for is_opt in slots:
        argv += next(it_t) if is_opt else [next(it_p)]
    opts, args = parse_args(argv, options)
    assert args == positionals
    assert opts == ref_opts


@given(_command_lines())
def test_arrays_keep_order_and_strings_keep_last(cl):
    options, tokens, _ = cl
    opts, _ = parse_args([t for tok in tokens for t in tok], options)
    for o in options:
        values = [tok[0].partition("=")[2] if len(tok) == 1 else tok[1]
                  for tok in tokens if tok[0].split("=")[0] == f"--{o.long}"]
        if o.kind == "string-array":
            assert getattr(opts, o.dest) == values
        elif o.kind == "string":
            assert getattr(opts, o.dest) == (values[-1] if values else None)


@given(_value)
def test_any_value_round_trips_in_every_spelling(v):
    for argv in (["--subject=" + v], ["--subject", v], ["-s", v], ["-Ps", v]):
        assert parse(*argv)[0].subject == v


@given(st.integers(min_value=-2**31, max_value=2**31 - 1))
def test_int32_decimal_hex_octal(n):
    sign = "-" if n < 0 else ""
    for text in (str(n), f"{sign}0x{abs(n):x}", f"{sign}0{abs(n):o}" if n else "0", f" {n}"):
        assert parse(f"--depth={text}")[0].depth == n


@given(st.integers().filter(lambda n: not -2**31 <= n < 2**31))
def test_int32_out_of_range(n):
    assert "out of range" in error(f"--depth={n}")


@given(st.lists(st.tuples(_name, st.booleans(), st.one_of(st.none(), _name)), min_size=1,
                max_size=8, unique_by=lambda t: t[0]))
def test_help_descriptions_share_one_column(specs):
    shorts = iter("abcdefgijklmnopqrstuwxyz")
    options = [Option(n, next(shorts) if s else None, "string" if a else "flag", a, "desc")
               for n, s, a in specs]
    text = format_help("p [OPTION…]", None, options)
    cols = {line.index("desc") for line in text.split("\n") if line.endswith("desc")}
    cols.add(text.split("\n")[4].index("Show help options"))
    assert len(cols) == 1
    # GLib: five spaces after the widest left column ("  -h, --help" at least).
    widest = max(len(line[:-len("desc")].rstrip()) for line in text.split("\n") if line.endswith("desc"))
    assert cols.pop() == max(widest, len("  -h, --help")) + 5
