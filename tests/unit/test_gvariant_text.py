"""ostree_py.core.gvariant_text: the GVariant text format, as GLib 2.74 prints and parses it.

Every expected string here was produced by GLib (g_variant_print / g_variant_parse
through PyGObject) or by the reference ostree 2022.7; the property tests compare
against GLib live on random values.
"""

import math
import struct

import pytest

from ostree_py.errors import GVariantError
from ostree_py.core.gvariant import Variant
from ostree_py.core.gvariant_text import byteswap_value, parse_variant, print_variant

# (type, value, g_variant_print(v, TRUE), g_variant_print(v, FALSE))
PRINT_CASES = [
    ("y", 1, "byte 0x01", "0x01"),
    ("n", -3, "int16 -3", "-3"),
    ("q", 3, "uint16 3", "3"),
    ("i", -5, "-5", "-5"),
    ("u", 5, "uint32 5", "5"),
    ("x", -7, "int64 -7", "-7"),
    ("t", 5, "uint64 5", "5"),
    ("t", 2**64 - 1, "uint64 18446744073709551615", "18446744073709551615"),
    ("h", 3, "handle 3", "3"),
    ("b", True, "true", "true"),
    ("b", False, "false", "false"),
    ("s", "hello", "'hello'", "'hello'"),
    ("o", "/x", "objectpath '/x'", "'/x'"),
    ("g", "a{sv}", "signature 'a{sv}'", "'a{sv}'"),
    ("v", Variant("s", "x"), "<'x'>", "<'x'>"),
    ("v", Variant("u", 1), "<uint32 1>", "<uint32 1>"),
    ("v", Variant("v", Variant("i", 1)), "<<1>>", "<<1>>"),
    ("ay", b"", "@ay []", "[]"),
    ("ay", b"abc\0", "b'abc'", "b'abc'"),
    ("ay", b"\0", "b''", "b''"),
    ("ay", b"\x01\x02", "[byte 0x01, 0x02]", "[0x01, 0x02]"),
    ("ay", b"abc", "[byte 0x61, 0x62, 0x63]", "[0x61, 0x62, 0x63]"),
    ("ay", b"ab\0c\0", "[byte 0x61, 0x62, 0x00, 0x63, 0x00]", "[0x61, 0x62, 0x00, 0x63, 0x00]"),
    ("ay", b"it's\0", "b\"it's\"", "b\"it's\""),
    ("ay", b'say "x"\n\x01\x7f\xff\0', "b'say \\\"x\\\"\\n\\001\\177\\377'", "b'say \\\"x\\\"\\n\\001\\177\\377'"),
    ("as", [], "@as []", "[]"),
    ("as", ["a", "b"], "['a', 'b']", "['a', 'b']"),
    ("ao", ["/a", "/b"], "[objectpath '/a', '/b']", "['/a', '/b']"),
    ("au", [1, 2], "[uint32 1, 2]", "[1, 2]"),
    ("ai", [1, 2], "[1, 2]", "[1, 2]"),
    ("aas", [[], []], "[@as [], []]", "[[], []]"),
    ("aay", [b"a\0", b"\x01"], "[b'a', [0x01]]", "[b'a', [0x01]]"),
    ("ab", [True, False], "[true, false]", "[true, false]"),
    ("ah", [1, 2], "[handle 1, 2]", "[1, 2]"),
    ("av", [Variant("u", 1), Variant("s", "a")], "[<uint32 1>, <'a'>]", "[<uint32 1>, <'a'>]"),
    ("a{sv}", {}, "@a{sv} {}", "{}"),
    ("a{sv}", {"version": Variant("s", "3.0"), "n": Variant("t", 5)},
     "{'version': <'3.0'>, 'n': <uint64 5>}", "{'version': <'3.0'>, 'n': <uint64 5>}"),
    ("a{us}", {1: "a", 2: "b"}, "{uint32 1: 'a', 2: 'b'}", "{1: 'a', 2: 'b'}"),
    ("a{sas}", {"a": [], "b": []}, "{'a': @as [], 'b': []}", "{'a': [], 'b': []}"),
    ("a{sa{sv}}", {"a": {}, "b": {"x": Variant("i", 1)}}, "{'a': @a{sv} {}, 'b': {'x': <1>}}",
     "{'a': {}, 'b': {'x': <1>}}"),
    ("aa{sv}", [{}, {}], "[@a{sv} {}, {}]", "[{}, {}]"),
    ("mu", None, "@mu nothing", "nothing"),
    ("mu", 5, "@mu 5", "5"),
    ("ms", "x", "@ms 'x'", "'x'"),
    ("mmu", None, "@mmu nothing", "nothing"),
    ("mmu", 5, "@mmu 5", "5"),
    ("mas", [], "@mas []", "[]"),
    ("mv", Variant("u", 1), "@mv <uint32 1>", "<uint32 1>"),
    ("m(uu)", (1, 2), "@m(uu) (1, 2)", "(1, 2)"),
    ("m()", (), "@m() ()", "()"),
    ("amu", [None, 5], "[@mu nothing, 5]", "[nothing, 5]"),
    ("(mu)", (None,), "(@mu nothing,)", "(nothing,)"),
    ("()", (), "()", "()"),
    ("(u)", (1,), "(uint32 1,)", "(1,)"),
    ("(us)", (1, "s"), "(uint32 1, 's')", "(1, 's')"),
    ("(uas)", (1, []), "(uint32 1, @as [])", "(1, [])"),
    ("(a{sv}as)", ({}, []), "(@a{sv} {}, @as [])", "({}, [])"),
    ("a(us)", [(1, "a"), (2, "b")], "[(uint32 1, 'a'), (2, 'b')]", "[(1, 'a'), (2, 'b')]"),
    ("{us}", (1, "a"), "{uint32 1, 'a'}", "{1, 'a'}"),
    ("{sv}", ("a", Variant("u", 1)), "{'a', <uint32 1>}", "{'a', <uint32 1>}"),
]


