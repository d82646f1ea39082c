"""Core's scale-out pieces that need no second process: step groups, the argv of the ranks, refusals, help.

The runs on several processes (gloo) are in tests/zeta_gnn/test_distributed.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from labkit.core import LabkitError
from labkit.core.cli import build_parser
from labkit.core.distributed import child_argv, step_groups
from labkit.core.experiment import Experiment


@pytest.mark.parametrize("world", [1, 2, 3, 4])
@pytest.mark.parametrize("accumulate", [1, 2, 3])
def test_ranks_split_each_step_of_the_one_process_order(world: int, accumulate: int) -> None:
    for n in range(0, 23):
        one = step_groups(n, accumulate=accumulate * world)
        ranks = [step_groups(n, accumulate=accumulate, rank=r, world=world) for r in range(world)]
        assert all(len(steps) == len(one) for steps in ranks)
        for i, step in enumerate(one):
            mine = [b for steps in ranks for b in steps[i].mine]
            assert sorted(mine) == list(step.mine)  # every batch once, none dropped, none twice
            assert all(steps[i].count == step.count == len(step.mine) for steps in ranks)
        assert [b for s in one for b in s.mine] == list(range(n))


def test_rank_r_takes_every_world_th_batch() -> None:
    assert [s.mine for s in step_groups(7, rank=2, world=3)] == [(2,), (5,), ()]
    assert [s.mine for s in step_groups(7, accumulate=2, rank=1, world=2)] == [(1, 3), (5,)]
    with pytest.raises(ValueError):
        step_groups(4, rank=2, world=2)


def test_the_ranks_run_the_command_without_nproc() -> None:
    assert child_argv(["run", "a:b", "--nproc=3", "--set", "x=1"]) == ["run", "a:b", "--set", "x=1"]
    assert build_parser().parse_args(["run", "a:b", "--nproc", "2"]).nproc == 2


def test_an_experiment_runs_in_one_process_unless_it_says_otherwise() -> None:
    class OneExperiment(Experiment):
        name = "one"

        def run(self, ctx):  # pragma: no cover - never run
            return {}

    OneExperiment().check_world_size(None, 1)
    with pytest.raises(LabkitError, match="one process"):
        OneExperiment().check_world_size(None, 2)


def test_help_describes_nproc() -> None:
    out = subprocess.run([sys.executable, "-m", "labkit.core.cli", "run", "--help"], capture_output=True, text=True,
                         check=True).stdout
    assert "--nproc K" in out and "torchrun" in out


def test_launcher_checks_input_without_torch(tmp_path) -> None:
    # a refusal before launch: one line, exit 2, torch never imported by the launcher
    code = ("import sys\nfrom labkit.core.cli import main\n"
            f"rc = main(['run', 'nosuch:exp', '--nproc', '2', '--out', {str(tmp_path / 'x')!r}])\n"
            "assert 'torch' not in sys.modules, 'torch imported'\nsys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "x").exists()


_SUM_STEP = r"""
import json, os, torch
from labkit.core import distributed as d
group = d.join("cpu")
w = torch.nn.Parameter(torch.zeros(3))
frozen = torch.nn.Parameter(torch.ones(1), requires_grad=False)
if group.rank == 0:
    w.grad = torch.tensor([1.0, 2.0, 3.0])  # rank 1 computed no batch: its gradient counts as zeros
values = torch.tensor([group.rank + 1.0, 0.25], dtype=torch.float64)
total = d.sum_gradients_and([w, frozen], values)
rows = d.sum_arrays([[[1.0, 2.0], [0.0, 0.0]] if group.rank == 0 else [[0.0, 0.0], [3.0, 4.0]], [group.rank + 1]])
with open(os.path.join(os.environ["RESULT_DIR"], f"rank{group.rank}.json"), "w") as fh:  # one file a rank: stdout lines of two ranks can interleave
    json.dump({"rank": group.rank, "grad": w.grad.tolist(), "total": total.tolist(), "dtype": str(total.dtype),
               "frozen": frozen.grad is None, "rows": [a.tolist() for a in rows]}, fh)
d.leave()
"""


def test_gradients_and_loss_terms_are_summed_in_one_all_reduce(tmp_path) -> None:
    pytest.importorskip("torch.distributed")
    script = tmp_path / "sum_step.py"
    script.write_text(_SUM_STEP)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RESULT_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           str(script)], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["rank"] for r in ranks] == [0, 1]
    for r in ranks:
        assert r["grad"] == [1.0, 2.0, 3.0] and r["total"] == [3.0, 0.5]
        assert r["dtype"] == "torch.float64" and r["frozen"]
        assert r["rows"] == [[[1.0, 2.0], [3.0, 4.0]], [3.0]]  # sharded rows gathered on every rank
