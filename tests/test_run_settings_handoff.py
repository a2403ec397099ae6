"""A run hands its settings to the Robot Framework process as one value: a file of mode 0600 named
in BISTAND_SETTINGS, with this run's values, gone when the process ends (bistand.run.suite)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bistand.run import suite
from bistand.run.suite import child_env, robot
from bistand.settings import SETTINGS_VARIABLE, load


def test_the_child_gets_the_resolved_settings_as_one_file_and_no_bistand_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("BISTAND_LEASE_SECONDS", "99")  # the operator's: the parent resolved it already
    monkeypatch.setenv("BISTAND_RUNNER_ID", "runner-9")
    settings = load(environ={"BISTAND_LEASE_SECONDS": "7", "BISTAND_RUNNER_ID": "runner-9"})
    part = settings.updated(run={"dir": str(tmp_path), "total_items": 12, "items_before": 4},
                            queue={"role": "consumer", "until_empty": False})
    env = child_env(part, tmp_path, "bistand.run.adapter.QueueAdapter")
    path = Path(env[SETTINGS_VARIABLE])
    assert path.parent == tmp_path and stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds secrets
    assert [name for name in env if name.startswith("BISTAND_")] == [SETTINGS_VARIABLE]
    assert env["RPA_WORKITEMS_ADAPTER"] == "bistand.run.adapter.QueueAdapter"
    child = load(environ=env)  # what the child's load() reads: the file only
    assert child == part
    assert (child.queue.lease_seconds, child.runner_id, child.run_dir, child.run.total_items,
            child.run.items_before, child.queue.until_empty) == (7, "runner-9", tmp_path, 12, 4, False)


def test_under_control_room_its_own_adapter_stays(tmp_path, monkeypatch):
    monkeypatch.setenv("RC_WORKSPACE_ID", "ws-1")
    monkeypatch.delenv("RPA_WORKITEMS_ADAPTER", raising=False)
    env = child_env(load(environ={}), tmp_path, "bistand.run.adapter.QueueAdapter")
    assert "RPA_WORKITEMS_ADAPTER" not in env


class Ended:
    """Stands in for the Robot Framework process: it has ended."""

    def __init__(self, *_args, **_kwargs) -> None:
        self.env = _kwargs["env"]

    def wait(self) -> int:
        assert Path(self.env[SETTINGS_VARIABLE]).exists()  # there while the run lasts
        return 0


@pytest.mark.parametrize("popen", [Ended, OSError])
def test_the_settings_file_is_gone_when_the_run_ends(tmp_path, monkeypatch, popen):
    def start(*args, **kwargs):
        if popen is OSError:
            raise OSError("no python")
        return popen(*args, **kwargs)

    monkeypatch.setattr(suite.subprocess, "Popen", start)
    env = child_env(load(environ={}), tmp_path)
    if popen is OSError:
        with pytest.raises(OSError):
            robot("consumer", tmp_path, env)
    else:
        assert robot("consumer", tmp_path, env) == 0
    assert not Path(env[SETTINGS_VARIABLE]).exists()
