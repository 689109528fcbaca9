"""Chinese address -> province / city / district, with cpca-linch (no I/O).

``resolve_addresses`` parses each distinct address once and trusts only what
is unambiguous:

* a district name shared by several cities with no city written (e.g.
  "朝阳区建国路1号": Beijing or Changchun) -> resolved=False, ambiguous=True,
  no province/city. This is cpca's own 存在歧义 rule (a test pins it to
  cpca's column); cpca would also fill a city from its built-in map, a guess
  we never keep;
* province and city found and forming a real pair -> resolved=True (the
  district kept only when the province/city/district triple exists);
* anything else -> resolved=False, with what was read, for display only.

cpca.transform runs without its status columns: their consistency check
scans the whole division table for every incomplete row and doubled the
time; the same checks are done here against cpca's tables.

Addresses the jieba pass cannot place fully (jieba's own dictionary knows
"上海浦东新区" as one word; old names like "新津县") get a second, full-text
pass; its answer is taken only if it read a province or city name in the
text itself and agrees with the first pass.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pyshipbook.domain.normalize import clean_text

__all__ = ["Region", "region_matches", "resolve_addresses", "resolve_with_hint"]

_AMBIGUOUS = "存在歧义"
_CONTRADICTORY = "待核验"
_INCOMPLETE = "未完整识别"
_NOT_A_DISTRICT = frozenset({"地点名称", "历史管理名称", _CONTRADICTORY})
_MUNICIPALITIES = frozenset({"北京市", "上海市", "天津市", "重庆市"})


@dataclass(frozen=True, slots=True)
class Region:
    """Where an address is. resolved: province and city found (and consistent)."""

    province: str | None
    city: str | None
    district: str | None
    resolved: bool
    ambiguous: bool = False
    note: str = ""  # the parser's explanation (Chinese), may be ""
    status: str = ""  # cpca's 识别状态: 现行名称, 历史名称, 未完整识别, 存在歧义, 待核验 ...


_UNRESOLVED = Region(None, None, None, False, False, "", "")


@contextmanager
def _quiet() -> Iterator[None]:
    """Mute jieba's start-up messages and cpca's resource warnings, then restore."""
    jieba_logger = logging.getLogger("jieba")
    level = jieba_logger.level
    jieba_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        jieba_logger.setLevel(level)


@lru_cache(maxsize=1)
def _cpca() -> Any:
    import jieba  # noqa: F401 -- first, so its import-time logger set-up cannot undo _quiet()

    with _quiet():
        import cpca

    return cpca


@lru_cache(maxsize=1)
def _known() -> tuple[frozenset[tuple[str, str]], frozenset[tuple[str, str, str]]]:
    """(province, city) pairs and (province, city, district) triples cpca knows."""
    cpca = _cpca()
    pairs: set[tuple[str, str]] = set()
    triples: set[tuple[str, str, str]] = set()
    for mapping in (cpca.city_map, cpca.area_map):
        for records, _full in list(mapping.values()):
            for p, c, a in records:
                if p and c:
                    pairs.add((p, c))
                    if a:
                        triples.add((p, c, a))
    return frozenset(pairs), frozenset(triples)


def _s(v: Any) -> str:
    return v if isinstance(v, str) else ""


def _pos(v: Any) -> int:
    try:
        return int(v)
    except (TypeError, ValueError, OverflowError):
        return -1


@lru_cache(maxsize=1)
def _status_map() -> dict[tuple[str, str, str], tuple[str, str, str]]:
    """cpca's (province, city, district) -> (status, note, current-name suggestion); {} if unavailable."""
    getter = getattr(_cpca(), "_division_status_map", None)
    try:
        with _quiet():
            found = getter() if callable(getter) else {}
        return found if isinstance(found, dict) else {}
    except Exception:  # noqa: BLE001 -- optional detail only
        return {}


