"""Flint's own OpenAI-compatible model server: deterministic, scriptable, with faults."""

from editor.assist.simulator.script import load_script, rules_from, tokenize
from editor.assist.simulator.server import Simulator, SimulatorThread

__all__ = ["Simulator", "SimulatorThread", "load_script", "rules_from", "tokenize"]
