"""Export a trained actor: policy.pt (TorchScript), policy.onnx, policy.json, and policy.nir (spiking actor).

TorchScript and ONNX come from rsl-rl's exporters (our actor's ``as_jit``/``as_onnx``), with the observation
normalizer inside. Membrane mode: the ONNX graph takes and returns the LIF state (c, v, o), each
``metadata["snn"]["state_shape"]`` = [layers, batch, max width]; the TorchScript module keeps it and has ``reset()``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import warnings


class ExportError(ValueError):
    """An export that cannot be written or a file whose metadata does not fit (one-line message)."""


def _atomic_json(path: str, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 -> what open() gives the other exports (0644 under umask 022)
    os.replace(tmp, path)


def export_policy(runner, metadata: dict, out_dir: str) -> dict[str, str]:
    """Write the exports of ``runner``'s actor into ``out_dir``; returns {kind: path}. All files are written into
    a temporary folder first and moved in at the end, so a failure leaves the previous export whole."""
    os.makedirs(out_dir, exist_ok=True)
    actor = runner.alg.get_policy()
    try:
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".export-") as tmp:
            names = _write_all(runner, actor, metadata, tmp)
            for name in names.values():
                os.replace(os.path.join(tmp, name), os.path.join(out_dir, name))
    except OSError as exc:
        raise ExportError(f"cannot write the export into {out_dir}: {exc.strerror or exc}") from None
    except NotImplementedError as exc:  # an actor that is not deployable (population_mlp.py)
        raise ExportError(f"{exc}; play without exporting: --no_export") from None
    return {kind: os.path.join(out_dir, name) for kind, name in names.items()}


@contextlib.contextmanager
def _quiet_onnx_exporter():
    """torch's ONNX exporter logs that torchvision is missing (four lines) and a pytree FutureWarning: neither is
    the user's business."""
    log = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning, message=".*LeafSpec.*")
            yield
    finally:
        log.setLevel(level)


def _inline_onnx_weights(path: str) -> None:
    """torch's exporter may put the weights in ``<file>.data``; fold them into the one file a robot needs."""
    import onnx

    data = path + ".data"
    if os.path.exists(data):
        model = onnx.load(path)  # reads the external data
        onnx.save(model, path, save_as_external_data=False)
        os.remove(data)


def _write_all(runner, actor, metadata: dict, out_dir: str) -> dict[str, str]:
    names = {"jit": "policy.pt", "onnx": "policy.onnx"}
    runner.export_policy_to_jit(out_dir, names["jit"])
    with _quiet_onnx_exporter():
        runner.export_policy_to_onnx(out_dir, names["onnx"])
    _inline_onnx_weights(os.path.join(out_dir, names["onnx"]))
    meta = dict(metadata)
    if getattr(actor, "is_recurrent", False) and hasattr(actor, "network"):
        meta["snn"] = {**meta.get("snn", {}), "state_shape": list(actor.as_onnx().core.zero_state(1).shape)}
    if hasattr(actor, "network"):
        import nir

        from legged_snn.snn.nir_export import to_nir

        try:
            nir.write(os.path.join(out_dir, "policy.nir"), to_nir(actor.network, bool(actor.is_recurrent)))
            names["nir"] = "policy.nir"
        except ValueError as exc:  # e.g. a reset mode NIR cannot express: the other exports still stand
            meta["nir"] = f"not exported: {exc}"
    names["json"] = "policy.json"
    meta["files"] = dict(names)
    _atomic_json(os.path.join(out_dir, names["json"]), meta)
    return names


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
