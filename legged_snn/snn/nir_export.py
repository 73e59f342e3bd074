"""The spiking core as a NIR graph (Neuromorphic Intermediate Representation), and a reference reader.

What the graph holds: input (encoder spikes, D*P channels per SNN timestep; with ``snn.encoder_mode: direct`` the
clamped normalized observation, D channels, the same value at each of the T timesteps, ``metadata["input"]``
says which) -> [Affine -> CubaLIF] per layer,
then the decoder: ``membrane`` -> Affine -> I (integrator; LI when leaky) -> output (the A readout membranes, read
at the last step or averaged over T as ``metadata["readout"]`` says, zeroed every control step); ``rate`` -> output
(spikes of the A*P output population; the rate readout stays on the host). What stays on the host: observation
normalization, the clamp to the encoder's range, the Gaussian receptive fields and the spike generator (encoder);
policy.onnx has them all. Timing: one NIR time unit = one SNN timestep (dt = 1), T timesteps
per control step, state zeroed every control step (stack mode) or carried (membrane mode).

Discrete -> NIR CubaLIF (forward Euler with dt = 1, which reproduces our recurrence exactly):
    tau_syn = 1 / (1 - a), w_in = tau_syn        so  I <- a I + (W x + b)
    tau_mem = 1 / (1 - b), r = tau_mem, v_leak 0 so  v <- b v + I
    spike when v > v_threshold, then v <- v_reset = 0 (PopSAN's reset: the next step starts from b*0 + I).
Only ``reset: popsan`` has this form; ``zero`` and ``subtract`` are refused with a one-line error.
Readout integrators: I with r = 1 (v <- v + W s + b); leaky, LI with tau = 1 / leak, r = tau, v_leak = 0
(v <- (1 - leak) v + W s + b).
"""

from __future__ import annotations

import nir
import numpy as np
import torch

EPS = 1e-6  # a decay of exactly 1 (no leak) maps to a very long, finite time constant


def _tau(decay: float) -> float:
    return 1.0 / max(1.0 - decay, EPS)


