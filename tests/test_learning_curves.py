"""bench/learning_curves.py: crossings read from real tensorboard event files, saved curves that read back the
same, and one-line errors for bad input."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest
import yaml

_path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench", "learning_curves.py")
_spec = importlib.util.spec_from_file_location("bench_learning_curves", _path)
lc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lc)

STEPS_PER_IT = 1000  # 10 envs x 100 steps
MAX_EPISODE = 1000  # 20 s at 0.02 s


def _run(folder, actor: str, tracking: list[float], episode: list[float], start: int = 0,
         resumed_from: str | None = None, terrain: list[float] | None = None) -> str:
    """A run folder as train.py writes it: params/{env,train}.yaml (and resume.yaml when it continues another run
    from iteration ``start``) and tensorboard scalars per iteration; its wall clock starts at its first iteration."""
    from torch.utils.tensorboard import SummaryWriter

    os.makedirs(folder / "params")
    env = {"env": {"num_envs": 10, "episode_length_s": 20.0}, "sim": {"dt": 0.005, "decimation": 4},
           "rewards": {"scales": {"tracking_lin_vel": 2.0}}}
    train = {"runner": {"num_steps_per_env": 100}, "policy": {"actor": actor, "snn": {"history": "stack"}}}
    for name, data in (("env", env), ("train", train)):
        with open(folder / "params" / f"{name}.yaml", "w") as f:
            yaml.safe_dump(data, f)
    if resumed_from:
        with open(folder / "params" / "resume.yaml", "w") as f:
            yaml.safe_dump({"run": resumed_from, "first_iteration": start}, f)
    w = SummaryWriter(str(folder))
    for k, (t, e) in enumerate(zip(tracking, episode)):
        it = start + k
        w.add_scalar("Episode_Reward/tracking_lin_vel", 2.0 * t, it)  # logged in reward units (scale 2)
        w.add_scalar("Train/mean_episode_length", e * MAX_EPISODE, it)
        w.add_scalar("Perf/env_steps", (it + 1) * STEPS_PER_IT, it)
        w.add_scalar("Perf/wall_minutes", 0.5 * (k + 1), it)
        if terrain is not None:  # a rough task
            w.add_scalar("Curriculum/terrain_level", terrain[k], it)
    w.close()
    return str(folder)


def test_crossings_saved_curves_and_plot(tmp_path, capsys):
    mlp = _run(tmp_path / "mlp_run", "mlp", [0.1 * i + 0.01 for i in range(10)], [0.1 * i + 0.01 for i in range(10)])
    snn = _run(tmp_path / "snn_run", "snn", [0.05 * i + 0.01 for i in range(20)], [0.9] * 20)
    png, saved = tmp_path / "curves.png", tmp_path / "saved"
    assert lc.main([snn, mlp, "--window", "1", "--out", str(png), "--save", str(saved), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    s, m = out["runs"]
    assert (m["steps_to_0.5"], m["steps_to_0.7"], m["minutes_to_0.7"]) == (6000, 8000, 4.0)  # i = 7: 0.71
    assert (s["steps_to_0.5"], s["steps_to_0.7"]) == (11000, 15000)
    assert m["task"] == s["task"] == tmp_path.name  # logs/<task>/<run>: the run folder's parent
    assert m["steps_to_episode_0.8"] == 9000 and s["steps_to_episode_0.8"] == 1000
    assert out["snn_over_mlp_steps_0.7:snn_run"] == pytest.approx(15000 / 8000, abs=0.01)
    assert png.stat().st_size > 10_000
    # the saved curves give the same rows without the run folders
    files = sorted(os.listdir(saved))
    assert files == ["mlp_run.json", "snn_run.json"]
    assert lc.main([str(saved / "snn_run.json"), str(saved / "mlp_run.json"), "--window", "1",
                    "--out", str(tmp_path / "again.png"), "--json"]) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["runs"] == out["runs"]


def test_a_resumed_run_continues_its_parents_curve(tmp_path, capsys):
    parent = _run(tmp_path / "parent", "snn", [0.05 * i for i in range(10)], [0.5] * 10)  # its 0-9, 5 minutes
    child = _run(tmp_path / "child", "snn", [0.5 + 0.03 * k for k in range(10)], [0.9] * 10, start=10,
                 resumed_from=parent)  # its 10-19, 0.71 at it 17 (its own minute 4)
    mlp = _run(tmp_path / "mlp_run", "mlp", [0.1 * i + 0.01 for i in range(10)], [0.5] * 10)  # 0.71 at it 7
    saved = tmp_path / "saved"
    assert lc.main([child, mlp, "--window", "1", "--out", str(tmp_path / "c.png"), "--save", str(saved),
                    "--json"]) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["runs"][0]
    assert row["iterations"] == 20 and row["joined_at_iteration"] == 10 and row["env_steps"] == 20000
    assert (row["steps_to_0.5"], row["minutes_to_0.5"]) == (11000, 5.5)  # the parent's 5 minutes come first
    assert (row["steps_to_0.7"], row["minutes_to_0.7"]) == (18000, 9.0)
    # the same from the parent's saved curve joined explicitly, and from the saved joined curve
    lc.main([parent, mlp, "--save", str(tmp_path / "p"), "--out", str(tmp_path / "p.png"), "--json"])
    capsys.readouterr()
    for spec in (f"{tmp_path / 'p' / 'parent.json'}+{child}", str(saved / "child.json")):
        assert lc.main([spec, mlp, "--window", "1", "--out", str(tmp_path / "d.png"), "--json"]) == 0
        assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["runs"][0] == row
    # without the parent folder: the child alone, its minutes from the resume, and a warning that says so
    os.rename(parent, tmp_path / "moved")
    assert lc.main([child, mlp, "--window", "1", "--out", str(tmp_path / "e.png"), "--json"]) == 0
    cap = capsys.readouterr()
    alone = json.loads(cap.out.strip().splitlines()[-1])["runs"][0]
    assert "which is not here" in cap.err and alone["minutes_to_0.7"] == 4.0 and "joined_at_iteration" not in alone


def test_bad_inputs_exit_with_one_line(tmp_path, capsys):
    mlp = _run(tmp_path / "mlp_run", "mlp", [0.2] * 3, [0.5] * 3)
    bad = tmp_path / "bad.json"
    bad.write_text('{"run": "x"}')
    with pytest.raises(SystemExit) as e:
        lc.main([mlp, str(bad), "--out", str(tmp_path / "x.png")])
    assert "is not a curve file written by --save" in str(e.value.code)
    with pytest.raises(SystemExit) as e:
        lc.main([mlp, str(tmp_path / "missing_run")])
    assert e.value.code == 2 and "no such run folder or curve file" in capsys.readouterr().err
    # a saved curve of another run under the same name is never overwritten
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "mlp_run.json").write_text('{"run": "logs/other/mlp_run"}')
    with pytest.raises(SystemExit) as e:
        lc.main([mlp, mlp, "--save", str(saved), "--out", str(tmp_path / "y.png")])
    assert "holds another run's curve" in str(e.value.code)
    assert json.loads((saved / "mlp_run.json").read_text()) == {"run": "logs/other/mlp_run"}
    assert not (tmp_path / "y.png").exists()
    (saved / "mlp_run.json").write_text("not json")  # a stray file under the target name: kept, one-line error
    with pytest.raises(SystemExit) as e:
        lc.main([mlp, mlp, "--save", str(saved), "--out", str(tmp_path / "y.png")])
    assert "exists and is not a curve file" in str(e.value.code) and (saved / "mlp_run.json").read_text() == "not json"
    with pytest.raises(SystemExit) as e:  # --save naming a file
        lc.main([mlp, mlp, "--save", str(bad), "--out", str(tmp_path / "y.png")])
    assert "is a file; give a folder" in str(e.value.code)
    uneven = tmp_path / "uneven.json"  # series of different lengths
    uneven.write_text(json.dumps({"run": "r", "label": "mlp", "actor": "mlp", "its": [0, 1], "steps": [1, 2],
                                  "minutes": [1, 2], "raw": [0.1], "episode": [0.5, 0.6]}))
    with pytest.raises(SystemExit) as e:
        lc.main([mlp, str(uneven), "--out", str(tmp_path / "z.png")])
    assert "of different lengths" in str(e.value.code)


def test_a_rough_run_gets_its_terrain_level_row_and_crossing(tmp_path, capsys):
    rough = _run(tmp_path / "rough_run", "mlp", [0.06 * i for i in range(12)], [0.9] * 12,
                 terrain=[0.0, 0.0, 0.1, 0.3, 0.5, 0.8, 0.9, 1.1, 1.3, 1.4, 1.6, 1.7])
    flat = _run(tmp_path / "flat_run", "mlp", [0.1 * i for i in range(10)], [0.9] * 10)
    saved = tmp_path / "saved"
    assert lc.main([rough, flat, "--window", "1", "--out", str(tmp_path / "c.png"), "--save", str(saved),
                    "--json"]) == 0
    r, f = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["runs"]
    assert r["terrain_level_end"] == 1.7 and r["steps_to_terrain_1.0"] == 8000  # it 7: 1.1
    assert "terrain_level_end" not in f  # a flat task has no terrain row
    # a curve file saved before terrain levels were kept still reads (no terrain, as a flat run)
    old = json.loads((saved / "flat_run.json").read_text())
    del old["terrain"]
    (saved / "old.json").write_text(json.dumps(old))
    assert lc.main([str(saved / "old.json"), str(saved / "rough_run.json"), "--window", "1",
                    "--out", str(tmp_path / "d.png"), "--json"]) == 0
    o, r2 = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["runs"]
    assert "terrain_level_end" not in o and r2 == r
