"""Write xml/INRCheckpointReader.xml from the Python plugin, as ParaView's loader sees it (run with pvpython).

The compiled plugin (CMakeLists.txt) registers the proxy from that XML; a test checks that it is
exactly what the Python plugin (its properties generated from the parameter schema) declares.
Usage: ``inr-amr pvpython plugin/tools/export_xml.py [OUT.xml]``.
"""

import inspect
import os
import sys
import xml.dom.minidom

if not hasattr(inspect, "getargspec"):
    inspect.getargspec = inspect.getfullargspec

from paraview.detail.pythonalgorithm import get_plugin_xmls, load_plugin

PLUGIN = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # plugin/


def proxy_xml() -> str:
    module = load_plugin(os.path.join(PLUGIN, "inr_amr_plugin.py"))
    (xml_text,) = get_plugin_xmls(module)
    pretty = xml.dom.minidom.parseString(xml_text).toprettyxml(indent="  ")
    lines = [line.rstrip() for line in pretty.splitlines() if line.strip()]
    header = (
        "<!-- Generated from the parameter schema (inr_amr_core/settings.py) through plugin/properties.py "
        "by plugin/tools/export_xml.py; do not edit by hand. -->"
    )
    return "\n".join([lines[0], header, *lines[1:]]) + "\n"


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(PLUGIN), "xml", "INRCheckpointReader.xml")
    text = proxy_xml()
    with open(out, "w") as fh:
        fh.write(text)
    print(f"wrote {out}")
