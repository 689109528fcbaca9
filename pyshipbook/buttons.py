"""The ribbon's buttons as data: id, group, labels, icon, and the operation behind it.

The ribbon XML (templates/ribbon) and the macros (macros.py) both come from
this table, so a button can never exist in one and not the other. Pure data:
importing it costs nothing (RunPython starts a fresh Python per click).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Button:
    id: str          # ribbon control id, passed to ShipbookButton -> macros.click(id)
    group: str       # ribbon group id
    label: str       # Chinese label on the ribbon
    screentip: str   # English screentip
    image: str       # built-in imageMso icon
    operation: str   # pyshipbook.ops module that runs it ("" = handled in macros.py itself)
    entry: str = "run"  # the function of that module the button calls: the one its command runs


GROUPS: tuple[tuple[str, str], ...] = (
    ("grpOrders", "订单"),
    ("grpStock", "库存"),
    ("grpSlips", "出库"),
    ("grpShip", "发货"),
    ("grpReports", "报表"),
    ("grpHelp", "帮助"),
)

BUTTONS: tuple[Button, ...] = (
    Button("sbImport", "grpOrders", "导入", "Import paid orders from the shop's export", "ImportExcel",
           "import_orders"),
    Button("sbValidate", "grpOrders", "校验", "Check every order line", "AcceptInvitation", "validate"),
    Button("sbAllocate", "grpStock", "检查库存", "Check stock and allocate it to paid orders", "TableIndexes",
           "allocate"),
    Button("sbShortages", "grpStock", "缺货", "Show shortages and the production/purchase plan",
           "ShapeStar", "shortages"),
    Button("sbSlips", "grpSlips", "生成出库单", "Make outbound slips for allocated orders", "FileNew", "slips"),
    Button("sbSign", "grpSlips", "签字", "Sign the selected outbound slip", "ReviewAcceptChange", "sign"),
    Button("sbPrint", "grpSlips", "打印", "Print the selected outbound slip", "FilePrint", "print_slip"),
    # `shipbook slips BOOK --reissue SLIP` runs reissue.reissue (the module has no run()).
    # RefreshAll (Excel's Data > Refresh All arrows): the slip is made again from its current lines.
    Button("sbReissue", "grpSlips", "重开出库单",
           "Re-issue the selected outbound slip after its orders changed (same number, to be signed again)",
           "RefreshAll", "reissue", entry="reissue"),
    Button("sbWaybills", "grpShip", "生成运单", "Make the courier's waybill sheet for signed slips",
           "ShipmentTracking", "waybills"),
    Button("sbTracking", "grpShip", "登记快递单号", "Log tracking numbers back into the orders",
           "EditQuery", "tracking"),
    Button("sbExportShipped", "grpShip", "导出批量发货", "Export the shop's batch-ship file",
           "ExportExcel", "export_shipped"),
    Button("sbDelivered", "grpShip", "签收", "Mark orders as delivered", "AcceptTask", "delivered"),
    # FileMarkAsFinal (Office's "Mark as Final" seal): delivered orders are closed for good.
    Button("sbCloseCompleted", "grpShip", "完成订单",
           "Mark orders delivered at least N days ago (7 unless the settings sheet says otherwise) as completed",
           "FileMarkAsFinal", "close_completed"),
    Button("sbDaily", "grpReports", "订货明细单", "Compile today's order-detail list (14:00)",
           "CalendarMonthDetailsSplit", "daily"),
    Button("sbDashboard", "grpReports", "看板", "Refresh the dashboard", "ChartQuickExplore", "dashboard"),
    Button("sbHelp", "grpHelp", "帮助", "How to use shipbook", "Help", ""),
)

BY_ID = {b.id: b for b in BUTTONS}
