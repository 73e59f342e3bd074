"""play.py end to end on a freshly trained tiny run: exports equal eager, policy.json, NIR, video, plots."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nir
import numpy as np
import onnxruntime as ort
import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> str:
    """A 1-iteration membrane-mode spiking run of a1_flat in a temporary log root, binary spikes (NIR's neurons; the
    graded default exports TorchScript and ONNX only: tests/test_multi_spike.py)."""
    root = str(tmp_path_factory.mktemp("logs"))
    r = _run("train.py", "--task", "a1_flat", "--actor", "snn", "--history", "membrane", "--num_envs", "8",
             "--max_iterations", "1", "--log_root", root, "--cfg", "policy.snn.neuron.max_spikes=1")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "train.py: warning: the spiking actor's forward is smooth up to iteration 200" in r.stderr, r.stderr
    assert "train 321 iterations or more" in r.stderr
    r = _run("play.py", "--task", "a1_flat", "--log_root", root, "--export_only")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "model_0.pt: the spiking actor's forward is smooth" in r.stderr, r.stderr  # exports run spikes
    assert "torchvision" not in r.stderr and "FutureWarning" not in r.stderr, r.stderr  # exporter noise silenced
    return root


def _exported(root: str) -> str:
    run = sorted(os.listdir(os.path.join(root, "a1_flat")))[-1]
    return os.path.join(root, "a1_flat", run, "exported")


def _session(root: str, num_envs: int = 1):
    sys.path.insert(0, ROOT)
    import play
    from envs.play.session import PlaySession

    return PlaySession(play.parser().parse_args(["--task", "a1_flat", "--log_root", root, "--num_envs", str(num_envs)]))


def test_policy_json_names_every_joint_and_round_trips(trained: str) -> None:
    out = _exported(trained)
    meta = json.load(open(os.path.join(out, "policy.json")))
    ps = _session(trained)
    assert meta["joint_names"] == ps.env.cfg.robot.joint_names and len(meta["kp"]) == 12
    assert meta["observation"]["dim"] == 48 and meta["recurrent"] is True
    names = [t["name"] for t in meta["observation"]["terms"]]
    assert names[:3] == ["base_lin_vel", "base_ang_vel", "projected_gravity"]
    assert meta["snn"]["neuron"]["reset"] == "popsan" and meta["snn"]["timesteps"] == 5
    assert json.loads(json.dumps(meta)) == meta
    assert set(meta["files"]) == {"jit", "onnx", "json", "nir"}
    modes = {f: os.stat(os.path.join(out, f)).st_mode & 0o777 for f in ("policy.json", "policy.onnx", "policy.pt")}
    assert len(set(modes.values())) == 1, modes  # policy.json readable like the other exports (not mkstemp's 0600)


def test_jit_and_onnx_follow_eager_for_50_steps_with_state(trained: str) -> None:
    out = _exported(trained)
    ps = _session(trained)
    env, actor = ps.env, ps.runner.alg.get_policy()
    actor.eval()
    jit = torch.jit.load(os.path.join(out, "policy.pt"))
    sess = ort.InferenceSession(os.path.join(out, "policy.onnx"))
    shape = json.load(open(os.path.join(out, "policy.json")))["snn"]["state_shape"]
    c = v = o = np.zeros(shape, np.float32)
    obs = env.get_observations()
    actor.reset()
    worst_jit = worst_onnx = 0.0
    with torch.no_grad():
        for _ in range(50):
            eager = actor(obs)
            x = obs["policy"]
            worst_jit = max(worst_jit, float((jit(x) - eager).abs().max()))
            a, c, v, o = sess.run(None, {"obs": x.numpy(), "c_in": c, "v_in": v, "o_in": o})
            worst_onnx = max(worst_onnx, float(np.abs(a - eager.numpy()).max()))
            obs, _, _, _ = env.step(eager)
    assert worst_jit < 1e-5 and worst_onnx < 1e-4


def test_nir_graph_reads_back_and_reproduces_our_actions(trained: str) -> None:
    from legged_snn.snn.nir_export import encoder_spikes, read_actions, simulate

    graph = nir.read(os.path.join(_exported(trained), "policy.nir"))
    ps = _session(trained, num_envs=4)
    actor = ps.runner.alg.get_policy()
    latent = actor.get_latent(ps.env.get_observations())
    ours, _ = actor.network.spike_trace(latent)
    assert ours[-1].sum() > 0  # the last hidden layer fires: the readout sees spikes
    membranes = simulate(graph, encoder_spikes(actor.network, latent).numpy())  # (T, N, A) readout membranes
    with torch.no_grad():
        eager = actor.network(latent)  # one control step from zero state, as the graph starts
    assert membranes.shape == (5, 4, 12)
    np.testing.assert_allclose(read_actions(graph, membranes), eager.numpy(), atol=1e-4)
    assert isinstance(graph.nodes["readout"], nir.I) and graph.metadata["decoder"] == "membrane"
    assert [k for k in graph.nodes if k.startswith("lif")] == [f"lif{i}" for i in range(len(actor.network.layers))]


def test_video_and_plots_are_written(trained: str, tmp_path) -> None:
    import imageio.v2 as imageio

    video, plots = str(tmp_path / "clip.mp4"), str(tmp_path / "plots")
    r = _run("play.py", "--task", "a1_flat", "--log_root", trained, "--no_export", "--video", video,
             "--plots", plots, "--seconds", "2", "--num_envs", "2", "--width", "320", "--height", "240")
    assert r.returncode == 0, r.stderr[-2000:]
    frames = imageio.get_reader(video).count_frames()
    assert frames == 100  # 2 s at the 50 Hz policy rate
    for name in ("velocity.png", "joints.png", "gait.png", "spikes.png"):
        assert os.path.getsize(os.path.join(plots, name)) > 10_000


@pytest.mark.parametrize("args, needle", [
    (["--task", "a1_flat", "--log_root", "/nonexistent_root"], "train one first: python train.py --task=a1_flat"),
    (["--task", "a1_flat", "--video", "clip.avi"], "ending in .mp4"),
])
def test_play_bad_input_one_line_error(args: list[str], needle: str) -> None:
    r = _run("play.py", *args)
    assert r.returncode == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_play_env_id_out_of_range_is_one_line(trained: str, tmp_path) -> None:
    video = str(tmp_path / "clip.mp4")
    r = _run("play.py", "--task", "a1_flat", "--log_root", trained, "--no_export", "--num_envs", "2",
             "--env_id", "2", "--video", video)
    errors = [ln for ln in r.stderr.strip().splitlines() if not ln.startswith("warning:")]  # the checkpoint's anneal
    assert r.returncode == 2 and "--env_id 2 is out of range" in r.stderr and len(errors) == 1, r.stderr
    assert not os.path.exists(video) and not os.path.exists(video + ".part.mp4")


def test_play_refuses_another_tasks_run(trained: str, tmp_path) -> None:
    os.symlink(os.path.join(trained, "a1_flat"), tmp_path / "a1_rough")
    r = _run("play.py", "--task", "a1_rough", "--log_root", str(tmp_path), "--export_only")
    assert r.returncode == 2 and "trained on task 'a1_flat'" in r.stderr


def _last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def test_sim2sim_matches_the_envs_own_evaluation(trained: str) -> None:
    onnx_path = os.path.join(_exported(trained), "policy.onnx")
    sim = _run("-m", "legged_snn.deploy.sim2sim", "--policy", onnx_path, "--json")
    own = _run("play.py", "--task", "a1_flat", "--log_root", trained, "--evaluate", "--no_export")
    assert sim.returncode == 0 and own.returncode == 0, sim.stderr[-1500:] + own.stderr[-1500:]
    a, b = _last_json(sim.stdout), _last_json(own.stdout)
    assert abs(a["lin_vel_error"] - b["lin_vel_error"]) <= 0.1 * b["lin_vel_error"]
    assert a["falls"] == b["falls"]


def test_sim2sim_bad_inputs(trained: str, tmp_path) -> None:
    out = _exported(trained)
    missing = _run("-m", "legged_snn.deploy.sim2sim", "--policy", str(tmp_path / "none.onnx"))
    assert missing.returncode == 2 and "not found" in missing.stderr
    meta = json.load(open(os.path.join(out, "policy.json")))
    (tmp_path / "other.json").write_text(json.dumps({**meta, "format": "something else"}))
    wrong = _run("-m", "legged_snn.deploy.sim2sim", "--policy", os.path.join(out, "policy.onnx"),
                 "--metadata", str(tmp_path / "other.json"))
    assert wrong.returncode == 2 and "not a legged_snn.policy/1 policy description" in wrong.stderr
    meta["observation"]["dim"] = 235
    (tmp_path / "size.json").write_text(json.dumps(meta))
    size = _run("-m", "legged_snn.deploy.sim2sim", "--policy", os.path.join(out, "policy.onnx"),
                "--metadata", str(tmp_path / "size.json"))
    assert size.returncode == 2 and "takes obs of size 48 but policy.json says 235" in size.stderr
    for r in (missing, wrong, size):
        assert len(r.stderr.strip().splitlines()) == 1


def test_train_video_interval_writes_clips(tmp_path) -> None:
    import imageio.v2 as imageio

    r = _run("train.py", "--task", "a1_flat", "--num_envs", "2", "--max_iterations", "3", "--video_interval", "2",
             "--log_root", str(tmp_path))
    assert r.returncode == 0, r.stderr[-2000:]
    videos = os.path.join(tmp_path, "a1_flat", os.listdir(tmp_path / "a1_flat")[0], "videos")
    assert sorted(os.listdir(videos)) == ["iteration_0.mp4", "iteration_2.mp4"]
    # a clip lasts min(4 s, 2 iterations of 24 steps); the last one is cut by the end of training
    assert imageio.get_reader(os.path.join(videos, "iteration_0.mp4")).count_frames() == 48
    assert imageio.get_reader(os.path.join(videos, "iteration_2.mp4")).count_frames() == 24
