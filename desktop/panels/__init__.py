"""Dockable panels and dialogs of the desktop app, one subpackage per feature: `synthesis` (the Synthesize
dock, training dialog), `preseg`, `curation` (pair gallery, batch augment, pair mask editor), `textedit`
and `export`; `model_folder` and `hints` are what several of them share.

They show and ask: every model or data operation is an engine call, run through `desktop.workers.JobRunner`.
`desktop.panels.model_panels.ModelPanels` puts them into the main window (docks + the "Models" menu).
"""
