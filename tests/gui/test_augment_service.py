"""One augment use case (`engine.services.augment`): the same request through `cadis augment` and through the
curation panel gives byte-identical pairs, and a run started in one front end resumes in the other."""
from __future__ import annotations

import pytest

from augment_helpers import make_project, save_tiny_model
from desktop.panels.curation.panel import CurationPanel
from desktop.settings import Settings
from desktop.workers import JobRunner
from engine.cli import main
from engine.services.augment import AugmentRequest

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("one_torch_thread")]
LAYOUTS, SAMPLES = 3, 1


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


def _project(tmp_path, name):
    project = make_project(tmp_path / name, videos=1, frames=2)
    root, keys = project.root, project.frame_keys()
    project.close()
    return root, keys


def _cli(root, model, keys, mode="repaint"):
    argv = ["augment", str(root), "--model", str(model), "--layouts", str(LAYOUTS), "--samples", str(SAMPLES),
            "--steps", "2", "--seed", "3", "--mode", mode, "--device", "cpu", "--no-progress",
            "--frames", ",".join(keys)]
    assert main(argv) == 0


def _request(model, keys, mode="repaint"):
    return AugmentRequest(model_dir=str(model), layouts=LAYOUTS, samples=SAMPLES, steps=2, seed=3, mode=mode,
                          frames=list(keys))


def _pairs(root) -> dict:
    """{work item id: (image bytes, label bytes, model id)} of the project's augment pairs."""
    from engine.project import Project

    with Project.open_or_create(root) as p:
        out = {}
        for pair in p.pairs(source="augment"):
            image, label = p.load_pair(pair.id)
            out[pair.provenance["item"]] = (image.tobytes(), label.tobytes(), pair.provenance["model"])
        return out


class App:
    """The curation panel on a project (a Document, a runner and settings pointing at the model)."""

    def __init__(self, qtbot, root, model, tmp_path):
        from desktop.document import Document
        from engine.project import Project

        self.qtbot = qtbot
        self.doc, self.runner = Document(autosave_ms=60_000), JobRunner(max_threads=1)
        self.settings = Settings(tmp_path / f"settings-{root.parent.name}.ini")
        self.settings.model_dir, self.settings.device, self.settings.preseg_dir = str(model), "cpu", ""
        self.doc.open_project(Project.open_or_create(root, journal_fsync=False))
        self.panel = CurationPanel(self.doc, self.runner, self.settings)
        qtbot.addWidget(self.panel)

    def run(self, request, cancel_after_first=False):
        handle = self.panel.start_augment(request)
        if cancel_after_first:
            handle.progressChanged.connect(lambda f, m: "stored" in m and handle.cancel())
        with self.qtbot.waitSignal(handle.finished, timeout=120_000):
            pass
        return handle

    def close(self):
        self.runner.shutdown()
        self.runner.wait(5000)
        self.doc.close_project()


@pytest.mark.parametrize("mode", ["repaint", "full"])
def test_cli_and_app_make_byte_identical_pairs(qtbot, tmp_path, tiny_model_dir, mode):
    cli_root, keys = _project(tmp_path, "cli")
    app_root, _ = _project(tmp_path, "app")
    _cli(cli_root, tiny_model_dir, keys, mode)
    app = App(qtbot, app_root, tiny_model_dir, tmp_path)
    handle = app.run(_request(tiny_model_dir, keys, mode))
    assert handle.state == "done", handle.error
    app.close()
    from_cli, from_app = _pairs(cli_root), _pairs(app_root)
    assert from_cli and from_cli.keys() == from_app.keys()
    assert from_cli == from_app  # same items, same bytes, the same 16-digit model id
    assert all(len(model) == 16 for _i, _l, model in from_cli.values())


def test_a_run_started_in_one_front_end_resumes_in_the_other(qtbot, tmp_path, tiny_model_dir, monkeypatch):
    ref_root, keys = _project(tmp_path, "ref")
    _cli(ref_root, tiny_model_dir, keys)
    reference = _pairs(ref_root)
    # the app starts, is cancelled after its first pair; the CLI finishes the run
    a_root, _ = _project(tmp_path, "a")
    app = App(qtbot, a_root, tiny_model_dir, tmp_path)
    handle = app.run(_request(tiny_model_dir, keys), cancel_after_first=True)
    assert handle.state == "cancelled"
    app.close()
    started = _pairs(a_root)
    assert 1 <= len(started) < len(reference)
    _cli(a_root, tiny_model_dir, keys)
    assert _pairs(a_root) == reference
    # the CLI is interrupted (Ctrl-C) after its first pair; the app finishes the run
    b_root, _ = _project(tmp_path, "b")
    _cli_interrupted_after_first_pair(b_root, tiny_model_dir, keys, monkeypatch)
    first = _pairs(b_root)
    assert 1 <= len(first) < len(reference)
    app = App(qtbot, b_root, tiny_model_dir, tmp_path)
    handle = app.run(_request(tiny_model_dir, keys))
    assert handle.state == "done", handle.error
    result, _rejected = handle.result
    assert result.already_done == len(first) and len(result.stored) == len(reference) - len(first)
    app.close()
    assert _pairs(b_root) == reference


def _cli_interrupted_after_first_pair(root, model, keys, monkeypatch):
    import engine.cli.progress as progress
    from engine.jobs import JobContext

    real = progress.tqdm_context

    def interrupting(desc, disable=False):
        ctx, bar = real(desc, disable)

        def report(fraction, message):
            ctx.report(fraction, message)
            if "stored" in message:
                raise KeyboardInterrupt
        return JobContext(report), bar

    monkeypatch.setattr(progress, "tqdm_context", interrupting)
    argv = ["augment", str(root), "--model", str(model), "--layouts", str(LAYOUTS), "--samples", str(SAMPLES),
            "--steps", "2", "--seed", "3", "--device", "cpu", "--no-progress", "--frames", ",".join(keys)]
    assert main(argv) == 130
    monkeypatch.undo()


def test_the_augment_dialog_asks_for_the_cli_request_repaint_by_default(qtbot):
    from desktop.panels.curation.augment_dialog import AugmentDialog

    dialog = AugmentDialog(5, "Video01/Images/Video1_frame000090.png", False, "tiny")
    qtbot.addWidget(dialog)
    request = dialog.request()
    assert isinstance(request, AugmentRequest) and request.mode == "repaint" and request.margin == 16
    dialog.mode.setCurrentIndex(dialog.mode.findData("full"))
    dialog.frames.setCurrentIndex(1)
    assert not dialog.margin.isEnabled()
    request = dialog.request()
    assert request.mode == "full" and request.frames == ["Video01/Images/Video1_frame000090.png"]
