"""Pipelines: the whole flow from one YAML file, with quality gates and atomic outputs."""

from synthkit.pipeline.config import PipelineConfig, load_config
from synthkit.pipeline.runner import EXIT_GATE_FAILED, EXIT_INPUT_ERROR, EXIT_LEAK, EXIT_OK, EXIT_SINK_FAILED
from synthkit.pipeline.runner import RunResult, run, run_config

__all__ = ["PipelineConfig", "RunResult", "load_config", "run", "run_config", "EXIT_OK", "EXIT_GATE_FAILED",
           "EXIT_INPUT_ERROR", "EXIT_LEAK", "EXIT_SINK_FAILED"]
