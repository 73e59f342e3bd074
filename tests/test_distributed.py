"""torchrun on CPU (gloo): two ranks train together; their actors end bit-identical and moved.

This is the check SpikeRL's code would fail: calling ``.module`` of a DDP wrapper skips the gradient all-reduce
and the ranks drift apart.
"""

from __future__ import annotations

import os
import subprocess
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HARNESS = """
import os, sys, torch
sys.path.insert(0, {root!r})
from envs.launch import make_session
from legged_snn.cli import build_parser
args = build_parser("t").parse_args(["--task=a1_flat", "--num_envs=6", "--actor={actor}", "--log_root={logs}"])
s = make_session(args, log=True)
actor = s.runner.alg.get_policy()
s.runner.learn(1)  # parameters broadcast from rank 0 at the start of learn
start = [p.detach().clone() for p in actor.parameters()]
s.runner.learn(3)
rank = int(os.environ["RANK"])
torch.save({{"start": start, "end": [p.detach().clone() for p in actor.parameters()],
            "log_dir": s.log_dir, "rank": rank}}, os.path.join({out!r}, f"rank{{rank}}.pt"))
s.close()  # as train.py does: a barrier, then the process group goes before the interpreter exits
"""


def _torchrun(tmp_path, actor: str) -> list[dict]:
    script = tmp_path / "harness.py"
    script.write_text(HARNESS.format(root=ROOT, actor=actor, logs=str(tmp_path / "logs"), out=str(tmp_path)))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
                          str(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]


def test_two_gloo_ranks_stay_bit_identical(tmp_path) -> None:
    r0, r1 = _torchrun(tmp_path, "snn")
    for a, b in zip(r0["end"], r1["end"]):
        assert torch.equal(a, b)
    assert any(not torch.equal(a, b) for a, b in zip(r0["start"], r0["end"]))  # it learned something
    assert r0["log_dir"] is not None and r1["log_dir"] is None  # only rank 0 writes a run folder
    assert len(os.listdir(tmp_path / "logs" / "a1_flat")) == 1


DYING = """
import os, sys
sys.path.insert(0, {root!r})
from envs.launch import make_session
from legged_snn.cli import build_parser
s = make_session(build_parser("t").parse_args(["--task=a1_flat", "--num_envs=4", "--actor=mlp",
                                               "--log_root={logs}"]), log=False)
if os.environ["RANK"] == "1":
    s.runner.learn(1)
    os._exit(3)  # rank 1 dies after one iteration
s.runner.learn(200)  # rank 0 would wait in the next all-reduce
"""


def test_a_dying_rank_stops_the_others_instead_of_hanging(tmp_path) -> None:
    import time

    script = tmp_path / "dying.py"
    script.write_text(DYING.format(root=ROOT, logs=str(tmp_path / "logs")))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    t = time.time()
    res = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
                          str(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode != 0
    assert "exitcode  : 3" in res.stderr  # the root cause torchrun reports: rank 1's own exit
    # rank 0 ends either on its own (gloo sees the peer gone) or by torchrun's SIGTERM, whichever comes first
    assert "Connection closed by peer" in res.stderr or "Signal 15 (SIGTERM) received" in res.stderr
    assert time.time() - t < 120  # seconds, not gloo's 5-minute timeout
