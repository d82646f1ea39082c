"""A run folder is the user's data: what --force may delete, what is refused, and that refusing writes nothing."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import pickle
from pathlib import Path

import pytest

from labkit.core.cli import main

MARKER = ".labkit-run"
OWN = {MARKER, ".labkit-lock", ".labkit-lock.holder"}


def read_manifest(run):
    """The paths the marker lists, or None without a marker."""
    marker = run / MARKER
    return json.loads(marker.read_text())["paths"] if marker.exists() else None

QUICK = ("run", "toy:accumulate", "--preset", "quick")


@pytest.fixture
def labkit(with_plugins, monkeypatch, capsys):
    """Run the labkit command in-process; returns (exit status, stderr)."""
    monkeypatch.setenv("LABKIT_PLUGINS", "toy")

    def run(*args):
        capsys.readouterr()
        code = main(list(args))
        return code, capsys.readouterr().err

    return run


def snapshot(root):
    """Every file and link under root with its content (or link target): what must not change."""
    found = {}
    for current, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(current, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                found[rel] = "-> " + os.readlink(path)
            elif os.path.isfile(path):
                found[rel] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
            else:
                found[rel] = "dir"
    return found


def one_line_error(code, err):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("labkit: error: "), err
    return lines[0]


def user_folder(root):
    (root / "data").mkdir(parents=True)
    (root / "thesis.tex").write_text("\\chapter{Results}")
    (root / "data" / "x.csv").write_text("1,2\n")
    return root


def test_force_never_deletes_a_folder_of_user_files(labkit, tmp_path):
    folder = user_folder(tmp_path / "mine")
    before = snapshot(folder)
    for extra in ((), ("--force",), ("--resume",)):
        line = one_line_error(*labkit(*QUICK, "--out", str(folder), *extra))
        assert "labkit did not write" in line and "thesis.tex" in line and "--force" not in line
    assert snapshot(folder) == before


def test_out_dot_with_user_files_is_never_wiped(labkit, tmp_path, monkeypatch):
    folder = user_folder(tmp_path / "work")
    monkeypatch.chdir(folder)
    before = snapshot(folder)
    line = one_line_error(*labkit(*QUICK, "--out", ".", "--force"))
    assert "--force" not in line
    assert snapshot(folder) == before


def test_config_json_alone_never_makes_a_run_folder(labkit, tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "config.json").write_text('{"learning_rate": 0.1}')
    before = snapshot(folder)
    one_line_error(*labkit(*QUICK, "--out", str(folder), "--force"))
    assert snapshot(folder) == before


def test_force_deletes_only_what_labkit_wrote_and_refuses_beside_user_files(labkit, tmp_path):
    run = tmp_path / "r"
    assert labkit(*QUICK, "--out", str(run))[0] == 0
    (run / "notes.txt").write_text("my observations")
    (run / "checkpoints" / "acc" / "annotated.png").write_bytes(b"mine")
    before = snapshot(run)
    line = one_line_error(*labkit(*QUICK, "--out", str(run), "--force"))
    assert "notes.txt" in line and "checkpoints/acc/annotated.png" in line and "nothing was deleted" in line
    assert "--force" not in line
    assert snapshot(run) == before
    (run / "notes.txt").unlink()
    (run / "checkpoints" / "acc" / "annotated.png").unlink()
    assert labkit(*QUICK, "--out", str(run), "--force", "--set", "steps=3")[0] == 0
    assert json.loads((run / "results.json").read_text())["results"]["headline"]["steps"] == 3


def test_the_manifest_lists_every_file_labkit_wrote(labkit, tmp_path):
    run = tmp_path / "r"
    assert labkit(*QUICK, "--out", str(run), "--set", "every=2")[0] == 0
    files = {rel for rel, kind in snapshot(run).items() if kind != "dir"} - OWN
    assert files == set(read_manifest(run)) & files
    assert {"config.json", "progress.json", "results.json", "results.csv", "log.txt"} <= files
    assert any(rel.startswith("checkpoints/acc/step-") for rel in files)


def test_an_earlier_version_run_folder_resumes_and_force_keeps_unknown_files(labkit, tmp_path):
    run = tmp_path / "old"
    assert labkit(*QUICK, "--out", str(run), "--set", "steps=4")[0] == 0
    expected = json.loads((run / "results.json").read_text())["results"]
    # as an earlier labkit left it: no marker, killed before its last checkpoint and its results
    (run / MARKER).unlink()
    (run / ".labkit-lock").unlink(missing_ok=True)
    (run / "results.json").unlink()
    (run / "checkpoints" / "acc" / "step-0000000004.ckpt").unlink()
    assert labkit("run", "toy:accumulate", "--out", str(run), "--resume")[0] == 0
    assert json.loads((run / "results.json").read_text())["results"] == expected
    assert read_manifest(run) is not None  # adopted: marked from now on

    (run / MARKER).unlink()
    (run / ".labkit-lock").unlink(missing_ok=True)
    (run / "my-plot.pdf").write_bytes(b"%PDF")
    before = snapshot(run)
    line = one_line_error(*labkit(*QUICK, "--out", str(run), "--force"))
    assert "my-plot.pdf" in line and "--force" not in line
    assert snapshot(run) == before
    (run / "my-plot.pdf").unlink()
    assert labkit(*QUICK, "--out", str(run), "--force")[0] == 0


def test_an_old_pickle_checkpoint_stops_the_resume_and_is_never_run(labkit, tmp_path):
    run = tmp_path / "old"
    assert labkit(*QUICK, "--out", str(run), "--set", "steps=4")[0] == 0
    (run / MARKER).unlink()
    (run / "results.json").unlink()
    witness = tmp_path / "executed"

    class Exploit:
        def __reduce__(self):
            return (open, (str(witness), "w"))

    payload = pickle.dumps({"user": Exploit(), "rng": None, "stopped": False})
    header = {"step": 9, "codec": "pickle", "sha256": hashlib.sha256(payload).hexdigest(), "size": len(payload)}
    path = run / "checkpoints" / "acc" / "step-0000000009.ckpt"
    path.write_bytes(b"LABKIT-CHECKPOINT 1\n" + json.dumps(header).encode() + b"\n" + payload)
    line = one_line_error(*labkit("run", "toy:accumulate", "--out", str(run), "--resume"))
    assert "step-0000000009.ckpt" in line and "earlier labkit" in line
    assert not witness.exists()
    assert path.exists()


def test_a_symlinked_out_is_refused_and_nothing_behind_it_changes(labkit, tmp_path):
    run = tmp_path / "real"
    assert labkit(*QUICK, "--out", str(run))[0] == 0
    link = tmp_path / "link"
    link.symlink_to(run, target_is_directory=True)
    before = snapshot(run)
    for extra in (("--force",), ("--resume",), ()):
        line = one_line_error(*labkit(*QUICK, "--out", str(link), *extra))
        assert "symbolic link" in line
    assert snapshot(run) == before and link.is_symlink()


def test_a_corrupt_config_is_reported_and_force_starts_over(labkit, tmp_path):
    run = tmp_path / "r"
    assert labkit(*QUICK, "--out", str(run))[0] == 0
    (run / "config.json").write_text("{ half a json")
    line = one_line_error(*labkit("run", "toy:accumulate", "--out", str(run), "--resume"))
    assert "config.json is unreadable" in line
    assert labkit(*QUICK, "--out", str(run), "--force")[0] == 0
    assert json.loads((run / "config.json").read_text())["experiment"] == "toy:accumulate"


@pytest.mark.parametrize(("args", "text"), [
    (("--seed", "-1"), "config field 'seed': must be an integer in [0, 2**32 - 1"),
    (("--seed", str(2**32)), "config field 'seed'"),
    (("--set", "scale=inf"), "config field 'scale': must be a finite number (> 0); got inf"),
    (("--set", "delay=-inf"), "config field 'delay'"),
    (("--set", "buffer_mb=1e12"), "needs about 931.3 PiB of memory (estimate), more than the"),
])
def test_bad_input_is_refused_before_anything_is_written(labkit, tmp_path, args, text):
    run = tmp_path / "r"
    line = one_line_error(*labkit(*QUICK, "--out", str(run), *args))
    assert text in line
    assert not run.exists()


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES, errno.EROFS])
def test_an_unwritable_or_full_out_is_one_line_and_leaves_nothing(labkit, tmp_path, monkeypatch, code):
    import tempfile

    from labkit.core import atomic

    real = tempfile.mkstemp

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code), kwargs.get("dir"))

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    run = tmp_path / "r"
    line = one_line_error(*labkit(*QUICK, "--out", str(run)))
    assert os.strerror(code) in line and "cannot write to run folder" in line
    assert not run.exists()
    existing = tmp_path / "empty"
    existing.mkdir()
    one_line_error(*labkit(*QUICK, "--out", str(existing)))
    assert list(existing.iterdir()) == []
    monkeypatch.setattr(atomic.tempfile, "mkstemp", real)
    assert labkit(*QUICK, "--out", str(run))[0] == 0


def test_a_folder_that_fills_up_during_the_run_fails_in_one_line_and_resumes(labkit, tmp_path, monkeypatch):
    import tempfile

    from labkit.core import atomic

    real = tempfile.mkstemp

    def full_for_checkpoint_3(*args, **kwargs):
        if kwargs.get("prefix", "").startswith(".step-0000000003"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(*args, **kwargs)

    monkeypatch.setattr(atomic.tempfile, "mkstemp", full_for_checkpoint_3)
    run = tmp_path / "r"
    code, err = labkit(*QUICK, "--out", str(run))
    # the run had started (its progress line is printed); the error is one line, without a traceback
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("labkit: error: cannot write to run folder")
    assert "No space left on device" in err
    assert json.loads((run / "progress.json").read_text())["status"] == "failed"
    monkeypatch.setattr(atomic.tempfile, "mkstemp", real)
    assert labkit("run", "toy:accumulate", "--out", str(run), "--resume")[0] == 0


def test_resume_of_a_folder_without_a_run_is_an_error(labkit, tmp_path):
    missing = tmp_path / "missing"
    line = one_line_error(*labkit("run", "toy:accumulate", "--out", str(missing), "--resume"))
    assert "no run" in line and "drop --resume" in line
    assert not missing.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(*labkit("run", "toy:accumulate", "--out", str(empty), "--resume"))
    assert list(empty.iterdir()) == []


def test_run_all_resume_starts_flagships_that_never_started(labkit, tmp_path):
    assert labkit("run", "--all", "--preset", "quick", "--out", str(tmp_path / "all"), "--resume")[0] == 0
    assert (tmp_path / "all" / "toy-accumulate" / "results.json").is_file()


def test_results_csv_is_written_before_results_json(labkit, tmp_path, monkeypatch):
    from labkit.core import runner

    real = runner.atomic_write_json

    def killed_at_results(path, obj):
        if path.name == "results.json":
            raise KeyboardInterrupt  # as if killed right before the commit
        return real(path, obj)

    monkeypatch.setattr(runner, "atomic_write_json", killed_at_results)
    run = tmp_path / "r"
    assert labkit(*QUICK, "--out", str(run))[0] == 130
    assert (run / "results.csv").is_file() and not (run / "results.json").exists()
    monkeypatch.setattr(runner, "atomic_write_json", real)
    assert labkit("run", "toy:accumulate", "--out", str(run), "--resume")[0] == 0
    assert json.loads((run / "results.json").read_text())["status"] == "completed"


def test_stray_temp_files_of_labkit_are_cleaned_and_lookalikes_kept(labkit, tmp_path):
    run = tmp_path / "r"
    assert labkit(*QUICK, "--out", str(run), "--set", "steps=8")[0] == 0
    (run / "results.json").unlink()
    strays = [run / ".progress.json.a1b2c3d4.tmp", run / "checkpoints" / "acc" / ".step-0000000008.ckpt.zz_9yx8w.tmp"]
    for path in strays:
        path.write_bytes(b"half")
    lookalike = run / ".notes.txt.abcdefgh.tmp"
    lookalike.write_bytes(b"mine")
    assert labkit("run", "toy:accumulate", "--out", str(run), "--resume")[0] == 0
    assert not any(p.exists() for p in strays)
    assert lookalike.read_bytes() == b"mine"


def test_output_files_honour_the_umask(labkit, tmp_path):
    old = os.umask(0o002)
    try:
        run = tmp_path / "r"
        assert labkit(*QUICK, "--out", str(run))[0] == 0
    finally:
        os.umask(old)
    for name in ("config.json", "results.json", "results.csv", "progress.json"):
        assert (run / name).stat().st_mode & 0o777 == 0o664, name


def test_run_all_never_overwrites_a_summary_it_did_not_write(labkit, tmp_path):
    root = tmp_path / "all"
    root.mkdir()
    (root / "summary.md").write_text("# my own summary of the week\n")
    before = snapshot(root)
    line = one_line_error(*labkit("run", "--all", "--preset", "quick", "--out", str(root)))
    assert "not a labkit summary" in line
    assert snapshot(root) == before
    (root / "summary.md").unlink()
    assert labkit("run", "--all", "--preset", "quick", "--out", str(root))[0] == 0
    assert labkit("run", "--all", "--preset", "quick", "--out", str(root), "--resume")[0] == 0  # its own: rewritten
