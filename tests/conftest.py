import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False, help="run the long variants")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="long variant: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def phantom_root(tmp_path_factory):
    """A small phantom CaDIS-layout dataset shared by the session (read-only for tests)."""
    from engine.phantom import generate_dataset

    root = tmp_path_factory.mktemp("phantom")
    generate_dataset(root, videos=3, frames_per_video=3, seed=123)
    return root


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models run faster on one thread (and CI machines are shared); the count is restored afterwards.
    Use with `pytestmark = pytest.mark.usefixtures("one_torch_thread")`."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(autouse=True)
def _collect_garbage_in_the_main_thread():
    """As in the app (`desktop.gc_guard`): the cycle collector never runs on a worker thread, where it would
    destroy the Qt widgets of earlier tests outside the GUI thread; it runs here, between tests."""
    import gc

    from desktop.gc_guard import collect_due

    gc.disable()
    yield
    collect_due()
