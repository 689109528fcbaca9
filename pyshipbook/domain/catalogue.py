"""Every problem code the product can report, in one table (docs/WORKBOOK.md lists them all).

Imports the modules that own code tables, one way: nothing in the domain imports this module.
"""

from __future__ import annotations

from . import allocation, problems, shipping_codes, signatures, tracking, waybills
from .codes import Code


def all_codes() -> dict[str, Code]:
    """Validation's codes, then the tables that live beside their rules (allocation, tracking,
    waybills, signatures, the shipping operations)."""
    out = dict(problems.CODES)
    for table in (allocation.ISSUE_CODES, tracking.CODES, waybills.CODES, signatures.CODES,
                  shipping_codes.WAYBILL_OP_CODES, shipping_codes.REISSUE_CODES, shipping_codes.DELIVERED_CODES,
                  shipping_codes.COMPLETE_CODES):
        out.update(table)
    return out
