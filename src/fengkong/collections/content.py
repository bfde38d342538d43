"""What a contact says and where it goes: text normalised before the banned-phrase check,
phone numbers in E.164, and the message templates (with the approved third-party scripts).

Banned phrases are matched on a *normal form* of the text, computed once per text:

1. NFKC (full-width ``ＰＯＬＩＣＥ`` → ``POLICE``, ``１３８`` → ``138``), format characters
   (zero-width spaces, joiners, bidi marks) removed, case folded;
2. common digit-for-letter swaps folded: ``0→o 1→i 3→e 4→a 5→s 7→t @→a $→s``, and ``l`` is
   folded to ``i`` too (``k1ll``, ``kill`` and ``kiII`` are one word), in text and phrase alike;
3. spacing and punctuation between CJK characters removed (``警 察``, ``警-察`` → ``警察``), and
   letters spelled out one by one joined (``K I L L``, ``p.o.l.i.c.e`` → ``kill``, ``police``).

Chinese and Japanese phrases then match anywhere (those scripts do not separate words); a
phrase in a space-delimited script matches whole words only, with the common English endings
(``s``, ``es``, ``ed``, ``d``, ``ing``, ``er``): ``kill.`` and ``killed`` match ``kill``,
``skilled`` does not.

>>> normalise_text("ＰＯＬＩＣＥ, p0lice and 警 察")
'poiice, poiice and 警察'
>>> ContentMatcher({"threat": ("kill",)}).find("He is skilled; we will K1LL.")
[('threat', 'kill')]
>>> normalise_number("+86 138-0013-8000"), normalise_number("(415) 555-2671", region="US")
('+8613800138000', '+14155552671')

Templates (``collections/data/templates.yaml``) have a ``channel`` and a ``text``; the ones
marked ``third_party: true`` are the approved location-inquiry scripts, the only thing a third
party may receive (:func:`third_party_script_problem`). :func:`template_problems` is the one
check every load path runs (file or mapping): names, channels, length, placeholders, and
banned content (towards third parties, disclosure too).
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
    "ContentMatcher",
    "TemplateSpec",
    "content_matcher",
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
_ENDINGS = "(?:s|es|ed|d|ing|er)?"
# format characters (Unicode category Cf: zero-width spaces and joiners, bidi marks, soft
# hyphen, tags), listed once from unicodedata; a test proves the list complete
_FORMAT = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f]"
)
MAX_TEXT = 20_000  # longer texts are refused before any matching (a script is never this long)


def normalise_text(text: str) -> str:
    """The normal form banned phrases are matched on (see the module docstring)."""
    folded = text if text.isascii() else _FORMAT.sub("", unicodedata.normalize("NFKC", text))
    folded = folded.casefold()
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
    return max(words, key=len), re.compile(rf"(?<![{_WORD}]){body}{_ENDINGS}(?![{_WORD}])")


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
# what a placeholder of an approved third-party script may be filled with: a name or a number,
# never a sentence (so nothing about the debt can ride in on a placeholder)
_NAME_VALUE = r"[^\W\d_](?:[^\W\d_]|[ .'’·\-]){0,39}"
_FILL = {
    "first_name": _NAME_VALUE,
    "full_name": _NAME_VALUE,
    "name": _NAME_VALUE,
    "agent_name": _NAME_VALUE,
    "company": r"[^\W_](?:[^\W_]|[ .&'’·\-]){0,59}",
    "hotline": r"\+?[0-9][0-9 \-()]{2,19}",
}


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
            unknown = sorted(set(_PLACEHOLDER.findall(text)) - set(_FILL))
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


@dataclass(frozen=True, slots=True)
class _Script:
    channel: str
    text: str
    pattern: re.Pattern[str]


def _compile_script(text: str) -> re.Pattern[str]:
    parts, last = [], 0
    for m in _PLACEHOLDER.finditer(text):
        parts += [re.escape(text[last : m.start()]), f"(?:{_FILL[m.group(1)]})"]
        last = m.end()
    parts.append(re.escape(text[last:]))
    return re.compile("".join(parts))


def _scripts(templates: Mapping[str, Mapping[str, Any]]) -> dict[str, _Script]:
    """The approved third-party scripts of a mapping; one with any problem is not approved
    (a caller's mapping gets the same check as a file)."""
    bad = {p.path.split(".")[1] for p in template_problems(templates, file="<templates>")}
    return {
        name: _Script(str(t["channel"]), str(t["text"]), _compile_script(str(t["text"])))
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
    the dialler) or that template with each placeholder filled by a name or a number
    (never free text)."""
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
    if len(text) > MAX_TEMPLATE * 2 or script.pattern.fullmatch(text) is None:
        return f"the text is not template {template_id!r} as approved (placeholders take a name or a number)"  # fmt: skip
    return None