@pytest.mark.parametrize("typ,value,annotated,plain", PRINT_CASES)
def test_print_matches_glib(typ, value, annotated, plain):
    assert print_variant(typ, value) == annotated
    assert print_variant(typ, value, annotate=False) == plain


@pytest.mark.parametrize("value,text", [
    (1.0, "1.0"), (0.1, "0.10000000000000001"), (1e300, "1.0000000000000001e+300"),
    (-0.0, "-0.0"), (math.inf, "inf"), (-math.inf, "-inf"), (math.nan, "nan"),
    (-math.nan, "-nan"), (1e16, "10000000000000000.0"), (1e17, "1e+17"),
    (123456789.0, "123456789.0"), (1e-5, "1.0000000000000001e-05"), (5e-324, "4.9406564584124654e-324"),
    (12345678901234567.0, "12345678901234568.0"), (-1.5, "-1.5"),
])
def test_doubles_print_with_17_digits_and_a_point(value, text):
    assert print_variant("d", value) == text


@pytest.mark.parametrize("value,text", [
    ("it's", "\"it's\""),
    ('say "hi"', "'say \"hi\"'"),
    ("both ' and \"", "\"both ' and \\\"\""),
    ("back\\slash", "'back\\\\slash'"),
    ("a\nb\tc\a\b\f\r\v", "'a\\nb\\tc\\a\\b\\f\\r\\v'"),
    ("\x01\x1f\x7f\x80\x9f", "'\\u0001\\u001f\\u007f\\u0080\\u009f'"),
    # printable: letters, emoji, no-break space, line separator, private use
    ("é😀\u00a0\u2028\ue000", "'é😀\u00a0\u2028\ue000'"),
    # not printable: format characters, unassigned, noncharacters
    ("\u200b\u00ad\u0600\u0378\ufffe", "'\\u200b\\u00ad\\u0600\\u0378\\ufffe'"),
    ("\U000e0001\U0010ffff", "'\\U000e0001\\U0010ffff'"),
    # Unicode 15.0 (GLib 2.74) knows U+1F6DC; U+2FFC only came with 15.1
    ("\U0001f6dc\u2ffc", "'\U0001f6dc\\u2ffc'"),
])
def test_strings_are_quoted_and_escaped_like_glib(value, text):
    assert print_variant("s", value) == text


