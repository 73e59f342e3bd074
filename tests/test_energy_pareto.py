"""bench/energy_pareto.py: the front is the points no other beats on both axes; bad points files and an existing
PNG are refused in one line, nothing written."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("energy_pareto", os.path.join(ROOT, "bench", "energy_pareto.py"))
pareto = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pareto)


def _write(tmp_path, lines: list[dict]) -> str:
    path = tmp_path / "points.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return str(path)


def _snn(label: str, tracking: float, ratio: float, with_updates: float | None = None) -> dict:
    energy = {"bench": "energy", "mlp_over_snn": ratio}
    if with_updates is not None:
        energy["mlp_over_snn_with_updates"] = with_updates
    return {"label": label, "task": "a1_flat", "tracking_lin_vel": tracking, "trained_by": "ppo", "energy": energy}


def test_the_front_and_the_summary(tmp_path, capsys):
    points = _write(tmp_path, [
        _snn("walks, frugal", 0.72, 1.6, 1.55), _snn("stands, frugal", 0.2, 1.8),
        _snn("stands, costly", 0.2, 1.2),  # beaten on both axes by the first
        {"label": "MLP", "tracking_lin_vel": 0.9, "actor": "mlp"}])
    out = str(tmp_path / "pareto.png")
    assert pareto.main(["--points", points, "--out", out, "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    summary = lines[-1]
    assert summary["front"] == ["walks, frugal", "stands, frugal", "MLP"]
    assert summary["best_walking_snn"]["label"] == "walks, frugal"
    assert [x["on_front"] for x in lines[:-1]] == [True, True, False, True]
    assert os.path.getsize(out) > 10_000


@pytest.mark.parametrize("line, needle", [
    ({"label": "x", "energy": {"mlp_over_snn": 1.0}}, "lacks ['tracking_lin_vel']"),
    ({"label": "x", "tracking_lin_vel": 0.5, "energy": {}}, "lacks ['energy.mlp_over_snn']"),
    ({"label": "x", "tracking_lin_vel": 0.5, "energy": 1.6}, "lacks ['energy.mlp_over_snn']"),
])
def test_bad_points_are_refused_in_one_line(tmp_path, line, needle):
    out = tmp_path / "p.png"
    with pytest.raises(SystemExit, match=needle.replace("[", r"\[").replace("]", r"\]")) as e:
        pareto.main(["--points", _write(tmp_path, [line]), "--out", str(out)])
    assert "\n" not in str(e.value) and not out.exists()


def test_a_repeated_label_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="repeats the label 'a'"):
        pareto.main(["--points", _write(tmp_path, [_snn("a", 0.5, 1.5), _snn("a", 0.6, 1.2)]),
                     "--out", str(tmp_path / "p.png")])


def test_an_existing_png_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "p.png"
    out.write_bytes(b"keep")
    with pytest.raises(SystemExit) as e:
        pareto.main(["--points", _write(tmp_path, [_snn("a", 0.5, 1.5)]), "--out", str(out)])
    assert e.value.code == 2 and "exists" in capsys.readouterr().err and out.read_bytes() == b"keep"
