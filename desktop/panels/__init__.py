"""Dockable panels and dialogs of the desktop app: the model panels (synthesis preview, training,
pre-segmentation) and the dataset tools (curation, text edits).

Widgets only: every model or data operation is an engine call run through `desktop.workers.JobRunner`.
`desktop.panels.model_panels.ModelPanels` puts them into the main window (docks + the "Models" menu).
"""
