"""The labkit command end to end, in subprocesses, with real installed plugins."""

from __future__ import annotations

import json


def _env_only(monkeypatch):
    monkeypatch.setenv("LABKIT_PLUGINS", "toy,broken")


def test_list_shows_good_and_broken_plugins(cli, monkeypatch):
    _env_only(monkeypatch)
    proc = cli("list", check=True)
    assert "labkit-toy" in proc.stdout and "1.2.3" in proc.stdout
    assert "accumulate*" in proc.stdout and "simulators: square" in proc.stdout
    assert "failed broken" in proc.stdout and "labkit_this_dependency_does_not_exist" in proc.stdout


def test_info_lists_fields_defaults_ranges_and_presets(cli, monkeypatch):
    _env_only(monkeypatch)
    proc = cli("info", "toy", check=True)
    for text in ("toy:accumulate", "(flagship)", "steps", ">= 1 and <= 10000", "one of sum, max", "preset quick"):
        assert text in proc.stdout, text


def test_run_writes_the_run_folder(cli, tmp_path, monkeypatch):
    _env_only(monkeypatch)
    cli("run", "toy:accumulate", "--preset", "quick", "--out", "r", "--device", "cpu", check=True)
    run = tmp_path / "r"
    for name in ("config.json", "progress.json", "results.json", "results.csv", "log.txt"):
        assert (run / name).is_file(), name
    assert (run / "checkpoints" / "acc").is_dir()
    results = json.loads((run / "results.json").read_text())
    assert results["status"] == "completed" and results["results"]["headline"]["steps"] == 5
    assert json.loads((run / "progress.json").read_text())["loops"]["acc"] == {"done": 5, "total": 5, "stopped": False}


def test_used_folder_is_refused_then_resumed_or_forced(cli, tmp_path, monkeypatch):
    _env_only(monkeypatch)
    cli("run", "toy:accumulate", "--preset", "quick", "--out", "r", check=True)
    refused = cli("run", "toy:accumulate", "--preset", "quick", "--out", "r")
    assert refused.returncode == 2 and "already used" in refused.stderr and "Traceback" not in refused.stderr
    again = cli("run", "toy:accumulate", "--out", "r", "--resume", check=True)
    assert "already completed" in again.stderr
    changed = cli("run", "toy:accumulate", "--out", "r", "--resume", "--set", "steps=7")
    assert changed.returncode == 2 and "steps: saved 5, asked 7" in changed.stderr
    cli("run", "toy:accumulate", "--out", "r", "--force", "--set", "steps=7", "--set", "delay=0", check=True)
    assert json.loads((tmp_path / "r" / "results.json").read_text())["results"]["headline"]["steps"] == 7


def test_user_errors_are_clear_and_without_traceback(cli, tmp_path, monkeypatch):
    _env_only(monkeypatch)
    (tmp_path / "bad.toml").write_text("steps = [unclosed\n")
    (tmp_path / "ok.yaml").write_text("steps: 0\n")
    cases = {
        ("run", "nope:x"): "unknown plugin 'nope'; installed plugins: broken, toy",
        ("run", "toy:x"): "its experiments: toy:accumulate, toy:fails",
        ("run", "toy:accumulate", "--set", "colour=red"): "config field 'colour': unknown field; the fields are: steps, delay, scale, mode, every, buffer_mb",
        ("run", "toy:accumulate", "--set", "steps=many"): "config field 'steps': expected an integer, got 'many'",
        ("run", "toy:accumulate", "--set", "steps=0"): "config field 'steps': must be >= 1 and <= 10000; got 0",
        ("run", "toy:accumulate", "--set", "scale=0"): "config field 'scale': must be > 0; got 0.0",
        ("run", "toy:accumulate", "--set", "mode=min"): "config field 'mode': must be one of 'sum', 'max'; got 'min'",
        ("run", "toy:accumulate", "--set", "mode=max", "--set", "steps=1"): "config field 'steps': mode 'max' needs at least 2 steps",
        ("run", "toy:accumulate", "--set", "steps"): "--set expects key=value, got 'steps'",
        ("run", "toy:accumulate", "--config", "missing.toml"): "cannot read config file 'missing.toml'",
        ("run", "toy:accumulate", "--config", "bad.toml"): "config file 'bad.toml' is not valid TOML",
        ("run", "toy:accumulate", "--config", "ok.yaml"): "config field 'steps': must be >= 1",
        ("run", "toy:accumulate", "--preset", "huge"): "has no preset 'huge'; its presets: quick",
        ("run", "toy:accumulate", "--device", "cuda", "--preset", "quick"): "--device cuda was asked for",
    }
    for args, message in cases.items():
        proc = cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert message in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr, (args, proc.stderr)


def test_run_all_runs_flagships_and_writes_summary(cli, tmp_path, monkeypatch):
    _env_only(monkeypatch)
    proc = cli("run", "--all", "--preset", "quick", "--out", "all", check=True)
    assert "toy:accumulate" in proc.stdout and "completed" in proc.stdout and "total =" in proc.stdout
    summary = json.loads((tmp_path / "all" / "summary.json").read_text())
    assert [row["experiment"] for row in summary] == ["toy:accumulate"]
    assert (tmp_path / "all" / "summary.md").read_text().startswith("| experiment |")


def test_a_crashing_experiment_records_failure(cli, tmp_path, monkeypatch):
    _env_only(monkeypatch)
    proc = cli("run", "toy:fails", "--out", "f")
    assert proc.returncode == 1 and "deliberate failure" in proc.stderr
    progress = json.loads((tmp_path / "f" / "progress.json").read_text())
    assert progress["status"] == "failed" and "deliberate failure" in progress["error"]
    assert "deliberate failure" in (tmp_path / "f" / "log.txt").read_text()


def test_bench_refuses_unknown_suite_and_missing_folder(cli, tmp_path, monkeypatch):
    _env_only(monkeypatch)
    missing = cli("bench")
    assert missing.returncode == 2 and "benchmark folder 'tests/benchmarks' not found" in missing.stderr
    (tmp_path / "tests" / "benchmarks" / "core").mkdir(parents=True)
    unknown = cli("bench", "nope")
    assert unknown.returncode == 2 and "no benchmark suite for 'nope'" in unknown.stderr and "suites: core" in unknown.stderr
