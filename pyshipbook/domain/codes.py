"""Problem codes and the one problem record every check and operation reports. A leaf.

A code (`Code`) is stable, has a severity and a Chinese and English text; the module that owns
the rule declares its table with `register(Code(...), ...)`, which also puts each code in the
catalogue (`CATALOGUE`; `catalogue.all_codes()` loads every table). A `Problem` is one finding,
as data: which code, on which row and order, with what detail. Bad input never raises: it becomes
Problems.

    p = Problem("phone.invalid", row=7, order="A001", detail="12345")
    p.message      # "电话号码无效 / not a valid phone number: 12345"   (--json, the CLI)
    p.cell_text()  # "电话号码无效(12345) [phone.invalid]"              (校验结果)
    p.as_dict()    # {"row": 7, "order_id": "A001", "code": …, "severity": "error", "message": …, **extra}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Code:
    code: str
    severity: Severity
    zh: str
    en: str
    column: str = ""  # the column a person should look at (validation highlights it on 订单)

    @property
    def text(self) -> str:
        """Both languages: 中文 / English."""
        return f"{self.zh} / {self.en}"


CATALOGUE: dict[str, Code] = {}


def register(*codes: Code) -> dict[str, Code]:
    """Declare a module's codes: returns its table (code -> Code) and adds them to CATALOGUE.
    A code means one thing: declaring it again differently is a programming error."""
    table = {c.code: c for c in codes}
    for key, c in table.items():
        known = CATALOGUE.setdefault(key, c)
        if known != c:
            raise ValueError(f"problem code {key!r} is declared twice, differently")
    return table


@dataclass(frozen=True)
class Problem:
    """One finding: `code` on 订单 row `row` (or the row of the sheet the operation reads) of order `order`.

    detail: what exactly (the value, the column, the reason), Chinese or neutral.
    extra: more keys for --json after the standard ones (slip_no, tracking_no, …), in order.
    column: overrides the code's column for highlighting (e.g. which date column).
    inline: the detail follows each language ("zh(detail) / en (detail)") instead of both (": detail").
    """

    code: str
    row: int | None = None
    order: str | None = None
    detail: str = ""
    extra: Mapping = field(default_factory=dict, hash=False)
    column: str = ""
    inline: bool = False

    @property
    def order_id(self) -> str | None:
        """The order, by the name --json gives it."""
        return self.order

    @property
    def info(self) -> Code:
        return CATALOGUE[self.code]

    @property
    def severity(self) -> Severity:
        return self.info.severity

    @property
    def zh(self) -> str:
        return self.info.zh + (f"({self.detail})" if self.detail else "")

    @property
    def en(self) -> str:
        return self.info.en + (f" ({self.detail})" if self.detail else "")

    @property
    def message(self) -> str:
        """The bilingual message --json and the CLI show."""
        if self.inline:
            return f"{self.zh} / {self.en}"
        text = self.info.text
        return f"{text}: {self.detail}" if self.detail else text

    def cell_text(self) -> str:
        """How the problem reads in a cell (校验结果): 中文说明 [code]."""
        return f"{self.zh} [{self.code}]"

    def as_dict(self) -> dict:
        """The --json shape (what cli.print_result prints): row, order_id, code, severity, message, extras."""
        return {"row": self.row, "order_id": self.order, "code": self.code, "severity": self.severity,
                "message": self.message, **self.extra}


def check_text(problems: Iterable[Problem]) -> str:
    """校验结果 for one line: OK, or each problem as 中文说明 [code], errors first."""
    problems = list(problems)
    if not problems:
        return "OK"
    ordered = sorted(problems, key=lambda p: (p.severity != "error",))
    return "; ".join(p.cell_text() for p in ordered)
