"""What a contact says and where it goes: text normalised before the banned-phrase check,
phone numbers in E.164, and the message templates (with the approved third-party scripts).

Banned phrases are matched on a *normal form* of the text, computed once per text:

1. NFKD, then every invisible code point dropped: combining marks (categories Mn, Me: the
   accent of ``ṕolice``, variation selectors, the grapheme joiner), format characters (Cf:
   zero-width spaces, joiners, bidi marks) and the other default-ignorable code points; then
   NFKC (full-width ``ＰＯＬＩＣＥ`` → ``POLICE``, ``１３８`` → ``138``). The kana voicing marks
   (U+3099, U+309A) are kept, so Japanese and Korean text recomposes as it was;
2. look-alike letters folded to Latin: Cyrillic and Greek letters that render like a Latin one
   (``рolice`` with a Cyrillic ``р``, ``οκ`` in Greek), capitals to capitals; and the
   traditional forms of the characters of the shipped Chinese phrases folded to simplified
   (``老賴`` → ``老赖``, ``通訊錄`` → ``通讯录``; :data:`TRADITIONAL`); then case folded;
3. common digit-for-letter swaps folded: ``0→o 1→i 3→e 4→a 5→s 7→t @→a $→s``, and ``l`` is
   folded to ``i`` too (``k1ll``, ``kill`` and ``kiII`` are one word), in text and phrase alike;
4. spacing and punctuation between CJK characters removed (``警 察``, ``警-察`` → ``警察``), and
   letters spelled out one by one joined (``K I L L``, ``p.o.l.i.c.e`` → ``kill``, ``police``).

Chinese and Japanese phrases then match anywhere (those scripts do not separate words); a
phrase in a space-delimited script matches whole words only, with the common English endings
(``s``, ``es``, ``ed``, ``d``, ``ing``, ``er``, and ``man``, ``men``, ``woman``, ``women``):
``kill.`` and ``killed`` match ``kill``, ``policeman`` matches ``police``, ``skilled`` does
not match ``kill``. A last word of three letters or fewer takes the plural ``s`` only (``cop``
matches ``cops``, never ``coping``).

>>> normalise_text("ＰＯＬＩＣＥ, p0lice and 警 察")
'poiice, poiice and 警察'
>>> normalise_text("p\u0301olice, \u0440\u043elice, 老賴") == normalise_text("police, police, 老赖")
True
>>> ContentMatcher({"threat": ("kill",)}).find("He is skilled; we will K1LL.")
[('threat', 'kill')]
>>> normalise_number("+86 138-0013-8000"), normalise_number("(415) 555-2671", region="US")
('+8613800138000', '+14155552671')

Templates (``collections/data/templates.yaml``) have a ``channel`` and a ``text``; the ones
marked ``third_party: true`` are the approved location-inquiry scripts, the only thing a third
party may receive (:func:`third_party_script_problem`); a rendered script's placeholders take
a personal name, a company name or a phone number, never free text (:func:`fill_problem`).
:func:`template_problems` is the one check every load path runs (file or mapping): names,
channels, length, placeholders, and banned content (towards third parties, disclosure too).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypedDict, TypeVar

import yaml

from fengkong.collections.rules import CHANNELS, ContactRules, load_contact_rules
from fengkong.errors import ConfigError, InvalidArgumentError, Problem

__all__ = [
    "TRADITIONAL",
    "ContentMatcher",
    "TemplateSpec",
    "content_matcher",
    "fill_problem",
    "load_templates",
    "normalise_number",
    "normalise_text",
    "template_problems",
    "third_party_script_problem",
]

# --- text ---------------------------------------------------------------------------------

_SWAPS = str.maketrans({"0": "o", "1": "i", "l": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                        "@": "a", "$": "s"})  # fmt: skip
_CJK = r"\u2e80-\u2fdf\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}])[\W_]+(?=[{_CJK}])")
# letters of space-delimited scripts (Latin, Greek, Cyrillic) and digits: what a word is made of
_WORD = r"0-9a-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff"
_SPELLED = re.compile(rf"(?<![{_WORD}])(?:[{_WORD}][ .\-_*·]+){{2,}}[{_WORD}](?![{_WORD}])")
_SPELL_GAP = re.compile(r"[ .\-_*·]+")
_ENDINGS = "(?:s|es|ed|d|ing|er|man|men|woman|women)?"
_SHORT_ENDINGS = "s?"  # a word of 3 letters or fewer: cop → cops, not coping or coped
MAX_TEXT = 20_000  # longer texts are refused before any matching (a script is never this long)

# Look-alikes: Cyrillic and Greek letters (and a few Latin ones) that render like a Latin
# letter, after NFKC (which already folds full-width, mathematical and compatibility forms).
# Capitals map to capitals (Greek Η is H, η is n), before case folding.
_CONFUSABLE_PAIRS = (
    # Cyrillic capitals, then small letters
    "АA ВB ЕE ЅS ІI ЈJ КK МM НH ОO РP СC ТT УY ХX ҮY ҺH ӀI ԌG ԚQ ԜW ЁE ЇI"
    " аa вb еe ѕs іi јj кk мm нh оo рp сc тt уy хx үy һh ӏl ԁd ԛq ԝw ѵv"
    # Greek capitals, then small letters
    " ΑA ΒB ΕE ΖZ ΗH ΙI ΚK ΜM ΝN ΟO ΡP ΤT ΥY ΧX"
    " αa βb γy εe ηn ιi κk νv οo ρp τt υu χx ωw"
    # Latin letters that render like another Latin letter
    " ıi ɩi ȷj ɑa ɡg ʏy"
)
# Traditional (and variant) forms of the simplified characters of the shipped Chinese phrases,
# folded to simplified in text and phrase alike. A test proves every character of the phrase
# lists is here or in SAME_IN_BOTH (a character written the same in both scripts), so a new
# phrase with a new character fails until this table has it.
TRADITIONAL: Mapping[str, str] = {
    "断": "斷", "后": "後", "负": "負", "让": "讓", "门": "門", "闹": "鬧", "传": "傳",
    "检": "檢", "员": "員", "讯": "訊", "录": "錄録", "骗": "騙", "赖": "賴頼", "废": "廢",
    "钱": "錢", "还": "還", "账": "賬帳", "单": "單", "贷": "貸", "会": "會", "费": "費",
}  # fmt: skip
SAME_IN_BOTH = frozenset(
    "弄死打果自你好看家人安全坐牢上公安警察民法院票逮捕拘留曝光通朋友圈子老物欠款逾期借未拖催收信用卡"
)
_FOLD = str.maketrans(
    {pair[0]: pair[1] for pair in _CONFUSABLE_PAIRS.split()}
    | {t: s for s, ts in TRADITIONAL.items() for t in ts}
)
# default-ignorable code points that are not Mn, Me or Cf (Hangul fillers, reserved ranges)
_IGNORABLE = "\u115f\u1160\u3164\uffa0\ufff0-\ufff8\U000e0000-\U000e0fff"
_KANA_MARKS = frozenset((0x3099, 0x309A))  # dakuten, handakuten: part of the kana they follow


@lru_cache(maxsize=1)
def _invisible() -> re.Pattern[str]:
    """Every combining mark (Mn, Me; the kana voicing marks kept), format character (Cf) and
    default-ignorable code point, read from ``unicodedata`` once, on first use (planes 0, 1
    and 14 hold all of them)."""
    ranges: list[list[int]] = []
    for cp in range(0x80, 0x20000):
        if unicodedata.category(chr(cp)) in ("Mn", "Me", "Cf") and cp not in _KANA_MARKS:
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    body = "".join(
        re.escape(chr(a)) + ("" if a == b else "-" + re.escape(chr(b))) for a, b in ranges
    )
    return re.compile(f"[{body}{_IGNORABLE}]+")


def normalise_text(text: str) -> str:
    """The normal form banned phrases are matched on (see the module docstring)."""
    if text.isascii():
        folded = text.casefold()
    else:
        folded = _invisible().sub("", unicodedata.normalize("NFKD", text))
        folded = unicodedata.normalize("NFKC", folded).translate(_FOLD).casefold()
    folded = folded.translate(_SWAPS)
    folded = _CJK_GAP.sub("", folded)
    return _SPELLED.sub(lambda m: _SPELL_GAP.sub("", m.group(0)), folded)


def _has_cjk(text: str) -> bool:
    return re.search(f"[{_CJK}]", text) is not None


def _phrase_pattern(phrase: str) -> tuple[str, re.Pattern[str] | None] | None:
    """A phrase's needle (a plain substring every match contains) and, for space-delimited
    scripts, the whole-word pattern that confirms it; None for an empty phrase."""
    norm = normalise_text(phrase).strip()
    if not norm:
        return None
    if _has_cjk(norm):  # no word separators: anywhere, spacing between characters ignored
        return "".join(c for c in norm if not c.isspace()), None
    words = [w for w in re.split(r"[\W_]+", norm) if w]
    if not words:
        return None
    gap = f"[^{_WORD}]+"
    body = gap.join(re.escape(w) for w in words)
    endings = _SHORT_ENDINGS if len(words[-1]) <= 3 else _ENDINGS
    return max(words, key=len), re.compile(rf"(?<![{_WORD}]){body}{endings}(?![{_WORD}])")


class ContentMatcher:
    """Banned phrases by kind, compiled once: :meth:`find` lists ``(kind, phrase)`` pairs in
    the order of the kinds and of their phrases."""

    __slots__ = ("_phrases",)

    def __init__(self, content: Mapping[str, Sequence[str]]) -> None:
        self._phrases: list[tuple[str, str, str, re.Pattern[str] | None]] = []
        for kind, phrases in content.items():
            for phrase in phrases:
                compiled = _phrase_pattern(phrase)
                if compiled is not None:
                    self._phrases.append((kind, phrase, *compiled))

    def find(self, text: str, *, skip: Iterable[str] = ()) -> list[tuple[str, str]]:
        """Every banned phrase in ``text`` as ``(kind, phrase)``, kinds in ``skip`` left out.

        A text longer than ``MAX_TEXT`` characters is reported as ``("length", ...)``."""
        if not text:
            return []
        if len(text) > MAX_TEXT:
            return [("length", f"{len(text):,} characters (at most {MAX_TEXT:,})")]
        skipped = frozenset(skip)
        norm = normalise_text(text)
        return [  # a substring test first (fast, in C); the word pattern only to confirm
            (kind, phrase)
            for kind, phrase, needle, pattern in self._phrases
            if needle in norm
            and kind not in skipped
            and (pattern is None or pattern.search(norm) is not None)
        ]


_T = TypeVar("_T")
_CACHE: dict[tuple[str, int], tuple[object, Any]] = {}


def _cached(tag: str, key: object, build: Callable[[], _T]) -> _T:
    """One compiled value per object (held, so its id is not reused while cached)."""
    hit = _CACHE.get((tag, id(key)))
    if hit is not None and hit[0] is key:
        value: _T = hit[1]
        return value
    if len(_CACHE) >= 64:
        _CACHE.clear()
    value = build()
    _CACHE[(tag, id(key))] = (key, value)
    return value


def content_matcher(rules: ContactRules | None = None) -> ContentMatcher:
    """The compiled banned-phrase matcher of a rules object (built once per object)."""
    rules = rules or load_contact_rules()
    return _cached("content", rules, lambda: ContentMatcher(rules.content))


# --- phone numbers -----------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−().·/]+")
_CN_MOBILE = re.compile(r"1[3-9]\d{9}")
_CN_FIXED = re.compile(r"10\d{8}|[2-9]\d{8,10}")  # Beijing 10 + 8 digits; area codes 2x, 3-9xx
_NANP = re.compile(r"[2-9]\d{2}[2-9]\d{6}")
_E164 = re.compile(r"[1-9]\d{6,14}")


def normalise_number(raw: str, region: Literal["CN", "US"] = "CN") -> str:
    """A phone number in E.164 (``+8613800138000``), or an ``InvalidArgumentError``.

    Spaces, dashes, dots, slashes and parentheses are dropped and full-width digits folded
    (NFKC); ``+`` or the international prefix (``00``; ``011`` in the US) starts a country
    code. China: mobiles ``1[3-9]`` + 9 digits, fixed lines with their trunk ``0`` (``010``
    + 8 digits, other area codes + 7–8 digits); the US: 10 digits (NANP), ``1`` in front
    allowed. Other country codes are accepted as E.164 (7–15 digits) without further checks.

    >>> {normalise_number(n) for n in ("13800138000", "008613800138000", "１３８００１３８０００")}
    {'+8613800138000'}
    """
    if not isinstance(raw, str) or len(raw) > 64:
        raise InvalidArgumentError("number", expected="a phone number (text, ≤ 64 characters)",
                                   got=raw if not isinstance(raw, str) else f"{raw[:20]}…")  # fmt: skip
    if region not in ("CN", "US"):
        raise InvalidArgumentError("region", expected="CN or US", got=region)
    found = _normalise_number(raw, region)
    if found is None:
        expected = ("a Chinese mobile or fixed-line number, or +country code and number"
                    if region == "CN" else "a 10-digit US number, or +country code and number")  # fmt: skip
        raise InvalidArgumentError("number", expected=expected, got=raw)
    return found


@lru_cache(maxsize=65_536)
def _normalise_number(raw: str, region: str) -> str | None:
    s = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))
    intl = "011" if region == "US" else "00"
    if s.startswith("+"):
        s = s[1:]
    elif s.startswith(intl):
        s = s[len(intl) :]
    elif not (region == "CN" and len(s) == 13 and s.startswith("861")):  # 86 + mobile, no +
        return _national(s, region)
    if not s.isascii() or not s.isdigit():
        return None
    if s.startswith("86"):
        ok = _CN_MOBILE.fullmatch(s[2:]) or _CN_FIXED.fullmatch(s[2:])
        return f"+{s}" if ok else None
    if s.startswith("1"):
        return f"+{s}" if _NANP.fullmatch(s[1:]) else None
    return f"+{s}" if _E164.fullmatch(s) else None


def _national(s: str, region: str) -> str | None:
    if not s.isascii() or not s.isdigit():
        return None
    if region == "US":
        s = s[1:] if len(s) == 11 and s.startswith("1") else s
        return f"+1{s}" if _NANP.fullmatch(s) else None
    if _CN_MOBILE.fullmatch(s):
        return f"+86{s}"
    if s.startswith("0") and _CN_FIXED.fullmatch(s[1:]):
        return f"+86{s[1:]}"
    if s.startswith(("400", "800")) and len(s) == 10:
        return f"+86{s}"
    return None


def number_key(raw: str | None, region: str) -> str | None:
    """What the per-number counts compare: E.164 when valid, else the trimmed text."""
    if raw is None:
        return None
    if len(raw) <= 64:
        found = _normalise_number(raw, region)
        if found is not None:
            return found
    return f"?{raw.strip()}"


# --- templates ---------------------------------------------------------------------------


class TemplateSpec(TypedDict, total=False):
    """A template as :func:`load_templates` returns it."""

    channel: str
    text: str
    third_party: bool


_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]{0,31})\}")
MAX_TEMPLATE = 2_000
# What a placeholder of an approved third-party script may be filled with: a personal name, a
# company name or a phone number, never a sentence (so nothing about the debt can ride in on a
# placeholder). The pattern finds the fill in the rendered text; fill_problem then judges it.
_LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"  # with accents, Vietnamese
_HAN = "\u3400-\u4dbf\u4e00-\u9fff"
_DOTS = "·・‧•･"  # the middle dot of transliterated names (阿卜杜拉·买买提)
_LATIN_WORD = rf"[{_LATIN}]{{1,20}}(?:['’\-][{_LATIN}]{{1,20}}){{0,3}}\.?"
_PERSON = (
    rf"{_LATIN_WORD}(?: {_LATIN_WORD}){{0,3}}|[{_HAN}]{{1,8}}(?:[{_DOTS}][{_HAN}]{{1,8}}){{0,3}}"
)
_COMPANY = r"[^\W_](?:[^\W_]|[ .&'’·\-]){0,59}"
_PHONE = r"\+?[0-9(](?:[0-9 \-().]{0,18}[0-9])?"
_FILL = {
    "first_name": "person",
    "full_name": "person",
    "name": "person",
    "agent_name": "person",
    "company": "company",
    "hotline": "phone",
}
_FILL_PATTERN = {"person": _PERSON, "company": _COMPANY, "phone": _PHONE}
_FILL_RE = {kind: re.compile(pattern) for kind, pattern in _FILL_PATTERN.items()}


# Words that make a sentence, never a name: pronouns, auxiliaries and modals, negation, the
# verbs and nouns of money owed and of what a debtor did, and (for personal names) articles,
# conjunctions and prepositions. Left out on purpose, because they are also common names:
# He, Ho, Le, Do, To, An, So, Ha, Ta, Lo, On, No, Or, Her (Hmong), Man, May, Will, Can, Mark,
# Grant, Sue, Pat, Hope, Case, Rich, Drew, Guy, Frank, Ray, Dean, Owen, and the initials A, I.
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SENTENCE_WORDS = _words(
    """i'm you're he's she's it's we're they're isn't aren't wasn't weren't hasn't haven't
    hadn't doesn't don't didn't won't wouldn't can't cannot couldn't shouldn't mustn't
    me my mine you your yours him his she hers it its we us our ours they them their theirs
    himself herself themselves who whom whose which what that this these those someone
    somebody anyone everyone nobody
    is are was were be been being am has have had does did done would shall should could might
    must not never
    owe owes owed owing pay pays paid paying payment payments repaid stop stops stopped
    stopping refuse refuses refused refusing ignore ignores ignored ignoring avoid avoids
    avoided avoiding hide hides hiding hid missing skipped skip borrowed borrow borrows lent
    lend defaulted default defaults overdue arrears late behind money cash yuan rmb dollars
    dollar usd months month days weeks years debt debts debtor debtors loan loans bills fines
    delinquent bankrupt balance account accounts creditor creditors collector collectors
    call calls called tell tells told ask asks asked say says said please urgent urgently
    immediately now today tomorrow again still yet also very just only"""
)
_FUNCTION_WORDS = _words(
    """the and but nor if then than because since until unless though although
    of for from with without about at by into onto over under after before during"""
)
# lower-case particles of personal names (Ludwig van Beethoven, Maria de la Cruz, bin Salman)
_PARTICLES = _words(
    "af al av bin binti bint da das de dei del della der des di dos du el ibn la le ten ter van "
    "von y zu"
)
# characters that make a Chinese sentence, never a name: pronouns, particles, negation, and
# the verbs of owing and telling (钱 and 余 stay: both are common surnames)
_CJK_SENTENCE = frozenset("他她它我你您们的了吗呢吧啊呀没不别请把被给说欠还告诉让叫")
_CJK_SENTENCE_COMPANY = frozenset("他她它们了吗呢吧啊呀没欠告诉")


def template_problems(
    templates: object, *, file: str, rules: ContactRules | None = None
) -> list[Problem]:
    """Every problem of a templates mapping, whatever it came from (a file or the caller):
    names, channels, text, length, the third-party flag and placeholders, banned content."""
    if not isinstance(templates, Mapping):
        return [Problem(file, "templates", f"expected a mapping of templates, got {templates!r}")]
    matcher = content_matcher(rules)
    problems = []
    for name, t in templates.items():
        where = f"templates.{name}"
        if not isinstance(name, str) or _NAME.fullmatch(name) is None:
            problems.append(Problem(file, where, "expected a name of 1–64 letters, digits, _"))
            continue
        if not isinstance(t, Mapping):
            problems.append(Problem(file, where, f"expected channel and text, got {t!r}"))
            continue
        if t.get("channel") not in CHANNELS:
            problems.append(Problem(file, f"{where}.channel", f"expected one of {CHANNELS}"))
        text, third = t.get("text"), t.get("third_party", False)
        if not isinstance(third, bool):
            problems.append(Problem(file, f"{where}.third_party", f"expected true/false, got {third!r}"))  # fmt: skip
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEMPLATE:
            problems.append(Problem(file, f"{where}.text", f"expected text of 1–{MAX_TEMPLATE:,} characters"))  # fmt: skip
            continue
        if third is True:
            unknown = sorted(set(_PLACEHOLDER.findall(text)) - _FILL.keys())
            if unknown:
                problems.append(Problem(file, f"{where}.text",
                                        f"a third-party script may use only {sorted(_FILL)}, got {unknown}"))  # fmt: skip
        skip = () if third is True else ("disclosure",)
        for kind, phrase in matcher.find(text, skip=skip):
            problems.append(Problem(file, f"{where}.text", f"banned content ({kind}): {phrase!r}"))
    return problems


def load_templates(
    path: str | Path | None = None, *, rules: ContactRules | None = None
) -> dict[str, TemplateSpec]:
    """Templates by id (``channel``, ``text``, ``third_party``); every problem — banned
    content included — is listed in one ``ConfigError``.

    >>> sorted(k for k, t in load_templates().items() if t["third_party"])[:2]
    ['locate_en', 'locate_sms_en']
    """
    if path is None:
        return dict(_shipped_templates())
    return _read_templates(Path(path).read_text(encoding="utf-8"), Path(path).name, rules)


@lru_cache(maxsize=1)
def _shipped_templates() -> Mapping[str, TemplateSpec]:
    text = resources.files("fengkong.collections").joinpath("data/templates.yaml")
    return _read_templates(text.read_text("utf-8"), "templates.yaml", None)


def _read_templates(text: str, file: str, rules: ContactRules | None) -> dict[str, TemplateSpec]:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(file, "", f"not valid YAML: {exc}")]) from None
    templates = (raw or {}).get("templates") if isinstance(raw, Mapping) else raw
    problems = template_problems(templates or {}, file=file, rules=rules)
    if problems:
        raise ConfigError(problems)
    return checked_templates(templates or {})


def checked_templates(templates: Mapping[str, Any]) -> dict[str, TemplateSpec]:
    """The plain form of templates :func:`template_problems` found nothing wrong with."""
    return {
        str(k): {"channel": str(v["channel"]), "text": str(v["text"]),
                 "third_party": v.get("third_party", False) is True}
        for k, v in templates.items()
    }  # fmt: skip


def fill_problem(kind: str, value: str) -> str | None:
    """Why ``value`` may not fill a placeholder of ``kind`` (``person``, ``company``, ``phone``)
    of a third-party script, or None.

    A personal name is a plausible name and nothing more: in Latin letters (accents
    included) 1–4 words, each of at most 20 letters (``-`` and ``'`` inside, a trailing ``.``
    on an initial or a title of up to 3 letters), each capitalised except the name particles
    (``van``, ``de``, ``bin``…), at least one capitalised; in Chinese characters 2–4 of them,
    or up to 4 parts of 1–8 joined by a middle dot (a transliterated name). Neither may hold
    a word or character that makes a sentence (pronouns, auxiliaries, negation, the verbs and
    nouns of owing) nor any banned or disclosing phrase of the shipped content lists. A
    company name may hold articles and prepositions, not the rest. A phone number is digits,
    spaces, ``-``, ``.``, parentheses and a leading ``+``.

    >>> fill_problem("person", "Li Wei"), fill_problem("person", "张三"), fill_problem("person", "Maria de la Cruz")
    (None, None, None)
    >>> fill_problem("person", "John Smith who stopped paying us")
    "'John Smith who stopped paying us' is not a personal name"
    """
    if kind == "phone":
        ok = _FILL_RE["phone"].fullmatch(value) is not None and sum(c.isdigit() for c in value) >= 3
        ok = ok and value.count("(") == value.count(")") <= 1
        return None if ok else f"{value!r} is not a phone number"
    if kind == "company":
        ok = _FILL_RE["company"].fullmatch(value) is not None and _plausible(value, company=True)
        return None if ok else f"{value!r} is not a company name"
    ok = _FILL_RE["person"].fullmatch(value) is not None and _plausible(value, company=False)
    return None if ok else f"{value!r} is not a personal name"


def _plausible(value: str, *, company: bool) -> bool:
    han = sum(1 for c in value if "\u3400" <= c <= "\u9fff")
    if han:
        ok = not any(c in (_CJK_SENTENCE_COMPANY if company else _CJK_SENTENCE) for c in value)
        if ok and not company and not any(c in _DOTS for c in value):
            ok = 2 <= han <= 4
    else:
        ok = company or _latin_name(value.split())
    banned = _SENTENCE_WORDS if company else _SENTENCE_WORDS | _FUNCTION_WORDS
    for w in value.split():
        key = w.strip(".").casefold().replace("’", "'")
        ok = ok and key not in banned and key.replace("'", "") not in banned
    return ok and not content_matcher().find(value)


def _latin_name(words: list[str]) -> bool:
    """Each word capitalised or a name particle (at least one capitalised), of at most 20
    letters, a trailing ``.`` only on an initial or a title (``J.``, ``Dr.``, ``Jr.``)."""
    for w in words:
        first = w.split("-")[0].split("'")[0].split("’")[0].rstrip(".")
        if w[:1].islower() and first not in _PARTICLES:
            return False
        if sum(c.isalpha() for c in w) > 20 or (w.endswith(".") and len(w) > 4):
            return False
    return not all(w.casefold() in _PARTICLES for w in words)


@dataclass(frozen=True, slots=True)
class _Script:
    channel: str
    text: str
    pattern: re.Pattern[str]
    fills: tuple[str, ...]  # the kind of each placeholder, in order (one group each)


def _compile_script(text: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    parts, kinds, last = [], [], 0
    for m in _PLACEHOLDER.finditer(text):
        kind = _FILL[m.group(1)]
        parts += [re.escape(text[last : m.start()]), f"({_FILL_PATTERN[kind]})"]
        kinds.append(kind)
        last = m.end()
    parts.append(re.escape(text[last:]))
    return re.compile("".join(parts)), tuple(kinds)


def _scripts(templates: Mapping[str, Mapping[str, Any]]) -> dict[str, _Script]:
    """The approved third-party scripts of a mapping; one with any problem is not approved
    (a caller's mapping gets the same check as a file)."""
    bad = {p.path.split(".")[1] for p in template_problems(templates, file="<templates>")}
    return {
        name: _Script(str(t["channel"]), str(t["text"]), *_compile_script(str(t["text"])))
        for name, t in templates.items()
        if name not in bad and isinstance(t, Mapping) and t.get("third_party") is True
    }


def third_party_script_problem(
    template_id: str | None,
    text: str,
    channel: str,
    *,
    templates: Mapping[str, Mapping[str, Any]] | None = None,
) -> str | None:
    """Why a message may not go to a third party, or None when it is an approved script.

    Allowed: ``template_id`` names a template marked ``third_party: true`` for this channel
    and ``text`` is empty or the template's own text (the script as approved, rendered by
    the dialler) or that template with each placeholder filled by a personal name, a company
    name or a phone number as :func:`fill_problem` defines them (never free text)."""
    found = templates if templates is not None else _shipped_templates()
    scripts = _cached("scripts", found, lambda: _scripts(found))
    if template_id is None:
        return "no template: a third party may receive only an approved location-inquiry script"
    script = scripts.get(template_id)
    if script is None:
        return f"template {template_id!r} is not an approved third-party (location-inquiry) script"
    if script.channel != channel:
        return f"template {template_id!r} is for {script.channel}, not {channel}"
    if not text or text == script.text:
        return None
    return _rendered_problem(template_id, script, text)


def _rendered_problem(template_id: str, script: _Script, text: str) -> str | None:
    """Why ``text`` is not ``script`` with each placeholder filled as :func:`fill_problem`
    allows (the text NFC-composed first: an accent typed as a combining mark is one letter)."""
    rendered = text if text.isascii() else unicodedata.normalize("NFC", text)
    found = None if len(text) > MAX_TEMPLATE * 2 else script.pattern.fullmatch(rendered)
    if found is None:
        return f"the text is not template {template_id!r} as approved (placeholders take a name or a number)"  # fmt: skip
    for kind, value in zip(script.fills, found.groups(), strict=True):
        why = fill_problem(kind, value)
        if why is not None:
            return f"the text is not template {template_id!r} as approved: {why}"
    return None
