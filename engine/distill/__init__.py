"""Consistency distillation of a synthesis model into a 1-2 step preview student (MODEL_DIR/student/)."""
from engine.distill.sampling import StudentPipeline, StudentSettings, preview_pipeline
from engine.distill.student import (
    ConsistencyStudent, load_student, read_student_card, save_student, student_dir, student_problem,
)
from engine.distill.train import DistillConfig, DistillResult, distill

__all__ = ["ConsistencyStudent", "DistillConfig", "DistillResult", "StudentPipeline", "StudentSettings", "distill",
           "load_student", "preview_pipeline", "read_student_card", "save_student", "student_dir", "student_problem",]
