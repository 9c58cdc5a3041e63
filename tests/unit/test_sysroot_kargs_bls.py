"""Kernel arguments and BLS entries behave as libostree's (semantics taken from the
reference's test scripts and checked against its output)."""

import pytest

from ostree_py.sysroot.bootloader import join_lines
from ostree_py.sysroot.bootloader.bls import BootConfig
from ostree_py.sysroot.kargs import KernelArgs, KernelArgsError, split_args
from ostree_py.sysroot.sysroot import (SYSROOT_DEBUG_KEYS, SYSROOT_OPT_KEYS, entry_filename, parse_flag_keys,
                                       strverscmp)


def test_replace_keeps_first_position_and_collapses_repeats():
    k = KernelArgs.from_string("a=1 console=tty0 b console=ttyS0 c=3")
    k.replace("console=hvc0")
    assert str(k) == "a=1 console=hvc0 b c=3"
    k.replace("new=x")
    assert str(k) == "a=1 console=hvc0 b c=3 new=x"


def test_append_keeps_order_of_repeats():
    k = KernelArgs.from_string("quiet TESTARG=TESTVALUE")
    for a in ("APPENDARG=VALAPPEND", "APPENDARG=2NDAPPEND", "FOO=TESTORDERED", "APPENDARG=3RDAPPEND"):
        k.append(a)
    assert str(k) == ("quiet TESTARG=TESTVALUE APPENDARG=VALAPPEND APPENDARG=2NDAPPEND "
                      "FOO=TESTORDERED APPENDARG=3RDAPPEND")


def test_delete_rules():
    k = KernelArgs.from_string("quiet a=1 a=2 b=1")
    k.delete("quiet")
    k.delete("b")  # one value: the key alone is enough
    k.delete("a=2")
    assert str(k) == "a=1"
    k.append("a=3")
    with pytest.raises(KernelArgsError, match="^Multiple values for key 'a' found$"):
        k.delete("a")
    with pytest.raises(KernelArgsError, match="^No karg 'a=9' found$"):
        k.delete("a=9")
    with pytest.raises(KernelArgsError, match="^No key 'zz' found$"):
        k.delete("zz")
    with pytest.raises(KernelArgsError, match="^No karg 'x=2' found$"):
        KernelArgs.from_string("x=1").delete("x=2")


def test_append_if_missing_and_values():
    k = KernelArgs.from_string("root=LABEL=MOO quiet")
    k.append_if_missing("quiet")
    k.append_if_missing("TESTARG=TESTVALUE")
    k.append_if_missing("TESTARG=other")
    assert k.to_list() == ["root=LABEL=MOO", "quiet", "TESTARG=TESTVALUE"]
    assert k.get_last_value("root") == "LABEL=MOO"
    assert k.get_last_value("quiet") is None and k.get_last_value("nope") is None


def test_proc_cmdline_filters_bootloader_args(tmp_path):
    p = tmp_path / "cmdline"
    p.write_text("BOOT_IMAGE=/vmlinuz root=/dev/sda1 initrd=/x ro\n")
    k = KernelArgs()
    k.append_proc_cmdline(str(p))
    assert str(k) == "root=/dev/sda1 ro"


def test_bls_round_trip_and_order():
    text = ("title TestOS 42 1.0.9 (ostree:0)\nversion 1\n"
            "options root=LABEL=MOO quiet ostree=/ostree/boot.1/testos/abc/0\n"
            "linux /ostree/testos-abc/vmlinuz-3.6.0\ninitrd /ostree/testos-abc/initramfs-3.6.0.img\n")
    bc = BootConfig.parse(text)
    assert bc.to_text() == text
    bc2 = BootConfig()
    for k, v in (("options", "o"), ("initrd", "/i"), ("fdtdir", "/dtb"), ("linux", "/l"), ("title", "t"),
                 ("version", "2"), ("devicetree", "/d")):
        bc2.set(k, v)
    assert bc2.to_text() == "title t\nversion 2\noptions o\ndevicetree /d\nlinux /l\ninitrd /i\nfdtdir /dtb\n"


def test_bls_parse_quirks():
    bc = BootConfig.parse("# comment\n title x\nlinux\t/a b\ninitrd /one\ninitrd /two\n1bad x\nnovalue\n")
    assert bc.options == {"linux": "/a b", "initrd": "/one"}
    assert bc.overlay_initrds == ["/two"]
    assert bc.to_text() == "linux /a b\ninitrd /one\ninitrd /two\n"


def test_strverscmp_orders_entry_versions():
    assert sorted(["1", "10", "2", "9"], key=__import__("functools").cmp_to_key(strverscmp)) == \
        ["1", "2", "9", "10"]
    assert strverscmp("3", "3") == 0


def test_join_lines_drops_leading_and_repeated_blank_lines():
    # as _ostree_sysroot_join_lines: after the first blank line, every later one is dropped too
    assert join_lines(["", "a", "", "", "b", ""]) == "a\n\nb\n"
    assert join_lines(["a", "", "b", "", "c"]) == "a\n\nb\nc\n"


@pytest.mark.parametrize("text, expected", [
    ("a b", ["a", "b"]),
    ('test="1 2" b=0', ['test="1 2"', "b=0"]),
    ('  lead "q u"x', ["lead", '"q u"x']),
    ("a  b", ["a", "", "b"]),   # as ostree: a double space gives an empty argument
    ("", [""]),
    ('open="no end', ['open="no end']),  # ostree aborts here; the rest is kept whole
])
def test_split_args_keeps_quoted_spaces(text, expected):
    assert split_args(text) == expected


def test_quoted_arguments_append_and_delete_whole():
    # ostree 2024.5 (test-kargs.c): append and delete split their argument outside quotes
    k = KernelArgs.from_string('root=x foo="1 2" bar=0')
    assert k.to_list() == ["root=x", 'foo="1 2"', "bar=0"]
    k.append('second=0 second="1 2"')
    assert k.to_list()[-2:] == ["second=0", 'second="1 2"']
    k.delete('foo="1 2" bar=0')
    assert str(k) == 'root=x second=0 second="1 2"'
    k.delete_if_present("absent")
    with pytest.raises(KernelArgsError, match="^No karg 'root=y' found$"):
        k.delete_if_present("root=y")


@pytest.mark.parametrize("value, expected", [
    (None, set()),
    ("bootloader-naming-1", {"bootloader-naming-1"}),
    ("skip-sync,bootloader-naming-1", {"skip-sync", "bootloader-naming-1"}),
    ("BOOTLOADER_NAMING_1;no-early-prune", {"bootloader-naming-1", "no-early-prune"}),
    ("unknown bootloader-naming-2", set()),
    ("all,skip-sync", {"no-early-prune", "bootloader-naming-1"}),
])
def test_sysroot_opts_parsed_as_glib_does(value, expected):
    assert parse_flag_keys(value, SYSROOT_OPT_KEYS) == expected


def test_sysroot_debug_keys_take_glib_separators():
    assert parse_flag_keys("mutable-deployments:no-xattrs", SYSROOT_DEBUG_KEYS) == {"mutable-deployments", "no-xattrs"}


def test_entry_names_of_both_namings():
    assert entry_filename(2, "testos", naming_1=False) == "ostree-2.conf"
    assert entry_filename(2, "testos", naming_1=True) == "ostree-2-testos.conf"
