"""``labkit run`` on several processes: ``--nproc K`` (checks, then torch's launcher) and each rank under torchrun."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from labkit.core._errors import LabkitError


def run(args: argparse.Namespace) -> int:
    """The launcher (``--nproc``) or one rank (under torchrun), by what started this process."""
    from labkit.core.distributed import launched

    if args.all:
        raise LabkitError("--nproc and torchrun run one PLUGIN:EXPERIMENT; --all runs the flagships one by one in one process")
    if not args.target:
        raise LabkitError("give PLUGIN:EXPERIMENT to run")
    if launched():
        if args.nproc is not None:
            raise LabkitError("--nproc starts the processes itself: under torchrun leave it out "
                              "(torchrun's --nproc-per-node and --nnodes set the count)")
        return _rank(args)
    return _launch(args)


def _launch(args: argparse.Namespace) -> int:
    """Check everything once (bad input: one line, exit 2, before any process starts), then start the ranks."""
    from labkit.core.distributed import child_argv, launch
    from labkit.core.plugins import PluginRegistry
    from labkit.core.runner import default_out_dir, record_failure, run_experiment

    if args.nproc < 1:
        raise LabkitError(f"--nproc must be a number of processes >= 1; got {args.nproc}")
    registry = PluginRegistry.discover()
    run_experiment(registry, args.target, preset=args.preset, config_file=args.config, overrides=args.overrides,
                   out_dir=args.out, resume=args.resume, force=args.force, device=args.device, seed=args.seed,
                   world_size=args.nproc, check_only=True)
    out = Path(args.out) if args.out else default_out_dir(args.target, args.preset)
    status, why = launch(args.nproc, child_argv(args.argv))
    if why is not None:
        message = f"{why}; the run stopped"
        record_failure(out, message)
        print(f"labkit: error: {message}: continue it with --resume (the same --nproc {args.nproc})", file=sys.stderr)
    return status


def _rank(args: argparse.Namespace) -> int:
    """One rank of a run started by torchrun: rank 0 runs the run folder, the others compute with it."""
    from labkit.core.devices import resolve_device
    from labkit.core.distributed import announce, join, leave
    from labkit.core.plugins import PluginRegistry
    from labkit.core.runner import run_as_rank, run_experiment

    world = int(os.environ["WORLD_SIZE"])
    group = join(resolve_device(args.device))
    registry = PluginRegistry.discover()
    if group.rank != 0:
        status = run_as_rank(registry, args.target, rank=group.rank, world_size=world)
        leave()
        return status
    try:
        outcome = run_experiment(registry, args.target, preset=args.preset, config_file=args.config,
                                 overrides=args.overrides, out_dir=args.out, resume=args.resume, force=args.force,
                                 device=args.device, seed=args.seed, world_size=world)
    except LabkitError:
        announce({"stop": 2})
        raise
    except KeyboardInterrupt:
        announce({"stop": 130})
        raise
    except BaseException:
        announce({"stop": 1})
        raise
    announce({"stop": 0})  # a run already completed: the other ranks have nothing to do
    leave()
    assert outcome is not None
    from labkit.core.summary import print_summary

    print_summary([outcome], title=f"labkit run {args.target} ({world} processes)")
    print(f"results in {outcome.out_dir}", file=sys.stderr)
    return 0
