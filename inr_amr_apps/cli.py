"""The ``inr-amr`` command line: info, refine, compare, convert, and the ParaView launchers.

Every subcommand calls the same core functions as the Python API and the ParaView plugin.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from inr_amr_core.fileio import write_json
from inr_amr_core.settings import (
    AssignmentsKind,
    BoolKind,
    ChoiceKind,
    LoadSettings,
    ParameterSpec,
    RefinementSettings,
    SettingsError,
    parameters,
)

__all__ = ["build_parser", "main", "settings_from_args"]

log = logging.getLogger("inr_amr_core")


class ProgressLine:
    """One self-overwriting status line on a terminal, throttled; elsewhere (a log, a pipe) a line per
    stage and at least one every ``heartbeat`` seconds, so a long stage is never silent."""

    def __init__(
        self, prefix: str = "", stream=None, enabled: bool = True, interval: float = 0.2, heartbeat: float = 10.0
    ) -> None:
        self.prefix = prefix
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.interval = interval
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = 0.0
        self._last_msg = ""
        self._start = time.perf_counter()
        self.heartbeat = heartbeat
        self._last_line = self._start

    def __call__(self, fraction: float, message: str) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        finished = fraction >= 1.0 and message.startswith("done")
        if not finished and now - self._last < self.interval:
            return
        self._last = now
        text = f"{self.prefix}{fraction * 100:5.1f}% {now - self._start:6.1f}s  {message}"
        if self.tty:
            self.stream.write("\r\x1b[K" + text + ("\n" if finished else ""))
        elif (
            message.split(":")[0] != self._last_msg.split(":")[0] or finished or now - self._last_line >= self.heartbeat
        ):
            self.stream.write(text + "\n")
            self._last_line = now
        self._last_msg = message
        self.stream.flush()


# ---------------------------------------------------------------------------------------- arguments
def _option_type(spec: ParameterSpec) -> Callable[[str], Any]:
    """argparse ``type=``: the schema's parser and range check, with the schema's error message."""

    def parse(text: str) -> Any:
        try:
            return spec.check(spec.kind.parse(text))
        except (SettingsError, TypeError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = spec.name  # argparse names the option's type in its messages
    return parse


def add_settings_options(parser: argparse.ArgumentParser, cls: type, title: str, skip: Sequence[str] = ()) -> None:
    """Add one option per parameter of ``cls`` that declares a flag (nothing set: the schema's default)."""
    group = parser.add_argument_group(title)
    for spec in parameters(cls):
        if spec.cli is None or spec.name in skip:
            continue
        flags = [f for f in (spec.cli_short, spec.cli) if f]
        common: dict[str, Any] = dict(dest=spec.name, default=argparse.SUPPRESS, help=spec.help())
        if isinstance(spec.kind, BoolKind):
            group.add_argument(*flags, action=argparse.BooleanOptionalAction, **common)
        elif isinstance(spec.kind, AssignmentsKind):  # repeatable: --fix z=0 --fix y=0.5
            group.add_argument(*flags, action="append", metavar=spec.kind.metavar, **common)
        elif isinstance(spec.kind, ChoiceKind):
            group.add_argument(*flags, choices=spec.kind.choices, **common)
        else:
            group.add_argument(*flags, type=_option_type(spec), metavar=spec.kind.metavar, **common)


def settings_from_args(args: argparse.Namespace, cls: type = RefinementSettings, **overrides: Any) -> Any:
    """The settings object of the parameters given on the command line (the schema's defaults elsewhere)."""
    given: dict[str, Any] = {}
    for spec in parameters(cls):
        if spec.name in vars(args):
            value = getattr(args, spec.name)
            if isinstance(spec.kind, AssignmentsKind):  # the repeated --fix options, merged
                value = ",".join(value)
            given[spec.name] = value
    given.update(overrides)
    try:
        return cls(**given)
    except SettingsError as exc:
        raise SystemExit(f"inr-amr: error: {exc}") from None


def _add_checkpoint_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="INR checkpoint (.pt/.pth/.ckpt)")
    add_settings_options(p, LoadSettings, "checkpoint")


def _add_refine_options(p: argparse.ArgumentParser, method: bool = True) -> None:
    add_settings_options(
        p, RefinementSettings, "refinement (the paper's symbols as short flags)", skip=() if method else ("method",)
    )


