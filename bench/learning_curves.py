"""Learning curves of two or more runs: lin-vel tracking against env steps and against wall-clock minutes.

    python bench/learning_curves.py logs/a1_flat/<snn run> docs/curves/<mlp run>.json --out docs/curves.png --json

Reads each run's tensorboard events and params/*.yaml, or a curve file that ``--save`` wrote earlier (run folders
under logs/ are not kept in git; a saved curve lets a later session compare against a run it cannot repeat).
Tracking is ``Episode_Reward/tracking_lin_vel`` divided by its reward scale (1.0 = perfect tracking for whole
episodes); the episode fraction is ``Train/mean_episode_length`` over the episode's maximum (the bipeds' bar).
Both are smoothed by a trailing mean over ``--window`` iterations; a run "crosses" a level at the first iteration
where that mean reaches it. The JSON line gives, per run, the env steps and minutes of the first crossing of
tracking 0.5 and 0.7 and of episode fraction 0.8 (null if never), and, when the runs include a spiking and an MLP
actor, the spiking run's steps over the MLP's at 0.7. Rough tasks' runs (``Curriculum/terrain_level`` logged) get a
third row, the mean terrain level, and its first crossing of 1.0 (``steps_to_terrain_1.0``).
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys
from typing import NoReturn

import numpy as np
import yaml

LEVELS = (0.5, 0.7)
EPISODE_LEVEL = 0.8
TERRAIN_LEVEL = 1.0  # a rough task's mean terrain level (issue 26's bar)
CURVE_KEYS = ("its", "steps", "minutes", "raw", "episode", "terrain")
OPTIONAL_KEYS = ("terrain",)  # absent from curve files saved before it was logged: all NaN


def _scalars(run_dir: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{tag: (steps, values)} from every event file of a run (later files win on repeated steps)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    files = sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents.*")))
    if not files:
        _fail(f"{run_dir} has no tensorboard events; give a run folder written by train.py or bench/learning.py")
    merged: dict[str, dict[int, float]] = {}
    for f in files:
        acc = EventAccumulator(f, size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            merged.setdefault(tag, {}).update({e.step: e.value for e in acc.Scalars(tag)})
    return {t: (np.array(sorted(d)), np.array([d[k] for k in sorted(d)])) for t, d in merged.items()}


def _params(run_dir: str) -> tuple[dict, dict]:
    out = []
    for name in ("env", "train"):
        path = os.path.join(run_dir, "params", f"{name}.yaml")
        if not os.path.isfile(path):
            _fail(f"{path} not found; give a run folder written by train.py or bench/learning.py")
        with open(path) as f:
            out.append(yaml.safe_load(f) or {})
    return out[0], out[1]


def trailing_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each index (fewer at the start)."""
    c = np.cumsum(np.insert(x, 0, 0.0))
    idx = np.arange(1, len(x) + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def first_crossing(values: np.ndarray, at: np.ndarray, level: float) -> float | None:
    """``at`` of the first index where ``values`` >= level, or None."""
    hit = np.nonzero(values >= level)[0]
    return float(at[hit[0]]) if len(hit) else None


def curve(run_dir: str) -> dict:
    """One run's curves from its folder: iterations, env steps, minutes, tracking and episode fractions (raw)."""
    env, train = _params(run_dir)
    sc = _scalars(run_dir)
    tag = "Episode_Reward/tracking_lin_vel"
    if tag not in sc:
        _fail(f"{run_dir} logged no {tag}")
    its, vals = sc[tag]
    scale = float(env["rewards"]["scales"]["tracking_lin_vel"])
    per_it = train["runner"]["num_steps_per_env"] * env["env"]["num_envs"]
    if "Perf/env_steps" in sc:
        steps = np.interp(its, *sc["Perf/env_steps"])
    else:
        steps = (its + 1) * float(per_it)
    if "Perf/wall_minutes" in sc:
        minutes = np.interp(its, *sc["Perf/wall_minutes"])
    else:  # rsl-rl's per-iteration times, summed
        t_its, coll = sc["Perf/collection_time"]
        learn = np.interp(t_its, *sc["Perf/learning_time"])
        minutes = np.interp(its, t_its, np.cumsum(coll + learn) / 60.0)
    frac = vals / scale
    episode = np.full(len(its), np.nan)
    if "Train/mean_episode_length" in sc:  # policy steps; the max is episode_length_s over the policy dt
        max_len = math.ceil(float(env["env"]["episode_length_s"])
                            / (float(env["sim"]["dt"]) * int(env["sim"]["decimation"])))  # as the env counts it
        episode = np.interp(its, *sc["Train/mean_episode_length"]) / max_len
    terrain = np.full(len(its), np.nan)
    if "Curriculum/terrain_level" in sc:
        terrain = np.interp(its, *sc["Curriculum/terrain_level"])
    policy = train.get("policy", {})
    actor = policy.get("actor", "?")
    label = actor if actor == "mlp" else f"snn ({policy.get('snn', {}).get('history', 'stack')})"
    return {"run": run_dir.rstrip("/"), "label": label, "actor": actor, "its": its, "steps": steps,
            "minutes": minutes, "raw": frac, "episode": episode, "terrain": terrain}


def _fail(msg: str) -> NoReturn:
    raise SystemExit(f"bench/learning_curves.py: error: {msg}")


def save_targets(curves: list[dict], folder: str) -> list[str]:
    """``folder/<run name>.json`` for each curve, checked before anything is written: the folder is a folder, and
    no target holds another run's curve (a saved curve is never overwritten by a different run's)."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        _fail(f"--save {folder} is a file; give a folder (e.g. docs/curves)")
    paths = [os.path.join(folder, os.path.basename(c["run"]) + ".json") for c in curves]
    owners: dict[str, str] = {}  # target -> the run (real path) saved there
    for c, path in zip(curves, paths):
        run = owners.setdefault(path, os.path.realpath(c["run"]))
        if run != os.path.realpath(c["run"]):
            _fail(f"two runs would be saved as {path}; save them in separate calls")
        if os.path.isfile(path):
            try:
                with open(path) as f:
                    other = json.load(f)["run"]
            except (OSError, ValueError, KeyError, TypeError):
                _fail(f"{path} exists and is not a curve file; move it or pick another --save folder")
            if os.path.realpath(other) != run:
                _fail(f"{path} holds another run's curve ({other}); pick another --save folder")
    return paths


def task_of(run: str) -> str:
    """The task (experiment folder) of a run path ``logs/<task>/<run>``; for a joined ``parent+child``, the child's."""
    return os.path.basename(os.path.dirname(run.split("+")[-1].rstrip("/")))


def save_curve(c: dict, path: str) -> str:
    """Write one run's curve (raw, unsmoothed) to ``path`` (a target from ``save_targets``); returns the path."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    data = {"run": c["run"], "label": c["label"], "actor": c["actor"], "joined_at": c.get("joined_at")}
    data.update({k: [None if not np.isfinite(v) else round(float(v), 6) for v in c[k]] for k in CURVE_KEYS})
    with open(path, "w") as f:
        json.dump(data, f)
    return path


def load_curve(path: str) -> dict:
    """A curve file written by ``save_curve``."""
    try:
        with open(path) as f:
            data = json.load(f)
        c = {k: data[k] for k in ("run", "label", "actor")}
        if data.get("joined_at") is not None:
            c["joined_at"] = int(data["joined_at"])
        for k in OPTIONAL_KEYS:
            data.setdefault(k, [None] * len(data["its"]))
        c.update({k: np.array([np.nan if v is None else v for v in data[k]], dtype=float) for k in CURVE_KEYS})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _fail(f"{path} is not a curve file written by --save ({exc!r})")
    if len({len(c[k]) for k in CURVE_KEYS}) != 1 or len(c["its"]) == 0:
        _fail(f"{path} is not a curve file written by --save (its series are empty or of different lengths)")
    c["its"] = c["its"].astype(int)
    return c


def join(parent: dict, child: dict) -> dict:
    """A resumed run's curve after its parent's: the parent's iterations before the child's first, then the
    child's, whose env steps and minutes count on from the parent's last kept iteration."""
    first = int(child["its"][0])
    keep = parent["its"] < first
    if not keep.any():
        _fail(f"{child['run']} starts at iteration {first}, before every iteration of {parent['run']}; "
              "give the run it was resumed from")
    per_it = child["steps"][0] / (first + 1)  # env steps are logged as (iteration + 1) x steps per iteration
    last_it, last_steps, last_min = (float(parent[k][keep][-1]) for k in ("its", "steps", "minutes"))
    out = {"run": f"{parent['run']}+{child['run']}", "label": child["label"], "actor": child["actor"],
           "joined_at": first}
    shifted = {"its": child["its"], "steps": last_steps + (child["its"] - last_it) * per_it,
               "minutes": last_min + child["minutes"], "raw": child["raw"], "episode": child["episode"],
               "terrain": child["terrain"]}
    out.update({k: np.concatenate([parent[k][keep], shifted[k]]) for k in CURVE_KEYS})
    out["its"] = out["its"].astype(int)
    return out


def _raw(source: str) -> dict:
    """A run folder (joined after the run it resumed from, when that folder is here), a saved curve file, or
    ``PARENT+RUN``: RUN joined after PARENT (either may be a saved curve)."""
    if not os.path.exists(source) and "+" in source:
        parent, child = source.rsplit("+", 1)
        return join(_raw(parent), load_curve(child) if child.endswith(".json") else curve(child))
    if source.endswith(".json"):
        return load_curve(source)
    c = curve(source)
    resume = os.path.join(source, "params", "resume.yaml")
    if os.path.isfile(resume):
        with open(resume) as f:
            parent = (yaml.safe_load(f) or {}).get("run", "")
        if os.path.isdir(parent):
            return join(_raw(parent), c)
        print(f"bench/learning_curves.py: warning: {source} resumed from {parent}, which is not here; its minutes "
              f"count from the resume (give PARENT.json+{source} to join a saved curve of it)", file=sys.stderr)
    return c


def read(source: str, window: int) -> dict:
    """A run (see ``_raw``) with its smoothed tracking and episode fraction."""
    c = _raw(source)
    c["smooth"] = trailing_mean(c["raw"], window)
    c["episode_smooth"] = trailing_mean(c["episode"], window)
    c["terrain_smooth"] = trailing_mean(c["terrain"], window)
    return c


def summary(c: dict) -> dict:
    out = {"run": c["run"], "task": task_of(c["run"]), "label": c["label"], "actor": c["actor"],
           "iterations": int(c["its"][-1]) + 1,
           "env_steps": int(c["steps"][-1]), "minutes": round(float(c["minutes"][-1]), 1),
           "tracking_end": round(float(c["smooth"][-1]), 3)}
    if c.get("joined_at") is not None:  # a resumed run after its parent: where the resumed part starts
        out["joined_at_iteration"] = c["joined_at"]
    for level in LEVELS:
        out.update(_crossings(c, "smooth", level, ""))
    logged = bool(np.isfinite(c["episode_smooth"][-1]))  # null where the run logged no episode lengths
    out["episode_fraction_end"] = round(float(c["episode_smooth"][-1]), 3) if logged else None
    out.update(_crossings(c, "episode_smooth", EPISODE_LEVEL, "episode_"))
    if np.isfinite(c["terrain_smooth"][-1]):  # rough tasks only
        out["terrain_level_end"] = round(float(c["terrain_smooth"][-1]), 3)
        out.update(_crossings(c, "terrain_smooth", TERRAIN_LEVEL, "terrain_"))
    return out


def _crossings(c: dict, key: str, level: float, prefix: str) -> dict:
    """Env steps and minutes of the first crossing of ``level`` by ``c[key]`` (None if never)."""
    s = first_crossing(c[key], c["steps"], level)
    m = first_crossing(c[key], c["minutes"], level)
    return {f"steps_to_{prefix}{level}": int(s) if s is not None else None,
            f"minutes_to_{prefix}{level}": round(m, 1) if m is not None else None}


def plot(curves: list[dict], path: str, window: int) -> None:
    """Tracking (top) and, where logged, the episode fraction and the mean terrain level (rows below) against env
    steps and minutes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # the rows below tracking: (series, y label, dashed level, y top or None), each only where some run logged it
    extra = [row for row in (("episode_smooth", "mean episode length (fraction of max", EPISODE_LEVEL, 1.0),
                              ("terrain_smooth", "mean terrain level (row", TERRAIN_LEVEL, None))
             if any(np.isfinite(c[row[0]]).any() for c in curves)]
    rows = 1 + len(extra)
    fig, axes = plt.subplots(rows, 2, figsize=(12, 4.5 * rows), sharey="row", squeeze=False)
    for c in curves:
        name = f"{task_of(c['run'])} {c['label']}: {os.path.basename(c['run'])}"
        if c.get("joined_at") is not None:
            name += f" (resumed at it {c['joined_at']})"
        for col, x in enumerate((c["steps"] / 1e6, c["minutes"])):
            line, = axes[0, col].plot(x, c["smooth"], label=name, lw=1.8)
            axes[0, col].plot(x, c["raw"], color=line.get_color(), alpha=0.25, lw=0.8)
            for row, (key, *_) in enumerate(extra, start=1):
                axes[row, col].plot(x, c[key], color=line.get_color(), lw=1.8)
            if c.get("joined_at") is not None:  # the resume: episodes restart there (the env state was not kept)
                seam = float(x[int(np.searchsorted(c["its"], c["joined_at"]))])
                for row in range(rows):
                    axes[row, col].axvline(seam, color=line.get_color(), ls=":", lw=1.0)
    for row in range(rows):
        for col, xl in enumerate(("env steps (millions)", "wall-clock minutes")):
            ax = axes[row, col]
            levels, top = (LEVELS, 1.0) if row == 0 else ((extra[row - 1][2],), extra[row - 1][3])
            for level in levels:
                ax.axhline(level, color="grey", ls="--", lw=0.8)
            ax.set_xlabel(xl)
            ax.set_ylim(0, top)
            ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel(f"lin-vel tracking (fraction of max; mean of {window} its)")
    for row, (_, ylabel, *_) in enumerate(extra, start=1):
        axes[row, 0].set_ylabel(f"{ylabel}; mean of {window} its)")
    axes[0, 1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench/learning_curves.py", description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="run folders (logs/<experiment>/<run>) or curve files written by --save; "
                   "PARENT+RUN joins a resumed run after the one it resumed from (automatic when that folder is here)")
    p.add_argument("--out", default="learning_curves.png", help="PNG to write")
    p.add_argument("--window", type=int, default=5, help="iterations in the trailing mean")
    p.add_argument("--save", metavar="DIR", help="also write each run folder's curve to DIR/<run>.json (e.g. "
                   "docs/curves), to compare against in a later session")
    p.add_argument("--json", action="store_true", help="print a JSON object as the last line")
    args = p.parse_args(argv)
    if len(args.runs) < 2:
        p.error("give two or more run folders or curve files (e.g. the spiking run and the MLP run)")
    parts = [q for r in args.runs for q in ([r] if os.path.exists(r) else r.split("+"))]
    missing = [r for r in parts if not (os.path.isfile(r) if r.endswith(".json") else os.path.isdir(r))]
    if missing:
        p.error(f"no such run folder or curve file: {missing[0]}")
    if args.window < 1:
        p.error(f"--window must be >= 1, got {args.window}")
    curves = [read(r, args.window) for r in args.runs]
    saved = []
    if args.save:
        folders = [c for r, c in zip(args.runs, curves) if not r.endswith(".json")]
        for c, path in zip(folders, save_targets(folders, args.save)):
            saved.append(save_curve(c, path))
    plot(curves, args.out, args.window)
    rows = [summary(c) for c in curves]
    out: dict = {"bench": "learning_curves", "png": args.out, "window": args.window, "runs": rows}
    if saved:
        out["saved"] = saved
    mlp = next((r for r in rows if r["actor"] == "mlp" and r["steps_to_0.7"]), None)
    for r in rows:
        if r["actor"] == "snn" and mlp is not None:
            key = f"snn_over_mlp_steps_0.7:{os.path.basename(r['run'])}"
            out[key] = round(r["steps_to_0.7"] / mlp["steps_to_0.7"], 2) if r["steps_to_0.7"] else None
    print(json.dumps(out) if args.json else json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
