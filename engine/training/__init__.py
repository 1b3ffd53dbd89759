"""Training loops on Hugging Face accelerate, used by the CLI and the desktop alike.

`checkpoint` (safetensors + JSON checkpoints, never unpickled) and `processes` (accelerator, LR schedule,
data shards, cancel and logs that behave the same in 1 or N processes) serve every training loop."""
from engine.training.config import TrainConfig, TrainResult, build_model
from engine.training.data import SynthesisDataset, TrainingPair, collect_pairs, split_holdout
from engine.training.train_synthesis import train_synthesis

__all__ = ["SynthesisDataset", "TrainConfig", "TrainResult", "TrainingPair", "build_model", "collect_pairs",
           "split_holdout", "train_synthesis"]
