"""导入 (import): append order lines from a shop or WeChat export.

Headers are mapped through the 订单 column aliases (schema.header_lookup),
a few supplementary aliases below, and the user's 设置 / 导入列映射. Lines
already in the book (same 订单号 + 商品编码 + 规格) are skipped, so importing
the same file twice adds nothing. Values are appended as read; only the
spreadsheet tricks around id-like fields (="123", '123, tabs) are unwrapped.
validate normalises and flags everything else.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..book import sources
from ..book.interface import Book
from ..book.schema import (ORDERS, S_CANCELLED, S_PENDING_CHECK, header_lookup, normalise_header)
from ..domain import normalize as nz
from ..errors import ShipbookError
from .common import EXIT_OK, EXIT_PROBLEMS, Context, Result, log_operation

COMMAND = "import"
BUTTON = "import"
HELP = "导入订单 / append order lines from a shop or WeChat export (.xlsx .xls .csv)"

ORDER_STATUS = "order_status"  # a source column, not a contract column
ORDER_STATUS_HEADERS = ("订单状态", "交易状态", "order_status")
CANCELLED_STATES = frozenset({"已取消", "交易关闭", "订单关闭", "已关闭", "订单已取消", "交易取消"})
UNPAID_STATES = frozenset({"等待买家付款", "待付款", "未付款", "待支付", "未支付", "等待付款"})
ID_KEYS = ("order_id", "sku", "phone")
# filled by macros only: a source column with one of these headers is not imported
MACRO_KEYS = frozenset({"check", "slip_no", "shipped_at"})
# Platform headers the schema's alias table lacks (Youzan, Taobao, WeChat shop exports).
# Pending a move into schema.ORDERS; contract headers and schema aliases take precedence.
SUPPLEMENTARY_ALIASES: dict[str, str] = {
    "订单号码": "order_id",
    "成交时间": "ordered_at", "订单时间": "ordered_at",
    "买家付款时间": "paid_at", "订单付款时间": "paid_at",
    "粉丝昵称": "customer", "客户名称": "customer", "客户昵称": "customer", "会员昵称": "customer",
    "收货人/提货人": "recipient", "收货人名称": "recipient", "收件人名称": "recipient",
    "收货人手机号": "phone", "收货人手机号/提货人手机号": "phone", "收件人手机": "phone", "收件人手机号": "phone",
    "收货人联系方式": "phone", "收件人联系方式": "phone", "联系方式": "phone", "收货电话": "phone",
    "收件电话": "phone",
    "收货人省份": "province", "收件人省份": "province", "收件省": "province", "收货省": "province",
    "收货人城市": "city", "收件人城市": "city", "收件市": "city", "收货市": "city",
    "收货人地区": "district", "收货人区县": "district", "收件人区县": "district", "收件区": "district",
    "收货区": "district", "区/县": "district", "县区": "district",
    "详细收货地址": "address", "详细收货地址/提货地址": "address", "收件人地址": "address",
    "收件人详细地址": "address", "收货详细地址": "address", "收件详细地址": "address",
    "商品编码(自定义)": "sku", "sku编码(自定义)": "sku", "规格商家编码": "sku", "商家sku编码": "sku",
    "sku商家编码": "sku",
    "商品名": "product_name", "宝贝名称": "product_name", "标题": "product_name",
    "商品属性": "spec", "规格名称": "spec", "sku名称": "spec", "规格值": "spec", "sku规格": "spec",
    "购买件数": "qty", "商品件数": "qty",
    "商品价格": "unit_price", "商品售价": "unit_price", "售价": "unit_price",
    "实付款": "amount", "商品实付金额": "amount", "商品实际成交金额": "amount", "商品总价": "amount",
    "商品小计": "amount", "实收金额": "amount",
    "客户备注": "remark", "用户备注": "remark",
    "快递名称": "carrier",
}
# "单价(元)", "数量（件）": a unit in brackets after a known header
_UNIT_SUFFIX = re.compile(r"[(（\[【](元|件|个|kg|千克|公斤|rmb|cny|¥|￥)[)）\]】]$")
_EXCEL_TEXT = re.compile(r'^=\s*"(.*)"$', re.S)
# characters a workbook cell cannot hold (XML 1.0); tab, LF and CR are fine
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_MAPPING_SEP = re.compile(r"[;；,，\r\n]+")
_MAPPING_EQ = re.compile(r"[=＝]")


# -- column mapping ----------------------------------------------------------------
def parse_mapping(text: str | None) -> dict[str, str]:
    """设置 / 导入列映射 ("收货手机=phone; 宝贝编码=商品编码") -> {source header: key}.

    The right side is an English key, a 订单 header or one of its aliases
    (or 订单状态). A malformed entry or an unknown target: ShipbookError naming it.
    """
    out: dict[str, str] = {}
    if not text or not str(text).strip():
        return out
    targets = header_lookup(ORDERS)
    for name, key in SUPPLEMENTARY_ALIASES.items():
        targets.setdefault(normalise_header(name), key)
    for name in ORDER_STATUS_HEADERS + ("状态", "status"):
        targets[normalise_header(name)] = ORDER_STATUS
    for entry in _MAPPING_SEP.split(str(text)):
        entry = entry.strip()
        if not entry:
            continue
        parts = _MAPPING_EQ.split(entry)
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise ShipbookError(f"设置「导入列映射」中的条目「{entry}」无法识别, 应写作 源表头=列 (如 收货手机=phone)",
                                f"设置 / 导入列映射: cannot read entry '{entry}'; write it as "
                                "source header=column (e.g. 收货手机=phone)")
        source, target = parts[0].strip(), parts[1].strip()
        key = targets.get(normalise_header(target))
        if key is None:
            raise ShipbookError(f"设置「导入列映射」的条目「{entry}」: 订单表没有「{target}」这一列",
                                f"设置 / 导入列映射 entry '{entry}': 订单 has no column '{target}'")
        if key in MACRO_KEYS:
            raise ShipbookError(f"设置「导入列映射」的条目「{entry}」: 「{target}」由宏填写, 不能导入",
                                f"设置 / 导入列映射 entry '{entry}': '{target}' is filled by macros, "
                                "not imported")
        out[source] = key
    return out


class ColumnMap:
    """How source headers map to 订单 keys; rank 0 user mapping, 1 contract header, 2 alias."""

    def __init__(self, user: dict[str, str] | None = None):
        self.user = {normalise_header(k): v for k, v in (user or {}).items()}
        self.lookup = header_lookup(ORDERS, user)
        for name, key in SUPPLEMENTARY_ALIASES.items():
            self.lookup.setdefault(normalise_header(name), key)
        for name in ORDER_STATUS_HEADERS:
            self.lookup.setdefault(normalise_header(name), ORDER_STATUS)
        self.exact = {normalise_header(c.header): c.key for c in ORDERS.columns}
        self.exact.update({normalise_header(c.key): c.key for c in ORDERS.columns})
        self.exact.update({normalise_header(n): ORDER_STATUS for n in ORDER_STATUS_HEADERS})

    def resolve(self, header) -> tuple[str, int] | None:
        h = normalise_header(header)
        if not h:
            return None
        for name in (h, _UNIT_SUFFIX.sub("", h)):
            if not name:
                continue
            if name in self.user:
                return self.user[name], 0
            key = self.lookup.get(name)
            if key is not None:
                if key == "status":  # a source 状态 column is read like 订单状态
                    return ORDER_STATUS, 2
                return key, 1 if name in self.exact else 2
        return None

    def key_of(self, header) -> str | None:
        r = self.resolve(header)
        return r[0] if r else None

    def assign(self, headers: list[str], frame: pd.DataFrame) -> tuple[dict[str, int], list[str], list[dict]]:
        """({key: column}, unmapped header names, ignored columns with reasons)."""
        chosen: dict[str, tuple[int, int]] = {}
        unmapped: list[str] = []
        ignored: list[dict] = []
        for i, h in enumerate(headers):
            label = h.strip() if h.strip() else f"列{_letter(i)}"
            r = self.resolve(h)
            if r is None:
                if h.strip() or frame[i].notna().any():
                    unmapped.append(label)
                continue
            key, rank = r
            if key in MACRO_KEYS:
                ignored.append({"column": label, "key": key,
                                "reason": "由宏填写, 未导入 / filled by macros, not imported"})
                continue
            if key in chosen and chosen[key][1] <= rank:
                ignored.append({"column": label, "key": key,
                                "reason": f"与「{headers[chosen[key][0]]}」重复, 未导入 / "
                                          f"duplicates column '{headers[chosen[key][0]]}', not imported"})
                continue
            if key in chosen:
                j = chosen[key][0]
                ignored.append({"column": headers[j], "key": key,
                                "reason": f"与「{h}」重复, 未导入 / duplicates column '{h}', not imported"})
            chosen[key] = (i, rank)
        return {k: i for k, (i, _) in chosen.items()}, unmapped, ignored


def _letter(i: int) -> str:
    s, n = "", i + 1
    while n:
        n, rem = divmod(n - 1, 26)
        s = chr(65 + rem) + s
    return s


# -- cell values ---------------------------------------------------------------------
def unwrap_id(v):
    """Undo spreadsheet export tricks around an id: ="123", '123, leading/trailing tabs and spaces.

    Whole numbers (an id Excel stored as a number) become their digits as text.
    Nothing else changes (full-width digits etc. are validate's job).
    """
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, float)):
        return nz.clean_text(v)
    if not isinstance(v, str):
        return v
    s = v
    for _ in range(4):
        before = s
        s = s.strip()
        m = _EXCEL_TEXT.match(s)
        if m:
            s = m.group(1)
        elif s.startswith("'"):
            s = s[1:]
        if s == before:
            break
    return s or None


def _map(series: pd.Series, fn) -> pd.Series:
    return pd.Series([fn(v) for v in series.to_numpy(dtype=object)], index=series.index, dtype=object)


def _blank(series: pd.Series) -> pd.Series:
    return pd.Series([v is None or (isinstance(v, float) and pd.isna(v)) or (isinstance(v, str) and not v.strip())
                      for v in series.to_numpy(dtype=object)], index=series.index, dtype=bool)


def line_keys(order_id: pd.Series, sku: pd.Series, spec: pd.Series) -> list[tuple]:
    """Dedup keys (订单号, 商品编码, 规格), compared the way validate normalises them."""
    o = nz.clean_texts(_map(order_id, unwrap_id))
    s = nz.clean_texts(_map(sku, unwrap_id))
    p = nz.clean_texts(spec)
    return [(a, b, c or "") for a, b, c in zip(o, s, p)]


def _text(v):
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    return nz.clean_text(v)


# -- the operation ---------------------------------------------------------------------
def run(book: Book, ctx: Context, file_path: str | Path, sheet: str | None = None) -> Result:
    path = Path(file_path)
    settings = book.read_settings()
    columns = ColumnMap(parse_mapping(settings.get("import_mapping", "")))
    src = sources.read_source(path, columns.key_of, sheet=sheet)
    assign, unmapped, ignored = columns.assign(src.headers, src.frame)
    raw = src.frame
    n = len(raw)
    ctx.report(0, n, "导入 / importing")

    lines = pd.DataFrame(index=raw.index)
    for key in ORDERS.keys:
        lines[key] = raw[assign[key]] if key in assign else pd.Series([None] * n, index=raw.index, dtype=object)
    lines = lines.astype(object)
    removed = 0
    for key in ORDERS.keys:  # a cell cannot hold control characters: drop them, say so
        col = lines[key]
        bad = [isinstance(v, str) and _CONTROL.search(v) is not None for v in col.to_numpy(dtype=object)]
        if any(bad):
            removed += sum(bad)
            lines[key] = _map(col, lambda v: _CONTROL.sub("", v) if isinstance(v, str) else v)
    for key in ID_KEYS:
        lines[key] = _map(lines[key], unwrap_id)

    # 订单状态 -> cancelled lines, unpaid lines
    state = (_map(raw[assign[ORDER_STATUS]], _text) if ORDER_STATUS in assign
             else pd.Series([None] * n, index=raw.index, dtype=object))
    cancelled = state.isin(CANCELLED_STATES)
    unpaid = state.isin(UNPAID_STATES)
    pay = lines["payment_status"].copy()
    pay_blank = _blank(pay)
    pay = pay.where(~(pay_blank & unpaid), "未付款")
    pay = pay.where(~(_blank(pay) & ~_blank(lines["paid_at"])), "已付款")
    lines["payment_status"] = pay.astype(object)
    lines["status"] = pd.Series([S_CANCELLED if c else S_PENDING_CHECK for c in cancelled], index=raw.index,
                                dtype=object)

    # rejected: no order id or no SKU
    no_order = _blank(lines["order_id"])
    no_sku = _blank(lines["sku"])
    rejected_mask = no_order | no_sku
    rejected, problems = [], []
    for line in raw.index[rejected_mask]:
        codes = [c for c, m in (("order_id.missing", no_order[line]), ("sku.missing", no_sku[line])) if m]
        zh = "和".join({"order_id.missing": "订单号", "sku.missing": "商品编码"}[c] for c in codes)
        en = " and ".join({"order_id.missing": "order id", "sku.missing": "SKU"}[c] for c in codes)
        reason = f"缺少{zh}, 未导入 / no {en}; not imported"
        oid = lines.at[line, "order_id"]
        rejected.append({"line": int(line), "order_id": oid, "reason": reason, "codes": codes})
        problems.append({"row": int(line), "order_id": oid, "severity": "error", "code": codes[0],
                         "message": f"源文件第 {line} 行缺少{zh}, 未导入 / source row {line}: no {en}; not imported"})

    # skipped: already in the book
    existing: set[tuple] = set()
    if book.has_sheet(ORDERS):
        have = book.read_table(ORDERS).frame
        existing = set(line_keys(have["order_id"], have["sku"], have["spec"]))
    keys = line_keys(lines["order_id"], lines["sku"], lines["spec"])
    in_book = pd.Series([k in existing for k in keys], index=raw.index, dtype=bool)
    skipped_mask = ~rejected_mask & in_book
    added_mask = ~rejected_mask & ~in_book
    skipped_orders = list(dict.fromkeys(k[0] for k, s in zip(keys, skipped_mask) if s))

    out = lines[added_mask]
    # leave out only columns with nothing at all (whitespace is kept as read: nothing lost)
    out = out[[k for k in ORDERS.keys if k == "status" or out[k].map(lambda v: v is not None and v == v).any()]]
    added = int(added_mask.sum())
    if added:
        book.append_rows(ORDERS, out.reset_index(drop=True))
    ctx.report(n, n, "导入 / importing")

    skipped = int(skipped_mask.sum())
    n_cancelled = int((cancelled & added_mask).sum())
    zh = f"导入 {path.name}: 新增 {added} 行, 跳过 {skipped} 行 (已在工作簿中), 拒绝 {len(rejected)} 行"
    en = f"imported {path.name}: {added} lines added, {skipped} skipped (already in the book), " \
         f"{len(rejected)} rejected"
    if n_cancelled:
        zh += f"; 其中已取消 {n_cancelled} 行"
        en += f"; {n_cancelled} of them cancelled"
    if removed:
        zh += f"; {removed} 个单元格含控制字符, 已删除这些字符"
        en += f"; control characters removed from {removed} cells"
    if unmapped:
        zh += f"; 未识别的列 (未导入): {'、'.join(unmapped)}"
        en += f"; unmapped columns (not imported): {', '.join(unmapped)}"
    if ignored:
        zh += f"; 忽略的列: {'、'.join(i['column'] for i in ignored)}"
        en += f"; ignored columns: {', '.join(i['column'] for i in ignored)}"
    data = {
        "file": path.name, "sheet": src.sheet, "encoding": src.encoding, "delimiter": src.delimiter,
        "header_row": src.header_row, "lines": n,
        "added": added, "skipped": skipped, "rejected": rejected, "skipped_orders": skipped_orders,
        "cancelled": n_cancelled, "control_chars_removed": removed,
        "columns": {(src.headers[i] or f"列{_letter(i)}"): k for k, i in sorted(assign.items(), key=lambda x: x[1])},
        "unmapped_columns": unmapped, "ignored_columns": ignored, "problems": problems,
    }
    result = Result(COMMAND, EXIT_PROBLEMS if rejected else EXIT_OK, zh, en, data, rows=added)
    log_operation(book, ctx, result, arguments=path.name + (f" [{src.sheet}]" if sheet else ""))
    return result


# -- command line ------------------------------------------------------------------------
def add_arguments(parser) -> None:
    parser.add_argument("book", help="工作簿文件 / workbook file (.xlsm or .xlsx)")
    parser.add_argument("file", help="导出文件 / the shop or WeChat export (.xlsx .xlsm .xls .csv .txt)")
    parser.add_argument("--sheet", metavar="NAME",
                        help="读取此工作表 (默认第一个) / read this sheet of an Excel export (default: the first)")


def cli(args, ctx: Context) -> Result:
    from ..book.xlsx import open_book
    sources.check_file(args.file)  # before the (slow) workbook load
    with open_book(args.book) as book:
        return run(book, ctx, args.file, sheet=args.sheet)
