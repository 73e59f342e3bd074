"""Train-config dataclasses (legged_gym's LeggedRobotCfgPPO figures) -> the rsl-rl 5.5 dict."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class PolicyCfg:
    # "mlp" (rsl-rl MLPModel) or "snn" (legged_snn.snn.actor:SpikingActor). The spiking actor becomes the default
    # once it tracks as well as the MLP in the same 30 CPU minutes (it does not yet: see docs/snn.md)
    actor: str = "mlp"
    actor_hidden_dims: list[int] = field(default_factory=lambda: [512, 256, 128])
    critic_hidden_dims: list[int] = field(default_factory=lambda: [512, 256, 128])
    activation: str = "elu"
    # the MLP actor's hidden activation when it differs from the critic's (None = ``activation``); a bounded one
    # ("sigmoid", "tanh") is the spiking units' smooth shape on an MLP (docs/snn_ppo.md's controlled runs)
    actor_activation: str | None = None
    # the MLP actor's input: "raw" (the observation), or the spiking actor's population code ("population": the
    # receptive fields' stimulation, "population_counts": its T-step spike rate), a diagnostic (population_mlp.py)
    mlp_input: str = "raw"
    # the MLP actor's parameters stepped at this factor x the optimizer's rate (the spiking actor's snn.lr_scale on
    # an MLP: a diagnostic, population_mlp.py); 1 = rsl-rl's MLPModel
    mlp_lr_scale: float = 1.0
    # the MLP actor's hidden weights as zero-sum rows (true) or zero-sum rows held at their initial norm
    # ("standardize"; "sphere" holds the stored rows too): the spiking actor's snn.weight_centering on an MLP
    # (diagnostic, docs/snn_ppo.md)
    mlp_weight_centering: bool | str = False
    # the MLP actor's hidden weights and biases x this factor at initialization (the spiking actor's snn.init_gain on
    # an MLP: with held rows it sets the norms they are held at; diagnostic, docs/snn_ppo.md)
    mlp_init_gain: float = 1.0
    init_noise_std: float = 1.0
    actor_obs_normalization: bool = False
    critic_obs_normalization: bool = False
    snn: dict = field(default_factory=lambda: {
        "timesteps": 5, "pop_in": 10, "pop_out": 10, "history": "stack", "encoder_mode": "direct",
        "neuron": {"current_decay": 0.5, "voltage_decay": 0.75, "threshold": 0.5, "reset": "popsan",
                   "surrogate_width": 0.5, "surrogate": "fast_sigmoid", "max_spikes": 4},
        "mu_range": [-3.0, 3.0], "sigma2": 0.15, "tanh": False, "rate_reg": 0.0,
        "readout_gain": 1.0, "anneal": [200, 320], "init_gain": 1.0,
        "decoder": "membrane", "decoder_leak": 0.0, "decoder_read": "last", "lr_scale": 1.0,
        "gradient": "rate", "weight_centering": "sphere", "bias_lr_scale": 0.1,
        "norm_lr_scale": 0.1, "spike_step_scale": 1.0,
    })  # SpikingActor arguments (PopSAN constants; decoder: membrane integrators or PopSAN's rate population,
    # decoders.py; gradient: the rate rule, rate_grad.py, or exact BPTT, which history "membrane"
    # needs); the SNN normalizes its input (encoder expects z-scores). The defaults are the recipe PPO alone
    # walks with (docs/snn_ppo.md): graded spikes, up to 4 per neuron and step (neuron.max_spikes; a binary neuron's
    # one spike per step saturates at a quarter of the currents it sees), the observation as the first layer's current
    # (encoder_mode "direct"; PopSAN's
    # population code is "deterministic"), the full step with zero-sum hidden rows held at their norms ("sphere") and
    # the biases at a tenth of it, smooth to iteration 200 and annealed into spikes by 320


# the spiking student's settings that distillation (--teacher) was measured with: PopSAN's population code, a tenth
# of the step, free weights, binary spikes and spikes from the start (README, "A spiking actor that walks: distill it");
# "neuron" fields are merged into the neuron's, not replacing them
DISTILL_SNN = {"encoder_mode": "deterministic", "lr_scale": 0.1, "weight_centering": False, "bias_lr_scale": None,
               "anneal": None, "gradient": "bptt", "neuron": {"max_spikes": 1}}


@dataclass
class AlgorithmCfg:
    clip_param: float = 0.2
    entropy_coef: float = 0.01
    num_learning_epochs: int = 5
    # epochs over each rollout when the actor is spiking (None = num_learning_epochs): 5 while its forward is smooth
    # (snn.anneal), as the MLP's
    snn_learning_epochs: int | None = 5
    # epochs once the spiking actor's forward is pure spikes (after snn.anneal's END; None = as above). From a 2048-env
    # a1_flat checkpoint on spikes, 2 epochs gained as much per iteration as 5 at 1.5x the env steps/s (docs/snn_ppo.md)
    spike_learning_epochs: int | None = 2
    num_mini_batches: int = 4
    learning_rate: float = 1e-3
    # "adaptive" (rsl-rl's KL rule), "fixed" (learning_rate throughout), "piecewise" (lr_points) or "auto": adaptive
    # for the MLP, piecewise for the spiking actor, whose KL is dominated by spike flips that smaller steps barely
    # lower, so the KL rule drives its rate (and the critic's) to 1e-5 (docs/snn.md)
    schedule: str = "auto"
    # "piecewise": [[iteration, rate], ...] with ascending iterations; log-linear between points, held after the
    # last. The default follows the rate rsl-rl's KL rule gives the MLP on a1_flat (1e-2 while standing, ~1.3e-3 by
    # the time it walks), halved to 5e-3 before iteration 60: the spiking actor's graded spikes (~2x a binary rate)
    # move its action ~2x as far per step, and at 1e-2 the first update threw it out (docs/snn_ppo.md, session 16)
    lr_points: list[list[float]] = field(default_factory=lambda: [[0, 5e-3], [35, 5e-3], [60, 3e-3], [100, 1.3e-3]])
    desired_kl: float = 0.01
    gamma: float = 0.99
    lam: float = 0.95
    max_grad_norm: float = 1.0
    value_loss_coef: float = 1.0
    use_clipped_value_loss: bool = True
    use_mixed_precision: bool = False


@dataclass
class RunnerCfg:
    num_steps_per_env: int = 24
    max_iterations: int = 1500
    save_interval: int = 50
    experiment_name: str = "a1_flat"
    run_name: str = ""
    logger: str = "tensorboard"  # or "wandb"
    wandb_project: str = "legged_snn"
    seed: int = 1


@dataclass
class DistillCfg:
    """rsl-rl's Distillation (``--teacher``): the student acts, the teacher labels every state (DAgger), MSE on
    the action means. Each update makes ``num_learning_epochs`` x num_steps_per_env Adam steps, one per rollout
    step over all envs (gradient_length 1)."""

    num_learning_epochs: int = 2
    gradient_length: int = 1
    learning_rate: float = 1e-3
    max_grad_norm: float = 1.0
    loss_type: str = "mse"  # or "huber"
    student_init_std: float = 0.1  # the student's exploration noise while it collects states (not trained)


@dataclass
class TrainCfg:
    policy: PolicyCfg = field(default_factory=PolicyCfg)
    algorithm: AlgorithmCfg = field(default_factory=AlgorithmCfg)
    runner: RunnerCfg = field(default_factory=RunnerCfg)
    distill: DistillCfg = field(default_factory=DistillCfg)


SCHEDULES = ("auto", "adaptive", "fixed", "piecewise")
ACTOR_CLASSES = {"mlp": "rsl_rl.models:MLPModel", "snn": "legged_snn.snn.actor:SpikingActor"}
POPULATION_MLP = "legged_snn.snn.population_mlp:PopulationMLP"
MLP_INPUTS = ("raw", "population", "population_counts")  # policy.mlp_input (population_mlp.py for the others)


def mlp_activation(p: PolicyCfg) -> str:
    """The MLP actor's hidden activation (``actor_activation`` when set, else the critic's ``activation``)."""
    return p.actor_activation or p.activation


def actor_groups(cfg: TrainCfg, available: list[str]) -> list[str]:
    """The spiking actor in ``stack`` mode also encodes the stacked past frames ("history" group)."""
    p = cfg.policy
    if p.actor == "snn" and p.snn.get("history", "stack") == "stack" and "history" in available:
        return ["policy", "history"]
    return ["policy"]


def resolved_schedule(cfg: TrainCfg) -> str:
    """The learning-rate schedule: "auto" becomes "piecewise" for the spiking actor (annealed or not: the recipe
    that walks, docs/snn_ppo.md), "adaptive" for the MLP. rsl-rl itself runs "piecewise" as "fixed" and the runner
    sets the rate of each iteration (``lr_at``)."""
    s = cfg.algorithm.schedule
    if s not in SCHEDULES:
        raise ValueError(f"algorithm.schedule must be one of {list(SCHEDULES)}, got {s!r}")
    if s == "auto":
        return "piecewise" if cfg.policy.actor == "snn" else "adaptive"
    return s


def check_lr_points(points) -> list[tuple[int, float]]:
    """[[iteration, rate], ...] -> sorted pairs; a one-line ValueError for anything else."""
    try:
        pairs = [(int(it), float(lr)) for it, lr in points]
    except (TypeError, ValueError):
        pairs = []
    if not pairs or any(lr <= 0 or it < 0 for it, lr in pairs) or [it for it, _ in pairs] != sorted(
            {it for it, _ in pairs}):
        raise ValueError(f"algorithm.lr_points must be [[iteration, rate], ...] with ascending iterations >= 0 and "
                         f"rates > 0, got {points!r}")
    return pairs


def lr_at(points, it: int) -> float:
    """The piecewise rate of learning iteration ``it``: log-linear between points, the end values outside."""
    import math

    pairs = check_lr_points(points)
    if it <= pairs[0][0]:
        return pairs[0][1]
    for (i0, r0), (i1, r1) in zip(pairs[:-1], pairs[1:]):
        if it <= i1:
            f = (it - i0) / (i1 - i0)
            return math.exp(math.log(r0) + f * (math.log(r1) - math.log(r0)))
    return pairs[-1][1]


def resolved_epochs(cfg: TrainCfg) -> int:
    """PPO epochs per rollout: ``snn_learning_epochs`` for the spiking actor (when set), else num_learning_epochs."""
    a = cfg.algorithm
    return a.snn_learning_epochs if cfg.policy.actor == "snn" and a.snn_learning_epochs is not None \
        else a.num_learning_epochs


def actor_model(p: PolicyCfg, init_std: float | None = None) -> dict:
    """The rsl-rl model config of an actor (class, sizes, normalization, Gaussian output)."""
    if p.actor not in ACTOR_CLASSES:
        raise ValueError(f"policy.actor must be one of {sorted(ACTOR_CLASSES)}, got {p.actor!r}")
    dist = {"class_name": "GaussianDistribution", "std_type": "scalar",
            "init_std": p.init_noise_std if init_std is None else init_std}
    actor = {"class_name": ACTOR_CLASSES[p.actor], "hidden_dims": list(p.actor_hidden_dims),
             "obs_normalization": p.actor_obs_normalization, "distribution_cfg": dist}
    if p.actor == "mlp":
        actor["activation"] = mlp_activation(p)
        if p.mlp_input != "raw":
            keys = ("pop_in", "timesteps", "mu_range", "sigma2")
            actor.update(class_name=POPULATION_MLP, mlp_input=p.mlp_input, obs_normalization=True,
                         **{k: p.snn[k] for k in keys if k in p.snn})
        if p.mlp_lr_scale != 1.0 or p.mlp_weight_centering or p.mlp_init_gain != 1.0:
            actor.update(class_name=POPULATION_MLP, mlp_input=p.mlp_input, lr_scale=float(p.mlp_lr_scale),
                         weight_centering=p.mlp_weight_centering, init_gain=float(p.mlp_init_gain))
    else:
        actor.update(p.snn)
        actor["obs_normalization"] = True
    return actor


def to_rsl_rl(cfg: TrainCfg, obs_groups: list[str] | None = None, teacher: TrainCfg | None = None) -> dict:
    """The dict rsl-rl's runner reads; ``obs_groups`` = the observation groups the env provides. With ``teacher``
    (the trained run's config) it is rsl-rl's Distillation of that run's actor into this one, instead of PPO."""
    p, r = cfg.policy, cfg.runner
    actor = actor_model(p)
    ours = ("snn_learning_epochs", "spike_learning_epochs", "lr_points")  # ours, not rsl-rl's
    algorithm = {k: v for k, v in asdict(cfg.algorithm).items() if k not in ours}
    schedule = resolved_schedule(cfg)
    logger: str | dict = "tensorboard"
    if r.logger == "wandb":
        logger = {"class_name": "WandbLogWriter", "project_name": r.wandb_project}
    out = {
        "num_steps_per_env": r.num_steps_per_env,
        "save_interval": r.save_interval,
        "obs_groups": {"actor": actor_groups(cfg, obs_groups or ["policy"]), "critic": ["critic"]},
        "algorithm": {"class_name": "PPO", **algorithm, "num_learning_epochs": resolved_epochs(cfg),
                      "schedule": "fixed" if schedule == "piecewise" else schedule},
        "actor": actor,
        "critic": {"class_name": "rsl_rl.models:MLPModel", "hidden_dims": list(p.critic_hidden_dims),
                   "activation": p.activation, "obs_normalization": p.critic_obs_normalization},
        "logger": logger,
        "run_name": r.run_name,
        "experiment_name": r.experiment_name,
        "check_for_nan": True,
    }
    if cfg.algorithm.spike_learning_epochs is not None and cfg.policy.actor == "snn":  # read by LeggedRunner
        out["spike_learning_epochs"] = cfg.algorithm.spike_learning_epochs
    if schedule == "piecewise":
        out["lr_points"] = [list(p) for p in check_lr_points(cfg.algorithm.lr_points)]  # read by LeggedRunner
    if teacher is not None:
        groups = obs_groups or ["policy"]
        out["algorithm"] = {"class_name": "Distillation", **asdict(cfg.distill)}
        del out["algorithm"]["student_init_std"]
        out["algorithm"]["use_mixed_precision"] = cfg.algorithm.use_mixed_precision
        out["student"] = actor_model(p, cfg.distill.student_init_std)
        out["teacher"] = actor_model(teacher.policy)
        out["obs_groups"] = {"student": actor_groups(cfg, groups), "teacher": actor_groups(teacher, groups)}
        del out["actor"], out["critic"]
    return out
