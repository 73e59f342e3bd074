"""LocomotionEnvCfg: every knob of a locomotion task, with legged_gym's defaults (one line per field)."""

from __future__ import annotations

from dataclasses import dataclass, field

from legged_snn.sim.terrain import TerrainCfg


@dataclass
class EnvCfg:
    num_envs: int = 4096  # parallel simulations
    episode_length_s: float = 20.0  # s before a time-out
    send_timeouts: bool = True  # report time-outs in extras["time_outs"] for bootstrapping
    history_frames: int = 0  # past (dof_pos, dof_vel, actions) frames in the "history" observation group


@dataclass
class RobotCfg:
    urdf: str = ""  # URDF path, relative to the repository root
    meshdir: str | None = None  # folder of the URDF's collision meshes (None: next to it, meshes/, ../meshes/)
    joint_names: list[str] = field(default_factory=list)  # actuated joints in action order
    default_joint_pos: dict[str, float] = field(default_factory=dict)  # q0 (rad), by joint name
    kp: dict[str, float] = field(default_factory=dict)  # N m/rad, first substring match in a joint name wins
    kd: dict[str, float] = field(default_factory=dict)  # N m s/rad, same matching
    action_scale: float = 0.25  # target = q0 + action_scale * action (rad)
    foot_bodies: list[str] = field(default_factory=list)  # bodies that touch the ground
    penalize_contacts_on: list[str] = field(default_factory=list)  # bodies whose contacts cost reward
    terminate_after_contacts_on: list[str] = field(default_factory=list)  # bodies whose contacts end an episode
    max_roll: float = 0.0  # rad; |roll| above it ends an episode (0 = no limit; unitree_rl_gym's G1: 0.8)
    max_pitch: float = 0.0  # rad; |pitch| above it ends an episode (0 = no limit; unitree_rl_gym's G1: 1.0)
    init_pos: tuple[float, float, float] = (0.0, 0.0, 0.42)  # spawn root position (m)
    armature: float | dict[str, float] = 0.0  # rotor inertia per joint (kg m^2): one value, or matched like kp
    # the joint-space gait prior's swing direction (legged_snn/gait_joint.py): joint name part -> weight, scaled
    # so the foot rises gait_prior.swing_height at mid-swing (bipeds and the humanoid; quadrupeds use leg IK)
    swing_joints: dict[str, float] = field(default_factory=dict)


@dataclass
class SimCfg:
    dt: float = 0.005  # physics step (s)
    decimation: int = 4  # physics steps per policy step (policy dt = dt * decimation)
    solver_iterations: int = 10  # constraint solver iterations
    ls_iterations: int = 10  # line-search iterations
    nthread: int = 0  # Batch threads (0 = all cores)
    runaway_joint_vel: float = 200.0  # rad/s; a faster joint means a diverging simulation: reset, step reward 0


@dataclass
class CommandsCfg:
    resampling_time: float = 10.0  # s between new commands
    heading_command: bool = True  # yaw rate from a heading target
    lin_vel_x: tuple[float, float] = (-1.0, 1.0)  # m/s
    lin_vel_y: tuple[float, float] = (-1.0, 1.0)  # m/s
    ang_vel_yaw: tuple[float, float] = (-1.0, 1.0)  # rad/s (ignored in heading mode)
    heading: tuple[float, float] = (-3.14159, 3.14159)  # rad
    small_command_threshold: float = 0.2  # |v_xy| below this -> (0, 0) (m/s)
    curriculum: bool = False  # widen lin_vel_x when tracking is good
    max_curriculum: float = 1.0  # largest |lin_vel_x| the curriculum reaches (m/s)


@dataclass
class InitStateCfg:
    joint_pos_scale: tuple[float, float] = (0.5, 1.5)  # reset q = q0 * U(lo, hi)
    root_vel: float = 0.5  # reset root velocities ~ U(-v, v) (m/s, rad/s)
    root_xy: float = 1.0  # reset root xy ~ origin + U(-r, r) (m)


@dataclass
class DomainRandCfg:
    randomize_friction: bool = True  # friction per env at start-up
    friction_range: tuple[float, float] = (0.5, 1.25)  # the robot's sliding friction, averaged with the floor's 1.0
    randomize_base_mass: bool = False  # added root mass per env at start-up
    added_mass_range: tuple[float, float] = (-1.0, 1.0)  # kg
    push_robots: bool = True  # kick the root every push_interval_s
    push_interval_s: float = 15.0  # s
    max_push_vel_xy: float = 1.0  # m/s
    randomize_motor_strength: bool = False  # scale each env's Kp and Kd (hence its torques) at start-up
    motor_strength_range: tuple[float, float] = (0.9, 1.1)  # factor on Kp and Kd
    randomize_latency: bool = False  # delay each env's new joint targets by a whole number of physics steps
    latency_range: tuple[int, int] = (0, 2)  # physics steps, drawn per env at start-up (< decimation)


@dataclass
class HeightScanCfg:
    enabled: bool = False  # add the height scan to the policy and critic observations
    x: tuple[float, float, int] = (-0.8, 0.8, 17)  # m, base-yaw frame: first, last, count
    y: tuple[float, float, int] = (-0.5, 0.5, 11)  # m
    offset: float = 0.5  # m, value = clip(base_z - offset - ground, -clip, clip) * scale
    clip: float = 1.0  # m


