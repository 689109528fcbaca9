"""Open a workbook in LibreOffice headless and print what it read, as JSON (run with the python that has uno).

Usage: python3 lo_vba_dump.py BOOK.xlsm PROFILE_DIR

Prints {"sheets": [...], "code_names": {sheet: code name}, "libraries": [...],
"modules": {name: source}} for the VBAProject Basic library LibreOffice imports from the
workbook's VBA project. Exits 3 when soffice cannot be reached.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid


def main() -> int:
    import uno
    from com.sun.star.beans import PropertyValue
    from com.sun.star.connection import NoConnectException

    book, profile = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    pipe = "shipbook_" + uuid.uuid4().hex
    proc = subprocess.Popen(
        ["soffice", "--headless", "--invisible", "--nologo", "--norestore", "--nodefault",
         f"-env:UserInstallation={uno.systemPathToFileUrl(profile)}",
         f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        ctx = None
        deadline = time.monotonic() + 90
        while ctx is None:
            try:
                ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            except NoConnectException:
                if time.monotonic() > deadline or proc.poll() is not None:
                    print("soffice did not answer", file=sys.stderr)
                    return 3
                time.sleep(0.3)
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)

        def prop(name, value):
            p = PropertyValue()
            p.Name, p.Value = name, value
            return p

        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(book), "_blank", 0,
                                           (prop("Hidden", True), prop("ReadOnly", True)))
        if doc is None:
            print("LibreOffice could not open the workbook", file=sys.stderr)
            return 4
        libs = doc.BasicLibraries
        out = {"sheets": list(doc.Sheets.ElementNames), "libraries": list(libs.ElementNames), "modules": {},
               "code_names": {}}
        for name in doc.Sheets.ElementNames:
            sheet = doc.Sheets.getByName(name)
            out["code_names"][name] = sheet.getPropertyValue("CodeName")
        if libs.hasByName("VBAProject"):
            libs.loadLibrary("VBAProject")
            lib = libs.getByName("VBAProject")
            for module in lib.ElementNames:
                out["modules"][module] = lib.getByName(module)
        doc.close(True)
        print(json.dumps(out, ensure_ascii=False))
        try:
            desktop.terminate()
        except Exception:  # the bridge goes away with the office process
            pass
        return 0
    finally:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
