"""A labelling team on one dataset: work packages (`assign`), merging the annotators' projects
(`merge_projects`) and their agreement per class and per annotator pair (`measure_agreement`)."""
from engine.team.assign import BY_CHOICES, Assignment, assign
from engine.team.merge import MergeResult, merge_projects
from engine.team.proposal import majority_vote, propose

__all__ = ["BY_CHOICES", "Assignment", "assign", "MergeResult", "merge_projects", "majority_vote", "propose"]
from engine.team.agreement import AgreementReport, measure_agreement

__all__ += ["AgreementReport", "measure_agreement"]
