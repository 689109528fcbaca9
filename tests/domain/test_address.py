"""Behaviour of address -> province/city/district resolution (cpca-linch underneath)."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyshipbook.domain.address import Region, region_matches, resolve_addresses, resolve_with_hint

ROOT = Path(__file__).resolve().parents[2]

CASES = {
    # recent division changes cpca-linch knows (the original cpca 0.5.5 misses them)
    "成都市新津区五津街道1号": ("四川省", "成都市", "新津区"),
    "四川省成都市郫都区犀浦镇百草路8号": ("四川省", "成都市", "郫都区"),
    "河南省洛阳市偃师区商都路12号": ("河南省", "洛阳市", "偃师区"),
    "西藏错那市曲卓木乡": ("西藏自治区", "山南市", "错那市"),
    "杭州市临平区南苑街道人民大道1号": ("浙江省", "杭州市", "临平区"),
    # municipalities: province and city are both the municipality
    "北京市海淀区中关村大街1号": ("北京市", "北京市", "海淀区"),
    "北京朝阳区建国路1号": ("北京市", "北京市", "朝阳区"),
    "上海市浦东新区世纪大道100号": ("上海市", "上海市", "浦东新区"),
    "重庆渝中区解放碑步行街": ("重庆市", "重庆市", "渝中区"),
    "天津市和平区南京路": ("天津市", "天津市", "和平区"),
    # everyday forms
    "广东省深圳市南山区科技园南区高新南七道8号": ("广东省", "深圳市", "南山区"),
    "深圳南山科技园": ("广东省", "深圳市", "南山区"),
    "吉林省长春市朝阳区人民大街": ("吉林省", "长春市", "朝阳区"),
    "内蒙古呼和浩特市新城区": ("内蒙古自治区", "呼和浩特市", "新城区"),
    "广西南宁青秀区民族大道": ("广西壮族自治区", "南宁市", "青秀区"),
    # jieba's dictionary has "上海浦东新区" as one word: resolved by the full-text second pass
    "上海浦东新区世纪大道": ("上海市", "上海市", "浦东新区"),
    # old county names map to the current district through the second pass
    "四川省成都市新津县五津镇": ("四川省", "成都市", "新津区"),
}

AMBIGUOUS = ["朝阳区建国路1号", "南区路1号"]
GARBAGE = ["asdf", "12345", "请尽快发货", "建设大道8974号"]
CONTRADICTORY = ["广东省杭州市西湖区文三路"]


@pytest.fixture(scope="module")
def resolved() -> dict[str, Region]:
    return resolve_addresses([*CASES, *AMBIGUOUS, *GARBAGE, *CONTRADICTORY, "", "   ", None])


@pytest.mark.parametrize("address", list(CASES))
def test_address_resolves_to_current_province_city_and_district(resolved, address):
    region = resolved[address]
    assert (region.province, region.city, region.district) == CASES[address]
    assert region.resolved is True
    assert region.ambiguous is False


@pytest.mark.parametrize("address", ["北京市海淀区中关村大街1号", "上海市浦东新区世纪大道100号", "重庆渝中区解放碑步行街",
                                     "天津市和平区南京路"])
def test_municipality_is_both_province_and_city(resolved, address):
    region = resolved[address]
    assert region.province == region.city
    assert region.city in {"北京市", "上海市", "天津市", "重庆市"}


def test_district_shared_by_two_cities_is_ambiguous_never_a_silent_guess(resolved):
    region = resolved["朝阳区建国路1号"]
    assert region.resolved is False
    assert region.ambiguous is True
    assert (region.province, region.city) == (None, None)  # cpca alone would answer 北京市
    assert "北京市" in region.note and "长春市" in region.note
    assert region.status == "存在歧义"


def test_district_name_alone_with_several_candidates_is_ambiguous(resolved):
    region = resolved["南区路1号"]
    assert (region.resolved, region.ambiguous) == (False, True)
    assert "中山市" in region.note


def test_written_province_removes_the_ambiguity(resolved):
    region = resolved["吉林省长春市朝阳区人民大街"]
    assert (region.city, region.ambiguous) == ("长春市", False)


def test_ambiguity_agrees_with_cpca_own_status_column():
    import cpca

    sample = ["朝阳区建国路1号", "南区路1号", "西区幸福小区", "市中区建设大道", "南山区工业园", "铁西区人民路",
              "北京朝阳区建国路1号", "吉林朝阳区", "深圳南山科技园", "鼓楼区中山路", "普陀区", "河东区", "asdf",
              "新津区", "广东省深圳市福田区", "城关镇", "长安区", "白云区", "西湖区", "江北区"]
    theirs = cpca.transform(sample, open_warning=False)["识别状态"].eq("存在歧义").tolist()
    ours = resolve_addresses(sample)
    assert [ours[a].ambiguous for a in sample] == theirs
    assert sum(theirs) >= 10  # the sample really exercises the rule


@pytest.mark.parametrize("address", GARBAGE)
def test_garbage_is_unresolved_but_not_ambiguous(resolved, address):
    region = resolved[address]
    assert region.resolved is False
    assert region.ambiguous is False
    assert (region.province, region.city) == (None, None)
    assert region.note


def test_province_and_city_that_contradict_each_other_are_unresolved(resolved):
    region = resolved["广东省杭州市西湖区文三路"]
    assert region.resolved is False
    assert region.status == "待核验"
    assert "矛盾" in region.note


def test_district_not_in_the_written_city_is_dropped_but_city_kept():
    region = resolve_addresses(["广州市南区路8号"])["广州市南区路8号"]
    assert (region.province, region.city, region.district) == ("广东省", "广州市", None)
    assert region.resolved is True
    assert "南区" in region.note


def test_city_level_address_without_district_is_resolved():
    region = resolve_addresses(["陕西省西安市人民路2300号"])["陕西省西安市人民路2300号"]
    assert (region.province, region.city, region.district, region.resolved) == ("陕西省", "西安市", None, True)


def test_blank_and_non_text_items_are_skipped(resolved):
    assert "" not in resolved and "   " not in resolved and None not in resolved
    assert resolve_addresses([None, "", float("nan"), 12345]) == {}
    assert resolve_addresses([]) == {}


def test_keys_are_the_addresses_as_given_and_spelling_variants_share_one_parse():
    raw = ["  北京市东城区王府井  ", "北京市东城区王府井", "ＡＢＣ北京市东城区王府井"]
    got = resolve_addresses(raw + raw)
    assert set(got) == set(raw)
    assert got[raw[0]] is got[raw[1]]
    assert {(r.city, r.district) for r in got.values()} == {("北京市", "东城区")}


def test_each_distinct_address_is_parsed_once(monkeypatch):
    from pyshipbook.domain import address

    seen: list[list[str]] = []
    real = address._transform

    def spy(texts, cut):
        seen.append(list(texts))
        return real(texts, cut)

    monkeypatch.setattr(address, "_transform", spy)
    resolve_addresses(["广东省深圳市福田区1号"] * 500 + ["杭州市临平区1号"] * 500)
    assert seen[0] == ["广东省深圳市福田区1号", "杭州市临平区1号"]


def test_parsing_leaves_global_logging_as_it_was(resolved):
    handlers = list(logging.root.handlers)
    jieba_level = logging.getLogger("jieba").level
    resolve_addresses(["朝阳区建国路1号", "asdf", "南区路1号"])
    assert logging.root.handlers == handlers
    assert logging.getLogger("jieba").level == jieba_level


def test_first_call_prints_nothing_on_stderr_or_stdout():
    code = ("from pyshipbook.domain.address import resolve_addresses\n"
            "r = resolve_addresses(['朝阳区建国路1号', 'asdf', '广东省深圳市南山区'])\n"
            "import logging; assert not logging.root.handlers\n"
            "print(r['广东省深圳市南山区'].city, end='')\n")
    done = subprocess.run([sys.executable, "-W", "default", "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "深圳市"
    assert done.stderr == ""


# --------------------------------------------------------------------------- hints


def test_hint_from_city_column_settles_an_ambiguous_address():
    region = resolve_with_hint("朝阳区建国路1号", None, "北京", None)
    assert (region.province, region.city, region.district, region.resolved) == ("北京市", "北京市", "朝阳区", True)
    assert "省/市/区县列" in region.note
    region = resolve_with_hint("朝阳区建国路1号", "吉林省", "长春市", None)
    assert (region.city, region.resolved) == ("长春市", True)


def test_hint_never_overrides_a_clear_address():
    region = resolve_with_hint("广东省深圳市南山区科技园", "浙江省", "杭州市", None)
    assert (region.province, region.city) == ("广东省", "深圳市")


def test_hint_that_does_not_help_leaves_the_address_unresolved():
    assert resolve_with_hint("asdf", None, None, None).resolved is False
    assert resolve_with_hint("asdf", "火星", None, None).resolved is False
    assert resolve_with_hint(None, "广东", "深圳", None).resolved is False
    assert resolve_with_hint("朝阳区建国路1号").ambiguous is True


# --------------------------------------------------------------------------- region_matches


@pytest.mark.parametrize(
    "given_, parsed",
    [
        ("广东", "广东省"),
        ("广东省", "广东省"),
        ("深圳", "深圳市"),
        ("深圳市", "深圳市"),
        ("浦东", "浦东新区"),
        ("内蒙古", "内蒙古自治区"),
        ("广西", "广西壮族自治区"),
        ("广西省", "广西壮族自治区"),
        ("新疆", "新疆维吾尔自治区"),
        ("宁夏", "宁夏回族自治区"),
        ("延边", "延边朝鲜族自治州"),
        ("恩施州", "恩施土家族苗族自治州"),
        ("香港", "香港特别行政区"),
        ("北京", "北京市"),
        ("市辖区", "北京市"),
        ("新津县", "新津区"),
        ("南山区", "南山区"),
        (" 深圳 ", "深圳市"),
        ("ＳＺ", "SZ"),
        (None, "广东省"),
        ("", "广东省"),
        ("  ", "广东省"),
        (float("nan"), "广东省"),
        ("广东省", None),
    ],
)
def test_region_cell_matches_parsed_name_tolerantly(given_, parsed):
    assert region_matches(given_, parsed) is True


@pytest.mark.parametrize(
    "given_, parsed",
    [
        ("浙江", "广东省"),
        ("广州", "深圳市"),
        ("南山区", "福田区"),
        ("南区", "南山区"),
        ("广", "广东省"),
        ("市辖区", "深圳市"),
        ("东", "广东省"),
        ("深圳湾", "深圳市"),
        ("上海", "北京市"),
    ],
)
def test_region_cell_that_names_another_place_does_not_match(given_, parsed):
    assert region_matches(given_, parsed) is False


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), st.text(), st.integers(), st.floats()), st.one_of(st.none(), st.text()))
def test_region_matches_is_total(given_, parsed):
    assert isinstance(region_matches(given_, parsed), bool)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), st.text(max_size=40),
                          st.text(alphabet="北京上海广东省深圳市南山区朝阳路号 1-", max_size=20)), max_size=8))
def test_resolve_addresses_is_total_on_arbitrary_text(addresses):
    got = resolve_addresses(addresses)
    assert set(got) <= {a for a in addresses if isinstance(a, str)}
    for region in got.values():
        assert isinstance(region, Region)
        assert not (region.resolved and region.ambiguous)
        assert not region.resolved or (region.province and region.city)