def test_bytestring_escapes_every_byte_like_g_strescape():
    text = print_variant("ay", bytes(range(1, 256)) + b"\0")
    assert text.startswith('b"\\001\\002\\003\\004\\005\\006\\007\\b\\t\\n\\v\\f\\r\\016')
    assert "\\037 !\\\"#$%&'()" in text
    assert text.endswith("|}~\\177\\200\\201" + text[text.index("\\202"):])
    assert text.endswith("\\376\\377\"")


def test_ostree_show_raw_prints_the_byteswapped_commit():
    # `ostree show --raw` of a commit made by ostree 2022.7 with
    #   --timestamp=2020-01-01T00:00:00Z -s subj --add-metadata=a=@a{sv} {...}
    swapped_ts = struct.unpack("<Q", struct.pack(">Q", 1577836800))[0]
    meta = {
        "a": Variant("a{sv}", {
            "d": Variant("d", 1.5), "n": Variant("n", 3), "q": Variant("q", 300),
            "x": Variant("x", -2), "t": Variant("t", 7), "h": Variant("h", 1),
            "y": Variant("y", 0x12), "b": Variant("b", True), "ai": Variant("ai", [1, 2]),
            "mu": Variant("mu", 5), "s": Variant("s", "x"), "ay": Variant("ay", b"hi\0"),
            "m": Variant("mi", None)}),
        "ostree.ref-binding": Variant("as", ["y"]),
    }
    tree = bytes.fromhex("4d45b8f10ca8c485c985cef2053db7b22dec9c05f401a7937113237b5c924aa9")
    dirmeta = bytes.fromhex("446a0ef11b7cc167f3b603e585c7eeeeb675faa412d5ec73f62988eb0b6c5488")
    commit = (meta, b"", [], "subj", "", swapped_ts, tree, dirmeta)
    typ = "(a{sv}aya(say)sstayay)"
    expected = (
        "({'a': <{'d': <3.1398365858857059e-319>, 'n': <int16 768>, 'q': <uint16 11265>, "
        "'x': <int64 -72057594037927937>, 't': <uint64 504403158265495552>, 'h': <handle 16777216>, "
        "'y': <byte 0x12>, 'b': <true>, 'ai': <[16777216, 33554432]>, 'mu': <@mu 83886080>, "
        "'s': <'x'>, 'ay': <b'hi'>, 'm': <@mi nothing>}>, 'ostree.ref-binding': <['y']>}, "
        "@ay [], @a(say) [], 'subj', '', uint64 1577836800, [byte "
        + ", ".join("0x%02x" % b for b in tree) + "], [byte "
        + ", ".join("0x%02x" % b for b in dirmeta) + "])")
    assert print_variant(typ, byteswap_value(typ, commit)) == expected


def test_byteswap_value_reverses_numbers_only():
    assert byteswap_value("u", 5) == 83886080
    assert byteswap_value("n", 3) == 768
    assert byteswap_value("x", -2) == -72057594037927937
    assert byteswap_value("y", 0x12) == 0x12
    value = {"k": Variant("(bsay)", (True, "s", b"ab\0"))}
    assert byteswap_value("a{sv}", value) == value
    assert byteswap_value("a{qq}", {1: 2}) == {256: 512}
    assert byteswap_value("mt", None) is None


def test_print_rejects_bad_types_and_values():
    with pytest.raises(GVariantError):
        print_variant("a{vs}", {})
    with pytest.raises(GVariantError):
        print_variant("a*", [])
    with pytest.raises(GVariantError):
        print_variant("y", 256)
    with pytest.raises(GVariantError):
        print_variant("(ii)", (1,))
    with pytest.raises(GVariantError):
        print_variant("s", 5)


# -- parsing -------------------------------------------------------------------------

