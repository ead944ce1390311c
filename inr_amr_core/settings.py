"""Every parameter of a refinement run, declared once.

Each field of :class:`RefinementSettings` (and of :class:`LoadSettings`) is declared with
:func:`parameter`: its type (a :class:`Kind`), default, valid range, one-line documentation, the
paper's symbol, its command-line flag and its ParaView property (name, label, group, advanced).
The front ends are generated from these declarations, never written out again:

* the Python API: the dataclass itself (``RefinementSettings(threshold=1e-3)``, ``refine(inr, tau=...)``);
* the command line: ``inr_amr_apps.cli`` builds its options from :func:`parameters`;
* the ParaView reader: ``plugin/properties.py`` builds the ServerManager XML and the setters, and
  ``xml/INRCheckpointReader.xml`` is checked against it by a test.

This module imports nothing but the standard library, so the ParaView layer can declare its
properties even where torch is missing (it then reports that error when asked for data).

>>> s = RefinementSettings(method="basic", tau=0.05)
>>> s.tau, s.replace(tau=0.01).tau
(0.05, 0.01)
>>> spec("tau").symbol, spec("tau").cli, spec("tau").paraview.name
('tau', '--tau', 'Tau')
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

__all__ = [
    "DEVICES",
    "LAYOUT_CHOICES",
    "METHODS",
    "PANEL_GROUPS",
    "RELATIVE_ERRORS",
    "Kind",
    "LoadSettings",
    "ParaViewProperty",
    "ParameterSpec",
    "RefinementSettings",
    "SeriesSettings",
    "SettingsError",
    "parameter",
    "parameters",
    "spec",
]

#: refinement methods (the paper's three)
METHODS = ("pruning", "basic", "uniform")
DEVICES = ("auto", "cpu", "cuda")
RELATIVE_ERRORS = ("floored", "reference")
#: checkpoint layouts a user may force (``auto`` detects)
LAYOUT_CHOICES = ("auto", "native", "lists", "dict", "ct4d", "sequential")


class SettingsError(ValueError):
    """A parameter value is invalid; the message names the parameter, the value and what is expected."""


# ------------------------------------------------------------------------------------------ kinds
class Kind:
    """How one parameter's values look in Python, on the command line and in a ParaView property.

    ``coerce`` turns any accepted Python value into the canonical (hashable) one; ``parse`` reads
    command-line text; ``to_paraview`` / ``from_paraview`` convert to and from a property's elements.
    """

    #: ServerManager property type and number of elements
    pv_type: ClassVar[str] = "DoubleVectorProperty"
    pv_elements: ClassVar[int] = 1
    #: shown in ``--help`` after the flag
    metavar: ClassVar[str | None] = None

    def coerce(self, value: Any) -> Any:
        return value

    def parse(self, text: str) -> Any:
        return self.coerce(text)

    def to_paraview(self, value: Any) -> list[Any]:
        return [value]

    def from_paraview(self, values: Sequence[Any]) -> Any:
        return self.coerce(values[0])

    def format(self, value: Any) -> str:
        """The value as a user would type it (for help texts and reports)."""
        return str(value)


class FloatKind(Kind):
    pv_type = "DoubleVectorProperty"
    metavar = "X"

    def coerce(self, value: Any) -> float:
        if isinstance(value, bool):
            raise TypeError("a boolean is not a number")
        return float(value)

    def format(self, value: Any) -> str:
        return f"{value:g}"


class IntKind(Kind):
    pv_type = "IntVectorProperty"
    metavar = "N"

    def coerce(self, value: Any) -> int:
        if isinstance(value, bool):
            raise TypeError("a boolean is not an integer")
        if isinstance(value, float) and not value.is_integer():
            raise TypeError(f"{value} is not a whole number")
        return int(value)

    def parse(self, text: str) -> Any:
        return self.coerce(int(text.replace("_", "")))


class BoolKind(Kind):
    pv_type = "IntVectorProperty"

    def coerce(self, value: Any) -> bool:
        if isinstance(value, str):
            low = value.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise TypeError(f"{value!r} is not a boolean")
        return bool(value)

    def to_paraview(self, value: Any) -> list[Any]:
        return [int(value)]


class ChoiceKind(Kind):
    """One of a few names; a ParaView enumeration whose entries are ``labels``."""

    pv_type = "IntVectorProperty"

    def __init__(self, choices: Sequence[str], labels: Sequence[str] | None = None) -> None:
        self.choices = tuple(choices)
        self.labels = tuple(labels) if labels is not None else tuple(c.capitalize() for c in self.choices)

    def coerce(self, value: Any) -> str:
        text = str(value).strip().lower()
        if text not in self.choices:
            raise TypeError(f"choose one of {', '.join(self.choices)}")
        return text

    def to_paraview(self, value: Any) -> list[Any]:
        return [self.choices.index(value)]

    def from_paraview(self, values: Sequence[Any]) -> str:
        index = int(values[0])
        if not 0 <= index < len(self.choices):
            raise TypeError(f"enumeration index {index} out of range")
        return self.choices[index]


class OptionalCountKind(IntKind):
    """A positive count or None (no limit); 0 means None on the command line and in ParaView."""

    def coerce(self, value: Any) -> int | None:  # type: ignore[override]  # None: no limit
        if value is None:
            return None
        n = super().coerce(value)
        return None if n == 0 else n

    def to_paraview(self, value: Any) -> list[Any]:
        return [0 if value is None else value]

    def format(self, value: Any) -> str:
        return "none" if value is None else str(value)


class AutoCountKind(OptionalCountKind):
    """A positive count or None (chosen by the run); 0 or ``auto`` mean None on the command line, 0 in ParaView."""

    def parse(self, text: str) -> Any:
        return None if text.strip().lower() == "auto" else super().parse(text)

    def format(self, value: Any) -> str:
        return "auto" if value is None else str(value)


class AutoLevelKind(IntKind):
    """A level >= 0 or None (chosen by the run): ``auto`` on the command line, -1 in ParaView."""

    def coerce(self, value: Any) -> int | None:  # type: ignore[override]  # None: auto
        if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
            return None
        n = super().coerce(value)
        return None if n == -1 else n

    def parse(self, text: str) -> Any:
        return None if text.strip().lower() == "auto" else super().parse(text)

    def to_paraview(self, value: Any) -> list[Any]:
        return [-1 if value is None else value]

    def format(self, value: Any) -> str:
        return "auto" if value is None else str(value)


class OptionalFloatKind(FloatKind):
    """A number or None ("not given")."""

    pv_elements = 0  # not a ParaView property (e.g. the time, which the time slider drives)

    def coerce(self, value: Any) -> float | None:  # type: ignore[override]  # None: not given
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
            return None
        return super().coerce(value)

    def format(self, value: Any) -> str:
        return "none" if value is None else f"{value:g}"


class OptionalPositiveKind(FloatKind):
    """A positive number or None (none: no tolerance, no limit); 0 means None on the command line and in ParaView."""

    def coerce(self, value: Any) -> float | None:  # type: ignore[override]  # None: not set
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
            return None
        x = super().coerce(value)
        return None if x == 0 else x

    def to_paraview(self, value: Any) -> list[Any]:
        return [0.0 if value is None else value]

    def format(self, value: Any) -> str:
        return "none" if value is None else f"{value:g}"


class TextKind(Kind):
    pv_type = "StringVectorProperty"
    metavar = "TEXT"

    def coerce(self, value: Any) -> str:
        return "" if value is None else str(value).strip()

    def format(self, value: Any) -> str:
        return repr(value) if value else ""


def _split(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;\s]+", text.strip()) if part.strip()]


class GridKind(Kind):
    """Root cells per refined axis, or None (one root cell); ParaView shows three integers."""

    pv_type = "IntVectorProperty"
    pv_elements = 3
    metavar = "NX,NY[,NZ]"

    def coerce(self, value: Any) -> tuple[int, ...] | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = _split(value)
        cells = tuple(IntKind().coerce(v) for v in value)
        if not cells:
            return None
        if any(n < 1 for n in cells):
            raise TypeError(f"every axis needs at least one root cell, got {cells}")
        return cells

    def to_paraview(self, value: Any) -> list[Any]:
        cells = list(value or ())
        return cells + [1] * (3 - len(cells))

    def from_paraview(self, values: Sequence[Any]) -> tuple[int, ...] | None:
        cells = tuple(max(1, int(v)) for v in values)
        return None if all(n == 1 for n in cells) else cells

    def format(self, value: Any) -> str:
        return "one root cell" if value is None else ",".join(map(str, value))


class BoundsKind(Kind):
    """A box ``((lo, hi), ...)`` per refined axis, or None (the INR's domain).

    In ParaView six numbers (xmin, xmax, ymin, ymax, zmin, zmax); an axis with min >= max there
    means "the checkpoint's domain" for that axis, which the run resolves.
    """

    pv_type = "DoubleVectorProperty"
    pv_elements = 6
    metavar = "LO,HI,..."

    def coerce(self, value: Any) -> tuple[tuple[float, float] | None, ...] | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = [float(v) for v in _split(value)]
        items = list(value)
        if items and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in items):
            if len(items) % 2:
                raise TypeError(f"expected lo,hi pairs, got {len(items)} numbers")
            items = [(items[i], items[i + 1]) for i in range(0, len(items), 2)]
        pairs: list[tuple[float, float] | None] = []
        for item in items:
            if item is None:  # this axis: the INR's domain
                pairs.append(None)
                continue
            lo, hi = (float(v) for v in item)
            if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
                raise TypeError(f"every interval needs finite lo < hi, got [{lo}, {hi}]")
            pairs.append((lo, hi))
        if all(p is None for p in pairs):
            return None
        return tuple(pairs)

    def to_paraview(self, value: Any) -> list[Any]:
        flat = [v for pair in (value or ()) for v in (pair or (0.0, 0.0))]
        return flat + [0.0] * (6 - len(flat))

    def from_paraview(self, values: Sequence[Any]) -> tuple[tuple[float, float] | None, ...] | None:
        # an axis left at min >= max takes the checkpoint's domain
        pairs = [(float(values[2 * a]), float(values[2 * a + 1])) for a in range(len(values) // 2)]
        return self.coerce([(lo, hi) if hi > lo else None for lo, hi in pairs])

    def format(self, value: Any) -> str:
        if value is None:
            return "the INR's domain"
        return ",".join("domain" if p is None else f"{p[0]:g},{p[1]:g}" for p in value)


class NamesKind(Kind):
    """Input names, comma-separated, or None (detected)."""

    pv_type = "StringVectorProperty"
    metavar = "A,B,..."

    def coerce(self, value: Any) -> tuple[str, ...] | None:
        if value is None:
            return None
        names = tuple(_split(value)) if isinstance(value, str) else tuple(str(v).strip() for v in value)
        return names or None

    def to_paraview(self, value: Any) -> list[Any]:
        return [",".join(value or ())]

    def format(self, value: Any) -> str:
        return "detected" if value is None else ",".join(value)


class AssignmentsKind(Kind):
    """``NAME=VALUE`` pairs (fixed inputs), held as a sorted tuple of (name, value)."""

    pv_type = "StringVectorProperty"
    metavar = "NAME=VALUE"

    def coerce(self, value: Any) -> tuple[tuple[str, float], ...]:
        if value is None:
            return ()
        items: list[tuple[str, float]] = []
        if isinstance(value, str):
            for part in _split(value):
                name, sep, number = part.partition("=")
                if not sep or not name.strip():
                    raise TypeError(f"expected NAME=VALUE, got {part!r}")
                try:
                    items.append((name.strip(), float(number)))
                except ValueError:
                    raise TypeError(f"{name.strip()}: {number!r} is not a number") from None
        elif isinstance(value, Mapping):
            items = [(str(k), float(v)) for k, v in value.items()]
        else:
            items = [(str(k), float(v)) for k, v in value]
        names = [n for n, _ in items]
        if len(set(names)) != len(names):
            raise TypeError(f"an input is given twice in {names}")
        return tuple(sorted(items))

    def parse(self, text: str) -> tuple[tuple[str, float], ...]:
        return self.coerce(text)

    def to_paraview(self, value: Any) -> list[Any]:
        return [",".join(f"{n}={v:g}" for n, v in value)]

    def format(self, value: Any) -> str:
        return ",".join(f"{n}={v:g}" for n, v in value) or "none"


# ------------------------------------------------------------------------------------------ declarations
@dataclass(frozen=True)
class ParaViewProperty:
    """How a parameter appears in the reader's Properties panel.

    Attributes
    ----------
    name : str
        The property name (``r.Threshold = 1e-3`` in pvpython).
    label : str
        The panel's label (default: the name with spaces before capitals).
    group : str
        The panel group it is shown in.
    advanced : bool
        Shown only behind the gear (advanced) button.
    range : (low, high), optional
        The slider/spin-box range of the panel (the parameter's own limits are checked anyway).
    """

    name: str
    label: str = ""
    group: str = ""
    advanced: bool = False
    range: tuple[float, float] | None = None

    @property
    def shown_label(self) -> str:
        return self.label or re.sub(r"(?<=[a-z])(?=[A-Z])", " ", self.name)


@dataclass(frozen=True)
class ParameterSpec:
    """The declaration of one parameter (see :func:`parameter`)."""

    name: str
    kind: Kind
    default: Any
    doc: str
    symbol: str | None = None
    cli: str | None = None
    cli_short: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    paraview: ParaViewProperty | None = None
    #: methods the parameter applies to (None: all); the panel hides it for the others
    methods: tuple[str, ...] | None = None

    def check(self, value: Any) -> Any:
        """The canonical value, or :class:`SettingsError` naming the parameter and what is expected."""
        label = self.name + (f" ({self.symbol})" if self.symbol and self.symbol != self.name else "")
        try:
            value = self.kind.coerce(value)
        except (TypeError, ValueError) as exc:
            raise SettingsError(f"{label}: invalid value {value!r} ({exc})") from None
        if value is not None and (self.minimum is not None or self.maximum is not None):
            x = float(value)
            low_ok = self.minimum is None or (x > self.minimum if self.exclusive_minimum else x >= self.minimum)
            high_ok = self.maximum is None or (x < self.maximum if self.exclusive_maximum else x <= self.maximum)
            if not (low_ok and high_ok and not math.isnan(x)):
                raise SettingsError(f"{label} must be {self.range_text()}, got {value!r}")
        return value

    def range_text(self) -> str:
        lo = None if self.minimum is None else ("(" if self.exclusive_minimum else "[") + f"{self.minimum:g}"
        hi = None if self.maximum is None else f"{self.maximum:g}" + (")" if self.exclusive_maximum else "]")
        if lo and hi:
            return f"in {lo}, {hi}"
        if lo:
            return (">" if self.exclusive_minimum else ">=") + f" {self.minimum:g}"
        if hi:
            return ("<" if self.exclusive_maximum else "<=") + f" {self.maximum:g}"
        return "any value"

    def help(self) -> str:
        """One line for ``--help`` and the panel's tooltip: the doc, the paper's symbol, the default."""
        sym = f" [paper: {self.symbol}]" if self.symbol else ""
        default = self.kind.format(self.default)
        if "(default" in self.doc:  # the doc says what the default means itself
            default = ""
        return f"{self.doc}{sym}" + (f" (default {default})" if default else "")


def parameter(
    default: Any,
    doc: str,
    kind: Kind,
    *,
    symbol: str | None = None,
    cli: str | None = None,
    short: str | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    exclusive_maximum: bool = False,
    paraview: ParaViewProperty | None = None,
    methods: Sequence[str] | None = None,
) -> Any:
    """Declare a settings field: a dataclass field whose metadata is its :class:`ParameterSpec`.

    The field's name is filled in by :func:`parameters`; everything else about the parameter is
    written here and only here.
    """
    spec_ = ParameterSpec(
        "",
        kind,
        default,
        doc,
        symbol,
        cli,
        short,
        minimum,
        maximum,
        exclusive_minimum,
        exclusive_maximum,
        paraview,
        tuple(methods) if methods is not None else None,
    )
    return dataclasses.field(default=default, metadata={"parameter": spec_})


_T = TypeVar("_T")


def parameters(cls: type | None = None) -> tuple[ParameterSpec, ...]:
    """The parameter declarations of a settings class, in declaration order (default RefinementSettings)."""
    cls = RefinementSettings if cls is None else cls
    out = []
    for f in dataclasses.fields(cls):
        s = f.metadata.get("parameter")
        if s is not None:
            out.append(dataclasses.replace(s, name=f.name))
    return tuple(out)


def spec(name: str, cls: type | None = None) -> ParameterSpec:
    """The declaration of one parameter by field name."""
    for s in (*parameters(RefinementSettings), *parameters(LoadSettings)) if cls is None else parameters(cls):
        if s.name == name:
            return s
    raise KeyError(f"no parameter named {name!r}")


class _Validated:
    """Checks and canonicalises every declared field after construction (frozen dataclasses)."""

    def __post_init__(self) -> None:
        for s in parameters(type(self)):
            object.__setattr__(self, s.name, s.check(getattr(self, s.name)))

    def check_together(self) -> None:
        """Constraints between parameters, checked when a run starts (not per field, so that front ends
        can set fields one at a time in any order); raises :class:`SettingsError`."""

    def replace(self: _T, **changes: Any) -> _T:
        """A copy with some fields changed (checked again)."""
        names = {f.name for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        unknown = sorted(set(changes) - names)
        if unknown:
            raise SettingsError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly values (fixed inputs as a dict, tuples as lists)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if isinstance(f.metadata.get("parameter"), ParameterSpec) and isinstance(
                f.metadata["parameter"].kind, AssignmentsKind
            ):
                v = dict(v)
            elif isinstance(v, tuple):
                v = [list(x) if isinstance(x, tuple) else x for x in v]
            out[f.name] = v
        return out

    def changed(self) -> dict[str, Any]:
        """The fields that differ from their defaults (what a report needs to reproduce the run)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if getattr(self, f.name) != f.default
        }


# panel groups, in the order the Properties panel shows them: the budget leads
GROUP_BUDGET = "Budget"
GROUP_METHOD = "Refinement method"
GROUP_LEVELS = "Levels"
GROUP_DOMAIN = "Domain and time"
GROUP_ADVANCED = "Advanced"
PANEL_GROUPS = (GROUP_BUDGET, GROUP_METHOD, GROUP_LEVELS, GROUP_DOMAIN, GROUP_ADVANCED)
STRATEGIES = ("budget", "thresholds")
#: (new choices are appended: a saved ParaView state stores the entry's position)
ID_METHODS = ("sketch", "exact", "auto")
_PV = ParaViewProperty


@dataclass(frozen=True)
class RefinementSettings(_Validated):
    """Every knob of a refinement run: the CLI flags, the plugin properties, the Python keywords.

    Parameters are declared with their documentation below; :func:`parameters` lists them and
    ``spec(name).help()`` is the one-line help the CLI and the Properties panel show.

    Two strategies share them. ``budget`` (the default) refines the elements whose score says they
    need it most first, until the DOF, leaf or time budget is spent or every element is within the
    optional tolerances T, P (Pruning) or tau (Basic). ``thresholds`` is the paper's Algorithm 1:
    every element beyond T or P (tau for Basic) is refined, for ``max_iterations`` iterations.

    Examples
    --------
    >>> RefinementSettings().strategy
    'budget'
    >>> RefinementSettings(max_dofs=0).max_dofs is None    # 0 means no budget
    True
    """

    max_dofs: int | None = parameter(
        50_000,
        "DOF budget (mesh vertices, hanging ones included); the mesh never ends above it; 0 = none",
        OptionalCountKind(),
        symbol="max_dofs",
        cli="--max-dofs",
        minimum=1,
        paraview=_PV("MaxDOFs", "Max DOFs", GROUP_BUDGET),
    )
    max_leaves: int | None = parameter(
        None,
        "leaf budget (the cells a vtkHyperTreeGrid stores); the mesh never ends above it; 0 = none",
        OptionalCountKind(),
        cli="--max-leaves",
        minimum=1,
        paraview=_PV("MaxLeaves", group=GROUP_BUDGET),
    )
    time_budget: float | None = parameter(
        None,
        "seconds of refinement after which the run stops with the mesh it has (a prefix of the same "
        "refinement order); 0 = none",
        OptionalPositiveKind(),
        cli="--time-budget",
        minimum=0.0,
        exclusive_minimum=True,
        paraview=_PV("TimeBudget", "Time budget (s)", GROUP_BUDGET),
    )
    strategy: str = parameter(
        "budget",
        "budget: refine the most needed elements first until a budget is spent; thresholds: the "
        "paper's Algorithm 1 (every element beyond T or P, for max_it iterations)",
        ChoiceKind(STRATEGIES, ("Budget", "Thresholds")),
        cli="--strategy",
        paraview=_PV("Strategy", group=GROUP_BUDGET),
    )
    method: str = parameter(
        "pruning",
        "refinement method: Pruning (ID of the INR on each element), Basic (interpolation error) or Uniform",
        ChoiceKind(METHODS),
        cli="--method",
        short="-m",
        paraview=_PV("Method", group=GROUP_METHOD),
    )
    threshold: float | None = parameter(
        None,
        "Pruning: relative error of the pruned INR above which an element is refined (budget strategy: "
        "a tolerance); 0 = none",
        OptionalPositiveKind(),
        symbol="T",
        cli="--threshold",
        short="-T",
        minimum=0.0,
        exclusive_minimum=True,
        paraview=_PV("Threshold", group=GROUP_METHOD),
        methods=("pruning",),
    )
    proportion: float | None = parameter(
        None,
        "Pruning: fraction of hidden neurons the pruned INR may keep before the element is refined "
        "(budget strategy: a tolerance); 0 = none",
        OptionalPositiveKind(),
        symbol="P",
        cli="--proportion",
        short="-P",
        minimum=0.0,
        maximum=1.0,
        exclusive_minimum=True,
        paraview=_PV("Proportion", group=GROUP_METHOD, range=(0.0, 1.0)),
        methods=("pruning",),
    )
    eps: float = parameter(
        1e-3,
        "Pruning: ID tolerance, neurons are kept while |R[j,j] / R[0,0]| >= eps",
        FloatKind(),
        symbol="epsilon",
        cli="--eps",
        minimum=0.0,
        maximum=1.0,
        exclusive_minimum=True,
        exclusive_maximum=True,
        paraview=_PV("Epsilon", group=GROUP_METHOD),
        methods=("pruning",),
    )
    tau: float | None = parameter(
        None,
        "Basic: relative interpolation error above which an element is refined (budget strategy: a "
        "tolerance); 0 = none",
        OptionalPositiveKind(),
        symbol="tau",
        cli="--tau",
        minimum=0.0,
        exclusive_minimum=True,
        paraview=_PV("Tau", group=GROUP_METHOD),
        methods=("basic",),
    )
    id_samples: int | None = parameter(
        None,
        "Pruning: points per element for the interpolative decomposition; 0 = auto: 256 (the paper's; at least "
        "the layer width), 64 where the test only scores elements of 3 or more dimensions (budget strategy "
        "with neither T nor P: its ranks are capped at 48)",
        AutoCountKind(),
        symbol="ID_samples",
        cli="--id-samples",
        minimum=1,
        paraview=_PV("IDSamples", "ID Samples", GROUP_METHOD, range=(0, 4096)),
        methods=("pruning",),
    )
    error_samples: int = parameter(
        32,
        "points per element for the error estimates (the paper: 32 for Pruning, 256 for Basic in 3D)",
        IntKind(),
        symbol="error_samples",
        cli="--error-samples",
        minimum=1,
        paraview=_PV("ErrorSamples", group=GROUP_METHOD, range=(1, 4096)),
        methods=("pruning", "basic"),
    )
    id_method: str = parameter(
        "auto",
        "Pruning: how the ID pivots: 'sketch' (a Gaussian sketch of each activation matrix, float32), "
        "'exact' (the activations themselves; the paper's column-pivoted QR) or 'auto': exact for the "
        "thresholds strategy (T and P decide on the paper's ID, at the sketch's cost on a CPU), sketch for "
        "budget scores",
        ChoiceKind(ID_METHODS, ("Sketch", "Exact", "Auto")),
        cli="--id-method",
        paraview=_PV("IDMethod", "ID Method", GROUP_METHOD, advanced=True),
        methods=("pruning",),
    )
    sequential_tests: bool = parameter(
        False,
        "Pruning with P: decompose first on half of the ID samples and refine at once where that already "
        "keeps more than P (a departure from Algorithm 1: fewer forward passes)",
        BoolKind(),
        cli="--sequential-tests",
        paraview=_PV("SequentialTests", group=GROUP_METHOD, advanced=True),
        methods=("pruning",),
    )
    uniform_refinements: int = parameter(
        2,
        "uniform refinements of the root grid before any test (the paper: 2 in 2D, 3 in 3D)",
        IntKind(),
        cli="--uniform-refinements",
        minimum=0,
        paraview=_PV("UniformRefinements", group=GROUP_LEVELS, range=(0, 8)),
    )
    max_iterations: int = parameter(
        9,
        "thresholds strategy: adaptive iterations (the paper: 9 in 2D, 5 in 3D)",
        IntKind(),
        symbol="max_it",
        cli="--max-it",
        minimum=0,
        paraview=_PV("MaxIterations", group=GROUP_LEVELS, range=(0, 20)),
    )
    max_level: int = parameter(
        12,
        "deepest level a leaf may reach (level L: 2^L cells across a root cell)",
        IntKind(),
        cli="--max-level",
        minimum=1,
        maximum=19,
        paraview=_PV("MaxLevel", group=GROUP_LEVELS, range=(1, 19)),
    )
    max_tested_level: int | None = parameter(
        None,
        "budget strategy: the deepest level whose elements are tested (the initial mesh's always are); deeper "
        "ones take the score their tested ancestor predicts (its own decay from its parent); 0 = auto: one "
        "level above the uniform level the budget affords",
        OptionalCountKind(),
        cli="--max-tested-level",
        minimum=1,
        paraview=_PV("MaxTestedLevel", group=GROUP_LEVELS, advanced=True),
    )
    untested_levels: int = parameter(
        0,
        "thresholds strategy: the finest k levels are filled without testing (a departure from Algorithm 1: "
        "elements flagged at level L-k are refined on to level L, L = uniform_refinements + max_it)",
        IntKind(),
        cli="--untested-levels",
        minimum=0,
        paraview=_PV("UntestedLevels", group=GROUP_LEVELS, advanced=True),
    )
    memory_limit_mb: float = parameter(
        1024.0,
        "working memory bound of element tests in MB (work is chunked to fit)",
        FloatKind(),
        cli="--memory-limit",
        minimum=0.0,
        exclusive_minimum=True,
        paraview=_PV("MemoryLimit", group=GROUP_ADVANCED, advanced=True),
    )
    root_grid: tuple[int, ...] | None = parameter(
        None,
        "root cells per refined axis (the coarse grid the trees grow from; the unit of MPI work)",
        GridKind(),
        cli="--root-grid",
        paraview=_PV("RootGrid", group=GROUP_DOMAIN, advanced=True),
    )
    bounds: tuple[tuple[float, float] | None, ...] | None = parameter(
        None,
        "refined box, lo,hi per refined input (default the checkpoint's domain)",
        BoundsKind(),
        cli="--bounds",
        paraview=_PV("Bounds", group=GROUP_DOMAIN, advanced=True),
    )
    space_inputs: tuple[str, ...] | None = parameter(
        None,
        "inputs the tree refines, comma-separated (default x, y, z among the INR's inputs)",
        NamesKind(),
        cli="--space",
        paraview=_PV("SpaceInputs", group=GROUP_DOMAIN, advanced=True),
    )
    time_input: str = parameter(
        "",
        "the input that is time ('' detects t or time; 'none': no time input)",
        TextKind(),
        cli="--time-input",
        paraview=_PV("TimeInput", group=GROUP_DOMAIN, advanced=True),
    )
    time: float | None = parameter(
        None,
        "value of the time input (default the middle of its range; in ParaView the time slider)",
        OptionalFloatKind(),
        cli="--time",
    )
    time_levels: int | None = parameter(
        # auto (was 4): with the 11 default steps the finest slabs (level 2) hold 2.5 steps, so that the next
        # step reuses the tests of the one before: in Play the second step costs 0.24-0.26x the first (level 4:
        # 0.41-0.67x), the meshes' RMSE within 1.5% on the CT INR and the log pile, 5% on an INR translating
        # everywhere (docs/results.md, "The finest time slab sized to the time steps")
        None,
        "budget strategy: time slabs for sharing work across time steps; an element is scored at the centre "
        "of the coarsest of the 2^j slabs (j <= time_levels) holding the time over which its field stays within "
        "time_tolerance; auto (-1 in ParaView; the default): the finest level whose slabs span at least two "
        "spacings of the time steps (the reader's or --times'; 11 steps over the range otherwise: level 2); "
        "0: every element is scored at the time itself (so are Uniform's and Basic's elements when a test "
        "needs no more INR evaluations than the 8 probes at time_levels + 2 times: repeating it is cheaper)",
        AutoLevelKind(),
        cli="--time-levels",
        minimum=0,
        maximum=12,  # timeslabs.MAX_TIME_LEVELS
        paraview=_PV("TimeLevels", group=GROUP_DOMAIN, advanced=True, range=(-1, 12)),
    )
    time_tolerance: float = parameter(
        # 0.1 (was 0.01): the next of 11 CT steps costs 0.34x the first instead of 0.56x, its mesh's RMSE
        # within 0.5% of scoring at t itself (log pile 0.1%, an INR translating everywhere 2.7%; docs/results.md)
        0.1,
        "budget strategy: the change over a time slab (relative to the field's RMS) below which an element's "
        "field counts as unchanged",
        FloatKind(),
        cli="--time-tolerance",
        minimum=0.0,
        paraview=_PV("TimeTolerance", group=GROUP_DOMAIN, advanced=True),
    )
    fixed_inputs: tuple[tuple[str, float], ...] = parameter(
        (),
        "values of inputs that are neither refined nor time, e.g. z=0.25 (default the middle of their range)",
        AssignmentsKind(),
        cli="--fix",
        paraview=_PV("FixedInputs", group=GROUP_DOMAIN, advanced=True),
    )
    output_component: int = parameter(
        0,
        "output component of a vector-valued INR that drives refinement and is shown",
        IntKind(),
        cli="--component",
        minimum=0,
        paraview=_PV("OutputComponent", group=GROUP_DOMAIN, advanced=True),
    )
    relative_error: str = parameter(
        "floored",
        "relative error: 'floored' (the paper's, denominator floored at a fraction of the field's RMS) "
        "or 'reference' (the research code's +5 shift)",
        ChoiceKind(RELATIVE_ERRORS, ("floored (paper)", "reference code (+5 shift)")),
        cli="--relative-error",
        paraview=_PV("RelativeError", group=GROUP_ADVANCED, advanced=True),
        methods=("pruning", "basic"),
    )
    error_floor: float = parameter(
        1.0,
        "denominator floor of the floored relative error, as a fraction of the field's RMS",
        FloatKind(),
        cli="--error-floor",
        minimum=0.0,
        paraview=_PV("ErrorFloor", group=GROUP_ADVANCED, advanced=True),
        methods=("pruning", "basic"),
    )
    seed: int = parameter(
        0,
        "seed of the element samples: the same seed gives the same mesh",
        IntKind(),
        cli="--seed",
        minimum=0,
        paraview=_PV("Seed", group=GROUP_ADVANCED, advanced=True),
    )
    device: str = parameter(
        "auto",
        "where the INR is evaluated (auto: CUDA if torch sees a GPU)",
        ChoiceKind(DEVICES, DEVICES),
        cli="--device",
        paraview=_PV("Device", group=GROUP_ADVANCED, advanced=True),
    )
    rmse_samples: int = parameter(
        0,
        "points for the total RMSE after every iteration (0 skips it, -1: the paper's 262,144 in 2D, 1,048,576 in 3D)",
        IntKind(),
        cli="--rmse-samples",
        minimum=-1,
    )
    exact_diagnostics: bool = parameter(
        False,
        "Pruning: decompose every layer even once P is exceeded (complete diagnostics, slower)",
        BoolKind(),
        cli="--exact-diagnostics",
        methods=("pruning",),
    )
    conforming_dofs: bool = parameter(
        True, "also count the DOFs without hanging vertices in the statistics", BoolKind()
    )

    def check_together(self) -> None:
        if self.strategy == "thresholds":
            needed = {"pruning": ("threshold", "proportion"), "basic": ("tau",)}.get(self.method, ())
            missing = [n for n in needed if getattr(self, n) is None]
            if missing:
                raise SettingsError(
                    f"the thresholds strategy (Algorithm 1) needs {' and '.join(missing)} for {self.method}; the "
                    "paper's values: T 0.1, P 0.09 (2D), T 1e-4, P 0.075 (CT), tau 0.1 (2D), 1e-4 (CT)"
                )

    @property
    def fixed(self) -> dict[str, float]:
        """The fixed inputs as a dict."""
        return dict(self.fixed_inputs)


@dataclass(frozen=True)
class LoadSettings(_Validated):
    """How a checkpoint is read (what the file itself may not say)."""

    layout: str = parameter(
        "auto",
        "force a checkpoint layout instead of detecting it",
        ChoiceKind(LAYOUT_CHOICES, LAYOUT_CHOICES),
        cli="--layout",
    )
    activations: str = parameter(
        "",
        "activations for layouts that store none, e.g. 'relu' or 'sine,sine,identity'",
        TextKind(),
        cli="--activations",
        paraview=_PV("Activations", group=GROUP_ADVANCED, advanced=True),
    )
    sidecar: str = parameter(
        "",
        "JSON sidecar describing the network (default FILE.json next to the checkpoint, if present)",
        TextKind(),
        cli="--sidecar",
    )

    def keywords(self) -> dict[str, Any]:
        """Keyword arguments of :func:`inr_amr_core.checkpoint.load_inr`."""
        return {"layout": self.layout, "activations": self.activations or None, "sidecar": self.sidecar or None}


@dataclass(frozen=True)
class SeriesSettings(_Validated):
    """Which values of the time input a 4D INR is shown at (the reader's time steps), what is computed ahead, and
    how much memory what was computed may keep."""

    number_of_time_steps: int | None = parameter(
        None,
        "time steps advertised over the time input's range; 0 = the checkpoint's own (its metadata's "
        "time_steps), else 11",
        OptionalCountKind(),
        minimum=1,
        paraview=_PV("NumberOfTimeSteps", group=GROUP_DOMAIN, range=(0, 1000)),
    )
    precompute_steps: int = parameter(
        2,
        "time steps around the one shown that are refined in the background (dropped when a setting changes)",
        IntKind(),
        minimum=0,
        paraview=_PV("PrecomputeTimeSteps", group=GROUP_DOMAIN, advanced=True, range=(0, 20)),
    )
    cache_memory_mb: float = parameter(
        3072.0,
        "memory in MB for what the reader keeps to show again at once: two thirds for the meshes (the background "
        "precompute stops there), a third for the HyperTreeGrids built from them; least recently used go first",
        FloatKind(),
        minimum=16.0,
        paraview=_PV("CacheMemory", group=GROUP_DOMAIN, advanced=True),
    )

    def values(self, lo: float, hi: float, metadata: Mapping | None = None) -> list[float]:
        """The time steps over ``[lo, hi]``: the count given, else the checkpoint's, else 11 (one step: ``hi``)."""
        if self.number_of_time_steps is None and metadata is not None:
            own = checkpoint_time_steps(metadata, lo, hi)
            if own:
                return own
        n = self.number_of_time_steps or DEFAULT_TIME_STEPS
        return [float(hi)] if n == 1 else [lo + (hi - lo) * i / (n - 1) for i in range(n)]


#: time steps advertised when neither the user nor the checkpoint says
DEFAULT_TIME_STEPS = 11


def checkpoint_time_steps(metadata: Mapping, lo: float, hi: float) -> list[float]:
    """The time steps a checkpoint records (metadata ``time_steps``: a list or comma-separated numbers)
    that lie in ``[lo, hi]``, sorted; [] when it records none."""
    raw = metadata.get("time_steps")
    if raw is None:
        return []
    try:
        values = [float(v) for v in (raw.split(",") if isinstance(raw, str) else raw)]
    except (TypeError, ValueError):
        return []
    return sorted(v for v in values if lo <= v <= hi and math.isfinite(v))
