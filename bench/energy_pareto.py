"""Tracking against energy: every spiking configuration measured, the MLP marked, and the Pareto front.

    python bench/energy_pareto.py --points docs/energy/points.jsonl --out docs/energy_pareto.png --json

Each line of ``--points`` is one measured configuration: ``label``, ``task``, ``tracking_lin_vel`` (the learning
benchmark's mean over its last iterations, a fraction of the maximum), ``trained_by`` (ppo or distillation) and
``energy``, the ``bench/energy.py`` JSON of its checkpoint, verbatim; an MLP line has ``"actor": "mlp"`` and no
energy (its ratio is 1 by definition). Prints one JSON line per point, then (``--json``) a summary line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_points(path: str) -> list[dict]:
    """The points of one file, each checked for the fields the plot needs (one-line errors)."""
    if not os.path.isfile(path):
        raise SystemExit(f"bench/energy_pareto.py: error: --points {path} not found")
    points = []
    for n, line in enumerate(open(path), start=1):
        if not line.strip():
            continue
        try:
            p = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"bench/energy_pareto.py: error: {path}:{n} is not JSON ({exc.msg})") from None
        mlp = p.get("actor") == "mlp"
        need = ["label", "tracking_lin_vel"] + ([] if mlp else ["energy"])
        lost = [k for k in need if k not in p]
        if lost or (not mlp and not (isinstance(p["energy"], dict) and "mlp_over_snn" in p["energy"])):
            raise SystemExit(f"bench/energy_pareto.py: error: {path}:{n} lacks {lost or ['energy.mlp_over_snn']}; "
                             "each line needs label, tracking_lin_vel and (spiking) bench/energy.py's JSON as energy")
        if any(q["label"] == p["label"] for q in points):
            raise SystemExit(f"bench/energy_pareto.py: error: {path}:{n} repeats the label {p['label']!r}; give each "
                             "configuration its own label")
        e = p.get("energy", {})
        points.append({"label": p["label"], "task": p.get("task"), "actor": "mlp" if mlp else "snn",
                       "trained_by": p.get("trained_by"), "tracking_lin_vel": float(p["tracking_lin_vel"]),
                       "mlp_over_snn": 1.0 if mlp else float(e["mlp_over_snn"]),
                       "mlp_over_snn_with_updates": 1.0 if mlp else e.get("mlp_over_snn_with_updates")})
    return points


def pareto_front(points: list[dict]) -> list[str]:
    """Labels of the points no other point beats in both tracking and mlp_over_snn (SOP-only); labels are unique
    (read_points refuses a repeated one)."""
    def beaten(p: dict) -> bool:
        return any(q["tracking_lin_vel"] >= p["tracking_lin_vel"] and q["mlp_over_snn"] >= p["mlp_over_snn"]
                   and (q["tracking_lin_vel"], q["mlp_over_snn"]) != (p["tracking_lin_vel"], p["mlp_over_snn"])
                   for q in points)
    return [p["label"] for p in points if not beaten(p)]


def _annotate(ax, labels: list[tuple[float, float, str]], front: list[str]) -> None:
    """Each label 4 pt above and right of its point, moved down (top to bottom) until it clears the labels above it
    that start within 150 pt left or right (points close together keep readable labels)."""
    placed: list[tuple[float, float]] = []  # label anchors in points: (x, y)
    scale = 72.0 / ax.figure.dpi
    for x, y, text in sorted(labels, key=lambda t: -t[1]):
        px, py = (v * scale for v in ax.transData.transform((x, y)))
        ty = py + 4
        while any(abs(ty - oy) < 9 and abs(px - ox) < 150 for ox, oy in placed):
            ty -= 1
        placed.append((px, ty))
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(5, ty - py), fontsize=7,
                    fontweight="bold" if text in front else "normal")


def plot(points: list[dict], front: list[str], out: str) -> None:
    fig, ax = plt.subplots(figsize=(9, 6))
    style = {"ppo": ("tab:blue", "o", "spiking, PPO"), "distillation": ("tab:orange", "s", "spiking, distilled")}
    seen = set()
    labels: list[tuple[float, float, str]] = []
    for p in points:
        x, y = p["mlp_over_snn"], p["tracking_lin_vel"]
        if p["actor"] == "mlp":
            ax.scatter([x], [y], marker="*", s=260, color="black", zorder=4, label="MLP (ratio 1 by definition)")
        else:
            color, marker, name = style.get(p["trained_by"], ("tab:gray", "^", "spiking"))
            ax.scatter([x], [y], marker=marker, s=60, color=color, zorder=3, label=None if name in seen else name)
            seen.add(name)
            w = p["mlp_over_snn_with_updates"]
            if w is not None:  # the same actor with neuron updates charged: hollow, joined to its SOP-only point
                ax.plot([w, x], [y, y], color=color, lw=0.8, alpha=0.6)
                ax.scatter([w], [y], marker=marker, s=60, facecolors="none", edgecolors=color, zorder=3,
                           label=None if "upd" in seen else "with neuron updates charged")
                seen.add("upd")
        if p["label"] in front or y >= 0.5:  # the standing cluster stays unlabelled (its labels are in the JSON)
            labels.append((x, y, p["label"]))
    ax.axvline(5.0, color="tab:green", ls="--", lw=1, label="issue 30's target: 5x")
    ax.axhline(0.7, color="gray", ls=":", lw=1, label="walking: 0.7 of the maximum")
    ax.set_xscale("log")
    ticks = [0.5, 0.75, 1, 1.5, 2, 3, 5, 8]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("MLP energy / spiking energy per inference (SOP convention, 45 nm; >1: the spiking actor wins)")
    ax.set_ylabel("lin-vel tracking (fraction of the maximum)")
    ax.set_title("a1_flat: tracking against estimated energy (bold: the Pareto front)")
    xs = [p["mlp_over_snn"] for p in points] + [w for p in points if (w := p["mlp_over_snn_with_updates"])]
    ax.set_xlim(min(0.5, 0.9 * min(xs)), max(8.0, 1.1 * max(xs)))  # no point falls off the plot
    ax.set_ylim(0.0, 1.0)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    _annotate(ax, labels, front)  # after the layout: the label spacing is computed in the final axes' points
    fig.savefig(out, dpi=120)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", required=True, help="JSON lines, one measured configuration each")
    p.add_argument("--out", required=True, help="the PNG to write (refused if it exists, unless --force)")
    p.add_argument("--force", action="store_true", help="overwrite --out")
    p.add_argument("--json", action="store_true", help="end with a summary JSON line")
    args = p.parse_args(argv)
    if not args.out.endswith(".png"):
        p.error(f"--out {args.out} must end in .png")
    if os.path.exists(args.out) and not args.force:
        p.error(f"--out {args.out} exists; give another path or --force")
    points = read_points(args.points)
    front = pareto_front(points)
    plot(points, front, args.out)
    for pt in points:
        print(json.dumps({"bench": "energy_pareto_point", **pt, "on_front": pt["label"] in front}))
    if args.json:
        walking = [pt for pt in points if pt["actor"] == "snn" and pt["tracking_lin_vel"] >= 0.7]
        best = max(walking, key=lambda pt: pt["mlp_over_snn"], default=None)
        print(json.dumps({"bench": "energy_pareto", "points": len(points), "front": front, "png": args.out,
                          "best_walking_snn": best and {k: best[k] for k in ("label", "tracking_lin_vel",
                                                                             "mlp_over_snn",
                                                                             "mlp_over_snn_with_updates")}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
