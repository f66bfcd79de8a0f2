"""Which legacy encoding a text export that is not UTF-8 was written in.

Excel's "CSV" is written in the Windows code page of the machine: Windows-1252 in the West,
GBK on Chinese (PRC) Windows, Big5 (code page 950) on Chinese (Taiwan), Shift_JIS (932) on
Japanese and Unified Hangul (949) on Korean. A file read in the wrong one gives silently
wrong group names (``展会`` read as ``Õ¹»á``), so the encoding is judged by a charset
detector, ``charset-normalizer``, over the lines that hold non-ASCII bytes (the rest tell
nothing and, in a CRM export, drown the few that do).

The detector tells Western text from CJK text well, but not always which CJK code page: the
same two bytes are a character in each, and a short channel name gives its language model
nothing to go on. Among the CJK code pages that decode the bytes, the one whose characters
are its own language's *common* ones wins — a Big5 name read as Shift_JIS gives rare kanji
and half-width katakana, never JIS level-1 kanji. The common ranges are the code pages' own
first levels (GB2312 level 1, Big5's frequently used characters, JIS X 0208 level 1 and
kana, KS X 1001's 2,350 hangul). When no candidate explains the bytes, the caller is told
(``None``) rather than given a guess.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

WESTERN = ("cp1252", "iso8859_15", "latin_1")
CJK = ("gb18030", "cp950", "cp932", "cp949")
# The names users and docs know them by (input.detected, messages).
SHOWN = {
    "cp1252": "windows-1252",
    "iso8859_15": "iso-8859-15",
    "latin_1": "latin-1",
    "gb18030": "GB18030",
    "cp950": "Big5",
    "cp932": "Shift_JIS",
    "cp949": "EUC-KR",
}
# A CJK reading is believed when at least this share of its characters are common ones.
COMMON_SHARE = 0.6
SURE_SHARE = 0.9  # …and overrules a Western reading when this share is common
SAMPLE = 1 << 20  # bytes of non-ASCII lines given to the detector


@dataclass(frozen=True)
class Guess:
    codec: str  # a Python codec name
    shown: str  # for people


def _common_gb(char: str) -> bool:
    code = _encoded(char, "gb2312")
    return code is not None and (0xB0 <= code[0] <= 0xD7 or 0xA1 <= code[0] <= 0xA9)


def _common_big5(char: str) -> bool:
    code = _encoded(char, "big5")
    return code is not None and (
        0xA1 <= code[0] <= 0xA3 or 0xA4 <= code[0] < 0xC6 or (code[0] == 0xC6 and code[1] <= 0x7E)
    )


def _common_sjis(char: str) -> bool:
    code = _encoded(char, "cp932")
    return (
        code is not None and len(code) == 2 and (0x81 <= code[0] <= 0x84 or 0x88 <= code[0] <= 0x98)
    )


def _common_ks(char: str) -> bool:
    # Python's euc_kr writes a hangul outside KS X 1001 as an 8-byte make-up sequence: rare.
    code = _encoded(char, "euc_kr")
    return (
        code is not None and len(code) == 2 and (0xB0 <= code[0] <= 0xC8 or 0xA1 <= code[0] <= 0xAC)
    )


COMMON = {"gb18030": _common_gb, "cp950": _common_big5, "cp932": _common_sjis, "cp949": _common_ks}


def _encoded(char: str, codec: str) -> bytes | None:
    try:
        return char.encode(codec)
    except UnicodeEncodeError:
        return None


def non_ascii_lines(sample: bytes) -> bytes:
    """The lines of ``sample`` that hold a byte above 0x7F, up to SAMPLE bytes."""
    lines = [line for line in sample.split(b"\n") if not line.isascii()]
    out, size = [], 0
    for line in lines:
        out.append(line)
        size += len(line) + 1
        if size >= SAMPLE:
            break
    return b"\n".join(out)


def commonness(text: str, codec: str) -> float:
    """The share of the non-ASCII characters of ``text`` that are common in ``codec``'s
    language (0 when there are none)."""
    counts = Counter(c for c in text if ord(c) > 0x7F)
    if not counts:
        return 0.0
    common = COMMON[codec]  # judged once per distinct character: a few hundred, not millions
    return sum(n for c, n in counts.items() if common(c)) / counts.total()


def guess(sample: bytes) -> Guess | None:
    """The encoding of a sample that is not UTF-8, or None when no candidate explains it."""
    # Imported here: only non-UTF-8 files need it, and it costs start-up time otherwise.
    from charset_normalizer import from_bytes  # noqa: PLC0415

    lines = non_ascii_lines(sample)
    matches = list(from_bytes(lines, cp_isolation=[*WESTERN, *CJK])) if lines else []
    if not matches:
        return None
    best = _codec(matches[0].encoding)
    found = [_codec(m.encoding) for m in matches]
    if best in CJK:
        return _cjk(found, lines, COMMON_SHARE)
    if best not in WESTERN:
        return None
    # A few CJK names among ASCII can look Western to the detector; Western text read in a
    # CJK code page fails or gives rare characters (0 common on every sample tried).
    cjk = _cjk(found, lines, SURE_SHARE)
    if cjk is not None:
        return cjk
    try:
        sample.decode(best)
    except UnicodeDecodeError:
        best = "latin_1"  # a byte Windows-1252 leaves undefined: Latin-1 has them all
    return Guess(best, SHOWN[best])


def _cjk(found: list[str], lines: bytes, share: float) -> Guess | None:
    scores = {}
    for codec in CJK:
        try:
            scores[codec] = commonness(lines.decode(codec), codec)
        except UnicodeDecodeError:
            continue
    if not scores:
        return None
    rank = {c: found.index(c) if c in found else len(found) for c in scores}
    codec = max(scores, key=lambda c: (scores[c], -rank[c]))
    return Guess(codec, SHOWN[codec]) if scores[codec] >= share else None


def _codec(name: str) -> str:
    """charset-normalizer's name for a candidate, as one of ours."""
    aliases = {"big5": "cp950", "shift_jis": "cp932", "euc_kr": "cp949", "gbk": "gb18030"}
    return aliases.get(name, name)
