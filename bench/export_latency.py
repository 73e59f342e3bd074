"""Inference latency of an exported policy, batch 1, one CPU thread: TorchScript and onnxruntime side by side.

    python bench/export_latency.py --exported logs/a1_rough/<run>/exported --json

Without --exported it times a randomly initialised spiking actor of ``--task`` exported to a temporary folder.
Reports the median over ``--iters`` calls after a warm-up (membrane mode: with the state carried).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _export_random(task: str, actor: str, history: str, out: str) -> None:
    from envs.launch import script_session
    from envs.locomotion.metadata import policy_metadata
    from legged_snn.cli import build_parser
    from legged_snn.export import export_policy

    args = build_parser("bench").parse_args(["--task", task, "--num_envs", "2", "--actor", actor,
                                             "--history", history])
    s = script_session(args, "bench/export_latency.py", log=False)
    export_policy(s.runner, policy_metadata(task, s.env, s.train_cfg), out)


def _median_ms(fn, iters: int) -> float:
    for _ in range(20):
        fn()
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--exported", help="a run's exported/ folder (policy.pt, policy.onnx, policy.json)")
    p.add_argument("--task", default="a1_rough")
    p.add_argument("--actor", default="snn", choices=["snn", "mlp"])
    p.add_argument("--history", default="stack", choices=["stack", "membrane"])
    p.add_argument("--iters", type=int, default=500)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    import onnxruntime as ort

    torch.set_num_threads(1)
    tmp = None
    folder = args.exported
    if folder is None:
        tmp = tempfile.TemporaryDirectory()
        folder = tmp.name
        _export_random(args.task, args.actor, args.history, folder)
    meta = json.load(open(os.path.join(folder, "policy.json")))
    obs = torch.randn(1, meta["observation"]["dim"])
    jit = torch.jit.load(os.path.join(folder, "policy.pt"))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(os.path.join(folder, "policy.onnx"), opts, providers=["CPUExecutionProvider"])
    feed = {"obs": obs.numpy()}
    if meta.get("recurrent"):
        z = np.zeros(meta["snn"]["state_shape"], np.float32)
        feed.update({"c_in": z, "v_in": z.copy(), "o_in": z.copy()})
    with torch.no_grad():
        jit_ms = _median_ms(lambda: jit(obs), args.iters)
    onnx_ms = _median_ms(lambda: sess.run(None, feed), args.iters)
    out = {"bench": "export_latency", "task": meta["task"], "actor": meta["actor"],
           "history": meta.get("snn", {}).get("history"), "obs_dim": meta["observation"]["dim"],
           "hidden_dims": meta.get("snn", meta.get("mlp", {})).get("hidden_dims"), "threads": 1,
           "jit_ms": round(jit_ms, 4), "onnx_ms": round(onnx_ms, 4), "target_ms": 0.5}
    print(json.dumps(out) if args.json else out)
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
