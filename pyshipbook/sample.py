"""Realistic sample data: a WeChat merchant's stock and a day of shop orders.

Used by `shipbook demo`, the tests and bench/. Deterministic for a seed.
The problems sprinkled in are the ones real exports have (WORKBOOK.md).
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

PRODUCTS = [
    ("玫瑰精华面膜", "10片/盒", 89.0, 0.35), ("玻尿酸补水面膜", "5片/盒", 59.0, 0.2),
    ("烟酰胺美白精华", "30ml", 168.0, 0.15), ("氨基酸洁面乳", "120g", 79.0, 0.18),
    ("防晒喷雾SPF50", "150ml", 99.0, 0.22), ("蚕丝枕套", "48x74cm 香槟色", 199.0, 0.3),
    ("蚕丝眼罩", "均码 黑色", 69.0, 0.05), ("纯棉四件套", "1.8m 灰色", 399.0, 2.4),
    ("羊毛围巾", "180cm 驼色", 259.0, 0.25), ("手工红糖姜茶", "12袋/盒", 39.0, 0.4),
    ("枸杞原浆", "30ml*10瓶", 158.0, 0.6), ("五常大米", "5kg", 88.0, 5.1),
    ("东北黑木耳", "250g", 45.0, 0.3), ("云南小粒咖啡", "500g 中度烘焙", 76.0, 0.55),
    ("安化黑茶", "1kg 茯砖", 238.0, 1.1), ("西湖龙井", "250g 明前", 468.0, 0.35),
    ("即食燕窝", "70g*6瓶", 298.0, 0.9), ("阿胶糕", "500g", 128.0, 0.6),
    ("益生菌冻干粉", "2g*30条", 139.0, 0.12), ("胶原蛋白肽", "5g*30袋", 199.0, 0.25),
    ("儿童保温杯", "400ml 粉色", 129.0, 0.45), ("不锈钢保温壶", "1.5L", 159.0, 0.9),
    ("硅胶折叠水杯", "350ml", 29.9, 0.1), ("竹纤维毛巾", "3条装", 49.0, 0.3),
    ("乳胶枕", "60x40cm", 219.0, 1.3), ("艾草足浴包", "30包", 59.0, 0.9),
    ("洗衣凝珠", "52颗", 49.9, 1.0), ("厨房湿巾", "80抽*3包", 25.9, 0.8),
    ("维C泡腾片", "20片", 35.0, 0.1), ("钙维D软糖", "60粒", 89.0, 0.2),
    ("蓝牙耳机", "白色", 189.0, 0.15), ("充电宝", "10000mAh", 99.0, 0.25),
    ("手机支架", "铝合金", 39.0, 0.2), ("数据线", "1m Type-C", 19.9, 0.05),
    ("香薰蜡烛", "200g 白茶", 79.0, 0.4), ("车载香薰", "雪松", 59.0, 0.1),
    ("真丝发圈", "5只装", 45.0, 0.03), ("珍珠耳钉", "7mm", 159.0, 0.02),
    ("手工皂", "100g 薰衣草", 32.0, 0.12), ("护手霜礼盒", "30g*5", 99.0, 0.3),
]
# (province, city, district, street) — current divisions, incl. recent renames
PLACES = [
    ("广东省", "深圳市", "南山区", "科技园南区高新南七道"), ("广东省", "广州市", "天河区", "珠江新城花城大道"),
    ("浙江省", "杭州市", "临平区", "南苑街道人民大道"), ("浙江省", "宁波市", "鄞州区", "首南街道天童南路"),
    ("江苏省", "南京市", "鼓楼区", "中山北路"), ("江苏省", "苏州市", "姑苏区", "观前街"),
    ("四川省", "成都市", "新津区", "五津街道兴园路"), ("四川省", "成都市", "郫都区", "犀浦镇校园路"),
    ("北京市", "北京市", "海淀区", "中关村大街"), ("上海市", "上海市", "浦东新区", "张江路"),
    ("湖北省", "武汉市", "洪山区", "珞喻路"), ("河南省", "洛阳市", "偃师区", "商都路"),
    ("山东省", "青岛市", "市南区", "香港中路"), ("福建省", "厦门市", "思明区", "湖滨南路"),
    ("湖南省", "长沙市", "岳麓区", "麓山南路"), ("陕西省", "西安市", "雁塔区", "小寨东路"),
    ("重庆市", "重庆市", "渝北区", "金开大道"), ("天津市", "天津市", "和平区", "南京路"),
    ("辽宁省", "沈阳市", "和平区", "南京北街"), ("云南省", "昆明市", "五华区", "东风西路"),
]
# street names, combined with PLACES for realistic variety (a region key is everything before the number)
ROADS = ["人民", "解放", "中山", "建设", "和平", "新华", "文化", "胜利", "光明", "青年", "朝阳", "幸福", "长江",
         "黄河", "滨江", "湖滨", "环城", "迎宾", "学府", "科技", "创业", "府前", "东风", "南京", "北京", "上海",
         "延安", "五一", "团结", "友谊", "振兴", "繁荣", "花园", "金桥", "银河", "星光", "明珠", "翠湖", "紫荆",
         "丹桂", "龙井", "凤凰", "麒麟", "锦绣", "天府", "雁塔", "太白", "珠江", "海滨", "松江"]
ROAD_KINDS = ["路", "街", "大道", "东路", "西路", "南路", "北路", "巷"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞雪梅琳晨宇浩然欣怡子涵"
NICKS = ["小确幸", "阳光", "Lily", "晴天", "一只猫", "安然", "Coco", "木子", "樱桃", "蓝天白云", "糖糖", "Grace"]
MOBILE_PREFIXES = ["138", "139", "137", "135", "186", "187", "158", "159", "188", "150", "177", "199", "166", "191"]


def sku_code(i: int) -> str:
    return f"WS{1001 + i}"


def stock_rows(n_skus: int = 40, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    rows = []
    for i in range(n_skus):
        name, spec, price, weight = PRODUCTS[i % len(PRODUCTS)]
        if i >= len(PRODUCTS):
            spec = f"{spec} 第{i // len(PRODUCTS) + 1}批"
        rows.append({"sku": sku_code(i), "name": name, "spec": spec, "list_price": price,
                     "on_hand": rnd.choice([0, 5, 12, 30, 50, 80, 120, 200, 300]),
                     "safety_stock": rnd.choice([5, 10, 20]), "weight_kg": weight,
                     "location": f"{'ABCD'[i % 4]}-{i // 4 + 1:02d}-{rnd.randint(1, 4)}"})
    return rows


def _person(rnd: random.Random) -> tuple[str, str]:
    name = rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice([1, 2])))
    phone = rnd.choice(MOBILE_PREFIXES) + f"{rnd.randint(0, 99999999):08d}"
    return name, phone


def order_rows(n_lines: int = 200, n_skus: int = 40, day: dt.date = dt.date(2026, 11, 26), seed: int = 11,
               problems: bool = True) -> list[dict]:
    """Shop-export-like order lines (contract keys), ~1.6 lines per order."""
    rnd = random.Random(seed)
    stock = stock_rows(n_skus)
    rows: list[dict] = []
    n = 0
    start = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(14, 0))
    while len(rows) < n_lines:
        n += 1
        order_id = f"{day:%y%m%d}{n:06d}"
        name, phone = _person(rnd)
        prov, city, dist, street = rnd.choice(PLACES)
        if rnd.random() < 0.8:  # most buyers live off the few well-known streets
            street = f"{rnd.choice(ROADS)}{rnd.choice(ROAD_KINDS)}"
        house = f"{rnd.randint(1, 999)}号{rnd.randint(1, 30)}栋{rnd.randint(101, 2808)}室"
        ordered = start + dt.timedelta(seconds=rnd.randint(0, 24 * 3600 - 1))
        pay = rnd.choices(["已付款", "未付款", "货到付款"], [85, 8, 7])[0]
        paid = ordered + dt.timedelta(minutes=rnd.randint(0, 30)) if pay == "已付款" else None
        channel = rnd.choices(["微信", "小程序", "电话", "经销商"], [60, 30, 5, 5])[0]
        nick = rnd.choice(NICKS) + str(rnd.randint(1, 99))
        for sku in rnd.sample(stock, k=min(len(stock), rnd.choices([1, 2, 3], [60, 30, 10])[0])):
            if len(rows) >= n_lines:
                break
            qty = rnd.choices([1, 2, 3, 5], [70, 20, 7, 3])[0]
            rows.append({
                "order_id": order_id, "ordered_at": ordered, "channel": channel, "customer": nick,
                "recipient": name, "phone": phone, "province": "", "city": "", "district": "",
                "address": f"{prov}{city}{dist}{street}{house}", "sku": sku["sku"], "product_name": sku["name"],
                "spec": sku["spec"], "qty": qty, "unit_price": sku["list_price"],
                "amount": round(qty * sku["list_price"], 2), "payment_status": pay, "paid_at": paid,
                "remark": rnd.choice(["", "", "", "尽快发货", "送人的, 不要放发票", "顺丰可以吗"]),
            })
    if problems:
        _add_problems(rows, rnd)
    return rows


def _add_problems(rows: list[dict], rnd: random.Random) -> None:
    """The messy cases real exports have; about one line in twelve."""
    if len(rows) < 40:
        return
    picks = rnd.sample(range(len(rows)), 18)
    r = iter(picks)

    def whole_order(i: int, **values) -> None:  # order-level fields change on every line of the order
        for row in rows:
            if row["order_id"] == rows[i]["order_id"]:
                row.update(values)

    whole_order(next(r), phone="１３８ ００１３ ８０００")                # full-width, spaces: fixed silently
    whole_order(next(r), phone="+86 139-1234-5678")                    # +86 and dashes: fixed silently
    whole_order(next(r), phone="1381234")                              # phone.invalid
    rows[next(r)]["recipient"] = ""                                      # recipient.missing
    rows[next(r)]["sku"] = "WS9999"                                      # sku.unknown
    rows[next(r)]["qty"] = 0                                             # qty.invalid
    i = next(r)
    rows[i]["amount"] = rows[i]["amount"] + 10                           # amount.mismatch
    i = next(r)
    rows[i]["unit_price"] = round(rows[i]["unit_price"] * 0.9, 2)        # price.differs (a discount)
    rows[i]["amount"] = round(rows[i]["qty"] * rows[i]["unit_price"], 2)
    i = next(r)
    rows[i]["payment_status"], rows[i]["paid_at"] = "已付款", None       # paid_at.missing
    rows[next(r)]["ordered_at"] = "2026/11/26 9:71"                      # date.invalid
    rows[next(r)]["ordered_at"] = "2026年11月26日 10:45"                 # text date: fixed silently
    rows[next(r)]["remark"] = "=HYPERLINK(\"http://example.com\",\"点我\")"  # cell.formula
    whole_order(next(r), address="朝阳区建国路88号")                     # address.unresolved (ambiguous)
    whole_order(next(r), province="江苏省", city="南京市")                 # region.mismatch if elsewhere
    i = next(r)
    rows[i]["address"] = ""                                              # address.missing
    i = next(r)
    dup = dict(rows[i])
    rows.insert(i + 1, dup)                                              # order.duplicate_line
    i = next(r)
    later = dict(rows[i])
    later["sku"] = "WS1001" if rows[i]["sku"] != "WS1001" else "WS1002"
    later["phone"] = "13900000000"
    rows.insert(i + 1, later)                                            # order.inconsistent
    i = next(r)
    rows[i]["unit_price"] = f"￥{rows[i]['unit_price']:,.2f}"             # money as text: fixed silently


EXPORT_HEADERS = [  # a WeChat-shop-like export: platform names, not ours
    ("order_id", "订单编号"), ("ordered_at", "下单时间"), ("paid_at", "支付时间"), ("customer", "买家昵称"),
    ("recipient", "收货人"), ("phone", "联系电话"), ("address", "收货地址"), ("sku", "商家编码"),
    ("product_name", "商品名称"), ("spec", "商品规格"), ("qty", "购买数量"), ("unit_price", "商品单价"),
    ("amount", "实付金额"), ("payment_status", "付款状态"), ("channel", "订单来源"), ("remark", "买家备注"),
]


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def write_export_csv(path: Path, rows: list[dict], encoding: str = "gbk") -> Path:
    """The shop's export as Chinese Excel saves CSV (GBK)."""
    import csv
    with open(path, "w", encoding=encoding, errors="replace", newline="") as f:
        w = csv.writer(f)
        w.writerow([h for _, h in EXPORT_HEADERS])
        for r in rows:
            w.writerow([_cell_text(r.get(k)) for k, _ in EXPORT_HEADERS])
    return path


