"""Training loops on Hugging Face accelerate, used by the CLI and the desktop alike."""
from engine.training.data import SynthesisDataset, TrainingPair, collect_pairs, split_holdout
from engine.training.train_synthesis import TrainConfig, TrainResult, build_model, train_synthesis

__all__ = ["SynthesisDataset", "TrainConfig", "TrainResult", "TrainingPair", "build_model", "collect_pairs",
           "split_holdout", "train_synthesis"]