def _load(args: argparse.Namespace):
    from inr_amr_core.checkpoint import load_inr

    return load_inr(args.checkpoint, **settings_from_args(args, LoadSettings).keywords())


def _iteration_table(rows: Sequence[dict], stream=sys.stdout) -> None:
    from .experiments import iteration_seconds

    head = (
        f"{'it':>3} {'leaves':>9} {'DOFs':>9} {'conf.DOFs':>9} {'tested':>8} {'refined':>8} {'RMSE':>10} {'seconds':>8}"
    )
    print(head, file=stream)
    for r in rows:
        rmse = f"{r['rmse']:.5f}" if "rmse" in r else "-"
        secs = iteration_seconds(r)
        print(
            f"{r['iteration']:>3} {r['leaves']:>9} {r['dofs']:>9} {r.get('conforming_dofs', '-'):>9} "
            f"{r['tested']:>8} {r['refined']:>8} {rmse:>10} {secs:>8.2f}",
            file=stream,
        )


# ---------------------------------------------------------------------------------------- commands
def cmd_info(args: argparse.Namespace) -> int:
    from inr_amr_core.checkpoint import inspect_checkpoint

    info = inspect_checkpoint(args.checkpoint, **settings_from_args(args, LoadSettings).keywords())
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"file:          {info['file']} ({info['size_bytes'] / 1024:.1f} KiB)")
    print(f"layout:        {info['layout']}")
    print(f"architecture:  {info['architecture']}")
    print(
        "inputs:        "
        + ", ".join(f"{i['name']} in [{i['domain'][0]:g}, {i['domain'][1]:g}]" for i in info["inputs"])
    )
    print(f"outputs:       {', '.join(info['outputs'])} (scale {info['output_scale']:g})")
    print(f"hidden widths: {info['hidden_widths']} ({sum(info['hidden_widths'])} neurons)")
    print(f"activations:   {', '.join(info['activations'])}")
    enc = info["encoding"]
    print(
        f"encoding:      {enc['type']}"
        + (f" ({enc['inputs']} -> {enc['features']} features)" if enc["type"] != "none" else "")
    )
    print(f"parameters:    {info['parameters']:,}")
    for k, v in info["metadata"].items():
        if k not in ("layout", "source"):
            print(f"{k.replace('_', ' ') + ':':<14} {v}")
    return 0


def _run_refine(inr, settings, args):
    from inr_amr_core.amr import refine

    progress = ProgressLine(f"[{settings.method}] ", enabled=not args.quiet)
    return refine(inr, settings, progress=progress)


def cmd_refine(args: argparse.Namespace) -> int:
    from inr_amr_core.vtk import result_to_hypertreegrid, result_to_unstructured_grid, write_htg, write_vtu

    inr = _load(args)
    settings = settings_from_args(args)
    if args.times:
        return _refine_series(inr, settings, args)
    result = _run_refine(inr, settings, args)
    if not args.quiet:
        print(f"{settings.method}: {result.space.describe()}")
        _iteration_table(result.iterations)
        print(f"stop: {result.stop_reason}; {result.tree.n_leaves} leaves, {result.dofs} DOFs, {result.seconds:.2f} s")
    outputs = {}
    if args.output:
        outputs["htg"] = str(write_htg(result_to_hypertreegrid(result), args.output))
    if args.vtu:
        outputs["vtu"] = str(write_vtu(result_to_unstructured_grid(result), args.vtu))
    if args.report:
        summary = result.summary()
        summary["checkpoint"] = str(args.checkpoint)
        summary["outputs"] = outputs
        outputs["report"] = str(write_json(args.report, summary))
    for kind, path in outputs.items():
        print(f"wrote {kind}: {path}")
    return 0