def write_stock(ws, rows: list[dict]) -> None:
    """Fill a 库存 sheet (header in row 1, contract order) from stock rows."""
    from .book.schema import STOCK
    for r, row in enumerate(rows, 2):
        for c, key in enumerate(STOCK.keys, 1):
            if key in row:
                ws.cell(r, c, row[key])


def write_orders(ws, rows: list[dict], start_row: int = 2) -> None:
    """Fill a 订单 sheet directly (for benchmarks and tests), contract column order."""
    from .book.schema import ORDERS
    for r, row in enumerate(rows, start_row):
        for c, key in enumerate(ORDERS.keys, 1):
            v = row.get(key)
            if v not in (None, ""):
                cell = ws.cell(r, c, v)
                if isinstance(v, str):
                    cell.data_type = "s"


def make_book(path: Path, *, n_lines: int = 0, n_skus: int = 40, seed: int = 11, problems: bool = True,
              settings: dict[str, str] | None = None) -> Path:
    """A contract workbook with stock, and optionally `n_lines` orders already in it."""
    from .book.xlsx import new_workbook
    from .book.schema import ORDERS, SETTING_BY_KEY, SETTINGS, STOCK
    wb = new_workbook()
    write_stock(wb[STOCK.name], stock_rows(n_skus))
    if n_lines:
        write_orders(wb[ORDERS.name], order_rows(n_lines, n_skus, seed=seed, problems=problems))
    defaults = {"sender_name": "小林优选", "sender_phone": "0571-88886666",
                "sender_address": "浙江省杭州市余杭区五常街道文一西路998号", **(settings or {})}
    ws = wb[SETTINGS.name]
    for r in range(2, ws.max_row + 1):
        item = ws.cell(r, 1).value
        for key, value in defaults.items():
            if SETTING_BY_KEY[key].item == item:
                ws.cell(r, 2, value)
    wb.save(path)
    return path
