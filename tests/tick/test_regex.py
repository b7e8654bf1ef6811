"""Go (RE2) regex syntax and semantics in TICKscript regex literals."""

import pytest

from kapacitord_tw.tick import TickSyntaxError, compile_template, parse
from kapacitord_tw.tick.regex import RegexError, compile_go_regex


def first_match(pattern, text):
    found = compile_go_regex(pattern).search(text)
    return found.group(0) if found else None


@pytest.mark.parametrize("pattern, text, expected", [
    # Unicode scripts and categories, negated and in classes
    (r"\p{Greek}+", "abc αβγ", "αβγ"),
    (r"\p{Han}", "x中", "中"),
    (r"\pL+", "123 héllo", "héllo"),
    (r"\PL+", "héllo, 42", ", 42"),
    (r"\p{^Greek}+", "αβabc", "abc"),
    (r"\p{Lu}", "aB", "B"),
    (r"\p{Letter}", "1a", "a"),                 # Go 1.25 category alias
    (r"\p{greek}", "xα", "α"),                  # loose name matching
    (r"[\p{Greek}\d]+", "α1b", "α1"),
    (r"\p{Any}", "\n", "\n"),
    # POSIX classes
    (r"[[:alpha:]]+", "12ab3", "ab"),
    (r"[[:^digit:]]+", "12ab3", "ab"),
    (r"[[:punct:]]+", "a!?b", "!?"),
    # flags
    (r"(?U)a+", "aaa", "a"),                    # ungreedy by default
    (r"(?U)a+?", "aaa", "aaa"),                 # ...and ? makes it greedy
    (r"(?i)k", "\u212a", "\u212a"),             # Kelvin sign folds to k
    (r"(?i:A)b", "aB", None),                   # scoped flag ends at ')'
    (r"(?i:A)b", "ab", "ab"),
    (r"(?s)a.b", "a\nb", "a\nb"),
    (r"a.b", "a\nb", None),
    (r"(?m)^b", "a\nb", "b"),
    (r"^b", "a\nb", None),
    # Go defaults that differ from Python's
    (r"a$", "a\n", None),                       # $ is end of text
    (r"(?m)a$", "a\n", "a"),
    (r"\w+", "héllo", "h"),                     # \w, \d, \s, \b are ASCII
    (r"\d+", "٣12", "12"),
    (r"\s+", "\v \t", " \t"),
    (r"\bé", "é", None),
    (r"x{,3}", "x{,3}", "x{,3}"),               # not a repeat in Go
    # escapes
    (r"\Qa.b\E+", "a.bb", "a.bb"),
    (r"\x{1F600}", "😀", "😀"),
    (r"\101", "A", "A"),
    (r"\z", "ab", ""),
    (r"^*a", "a", "a"),                         # Go repeats empty ops
    (r"\B", "", ""),                            # Python's \B never matches ""
])
def test_go_regex_semantics(pattern, text, expected):
    assert first_match(pattern, text) == expected


@pytest.mark.parametrize("pattern, message", [
    (r"(?=a)", "invalid or unsupported Perl syntax: `(?=`"),
    (r"(?!a)", "invalid or unsupported Perl syntax: `(?!`"),
    (r"(?<=a)", "invalid named capture: `(?<=a)`"),
    (r"(a)\1", "invalid escape sequence: `\\1`"),
    (r"\k<n>", "invalid escape sequence: `\\k`"),
    (r"(?P=n)", "invalid or unsupported Perl syntax: `(?P`"),
    (r"a**", "invalid nested repetition operator: `**`"),
    (r"a*?*", "invalid nested repetition operator: `*?*`"),
    (r"a++", "invalid nested repetition operator: `++`"),
    (r"*a", "missing argument to repetition operator: `*`"),
    (r"a{1001}", "invalid repeat count: `{1001}`"),
    (r"(a{30}){40}", "invalid repeat count: `{40}`"),
    (r"a{3,2}", "invalid repeat count: `{3,2}`"),
    (r"[z-a]", "invalid character class range: `z-a`"),
    (r"[abc", "missing closing ]: `[abc`"),
    (r"(abc", "missing closing ): `(abc`"),
    (r"abc)", "unexpected ): `abc)`"),
    (r"\p{Foo}", "invalid character class range: `\\p{Foo}`"),
    (r"[[:foo:]]", "invalid character class range: `[:foo:]`"),
    (r"\x{zz}", "invalid escape sequence: `\\x{z`"),
    ("a\\", "trailing backslash at end of expression: ``"),
    (r"\C", "invalid escape sequence: `\\C`"),
    (r"\Z", "invalid escape sequence: `\\Z`"),
    (r"[\b]", "invalid escape sequence: `\\b`"),
    (r"(?P<n!>a)", "invalid named capture: `(?P<n!>`"),
    (r"(?x)", "invalid or unsupported Perl syntax: `(?x`"),
    (r"(?i-)", "invalid or unsupported Perl syntax: `(?i-)`"),
])
def test_go_rejections_have_go_texts(pattern, message):
    with pytest.raises(RegexError) as info:
        compile_go_regex(pattern)
    assert str(info.value) == "error parsing regexp: " + message


def test_regex_errors_surface_as_parser_errors():
    with pytest.raises(TickSyntaxError) as info:
        parse("var x = /\\p{Klingon}/")
    assert str(info.value).startswith(
        "parser: error parsing regexp: invalid character class range: "
        "`\\p{Klingon}`")


