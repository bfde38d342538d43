"""Maker-checker identities: one normalised form (NFKC, case-folded, trimmed, inner spaces
collapsed), so no compatibility look-alike of the author's name may approve their version;
names that are no identity are refused naming the field."""

import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from fengkong.errors import InvalidArgumentError, WorkflowError
from fengkong.policy.versions import (
    IDENTITY_MAX_LENGTH,
    check_transition,
    diff_policies,
    normalise_identity,
)

# each is alice to a reader, and to maker-checker
ALICE = [
    "alice",
    "Alice",
    "ALICE",
    "alice ",
    "  alice\u3000",  # an ideographic space
    "\u00a0alice",  # a no-break space
    "ＡＬＩＣＥ",  # full-width
    "ａｌｉｃｅ",
    "Ａｌｉｃｅ",
    "𝐚𝐥𝐢𝐜𝐞",  # mathematical bold
    "𝒶𝓁𝒾𝒸ℯ",  # mathematical script
    "ⓐⓛⓘⓒⓔ",  # circled
    "ᴬᴸᴵᶜᴱ",  # modifier (superscript) letters
]
LOOK_ALIKES = {
    "fiona": ["ﬁona", "FIONA", "ﬁONA "],  # the fi ligature
    "kate": ["\u212aate"],  # the Kelvin sign K
    "sam": ["ſam", "ſAM"],  # long s
    "strasse": ["Straße", "STRASSE", "straẞe"],  # sharp s folds to ss
    "josé": ["jose\u0301", "JOSÉ", "ｊｏｓé"],  # a decomposed accent
    "mary ann": ["Mary  Ann", "mary\u2003ann", "ＭＡＲＹ　ＡＮＮ"],  # em and ideographic spaces
    "louis xiv": ["Louis Ⅹⅳ", "louis ⅹⅳ"],  # Roman numerals
    "ω team": ["\u2126 team"],  # the Ohm sign
    "王伟": ["王伟", " 王伟 "],
}


@pytest.mark.parametrize("name", ALICE)
def test_every_look_alike_of_alice_is_alice(name):
    assert normalise_identity(name) == "alice"


@pytest.mark.parametrize(
    ("canonical", "variant"), [(c, v) for c, vs in LOOK_ALIKES.items() for v in vs]
)
def test_compatibility_look_alikes_are_the_name_they_imitate(canonical, variant):
    assert normalise_identity(variant) == canonical


@pytest.mark.parametrize("name", ALICE)
def test_no_look_alike_may_approve_alices_version(name):
    with pytest.raises(WorkflowError, match=r"maker-checker"):
        check_transition("draft", "approved", author="alice", actor=name)
    with pytest.raises(WorkflowError, match=r"maker-checker"):  # and the other way round
        check_transition("draft", "approved", author=name, actor="alice")
    check_transition("draft", "approved", author=name, actor="bob")  # a second person may
    check_transition("approved", "active", author=name, actor=name)  # activating is not approving


@pytest.mark.parametrize(
    "other",
    [
        "alic",
        "alice2",
        "al ice",
        "аlice",  # Cyrillic а: another letter, not a compatibility form
        "alıce",  # dotless ı
        "alicé",
    ],
)
def test_different_names_stay_different(other):
    assert normalise_identity(other) != "alice"
    check_transition("draft", "approved", author="alice", actor=other)


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("", "not empty"),
        ("   ", "not empty"),
        ("\u3000", "not empty"),
        ("alice\n", "control"),
        ("ali\tce", "control"),
        ("alice\x00", "control"),
        ("\x1b[31malice", "control"),
        ("ali\u200bce", "invisible"),  # zero-width space
        ("alice\u200d", "invisible"),  # zero-width joiner
        ("\u202eecila", "invisible"),  # right-to-left override
        ("ali\u00adce", "invisible"),  # soft hyphen
        ("\ufeffalice", "invisible"),  # byte-order mark
        ("alice\ue000", "invisible"),  # private use
        ("a" * (IDENTITY_MAX_LENGTH + 1), f"at most {IDENTITY_MAX_LENGTH}"),
        ("\ufdfa" * 4, f"at most {IDENTITY_MAX_LENGTH}"),  # 4 characters, 72 once normalised
        (None, "a name"),
        (b"alice", "a name"),
    ],
)
def test_a_name_that_is_no_identity_is_refused_naming_the_field(bad, why):
    with pytest.raises(InvalidArgumentError, match=rf"^actor: expected .*{why}") as caught:
        check_transition("draft", "approved", author="alice", actor=bad)
    assert caught.value.field == "actor" and caught.value.got == bad
    with pytest.raises(InvalidArgumentError, match=r"^author: "):
        check_transition("draft", "approved", author=bad, actor="bob")


def test_the_longest_name_is_accepted():
    assert normalise_identity("A" * IDENTITY_MAX_LENGTH) == "a" * IDENTITY_MAX_LENGTH


def test_the_workflow_rules_are_unchanged():
    with pytest.raises(WorkflowError, match="a draft must be approved by a second person"):
        check_transition("draft", "active", author="alice", actor="bob")
    with pytest.raises(WorkflowError, match="expected one of"):
        check_transition("approved", "draft", author="alice", actor="bob")
    check_transition("retired", "active", author="alice", actor="alice")  # a rollback


def test_diff_matches_rules_by_id():
    old = {"rules": [{"id": "R1", "when": "a < 1"}, {"id": "R2", "when": "b"}]}
    new = {"rules": [{"id": "R2", "when": "b"}, {"id": "R1", "when": "a < 2"}]}
    assert [(c.path, c.kind) for c in diff_policies(old, new)] == [("rules.R1.when", "changed")]


_CASES = [str.upper, str.lower, str.title, str.swapcase]
_WIDE = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}  # ASCII -> full-width forms


@given(
    st.text(st.characters(codec="ascii", categories=["Ll", "Lu", "Nd"]), min_size=1, max_size=20),
    st.sampled_from(_CASES),
    st.booleans(),
    st.text(" \u00a0\u3000\u2003", max_size=3),
    st.text(" \u00a0\u3000\u2003", max_size=3),
)
def test_case_width_and_padding_never_make_another_identity(name, case, wide, left, right):
    variant = case(name)
    if wide:
        variant = "".join(_WIDE.get(c, c) for c in variant)
    assert normalise_identity(left + variant + right) == normalise_identity(name) == name.lower()
    with pytest.raises(WorkflowError, match="maker-checker"):
        check_transition("draft", "approved", author=name, actor=left + variant + right)


@given(st.text(max_size=40))
def test_any_text_is_refused_or_normalised_to_a_fixed_point(text):
    try:
        identity = normalise_identity(text, field="who")
    except InvalidArgumentError as exc:
        assert exc.field == "who"
        return
    assert identity == normalise_identity(identity)  # stored identities compare as they are
    assert identity == identity.strip() and "  " not in identity and 0 < len(identity) <= 64
    assert not any(unicodedata.category(c).startswith("C") for c in identity)


@given(st.text(st.characters(categories=["L", "M", "N", "P", "S", "Zs"]), min_size=1, max_size=30))
def test_printable_names_are_accepted_unless_only_spaces(text):
    assume(text.strip() and len(unicodedata.normalize("NFKC", text)) <= 60)
    assert normalise_identity(text)
