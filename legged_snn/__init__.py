"""legged_snn: locomotion training for legged robots with spiking actors."""

__version__ = "0.1.0"