@dataclass
class RewardsCfg:
    scales: dict[str, float] = field(default_factory=lambda: {
        "termination": 0.0, "tracking_lin_vel": 1.0, "tracking_ang_vel": 0.5, "lin_vel_z": -2.0,
        "ang_vel_xy": -0.05, "orientation": 0.0, "torques": -1e-5, "dof_vel": 0.0, "dof_acc": -2.5e-7,
        "base_height": 0.0, "feet_air_time": 1.0, "collision": -1.0, "feet_stumble": 0.0,
        "action_rate": -0.01, "stand_still": 0.0, "dof_pos_limits": 0.0, "dof_vel_limits": 0.0,
        "torque_limits": 0.0, "feet_contact_forces": 0.0,
    })  # weight per term, multiplied by the policy dt; 0 = term off
    only_positive_rewards: bool = True  # clip the step's total at zero (before termination)
    tracking_sigma: float = 0.25  # tracking reward = exp(-error^2 / sigma)
    soft_dof_pos_limit: float = 1.0  # fraction of the URDF range beyond which dof_pos_limits costs
    soft_dof_vel_limit: float = 1.0  # fraction of the velocity limit
    soft_torque_limit: float = 1.0  # fraction of the effort limit
    base_height_target: float = 1.0  # m
    max_contact_force: float = 100.0  # N, feet_contact_forces threshold
    dof_vel_limit: float = 30.0  # rad/s, for dof_vel_limits
    hip_pos_joints: list[str] = field(default_factory=list)  # joints whose offset from q0 hip_pos costs
    stance_phase: float = 0.55  # contact term: a foot should be down while its gait phase is below this
    feet_swing_height_target: float = 0.08  # m, foot-origin height above ground a swinging foot should reach


@dataclass
class GaitCfg:
    enabled: bool = False  # add sin/cos of the gait phase to the policy observation
    period: float = 0.8  # s per gait cycle; phase = (episode time % period) / period
    offsets: tuple[float, ...] = (0.0, 0.5)  # phase offset per foot, in robot.foot_bodies order


@dataclass
class GaitPriorCfg:
    """A foot-trajectory generator the policy adds residuals to (legged_snn/gait.py; for bipeds a joint-space swing
    profile, legged_snn/gait_joint.py); "none" = bare joint targets (legged_gym). The actions become the joint
    residuals then one frequency offset per leg."""

    mode: str = "none"  # none; quadrupeds: trot, pace, bound, walk; bipeds and the humanoid: alternate
    frequency: float = 2.0  # Hz: the generator's step frequency with zero frequency actions
    frequency_scale: float = 1.0  # Hz per unit of a leg's frequency action
    swing_height: float = 0.08  # m: the foot's lift at mid-swing
    stance_fraction: float = 0.5  # share of a period the foot is on the ground
    residual_scale: float = 0.2  # rad per unit of a joint residual action (the FSNN A1 task's 0.2)


def prior_follows_clock(cfg: LocomotionEnvCfg) -> None:
    """With a gait prior on a robot whose rewards follow a gait clock (the G1's contact term), step the prior at the
    clock's period and stance share: the gait rewards then read the prior's leg phases (env.leg_phase), and this
    makes them ask for what the prior does. ``--cfg gait_prior.*`` given after it still wins."""
    if cfg.gait_prior.mode != "none" and (cfg.gait.enabled or "contact" in cfg.rewards.scales):
        cfg.gait_prior.frequency = 1.0 / cfg.gait.period
        cfg.gait_prior.stance_fraction = cfg.rewards.stance_phase


@dataclass
class ObsScalesCfg:
    lin_vel: float = 2.0
    ang_vel: float = 0.25
    dof_pos: float = 1.0
    dof_vel: float = 0.05
    height_measurements: float = 5.0


@dataclass
class NormalizationCfg:
    obs_scales: ObsScalesCfg = field(default_factory=ObsScalesCfg)
    clip_observations: float = 100.0
    clip_actions: float = 100.0


@dataclass
class NoiseCfg:
    add_noise: bool = True  # uniform noise on the policy observation
    noise_level: float = 1.0  # multiplies every scale below
    dof_pos: float = 0.01
    dof_vel: float = 1.5
    lin_vel: float = 0.1
    ang_vel: float = 0.2
    gravity: float = 0.05
    height_measurements: float = 0.1


@dataclass
class LocomotionEnvCfg:
    env: EnvCfg = field(default_factory=EnvCfg)
    robot: RobotCfg = field(default_factory=RobotCfg)
    sim: SimCfg = field(default_factory=SimCfg)
    commands: CommandsCfg = field(default_factory=CommandsCfg)
    init_state: InitStateCfg = field(default_factory=InitStateCfg)
    domain_rand: DomainRandCfg = field(default_factory=DomainRandCfg)
    rewards: RewardsCfg = field(default_factory=RewardsCfg)
    normalization: NormalizationCfg = field(default_factory=NormalizationCfg)
    noise: NoiseCfg = field(default_factory=NoiseCfg)
    terrain: TerrainCfg | None = None  # None = a flat plane
    height_scan: HeightScanCfg = field(default_factory=HeightScanCfg)
    gait: GaitCfg = field(default_factory=GaitCfg)  # periodic gait clock (observation, contact reward)
    gait_prior: GaitPriorCfg = field(default_factory=GaitPriorCfg)  # foot-trajectory generator + residual actions
    seed: int = 1  # env random generator seed
