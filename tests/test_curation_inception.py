"""Standard FID only from user-supplied Inception weights in safetensors (never pickle, never downloaded)."""
import numpy as np
import pytest
import torch

from engine.metrics.distribution import distribution_distance
from engine.metrics.inception import FIDInceptionV3, InceptionFeatures, load_inception


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    net = FIDInceptionV3().eval()
    path = tmp_path_factory.mktemp("inc") / "inception.safetensors"
    state = {k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()}
    state["fc.weight"] = torch.zeros(10, 2048, dtype=torch.float16)  # a classifier head is ignored
    save_file(state, str(path))
    return path, net


def test_load_and_features(weights):
    path, _net = weights
    net = load_inception(path)
    assert sum(p.numel() for p in net.parameters()) > 20_000_000
    feats = InceptionFeatures(net, size=96)  # small input keeps the test fast; FID proper uses 299
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 255, (50, 80, 3), dtype=np.uint8) for _ in range(3)]
    f = feats(imgs)
    assert f.shape == (3, 2048) and np.isfinite(f).all()
    res = distribution_distance(imgs, [im[::-1].copy() for im in imgs], feats, name="FID",
                                feature_info="Inception v3 pool3 (user weights)")
    assert res.name == "FID" and res.frechet >= 0


def test_refuses_pickles_and_foreign_files(tmp_path):
    from safetensors.torch import save_file

    pkl = tmp_path / "w.safetensors"
    pkl.write_bytes(b"PK\x03\x04rest-of-a-zip")
    with pytest.raises(ValueError, match="pickle"):
        load_inception(pkl)
    other = tmp_path / "other.safetensors"
    save_file({"conv.weight": torch.zeros(3, 3)}, str(other))
    with pytest.raises(ValueError, match="FID Inception"):
        load_inception(other)
    with pytest.raises(FileNotFoundError):
        load_inception(tmp_path / "missing.safetensors")


def test_cli_refuses_a_pickle_as_inception_weights(phantom_root, tmp_path, capsys):
    from engine.cli import main

    pkl = tmp_path / "inception.safetensors"
    pkl.write_bytes(b"\x80\x04pickled")
    assert main(["eval-dist", str(phantom_root), str(phantom_root), "--inception", str(pkl)]) == 2
    assert "pickle" in capsys.readouterr().err
