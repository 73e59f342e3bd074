"""Simulation: URDF -> MuJoCo model, and backends that step many copies of it."""
