"""Export a trained actor: policy.pt (TorchScript), policy.onnx, policy.json, and policy.nir (spiking actor).

TorchScript and ONNX come from rsl-rl's exporters (our actor's ``as_jit``/``as_onnx``), with the observation
normalizer inside. Membrane mode: the ONNX graph takes and returns the LIF state (c, v, o), each
``metadata["snn"]["state_shape"]`` = [layers, batch, max width]; the TorchScript module keeps it and has ``reset()``.
"""

from __future__ import annotations

import json
import os
import tempfile


class ExportError(ValueError):
    """An export that cannot be written or a file whose metadata does not fit (one-line message)."""


def _atomic_json(path: str, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def export_policy(runner, metadata: dict, out_dir: str) -> dict[str, str]:
    """Write the exports of ``runner``'s actor into ``out_dir``; returns {kind: path}."""
    os.makedirs(out_dir, exist_ok=True)
    actor = runner.alg.get_policy()
    paths = {"jit": os.path.join(out_dir, "policy.pt"), "onnx": os.path.join(out_dir, "policy.onnx"),
             "json": os.path.join(out_dir, "policy.json")}
    runner.export_policy_to_jit(out_dir, "policy.pt")
    runner.export_policy_to_onnx(out_dir, "policy.onnx")
    meta = dict(metadata)
    if getattr(actor, "is_recurrent", False) and hasattr(actor, "network"):
        meta["snn"] = {**meta.get("snn", {}), "state_shape": list(actor.as_onnx().core.zero_state(1).shape)}
    if hasattr(actor, "network"):
        import nir

        from legged_snn.snn.nir_export import to_nir

        paths["nir"] = os.path.join(out_dir, "policy.nir")
        try:
            nir.write(paths["nir"], to_nir(actor.network))
        except ValueError as exc:  # e.g. a reset mode NIR cannot express: the other exports still stand
            del paths["nir"]
            meta["nir"] = f"not exported: {exc}"
    meta["files"] = {k: os.path.basename(v) for k, v in paths.items()}
    _atomic_json(paths["json"], meta)
    return paths


def load_metadata(path: str, expect_format: str) -> dict:
    """Read policy.json and check it is one of ours (one-line ExportError otherwise)."""
    try:
        with open(path) as f:
            meta = json.load(f)
    except FileNotFoundError:
        raise ExportError(f"{path} not found; export the policy first with python play.py --export_only") from None
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(meta, dict) or meta.get("format") != expect_format:
        raise ExportError(f"{path} is not a {expect_format} policy description; re-export with play.py")
    return meta


def check_onnx_matches(session, meta: dict, path: str) -> None:
    """The ONNX inputs must have the observation size (and state shape) that policy.json promises."""
    inputs = {i.name: i.shape for i in session.get_inputs()}
    obs = inputs.get("obs")
    if obs is None or obs[-1] != meta["observation"]["dim"]:
        raise ExportError(f"{path} takes obs of size {obs[-1] if obs else '?'} but policy.json says "
                          f"{meta['observation']['dim']}; export both from the same checkpoint")
    if meta.get("recurrent") and "c_in" not in inputs:
        raise ExportError(f"{path} has no membrane-state inputs but policy.json says recurrent; re-export")
