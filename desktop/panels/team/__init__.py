"""The Team menu: work packages (Assign…), merging the annotators' projects (Merge projects…) and the review of
disputed frames. The engine calls are engine.team's, the same as `cadis assign` and `cadis merge`."""
from desktop.panels.team.menu import TeamMenu

__all__ = ["TeamMenu"]