def _judge(p: str, c: str, a: str, p_pos: int, c_pos: int) -> Region:
    """Turn one parse into a Region, applying cpca's own ambiguity rule and a consistency check.

    cpca's rule (transform's 存在歧义): no city written, the district name
    exists under several cities (of the written province, if any). cpca then
    fills a city from its built-in map; we report the ambiguity instead.
    """
    area_map = _cpca().area_map
    if a and c_pos < 0 and a in area_map:  # `in` first: area_map is a defaultdict
        written_p = p if p_pos >= 0 else ""
        candidates = sorted({r[1] for r in area_map.get_relational_addrs(a) if not written_p or r[0] == written_p})
        if len(candidates) > 1:
            note = f"同名区县“{a}”有多个候选城市：{'、'.join(x or '(省直辖)' for x in candidates)}；请在地址中写明城市"
            return Region(None, None, None, False, True, note, _AMBIGUOUS)
    pairs, triples = _known()
    if p and c and (p, c) in pairs:
        if a and (p, c, a) in triples:
            status, note, suggestion = _status_map().get((p, c, a), ("现行名称", "", ""))
            if suggestion and suggestion not in note:
                note = f"{note}（现行名称建议：{suggestion}）" if note else f"现行名称建议：{suggestion}"
            # legacy place names (农场, 园区, unconfirmed 街道) are kept out of the district column
            return Region(p, c, a if status not in _NOT_A_DISTRICT else None, True, False, note, status)
        if a:
            return Region(p, c, None, True, False, f"区县“{a}”不属于{p}{c}，已忽略区县", _CONTRADICTORY)
        return Region(p, c, None, True, False, "", _INCOMPLETE)
    if p and c:
        return Region(p, c, a or None, False, False, f"识别出的省“{p}”与市“{c}”互相矛盾", _CONTRADICTORY)
    return Region(p or None, c or None, a or None, False, False, "未能从地址中识别出省和市", _INCOMPLETE)


def _transform(texts: list[str], cut: bool) -> list[tuple[Region, int, int, int]]:
    """(region, province_pos, city_pos, district_pos) per text."""
    cpca = _cpca()
    with _quiet():
        df = cpca.transform(texts, cut=cut, pos_sensitive=True, open_warning=False, include_status=False)
    out = []
    for p, c, a, pp, cp, ap in zip(df["省"].tolist(), df["市"].tolist(), df["区"].tolist(),
                                   df["省_pos"].tolist(), df["市_pos"].tolist(), df["区_pos"].tolist()):
        pp, cp, ap = _pos(pp), _pos(cp), _pos(ap)
        out.append((_judge(_s(p), _s(c), _s(a), pp, cp), pp, cp, ap))
    return out


def _better(first: Region, second: tuple[Region, int, int, int]) -> Region | None:
    """The full-text pass's answer if it is trustworthy and adds something, else None."""
    region, p_pos, c_pos, a_pos = second
    if not region.resolved or region.status == _CONTRADICTORY:
        return None
    if p_pos < 0 and c_pos < 0:
        return None  # province and city only inferred from a district-like fragment
    if (first.province and first.province != region.province) or (first.city and first.city != region.city):
        return None
    if first.resolved and (first.district or not region.district or a_pos < 0):
        return None
    note = "分词未能完整识别，按全文匹配识别"
    return Region(region.province, region.city, region.district, True, False,
                  f"{note}；{region.note}" if region.note else note, region.status)


def _resolve_texts(texts: list[str]) -> list[Region]:
    if not texts:
        return []
    regions = [r for r, *_ in _transform(texts, cut=True)]
    retry = [i for i, r in enumerate(regions) if not r.ambiguous and not (r.resolved and r.district)]
    if retry:
        for i, second in zip(retry, _transform([texts[i] for i in retry], cut=False)):
            better = _better(regions[i], second)
            if better is not None:
                regions[i] = better
    return regions