def to_nir(network, recurrent: bool = False) -> nir.NIRGraph:
    """SpikingNetwork -> NIRGraph (weights copied to numpy float32); ``recurrent`` = membrane mode (state carried
    across control steps instead of zeroed)."""
    cfg = network.neuron
    if cfg.max_spikes != 1:
        raise ValueError(f"NIR export needs binary spikes (NIR's CubaLIF emits one spike per step); this network "
                         f"uses snn.neuron.max_spikes={cfg.max_spikes}: export TorchScript/ONNX instead")
    if cfg.reset != "popsan":
        raise ValueError(f"NIR export needs snn.neuron.reset 'popsan' (NIR's CubaLIF resets to v_reset); "
                         f"this network uses {cfg.reset!r}")
    nodes: dict[str, nir.NIRNode] = {}
    edges: list[tuple[str, str]] = []
    n_in = network.layers[0].fc.in_features
    nodes["input"] = nir.Input(input_type={"input": np.array([n_in])})
    prev = "input"
    tau_syn, tau_mem = _tau(cfg.current_decay), _tau(cfg.voltage_decay)
    for i, layer in enumerate(network.layers):
        w = layer.fc.weight.detach().cpu().numpy().astype(np.float32)
        b = layer.fc.bias.detach().cpu().numpy().astype(np.float32)
        n = w.shape[0]
        nodes[f"fc{i}"] = nir.Affine(weight=w, bias=b)
        nodes[f"lif{i}"] = nir.CubaLIF(
            tau_syn=np.full(n, tau_syn, np.float32), tau_mem=np.full(n, tau_mem, np.float32),
            r=np.full(n, tau_mem, np.float32), v_leak=np.zeros(n, np.float32),
            v_threshold=np.full(n, cfg.threshold, np.float32), v_reset=np.zeros(n, np.float32),
            w_in=np.full(n, tau_syn, np.float32))
        edges += [(prev, f"fc{i}"), (f"fc{i}", f"lif{i}")]
        prev = f"lif{i}"
    width = network.layers[-1].fc.out_features
    meta = {"dt": 1.0, "integration": "forward Euler, dt = 1 SNN timestep (tau = 1 / (1 - decay))",
            "timesteps": int(network.timesteps), "reset_every_control_step": not recurrent, "producer": "legged_snn",
            "decoder": network.decoder_kind,
            "input": "direct" if getattr(network, "direct", False) else "spikes"}
    if network.decoder_kind == "membrane":
        dec = network.decoder
        nodes["fc_out"] = nir.Affine(weight=dec.fc.weight.detach().cpu().numpy().astype(np.float32),
                                     bias=dec.fc.bias.detach().cpu().numpy().astype(np.float32))  # per step
        a = dec.num_actions
        if dec.leak > 0:
            tau = np.full(a, 1.0 / dec.leak, np.float32)
            nodes["readout"] = nir.LI(tau=tau, r=tau.copy(), v_leak=np.zeros(a, np.float32))
        else:
            nodes["readout"] = nir.I(r=np.ones(a, np.float32))
        edges += [(prev, "fc_out"), ("fc_out", "readout")]
        prev, width = "readout", a
        meta.update({"readout": dec.read, "readout_leak": dec.leak, "readout_reset_every_control_step": True,
                     "tanh": dec.tanh})
    nodes["output"] = nir.Output(output_type={"output": np.array([width])})
    edges.append((prev, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def simulate(graph: nir.NIRGraph, spikes: np.ndarray, dt: float = 1.0) -> np.ndarray:
    """Reference reader: run a chain graph (Affine -> CubaLIF)* [-> Affine -> I | LI] on input spikes (T, N, D)
    from zero state; returns what reaches the output node over T: spikes (T, N, A*P) of a rate decoder's output
    population, or the readout membranes (T, N, A). Forward Euler with step ``dt``, as documented above."""
    order, node = [], "input"
    succ = {a: b for a, b in graph.edges}
    while node in succ:
        node = succ[node]
        order.append(node)
    x = np.asarray(spikes, dtype=np.float64)
    for name in order:
        n = graph.nodes[name]
        if isinstance(n, nir.Affine):
            x = x @ np.asarray(n.weight, np.float64).T + np.asarray(n.bias, np.float64)
        elif isinstance(n, nir.CubaLIF):
            i_syn = np.zeros(x.shape[1:])
            v = np.zeros(x.shape[1:])
            out = np.zeros_like(x)
            for t in range(x.shape[0]):
                i_syn = i_syn + dt / n.tau_syn * (-i_syn + n.w_in * x[t])
                v = v + dt / n.tau_mem * (n.v_leak - v + n.r * i_syn)
                out[t] = v > n.v_threshold
                v = np.where(out[t] > 0, n.v_reset, v)
            x = out
        elif isinstance(n, (nir.I, nir.LI)):
            v = np.zeros(x.shape[1:])
            out = np.zeros_like(x)
            for t in range(x.shape[0]):
                if isinstance(n, nir.I):
                    v = v + dt * n.r * x[t]
                else:
                    v = v + dt / n.tau * (n.v_leak - v + n.r * x[t])
                out[t] = v
            x = out
        elif not isinstance(n, nir.Output):
            raise ValueError(f"reference reader handles Affine, CubaLIF, I and LI nodes, got {type(n).__name__} "
                             f"({name})")
    return x


def read_actions(graph: nir.NIRGraph, output: np.ndarray) -> np.ndarray:
    """(T, N, A) readout membranes from ``simulate`` -> (N, A) action means, as the graph's metadata says
    (last step or mean over T; tanh if set). Membrane decoder only."""
    meta = graph.metadata
    if meta.get("decoder") != "membrane":
        raise ValueError("read_actions needs a membrane-decoder graph; a rate decoder's readout runs on the host")
    mean = output[-1] if meta.get("readout", "last") == "last" else output.mean(axis=0)
    return np.tanh(mean) if meta.get("tanh") else mean


def encoder_spikes(network, normalized_obs: torch.Tensor) -> torch.Tensor:
    """(N, D) normalized observation -> (T, N, D*P) encoder spikes, or (T, N, D) the clamped observation repeated
    for direct input (the host side of the graph's input)."""
    with torch.no_grad():
        return network.encoder.hard_spikes(network.encoder.stimulation(normalized_obs))
