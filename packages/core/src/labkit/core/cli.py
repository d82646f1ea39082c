"""The ``labkit`` command: list, info, run, show, bench."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from labkit.core import __version__
from labkit.core._errors import LabkitError, RunInterrupted
from labkit.core.devices import DEVICES
from labkit.core.hookspecs import REGISTRY_HOOKS


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(prog="labkit", description="Run labkit experiments from installed plugins.")
    parser.add_argument("--version", action="version", version=f"labkit-core {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help="installed plugins, what each registers, load errors")

    info = sub.add_parser("info", help="experiments of a plugin with their config fields, defaults and presets")
    info.add_argument("target", metavar="PLUGIN[:EXPERIMENT]")

    run = sub.add_parser("run", help="run PLUGIN:EXPERIMENT, or every flagship with --all")
    run.add_argument("target", nargs="?", metavar="PLUGIN:EXPERIMENT")
    run.add_argument("--all", action="store_true", help="run every installed plugin's flagship experiment")
    run.add_argument("--config", metavar="FILE", help="TOML or YAML config file")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a config field (repeatable)")
    run.add_argument("--preset", help="a named preset of the experiment, e.g. quick")
    run.add_argument("--out", metavar="DIR", help="run folder (default runs/<plugin>-<experiment>[-<preset>])")
    run.add_argument("--resume", action="store_true", help="continue the run in --out where it stopped")
    run.add_argument("--force", action="store_true", help="start over in a used run folder (deletes only the files labkit wrote there)")
    run.add_argument("--device", default="auto", choices=DEVICES)
    run.add_argument("--seed", type=int, default=None, help="random seed (default 0; a resumed run keeps its own)")
    run.add_argument("--nproc", type=int, default=None, metavar="K",
                     help="run on K processes of this machine through torch.distributed (one GPU each on CUDA, gloo on "
                          "CPU), the same algorithm as one process; across nodes: torchrun ... -m labkit.core.cli run ...")

    show = sub.add_parser("show", help="a run folder: config, status, headline results, artifacts, figures")
    show.add_argument("run_dir", metavar="RUN")

    bench = sub.add_parser("bench", help="run the pytest-benchmark suites (tests/benchmarks/<plugin>)")
    bench.add_argument("plugin", nargs="?", help="only this plugin's suite")
    bench.add_argument("--dir", default="tests/benchmarks", help="where the suites live (default tests/benchmarks)")
    bench.add_argument("pytest_args", nargs=argparse.REMAINDER, help="extra pytest arguments after --")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``labkit`` console script; user errors print a message and return 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        return _COMMANDS[args.command](args)
    except LabkitError as exc:
        print(f"labkit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, RunInterrupted) else signal.SIGINT
        print(f"labkit: interrupted by {signal.Signals(signum).name}; rerun with --resume to continue", file=sys.stderr)
        return 128 + signum


def _registry():
    from labkit.core.plugins import PluginRegistry

    return PluginRegistry.discover()


def _cmd_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    registry = _registry()
    failures = registry.failures()
    experiments = registry.experiments()
    table = Table(title="labkit plugins")
    for column in ("plugin", "distribution", "version", "experiments (* flagship)", "registers"):
        table.add_column(column, overflow="fold")
    for name, info in sorted(registry.plugins.items()):
        if not info.ok:
            continue
        exps = sorted((e.experiment.name + ("*" if e.experiment.flagship else "")) for e in experiments.values() if e.plugin == name)
        registers = []
        for hook in REGISTRY_HOOKS:
            names = sorted(k.partition(":")[2] for k, (plugin, _) in registry.factories(hook).items() if plugin == name)
            if names:
                registers.append(f"{hook.removeprefix('labkit_')}: {', '.join(names)}")
        table.add_row(name, info.distribution, info.version, ", ".join(exps) or "-", "\n".join(registers) or "-")
    console = Console(width=140)
    if not registry.plugins:
        console.print("no labkit plugins are installed: install one, e.g. `pip install -e packages/zeta-gnn`", highlight=False)
        return 0
    console.print(table)
    for info in failures:
        console.print(f"[red]failed[/red] {info.name} ({info.distribution} {info.version}, {info.module}): {info.error}", markup=True, highlight=False)
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from labkit.core.config import describe

    registry = _registry()
    plugin, _, only = args.target.partition(":")
    if only:
        entries = [registry.experiment(args.target)]
    else:
        entries = sorted((e for e in registry.experiments().values() if e.plugin == plugin), key=lambda e: e.full_name)
        if not entries:
            registry.experiment(f"{plugin}:")  # raises the helpful "unknown plugin / failed / no experiments" error
    console = Console(width=140)
    info = registry.plugins[plugin]
    console.print(f"[bold]{plugin}[/bold] — {info.distribution} {info.version}", highlight=False)
    for entry in entries:
        exp = entry.experiment
        flag = " (flagship)" if exp.flagship else ""
        console.print(f"\n[bold]{entry.full_name}[/bold]{flag}: {exp.summary}", highlight=False)
        skipped = exp.skipped_baselines()
        for baseline, module in sorted(exp.optional_baselines.items()):
            state = "missing: this baseline is skipped" if baseline in skipped else "installed"
            console.print(f"  optional baseline {baseline}: needs {module} ({state})", highlight=False)
        table = Table(show_header=True)
        for column in ("field", "type", "default", "allowed", "help"):
            table.add_column(column, overflow="fold")
        for field in describe(exp.config_class):
            table.add_row(field.name, field.type, repr(field.default), field.allowed, field.help)
        console.print(table)
        for name, values in sorted(exp.presets.items()):
            console.print(f"  preset [bold]{name}[/bold]: " + ", ".join(f"{k}={v!r}" for k, v in values.items()), highlight=False)
        console.print(f"  processes: {_scale_out(entry.full_name, exp)}", highlight=False)
    return 0


def _scale_out(full_name: str, exp: object) -> str:
    """How ``labkit info`` describes ``--nproc`` for one experiment."""
    from labkit.core.experiment import Experiment

    if type(exp).check_world_size is Experiment.check_world_size:
        return "one (it does not take --nproc or torchrun)"
    return (f"`labkit run {full_name} --nproc K` runs it on K processes (one GPU each on CUDA), the same algorithm "
            "as one process; across nodes `torchrun --nnodes N ... -m labkit.core.cli run ...` (core README, Scale out)")


@contextmanager
def _stop_signals_interrupt() -> Iterator[None]:
    """SIGTERM (and SIGHUP) end a run like Ctrl-C does: status "interrupted", no traceback."""
    def interrupt(signum: int, frame: object) -> None:
        for sig in handled:  # one interruption is enough: the clean-up must not be interrupted again
            signal.signal(sig, signal.SIG_IGN)
        raise RunInterrupted(signum)

    handled = [s for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]
    try:
        previous = {sig: signal.signal(sig, interrupt) for sig in handled}
    except ValueError:  # not the main thread: leave the signals alone
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _cmd_run(args: argparse.Namespace) -> int:
    with _stop_signals_interrupt():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from labkit.core.distributed import launched
    from labkit.core.runner import check_seed, run_all, run_experiment

    if args.seed is not None:
        check_seed(args.seed)
    if args.nproc is not None or (launched() and int(os.environ["WORLD_SIZE"]) > 1):
        from labkit.core import _cli_distributed

        return _cli_distributed.run(args)
    registry = _registry()
    for info in registry.failures():
        print(f"labkit: warning: plugin {info.name} ({info.distribution}) failed to load: {info.error}", file=sys.stderr)
    if args.all:
        if args.target or args.config:
            raise LabkitError("--all runs every flagship: give no PLUGIN:EXPERIMENT and no --config")
        from labkit.core.summary import check_summary_target, print_summary, write_summary

        root = Path(args.out) if args.out else Path("runs") / (args.preset or "default")
        check_summary_target(root)
        outcomes = run_all(registry, preset=args.preset or "default", out_root=root, resume=args.resume,
                           force=args.force, device=args.device, seed=args.seed, overrides=args.overrides)
        print_summary(outcomes)
        path = write_summary(outcomes, root)
        print(f"summary written to {path}", file=sys.stderr)
        return 0 if all(o.status != "failed" for o in outcomes) else 1
    if not args.target:
        raise LabkitError("give PLUGIN:EXPERIMENT to run, or --all")
    outcome = run_experiment(registry, args.target, preset=args.preset, config_file=args.config, overrides=args.overrides,
                             out_dir=args.out, resume=args.resume, force=args.force, device=args.device, seed=args.seed)
    from labkit.core.summary import print_summary

    print_summary([outcome], title=f"labkit run {args.target}")
    print(f"results in {outcome.out_dir}", file=sys.stderr)
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from labkit.core.runs import load_run

    run = load_run(args.run_dir)
    console = Console(width=140)
    console.print(f"[bold]{run.experiment}[/bold] in {run.path}: {run.status}", highlight=False)
    details = [f"seed {run.seed}", f"preset {run.preset}", f"device {run.device}"]
    if run.wall_time_s is not None:
        details.append(f"{run.wall_time_s:.1f} s")
    console.print("  " + ", ".join(details), highlight=False)
    if run.error:
        console.print(f"  [red]error[/red]: {run.error}", highlight=False)
    if run.missing:
        console.print("  missing (an earlier labkit, or an unfinished run): " + ", ".join(run.missing), highlight=False)
    for title, rows in (("config", run.config), ("headline results", run.headline), ("artifacts", run.artifacts)):
        if not rows:
            continue
        table = Table(title=title, show_header=False, title_justify="left")
        table.add_column("name")
        table.add_column("value", overflow="fold")
        for key, value in rows.items():
            table.add_row(str(key), value if isinstance(value, str) else f"{value:.6g}" if isinstance(value, float) else repr(value))
        console.print(table)
    for figure in run.figures:
        console.print(f"figure: {figure}", highlight=False)
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    if not root.is_dir():
        raise LabkitError(f"benchmark folder {str(root)!r} not found; run from the labkit repository root or pass --dir")
    target = root
    if args.plugin:
        target = root / args.plugin.replace("-", "_")
        if not target.is_dir():
            known = ", ".join(sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))))
            raise LabkitError(f"no benchmark suite for {args.plugin!r} in {root}; suites: {known}")
    extra = [a for a in args.pytest_args if a != "--"]
    command = [sys.executable, "-m", "pytest", str(target), "-p", "no:cacheprovider", "--benchmark-only", "-m", "not gpu", *extra]
    print("+ " + " ".join(command), file=sys.stderr)
    return subprocess.call(command, env=os.environ.copy())


_COMMANDS = {"list": _cmd_list, "info": _cmd_info, "run": _cmd_run, "show": _cmd_show, "bench": _cmd_bench}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