def resolve_addresses(addresses: Iterable[str | None], known: dict[str, Region] | None = None) -> dict[str, Region]:
    """Region for each distinct non-blank address (keys are the addresses as given).

    Blank and non-text items are skipped: look results up with ``.get``.
    Each distinct text is parsed once; full-width characters and surrounding
    spaces are normalised first. ``known`` (cleaned text -> Region) holds
    results of earlier runs: those texts are not parsed again, new ones are
    added to it (the caller may keep it between runs).
    """
    try:
        by_text: dict[str, list[str]] = {}
        for a in addresses:
            if not isinstance(a, str):
                continue
            t = clean_text(a)
            if t is None:
                continue
            by_text.setdefault(t, []).append(a)
        known = {} if known is None else known
        todo = [t for t in by_text if t not in known]
        for t, region in zip(todo, _resolve_texts(todo)):
            known[t] = region
        return {a: known[t] for t, given in by_text.items() for a in given}
    except Exception as exc:  # noqa: BLE001 -- a parser failure must not stop validate
        fallback = Region(None, None, None, False, False, f"地址解析失败：{type(exc).__name__}", "")
        try:
            return {a: fallback for a in addresses if isinstance(a, str) and clean_text(a)}
        except Exception:  # noqa: BLE001 -- e.g. a one-shot iterator already consumed
            return {}


@lru_cache(maxsize=4096)
def _resolve_one(text: str) -> Region:
    return _resolve_texts([text])[0]


def resolve_with_hint(
    address: str | None, province: str | None = None, city: str | None = None, district: str | None = None
) -> Region:
    """Resolve one address; if it alone is ambiguous or unresolved, retry with the 省/市/区县 columns.

    The hint is used only when the address itself cannot be placed (e.g.
    "朝阳区建国路1号" with 市=北京): a clear address is never overridden, so a
    disagreement still shows up through region_matches.
    """
    try:
        text = clean_text(address) if isinstance(address, str) else None
        if text is None:
            return _UNRESOLVED
        plain = _resolve_one(text)
        if plain.resolved:
            return plain
        parts = [clean_text(x) if isinstance(x, str) else None for x in (province, city, district)]
        prefix = "".join(x for x in parts[:2] if x)
        if parts[2] and parts[2] not in text:
            prefix += parts[2]
        if not prefix:
            return plain
        hinted = _resolve_one(prefix + " " + text)
        if not hinted.resolved:
            return plain
        note = "地址本身未能确定省市，已按省/市/区县列识别"
        return Region(hinted.province, hinted.city, hinted.district, True, False,
                      f"{note}；{hinted.note}" if hinted.note else note, hinted.status)
    except Exception:  # noqa: BLE001
        return _UNRESOLVED


_SUFFIX = re.compile(r"(?:特别行政区|自治区|自治州|自治县|自治旗|新区|地区|林区|矿区|省|市|区|县|州|盟|旗)$")
_TAIL_OK = re.compile(
    r"(?:特别行政区|自治区|自治州|自治县|自治旗|新区|地区|林区|矿区|省|市|区|县|州|盟|旗"
    r"|[\u4e00-\u9fff]{1,12}自治(?:区|州|县|旗))"
)


def _core(name: str) -> str:
    core = _SUFFIX.sub("", name)
    return core if len(core) >= 2 else name


def region_matches(given: str | None, parsed: str | None) -> bool:
    """Tolerant comparison of a 省/市/区县 cell with the name parsed from the address.

    "广东"~"广东省", "深圳"~"深圳市", "浦东"~"浦东新区", "内蒙古"~"内蒙古自治区",
    "广西"/"广西省"~"广西壮族自治区", "新津县"~"新津区" (renamed), "市辖区"~ a
    municipality. A blank given (or nothing parsed) matches anything.
    """
    try:
        g = clean_text(given)
        p = clean_text(parsed)
        if g is None or p is None:
            return True
        g, p = g.replace(" ", ""), p.replace(" ", "")
        if g == p:
            return True
        if g in ("市辖区", "县") and p in _MUNICIPALITIES:
            return True
        gc, pc = _core(g), _core(p)
        if gc == pc:
            return True
        return len(gc) >= 2 and p.startswith(gc) and _TAIL_OK.fullmatch(p[len(gc):]) is not None
    except Exception:  # noqa: BLE001
        return False
