Attribute VB_Name = "Shipbook"
' shipbook ribbon shim. Built from templates/vba/Shipbook.bas by
' `shipbook build-workbook`; do not edit it in the workbook.
'
' Every button of the ribbon tab calls ShipbookButton. It passes only the
' button's id (fixed in customUI.xml, never cell contents) to Python, and
' pyshipbook.macros.click does the rest. Adding a button never touches VBA.
' Keep this module ASCII-only: the VBA project stores code page 1252.
Option Explicit

Public Sub ShipbookButton(control As IRibbonControl)
    If control.Id Like "*[!A-Za-z0-9_]*" Then Exit Sub
    RunPython "import pyshipbook.macros as m; m.click('" & control.Id & "')"
End Sub
