"""Services: the one Qt-free entry point of every use case, request in, result out (ADR 12).

`engine/cli/commands/*` turn command-line arguments into a request, `desktop/panels/*` turn widgets into the
same request; both call the same function here, so the app and the CLI give identical results. Long work is a
plain function taking `ctx: engine.jobs.JobContext`. Layer: above the workflows and tools (augment, pipelines,
preseg, curation, project), below `cli` (pyproject.toml, engine layers contract).
"""
