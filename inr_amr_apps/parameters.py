"""The parameter reference (``docs/parameters.md``, ``inr-amr parameters``), generated from the schema."""

from __future__ import annotations

from inr_amr_core.settings import LoadSettings, RefinementSettings, SeriesSettings, parameters

__all__ = ["parameter_table"]

_TITLES = {RefinementSettings: "Refinement", LoadSettings: "Reading the checkpoint", SeriesSettings: "Time steps"}


def parameter_table() -> str:
    """Every parameter: its Python name, the paper's symbol, CLI flag, ParaView property, default, range, meaning."""
    lines = [
        "# Parameters",
        "",
        "Generated from `inr_amr_core/settings.py` (`inr-amr parameters`); a test fails if it is stale.",
        "The same names are the Python keywords (`refine(inr, max_dofs=...)`), the CLI options and the",
        "properties of the ParaView reader.",
        "",
    ]
    for cls, title in _TITLES.items():
        lines += [
            f"## {title}",
            "",
            "| name | paper | CLI | ParaView | default | range | meaning |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for s in parameters(cls):
            flags = " ".join(f"`{f}`" for f in (s.cli_short, s.cli) if f) or "-"
            pv = (
                f"`{s.paraview.name}` ({s.paraview.group}{', advanced' if s.paraview.advanced else ''})"
                if s.paraview
                else "-"
            )
            default = s.kind.format(s.default) or "''"
            rng = s.range_text() if (s.minimum is not None or s.maximum is not None) else "-"
            doc = s.doc.replace("|", "\\|")  # (a table cell)
            choices = getattr(s.kind, "choices", None)
            if choices:
                rng = ", ".join(choices)
            lines.append(f"| `{s.name}` | {s.symbol or '-'} | {flags} | {pv} | {default} | {rng} | {doc} |")
        lines.append("")
    return "\n".join(lines)