def test_scripts_with_go_regex_syntax_compile():
    template = compile_template(
        "var greek = /^\\p{Greek}+$/\n"
        "stream|from().where(lambda: \"name\" =~ /(?iU)^[[:alpha:]]+\\d/)")
    assert template.vars["greek"]["value"] == "^\\p{Greek}+$"


def test_go_capture_names_may_repeat_and_start_with_digits():
    regexp = compile_go_regex(r"(?P<1x>a)|(?P<1x>b)")
    found = regexp.search("b")
    assert regexp.named_group(found, "1x") == "b"


# -- RE2 underneath (issue #10 item 2) ---------------------------------------
def test_patterns_that_backtrack_in_python_match_in_linear_time():
    import time

    cases = [
        (r"(a|aa){0,1000}$", "a" * 5000 + "!", (5001, 5001)),
        (r"(.*a){20}$", "a" * 5000 + "!", None),
        (r"(?:a*){1000}$", "a" * 5000 + "!", (5001, 5001)),
        (r"a*a*a*a*a*a*a*a*b", "a" * 5000 + "!", None),
        (r"(a?){30}a{30}", "a" * 30, (0, 30)),
        (r"(a+)+$", "a" * 5000 + "!", None),
    ]
    start = time.monotonic()
    for pattern, text, span in cases:
        found = compile_go_regex(pattern).search(text)
        assert (found and found.span()) == span, pattern
    assert time.monotonic() - start < 1


def test_starred_group_that_can_match_empty_captures_as_go_does():
    # Python's re ended the capture on the last, empty iteration ("").
    assert compile_go_regex(r"(a*)*").search("a").group(1) == "a"


def test_empty_width_matches_never_land_inside_a_character():
    # RE2 steps through bytes, Go through characters: \B between the two
    # bytes of "é" is not a position Go considers.
    assert compile_go_regex(r"\B").search("aéa") is None
    assert compile_go_regex(r"\B").search("éé").span() == (0, 0)
    assert compile_go_regex(r"é(\B)").search("aéé").span(1) == (2, 2)


def test_spans_and_groups_are_in_characters():
    regexp = compile_go_regex(r"(?P<word>\p{Greek}+) (b)?")
    found = regexp.search("xé αβγ c")
    assert found.span() == (3, 7)
    assert regexp.named_group(found, "word") == found.group(1) == "αβγ"
    assert found.groups() == ("αβγ", None)
    assert found.span(2) == (-1, -1)


def test_lone_surrogates_read_as_replacement_characters():
    assert compile_go_regex("a.c").search("x\ud800a\ud800c").span() == (2, 5)
    assert compile_go_regex("\ud800").search("x\ufffd").span() == (1, 2)


@pytest.mark.parametrize("pattern, text, expected", [
    (r"\p{Kawi}", "x\U00011f04", "\U00011f04"),     # Unicode 15.0, as Go 1.25
    (r"\p{ASCII}+", "éab~é", "ab~"),
    (r"[^\P{ASCII}b]+", "éab~é", "a"),
    (r"\p{LC}+", "1aB\u01c5ʰ", "aB\u01c5"),           # Lu, Ll, Lt; not Lm
    (r"\P{LC}+", "aB1ʰ", "1ʰ"),
    (r"\p{Cn}", "a\u0378", "\u0378"),
    (r"[\P{Assigned}]", "a\u0378", "\u0378"),
    (r"\p{Assigned}+", "\u0378ab", "ab"),
    (r"\p{cased letter}+", "1aB", "aB"),
    (r"(?i)\p{Lu}", "a", "a"),
])
def test_go_class_names_re2_lacks(pattern, text, expected):
    assert first_match(pattern, text) == expected


def test_regex_replace_is_linear_in_the_text():
    import time

    from kapacitord_tw.tick import functions
    from kapacitord_tw.tick.values import RegexValue

    regex = RegexValue("é", compile_go_regex("é"))
    replace = functions.STATELESS["regexReplace"]
    start = time.monotonic()
    out = replace.call([regex, "é" * 100_000, "${0}e"])
    assert out == "ée" * 100_000
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("pattern", [
    "\\pL" * 300_000,       # RE2 alone took minutes to parse and refuse this
    "\\pL{1000}",
    "\\pL{100}",            # ~120,000 RE2 instructions: RE2 holds the GIL compiling
    "x" * 400_000,
])
def test_patterns_too_big_for_re2_are_refused_quickly_with_gos_text(pattern):
    import time

    start = time.monotonic()
    with pytest.raises(RegexError) as info:
        compile_go_regex(pattern)
    assert str(info.value).startswith("error parsing regexp: expression too large: `")
    assert time.monotonic() - start < 5


def test_live_re2_programs_are_bounded_and_released(monkeypatch):
    import gc

    from kapacitord_tw.tick import regex

    monkeypatch.setattr(regex, "MAX_LIVE_PROGRAM", regex._live_program + 100_000)
    monkeypatch.setattr(regex, "_CACHE_COST", 0)       # nothing kept by the cache
    held = [compile_go_regex(r"\p{L}{30}"), compile_go_regex(r"\p{L}{31}")]
    with pytest.raises(RegexError) as info:
        compile_go_regex(r"\p{L}{32}")
    assert str(info.value).startswith("error parsing regexp: expression too large: "
                                      "`\\p{L}{32}` (the regular expressions in use")
    del held[:]
    gc.collect()
    assert compile_go_regex(r"\p{L}{32}").search("abc") is None