# (text, type given or None, type, value)
PARSE_CASES = [
    ("5", None, "i", 5),
    ("-5", None, "i", -5),
    ("0x10", None, "i", 16),
    ("010", None, "i", 8),
    ("-", None, "i", 0),
    ("-+5", None, "i", -5),
    ("  5  ", None, "i", 5),
    ("1.5", None, "d", 1.5),
    ("1e3", None, "d", 1000.0),
    (".5", None, "d", 0.5),
    ("5.", None, "d", 5.0),
    ("1.5E3", None, "d", 1500.0),
    ("0x1e", None, "i", 30),
    ("0X1e", None, "d", 30.0),
    ("-0x1e", None, "d", -30.0),
    ("0x1.8p1", None, "d", 3.0),
    ("inf", None, "d", math.inf),
    ("-infinity", None, "d", -math.inf),
    ("1e-400", None, "d", 0.0),
    ("0x1.0p-1074", None, "d", 5e-324),
    ("uint32 5", None, "u", 5),
    ("int64 -3", None, "x", -3),
    ("byte 0x10", None, "y", 16),
    ("@t 5", None, "t", 5),
    ("uint64 18446744073709551615", None, "t", 2**64 - 1),
    ("int64 -9223372036854775808", None, "x", -2**63),
    ("double 5", None, "d", 5.0),
    ("@d 010", None, "d", 10.0),
    ("handle -1", None, "h", -1),
    ("true", None, "b", True),
    ("boolean false", None, "b", False),
    ("'a'", None, "s", "a"),
    ('"it\'s"', None, "s", "it's"),
    ("'a\\nb\\t\\u00e9\\U0001F600\\q\\0\\x41'", None, "s", "a\nb\té😀q0x41"),
    ("string 'x'", None, "s", "x"),
    ("objectpath '/x'", None, "o", "/x"),
    ("signature 'a{sv}'", None, "g", "a{sv}"),
    ("b'abc'", None, "ay", b"abc\0"),
    ("b\"it's\"", None, "ay", b"it's\0"),
    ("b'\\101\\x41\\n\\777'", None, "ay", b"Ax41\n\xff\0"),
    ("b'a\\0b'", None, "ay", b"a\0"),
    ("b'é'", None, "ay", b"\xc3\xa9\0"),
    ("[1, 2]", None, "ai", [1, 2]),
    ("[1, 2.5]", None, "ad", [1.0, 2.5]),
    ("[1, uint32 2]", None, "au", [1, 2]),
    ("[[], [1]]", None, "aai", [[], [1]]),
    ("[@ai [], []]", None, "aai", [[], []]),
    ("[[1, 2, 3], [4, 5, 6.0]]", None, "aad", [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
    ("['hello', nothing]", None, "ams", ["hello", None]),
    ("[nothing, just 5]", None, "ami", [None, 5]),
    ("[just just 1, 2]", None, "ammi", [1, 2]),
    ("[b'x', [1]]", None, "aay", [b"x\0", b"\x01"]),
    ("['/a', objectpath '/b']", None, "ao", ["/a", "/b"]),
    ("[<1>, <'x'>]", None, "av", [Variant("i", 1), Variant("s", "x")]),
    ("{'a': 1}", None, "a{si}", {"a": 1}),
    ("{1: 2.5, 2: 3}", None, "a{id}", {1: 2.5, 2: 3.0}),
    ("{1: 2, 2.5: 3}", None, "a{di}", {1.0: 2, 2.5: 3}),
    ("{'a', 1}", None, "{si}", ("a", 1)),
    ("[{'a', 1}, {'b', 2}]", None, "a{si}", {"a": 1, "b": 2}),
    ("{'version': <'3.0'>, 'n': <uint64 5>}", None, "a{sv}",
     {"version": Variant("s", "3.0"), "n": Variant("t", 5)}),
    ("@a{sv} {}", None, "a{sv}", {}),
    ("()", None, "()", ()),
    ("( )", None, "()", ()),
    ("(1,)", None, "(i)", (1,)),
    ("(1, 'a')", None, "(is)", (1, "a")),
    ("[(1, nothing), (2, 3)]", None, "a(imi)", [(1, None), (2, 3)]),
    ("<@mu nothing>", None, "v", Variant("mu", None)),
    ("just 5", None, "mi", 5),
    ("@mu nothing", None, "mu", None),
    ("@mu @i 5", None, "mu", 5),
    ("@u @s 5", None, "u", 5),
    ("true\0garbage", None, "b", True),
    # with the type given
    ("5", "u", "u", 5),
    ("5", "d", "d", 5.0),
    ("5", "mmu", "mmu", 5),
    ("nothing", "mu", "mu", None),
    ("[]", "as", "as", []),
    ("[]", "a{sv}", "a{sv}", {}),
    ("[]", "ay", "ay", b""),
    ("[1, 2]", "ay", "ay", b"\x01\x02"),
    ("{}", "a{sv}", "a{sv}", {}),
    ("'/x'", "o", "o", "/x"),
    ("(1, 2)", "(id)", "(id)", (1, 2.0)),
    ("@u 5", "i", "i", 5),
    ("[objectpath '/x', 'x']", "as", "as", ["/x", "x"]),
]


@pytest.mark.parametrize("text,given,typ,value", PARSE_CASES)
def test_parse_matches_glib(text, given, typ, value):
    assert parse_variant(text, given) == (typ, value)


def test_parse_keeps_the_sign_of_nan_and_zero():
    t, v = parse_variant("-nan")
    assert t == "d" and math.isnan(v) and math.copysign(1, v) < 0
    assert math.copysign(1, parse_variant("-0.0")[1]) < 0


# (text, type given or None, GLib's GError message)
PARSE_ERRORS = [
    ("", None, "0:expected value"),
    ("[]", None, "0-2:unable to infer type"),
    ("{}", None, "0-2:unable to infer type"),
    ("nothing", None, "0-7:unable to infer type"),
    ("nothing nothing", None, "0-7:unable to infer type"),
    ("[[], nothing]", None, "0-13:unable to infer type"),
    ("{'a': <[]>}", None, "7-9:unable to infer type"),
    ("[1, 2", None, "5:expected ',' or ']' to follow array element"),
    ("[1,2,]", None, "5:expected value"),
    ("(1)", None, "2:expected ',' after first tuple element"),
    ("(1,2", None, "4:expected ',' or ')' to follow tuple element"),
    ("{1}", None, "2:expected ':' or ',' to follow dictionary entry key"),
    ("{1:2,3,4}", None, "6:expected ':' to follow dictionary entry key"),
    ("{1:2 3}", None, "5:expected ',' or '}' to follow dictionary entry"),
    ("{1,2:3}", None, "4:expected '}' at end of dictionary entry"),
    ("<1", None, "2:expected '>' to follow variant value"),
    ("1 2", None, "2:expected end of input"),
    ("'é' 5", None, "5:expected end of input"),
    ("5 '", None, "2:expected end of input"),
    ("hello", None, "0-5:unknown keyword"),
    ("n", None, "0-1:unknown keyword"),
    ("True", None, "0:expected value"),
    ("e5", None, "0:expected value"),
    ("'unterminated", None, "0-13:unterminated string constant"),
    ("b'x", None, "0-3:unterminated string constant"),
    ("[1, 'a']", None, "1-2,4-7:unable to find a common type"),
    ("[uint32 1, int64 2]", None, "1-9,11-18:unable to find a common type"),
    ("['a', objectpath '/x', signature 'g']", None, "6-21,23-36:unable to find a common type"),
    ("[1, 'é😀']", None, "1-2,4-12:unable to find a common type"),
    ("{1: 2, 'a': 3}", None, "1-2,7-10:unable to find a common type"),
    ("{<1>: 2}", None, "0-8:dictionary keys must have basic types"),
    ("{1: 2, 2: 'a'}", None, "10-13:can not parse as value of type 'i'"),
    ("2147483648", None, "0-10:number out of range for type 'i'"),
    ("--5", None, "0-3:number out of range for type 'i'"),
    ("uint32 -1", None, "7-9:number out of range for type 'u'"),
    ("byte 256", None, "5-8:number out of range for type 'y'"),
    ("99999999999999999999", None, "0-20:integer too big for any type"),
    ("99999999999999999999x", None, "0-21:integer too big for any type"),
    ("1e309", None, "0-5:number too big for any type"),
    ("4.9406564584124654e-324", None, "0-23:number too big for any type"),
    ("08", None, "1-2:invalid character in number"),
    ("1E5", None, "1-2:invalid character in number"),
    ("+", None, "0-1:invalid character in number"),
    ("1.5", "i", "1-2:invalid character in number"),
    ("@s inf", None, "3-4:invalid character in number"),
    ("@s 5", None, "3-4:can not parse as value of type 's'"),
    ("@(ii) (1, 'a')", None, "10-13:can not parse as value of type 'i'"),
    ("(1, 2)", "(iii)", "0-6:can not parse as value of type '(iii)'"),
    ("just 5", "u", "0-6:can not parse as value of type 'u'"),
    ("'x'", "ay", "0-3:can not parse as value of type 'ay'"),
    ("@o 'x'", None, "3-6:not a valid object path"),
    ("@o '/a/'", None, "3-8:not a valid object path"),
    ("@g 'mi'", None, "3-7:not a valid signature"),
    ("'\\u00'", None, "3-5:invalid 4-character unicode escape"),
    ("'\\u'", None, "3:invalid 4-character unicode escape"),
    ("'\\u0000'", None, "3-7:invalid 4-character unicode escape"),
    ("'\\U0000'", None, "3-7:invalid 8-character unicode escape"),
    ("['\\u12' 5", None, "4-6:invalid 4-character unicode escape"),
    ("@zz 5", None, "0-3:invalid type declaration"),
    ("@ai[1]", None, "0-5:invalid type declaration"),
    ("@a{vs} {}", None, "0-6:invalid type declaration"),
    ("@r ()", None, "0-2:type declarations must be definite"),
    ("@" + "m" * 128 + "i 5", None, "0-130:type declaration recurses too deeply"),
    ("@ai]", None, "3:expected value"),
    ("[" * 128 + "1" + "]" * 128, None, "128:variant nested too deeply"),
]


@pytest.mark.parametrize("text,given,message", PARSE_ERRORS)
def test_parse_errors_match_glib(text, given, message):
    with pytest.raises(GVariantError) as e:
        parse_variant(text, given)
    assert e.value.message == message


def test_deep_but_allowed_nesting_parses():
    assert parse_variant("[" * 127 + "1" + "]" * 127)[0] == "a" * 127 + "i"
    assert parse_variant("<" * 127 + "1" + ">" * 127)[0] == "v"


def test_parse_rejects_an_invalid_type_argument():
    with pytest.raises(GVariantError):
        parse_variant("5", "a{vs}")


def test_nested_maybe_just_nothing_reads_as_nothing():
    # The Python mapping has one None per maybe: GLib's "just nothing" of type
    # mmu cannot be told from "nothing".
    assert parse_variant("just nothing", "mmu") == ("mmu", None)
    assert print_variant("mmu", None) == "@mmu nothing"


@pytest.mark.parametrize("typ,value", [(t, v) for t, v, _, _ in PRINT_CASES])
def test_parse_reads_back_what_print_writes(typ, value):
    text = print_variant(typ, value)
    assert parse_variant(text) == (typ, value)
    assert parse_variant(print_variant(typ, value, annotate=False), typ) == (typ, value)


def test_add_metadata_values_as_ostree_parses_them():
    # ostree commit --add-metadata=KEY=VALUE parses VALUE with g_variant_parse;
    # on failure it prints "error: Parsing KEY=VALUE: " + the message.
    assert parse_variant("'1.0'") == ("s", "1.0")
    assert parse_variant("5") == ("i", 5)
    assert parse_variant("['x', 'y']") == ("as", ["x", "y"])
    assert parse_variant("{'a': <uint32 5>}") == ("a{sv}", {"a": Variant("u", 5)})
    with pytest.raises(GVariantError, match=r"^0-5:unknown keyword$"):
        parse_variant("hello")
