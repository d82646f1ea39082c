"""S^3 geodesic distance and the plateau LR schedule with a floor."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from labkit.core.plugins import PluginRegistry
from labkit.g2_pinn._run_train import _optimizer
from labkit.g2_pinn.geometry import quat_mul, s3_geodesic_distance, sample_s3
from labkit.g2_pinn.schedules import PlateauSchedule


def test_geodesic_distance_matches_arccos_and_known_values():
    rng = np.random.default_rng(0)
    p, q = sample_s3(200, rng), sample_s3(200, rng)
    ref = 3.0 * np.arccos(np.clip((p * q).sum(-1), -1, 1))
    assert np.allclose(s3_geodesic_distance(p, q, radius=3.0), ref, atol=1e-12)
    assert np.allclose(s3_geodesic_distance(torch.as_tensor(p), torch.as_tensor(q), 3.0).numpy(), ref, atol=1e-12)
    one = np.array([1.0, 0, 0, 0])
    assert s3_geodesic_distance(one, -one, 2.0) == pytest.approx(2 * math.pi, abs=1e-15)  # S^3, not SO(3)
    assert s3_geodesic_distance(one, 5 * one) == 0.0  # points are normalised


def test_geodesic_distance_is_left_invariant_and_precise_at_small_angles():
    rng = np.random.default_rng(1)
    p, q, g = sample_s3(50, rng), sample_s3(50, rng), sample_s3(50, rng)
    assert np.allclose(s3_geodesic_distance(quat_mul(g, p), quat_mul(g, q)), s3_geodesic_distance(p, q), atol=1e-12)
    eps = 1e-9  # exp(eps i) is eps away from 1; arccos of the inner product would give ~1e-8 (no digits)
    q_eps = np.array([math.cos(eps), math.sin(eps), 0, 0])
    assert s3_geodesic_distance(np.array([1.0, 0, 0, 0]), q_eps) == pytest.approx(eps, rel=1e-12)


def test_geodesic_distance_refuses_a_bad_radius():
    with pytest.raises(ValueError, match="radius"):
        s3_geodesic_distance(np.ones(4), np.ones(4), radius=0.0)


def _cfg(**kw):
    base = dict(optimizer="adamw", lr=1e-2, weight_decay=0.0, warmup=4, steps=100, schedule="plateau",
                plateau_factor=0.5, plateau_patience=3, lr_floor=2e-3, qimad_agents=2)
    return SimpleNamespace(**{**base, **kw})


@pytest.mark.parametrize("optimizer", ["adamw", "qimad"])
def test_plateau_schedule_warms_up_cuts_on_stalls_and_stops_at_the_floor(optimizer):
    model = torch.nn.Linear(2, 1)
    factory = PluginRegistry.discover().resolve("labkit_optimizers", optimizer)
    opt, sched = _optimizer(_cfg(optimizer=optimizer), model, factory, seed=0)
    assert isinstance(sched, PlateauSchedule)
    lrs = []
    for step in range(40):
        sched.step(1.0 / (step + 1) if step < 10 else 1.0)  # improves for 10 steps, then stalls
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs[:4] == pytest.approx([5e-3, 7.5e-3, 1e-2, 1e-2])  # linear warm-up to the peak
    assert lrs[9] == pytest.approx(1e-2)  # no cut while the loss improves
    assert min(lrs) == pytest.approx(2e-3) and lrs[-1] == pytest.approx(2e-3)  # cut, then held at the floor
    assert sorted(set(round(v, 12) for v in lrs[10:]), reverse=True)[:3] == [1e-2, 5e-3, 2.5e-3]
    # the state round-trips (a resumed run continues the same schedule)
    again = PlateauSchedule(opt, 4, 0.5, 3, 2e-3)
    again.load_state_dict(sched.state_dict())
    assert again.state_dict()["count"] == 40


def test_plateau_floor_must_be_below_the_lr():
    from labkit.core import ConfigError
    from labkit.g2_pinn.experiments import TrainConfig

    with pytest.raises(ConfigError, match="lr_floor"):
        TrainConfig(schedule="plateau", lr=1e-3, lr_floor=1e-3).validate()


def test_qimad_refuses_weight_decay_in_the_config():
    from labkit.core import ConfigError
    from labkit.g2_pinn.experiments import TrainConfig

    with pytest.raises(ConfigError, match="weight_decay"):
        TrainConfig(optimizer="qimad", weight_decay=1e-5).validate()
    TrainConfig(optimizer="qimad", weight_decay=0.0).validate()
    TrainConfig(optimizer="adamw", weight_decay=1e-5).validate()


def test_train_runs_with_the_plateau_schedule(labkit_run, tmp_path):
    over = {"steps": 6, "warmup": 2, "batch": 16, "hidden": [8], "export_points": 60, "spectrum_points": 80,
            "eval_points": 16, "n_eigenvalues": 4, "curvature_points": 2, "fd_points": 2, "checkpoint_every": 3,
            "schedule": "plateau", "plateau_patience": 1, "lr_floor": 1e-4}
    res = labkit_run("g2-pinn:train", preset="quick", overrides=over, out_dir=tmp_path / "p")
    assert res["training"]["steps_run"] == 6 and res["training"]["final"]["lr"] >= 1e-4