def _refine_series(inr, settings, args) -> int:
    from .series import parse_piece, parse_times, steps_of_piece, write_series

    times = parse_times(args.times)
    if settings.time is not None:
        raise SystemExit("inr-amr refine: error: give either --time or --times")
    if not args.output:
        raise SystemExit("inr-amr refine: error: --times needs -o DIR/NAME.pvd")
    piece = parse_piece(args.piece)
    mine = steps_of_piece(len(times), *piece)

    def progress(i: int, t: float):
        return ProgressLine(
            f"[{settings.method} t={t:+.3g} ({i + 1 - mine.start}/{len(mine)})] ", enabled=not args.quiet
        )

    results = write_series(inr, settings, times, args.output, piece, progress)
    if not args.quiet:
        print(f"{'step':>5} {'time':>8} {'stop':>10} {'leaves':>9} {'DOFs':>9} {'tests':>7} {'seconds':>8}")
        for i, res in zip(mine, results):
            tests = sum(row["tested"] for row in res.iterations)
            print(
                f"{i:>5} {times[i]:>8.4g} {res.stop_reason:>10} {res.tree.n_leaves:>9} {res.dofs:>9} {tests:>7} "
                f"{res.seconds:>8.2f}"
            )
    print(f"wrote pvd: {args.output} ({len(times)} steps; this process: {len(mine)})")
    if args.report:
        report = {
            "checkpoint": str(args.checkpoint),
            "times": times,
            "piece": list(piece),
            "steps": {int(i): r.summary() for i, r in zip(mine, results)},
        }
        print(f"wrote report: {write_json(args.report, report)}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from inr_amr_core.criteria import make_criterion

    from .experiments import compare_methods
    from .plotting import plot_error_vs_dofs

    inr = _load(args)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    base = settings_from_args(args, method="pruning")
    per_method = {}
    for m in methods:
        s = base.replace(method=m)
        if m == "basic" and args.basic_error_samples:
            s = s.replace(error_samples=args.basic_error_samples)
        if m == "uniform" and args.uniform_max_dofs is not None:
            s = s.replace(max_dofs=args.uniform_max_dofs or None)
        per_method[m] = s
    comparison = compare_methods(
        inr,
        per_method,
        methods,
        rmse_samples=base.rmse_samples or -1,
        progress=lambda m: ProgressLine(f"[{m}] ", enabled=not args.quiet),
    )
    if not args.quiet:
        for m, res in comparison.results.items():
            print(f"\n{m}: {make_criterion(res.settings, res.tree.d).describe()}, {res.settings.strategy} strategy")
            _iteration_table(res.iterations)
    # every method on the same budget, side by side
    print(f"\n{'method':>8} {'stop':>15} {'leaves':>9} {'DOFs':>9} {'RMSE':>10} {'seconds':>8}")
    for m, res in comparison.results.items():
        last = res.iterations[-1]
        rmse = f"{last['rmse']:.5f}" if "rmse" in last else "-"
        print(f"{m:>8} {res.stop_reason:>15} {res.tree.n_leaves:>9} {res.dofs:>9} {rmse:>10} {res.seconds:>8.2f}")
    report = {"checkpoint": str(args.checkpoint), **comparison.report()}
    if args.plot:
        path = plot_error_vs_dofs(
            comparison.curves(), args.plot, title=f"{Path(args.checkpoint).name}: total RMSE vs DOFs"
        )
        report["plot"] = str(path)
        print(f"wrote plot: {path}")
    if args.report:
        print(f"wrote report: {write_json(args.report, report)}")
    return 0


def cmd_parameters(args: argparse.Namespace) -> int:
    from .parameters import parameter_table

    print(parameter_table(), end="")
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from inr_amr_core.checkpoint import save_inr

    inr = _load(args)
    if args.input_names:
        inr.input_names = tuple(n.strip() for n in args.input_names.split(","))
        inr._check_descriptors()
    path = save_inr(inr, args.output)
    print(f"wrote {path} ({inr.describe()}, layout {inr.metadata.get('layout')} -> native)")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .training import DEMOS, train_demo

    names = sorted(DEMOS) if args.name == "all" else [args.name]
    for name in names:
        info = train_demo(
            name,
            args.output,
            steps=args.steps,
            seed=args.seed,
            threads=args.threads,
            progress=ProgressLine(f"[train {name}] ", enabled=not args.quiet),
        )
        print(
            f"{name}: fit RMSE {info['fit_rmse']:.3g} in {info['seconds']:.0f} s -> "
            f"{Path(args.output) / info['checkpoint']}"
        )
    return 0


# ---------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    from inr_amr_core import __version__

    parser = argparse.ArgumentParser(
        prog="inr-amr",
        description="Adaptive meshes for implicit neural representations (Pruning AMR), with a ParaView plugin.",
    )
    parser.add_argument("--version", action="version", version=f"inr-amr {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("info", help="describe a checkpoint (layout, architecture, inputs)")
    _add_checkpoint_options(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("refine", help="refine a mesh and write .htg / .vtu / a JSON report")
    _add_checkpoint_options(p)
    _add_refine_options(p)
    p.add_argument("-o", "--output", help="write the vtkHyperTreeGrid (.htg), or with --times the series (.pvd)")
    p.add_argument("--vtu", help="write the mesh with vertex values as .vtu")
    p.add_argument("--report", help="write a JSON report")
    p.add_argument(
        "--times",
        help="a time series: START:STOP:N or t1,t2,... (write --times=-1:1:11 when START is "
        "negative); -o DIR/NAME.pvd gets one .htg per step",
    )
    p.add_argument(
        "--piece",
        help="with --times: refine piece I/N of the steps (contiguous blocks; 'auto': mpirun's rank and size)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line or table")
    p.set_defaults(func=cmd_refine)

    p = sub.add_parser("compare", help="run Uniform, Basic and Pruning; plot RMSE vs DOFs")
    _add_checkpoint_options(p)
    _add_refine_options(p, method=False)
    p.add_argument("--methods", default="uniform,basic,pruning")
    p.add_argument("--basic-error-samples", type=int, help="error samples for Basic (default: --error-samples)")
    p.add_argument("--uniform-max-dofs", type=int, help="DOF budget for Uniform (default: --max-dofs; 0 = none)")
    p.add_argument("--plot", default="compare.png", help="error-vs-DOFs plot (PNG)")
    p.add_argument("--report", default="compare.json", help="JSON table")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("convert", help="write any supported checkpoint in the project's self-describing format")
    _add_checkpoint_options(p)
    p.add_argument("-o", "--output", required=True, help="output file (.pt)")
    p.add_argument("--input-names", help="rename the inputs, e.g. 'x,y'")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("parameters", help="print every parameter (Python, CLI, ParaView, default, range) as Markdown")
    p.set_defaults(func=cmd_parameters)

    from .resources import data_dir
    from .training import DEMOS

    p = sub.add_parser("train", help="regenerate the embedded demo INRs (fixed seeds, CPU, minutes)")
    p.add_argument("name", choices=(*sorted(DEMOS), "all"))
    p.add_argument("-o", "--output", default=str(data_dir()), help="output folder (default: the package's data folder)")
    p.add_argument("--steps", type=int, help="override the demo's training steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, help="torch CPU threads (default: the demo's, 1)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_train)

    from . import demo, launch, reproduce

    demo.add_commands(sub)
    reproduce.add_commands(sub)
    launch.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``inr-amr``; returns the exit status (2 for bad input, 1 for failures)."""
    from inr_amr_core.amr import BudgetError, RefinementCancelled
    from inr_amr_core.checkpoint import CheckpointError

    argv = list(sys.argv[1:] if argv is None else argv)
    from .launch import TOOLS, run_paraview_tool

    if argv and argv[0] in TOOLS and not (len(argv) == 2 and argv[1] in ("-h", "--help")):
        # everything after the tool name belongs to ParaView (argparse would eat options like --mpi)
        try:
            return run_paraview_tool(argv[0], argv[1:])
        except FileNotFoundError as exc:
            print(f"inr-amr {argv[0]}: error: {exc}", file=sys.stderr)
            return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (CheckpointError, BudgetError, ValueError) as exc:
        print(f"inr-amr {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except RefinementCancelled:
        print(f"inr-amr {args.command}: cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print(f"\ninr-amr {args.command}: interrupted", file=sys.stderr)
        return 130


def console_main() -> None:
    """The ``inr-amr`` console script: :func:`main`, then exit without a last full garbage collection.

    Importing torch leaves a very large object graph, and the interpreter's final collection over it
    takes about 0.6 s here, longer than many commands' own work. Every file a command writes is
    closed by then, so the objects are frozen out of that collection instead (module teardown and
    ``atexit`` handlers still run). Only the console script does this: :func:`main` called from
    Python leaves the caller's garbage collector alone.
    """
    status = main()
    gc.freeze()
    sys.exit(status)


if __name__ == "__main__":  # pragma: no cover
    console_main()
