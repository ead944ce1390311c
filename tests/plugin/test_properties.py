"""The reader's properties against the parameter schema (the generated XML, no ParaView needed)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from helpers import ROOT
from inr_amr_core.settings import PANEL_GROUPS, ChoiceKind, RefinementSettings, parameters
from inr_amr_paraview.proxy.properties import BINDINGS


def proxy_element():
    root = ET.parse(ROOT / "xml" / "INRCheckpointReader.xml").getroot()
    return root.find("ProxyGroup").find("SourceProxy")


def test_every_declared_property_is_in_the_compiled_plugins_xml_with_the_schemas_default():
    proxy = proxy_element()
    props = {e.get("name"): e for e in proxy if e.get("name")}
    assert {b.property_name for b in BINDINGS} <= set(props)
    for b in BINDINGS:
        e, s = props[b.property_name], b.spec
        assert e.tag == s.kind.pv_type and e.get("command") == b.command
        assert e.get("default_values").split() == " ".join(str(v) for v in s.kind.to_paraview(s.default)).split()
        assert (e.get("panel_visibility") == "advanced") == s.paraview.advanced, s.name
        assert s.help() in e.find("Documentation").text
        if isinstance(s.kind, ChoiceKind):
            assert [x.get("text") for x in e.find("EnumerationDomain")] == list(s.kind.labels)
    # every parameter with a ParaView property is bound, and nothing else is
    declared = {s.paraview.name for s in parameters(RefinementSettings) if s.paraview}
    assert declared <= {b.property_name for b in BINDINGS}


def test_panel_groups_follow_the_schema():
    proxy = proxy_element()
    groups = {g.get("label"): [p.get("name") for p in g] for g in proxy.findall("PropertyGroup")}
    assert list(groups) == [g for g in PANEL_GROUPS if g in groups]
    for b in BINDINGS:
        assert b.property_name in groups[b.spec.paraview.group]
