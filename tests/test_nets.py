"""Torch models: parameter counts of the seed architectures, a forward pass and one training step
for every registered model on tiny input, and local-only pretrained weights."""

from __future__ import annotations

import itertools

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")

from dfaudio.exceptions import ParameterError  # noqa: E402
from dfaudio.models import nets, torch_zoo  # noqa: E402

pytestmark = pytest.mark.torch

torch.set_num_threads(2)

#: Tiny inputs per model (C, F, T): big enough for each architecture, small enough for CI.
TINY = {
    "simple-ann": (1, 8, 12),
    "simple-cnn": (1, 8, 12),
    "lcnn": (1, 16, 20),
    "lstm": (1, 8, 12),
    "conv1d-lstm": (1, 8, 12),
    "resnet101": (1, 32, 32),
    "timm:resnet18": (1, 32, 32),
}


def _mlp_params(n_in: int) -> int:
    widths = [n_in, 1024, 512, 256, 1]
    return sum(a * b + b for a, b in itertools.pairwise(widths))


def test_seed_parameter_counts() -> None:
    """Counts follow from the architecture in DESIGN.md (the seed README's figures are wrong)."""
    ann = nets.SimpleANN((1, 64, 188))
    assert nets.count_parameters(ann) == _mlp_params(12_032) == 12_978_177
    cnn = nets.SimpleCNN((1, 64, 188))
    conv = (5 * 5 * 1 * 32 + 32) + (5 * 5 * 32 * 64 + 64)
    assert nets.count_parameters(cnn) == conv + _mlp_params(64 * 16 * 47) == 49_992_577
    # Sized from the input: 20 MFCCs -> 64 * 5 * 47 inputs to the head.
    assert nets.count_parameters(nets.SimpleCNN((1, 20, 188))) == conv + _mlp_params(64 * 5 * 47)


def test_resnet101_size_and_seed_freezing(tmp_path) -> None:
    m = torch_zoo.build_model("resnet101", (1, 64, 188))
    n = nets.count_parameters(m)
    assert abs(n - 42.5e6) < 0.05e6  # DESIGN.md: about 42.5 M (timm 1.x: 42,495,937)
    assert nets.count_parameters(m, trainable_only=True) == n  # nothing frozen from scratch
    assert m.net.conv1.weight.shape[1] == 1 and m.net.get_classifier().out_features == 1
    frozen = torch_zoo.freeze_first(m, torch_zoo.SEED_FROZEN_TENSORS)
    names = [name for name, p in m.named_parameters() if not p.requires_grad]
    assert frozen == len(names) == 39 and names[0] == "net.conv1.weight"
    assert names[-1] == "net.layer2.0.bn2.bias"  # the stem, layer1 and most of layer2.0


def _all_models() -> list:
    """Every registered name plus one ``timm:`` name; resnet101's step is slow on 2 CPU cores."""
    slow = {"resnet101"}
    names = [*torch_zoo.MODELS.names(), "timm:resnet18"]
    return [pytest.param(n, marks=pytest.mark.slow) if n in slow else n for n in names]


@pytest.mark.parametrize("name", _all_models())
def test_forward_and_one_training_step(name: str) -> None:
    assert set(torch_zoo.MODELS.names()) <= set(TINY)
    torch.manual_seed(0)
    shape = TINY[name]
    model = torch_zoo.build_model(name, shape)
    x = torch.randn(2, *shape)
    y = torch.tensor([0.0, 1.0])
    model.train()
    logits = model(x)
    assert logits.shape == (2,) and torch.isfinite(logits).all()
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y)
    loss.backward()
    opt.step()
    changed = sum(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert changed > 0
    model.eval()
    with torch.no_grad():
        assert model(x[:1]).shape == (1,)


@pytest.mark.parametrize(
    "name",
    [n for n in torch_zoo.MODELS.names() if n != "resnet101"]
    + [pytest.param("timm:resnet18", marks=pytest.mark.slow)],
)
def test_freeze_holds_in_every_model_family(name: str) -> None:
    """``freeze=2``: the first two parameter tensors (the first layer's weight and bias) keep
    their values through an optimizer step over *all* parameters; the rest of the model moves.
    (simple-ann, simple-cnn and lcnn used to ignore ``freeze``.)"""
    torch.manual_seed(0)
    shape = TINY[name]
    model = torch_zoo.build_model(name, shape, freeze=2)
    params = list(model.parameters())
    assert [p.requires_grad for p in params[:3]] == [False, False, True]
    assert nets.count_parameters(model, trainable_only=True) == nets.count_parameters(model) - sum(
        p.numel() for p in params[:2]
    )
    before = [p.detach().clone() for p in params]
    opt = torch.optim.Adam(params, lr=1e-2)  # even an optimizer given every tensor
    model.train()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(
        model(torch.randn(3, *shape)), torch.tensor([0.0, 1.0, 1.0])
    )
    loss.backward()
    opt.step()
    assert torch.equal(params[0], before[0]) and torch.equal(params[1], before[1])
    assert any(not torch.equal(p, b) for p, b in zip(params[2:], before[2:], strict=True))
    with pytest.raises(ParameterError, match=f"would freeze all {len(params)} parameter tensors"):
        torch_zoo.build_model(name, shape, freeze=len(params))


def test_models_reject_bad_input_and_hub_requests() -> None:
    with pytest.raises(ParameterError, match="at least 4"):
        torch_zoo.build_model("simple-cnn", (1, 3, 100))
    with pytest.raises(ParameterError, match="unknown model"):
        torch_zoo.build_model("resnet9000", (1, 8, 8))
    with pytest.raises(ParameterError, match="unknown timm model"):
        torch_zoo.build_model("timm:not-a-net", (1, 32, 32))
    with pytest.raises(ParameterError, match="never downloads"):
        torch_zoo.build_model("resnet101", (1, 32, 32), pretrained=True)
    with pytest.raises(ParameterError, match="trained from scratch"):
        torch_zoo.build_model("simple-ann", (1, 8, 8), pretrained="w.safetensors")
    with pytest.raises(ParameterError, match="not found"):
        torch_zoo.build_model("timm:resnet18", (1, 32, 32), pretrained="missing.safetensors")


def test_local_imagenet_style_weights_are_adapted(tmp_path) -> None:
    """A 3-channel, 1000-class timm state dict -> 1 channel (RGB summed), classifier dropped."""
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(0)
    rgb = timm.create_model("resnet18", pretrained=False, in_chans=3, num_classes=1000)
    sd = rgb.state_dict()
    st_path = tmp_path / "resnet18.safetensors"
    save_file(sd, str(st_path))
    pt_path = tmp_path / "resnet18.pth"
    torch.save({"state_dict": sd}, pt_path)
    for path in (st_path, pt_path):
        m = torch_zoo.build_model("timm:resnet18", (1, 32, 32), pretrained=path)
        torch.testing.assert_close(m.net.conv1.weight, sd["conv1.weight"].sum(1, keepdim=True))
        torch.testing.assert_close(m.net.layer4[1].conv2.weight, sd["layer4.1.conv2.weight"])
        assert m.net.fc.weight.shape == (1, 512)
        frozen = [p for p in m.parameters() if not p.requires_grad]
        assert len(frozen) == torch_zoo.SEED_FROZEN_TENSORS
    m0 = torch_zoo.build_model("timm:resnet18", (1, 32, 32), pretrained=st_path, freeze=0)
    assert all(p.requires_grad for p in m0.parameters())


def test_foreign_or_unsafe_weight_files_are_refused(tmp_path) -> None:
    import timm
    from safetensors.torch import save_file

    r18 = tmp_path / "r18.safetensors"
    save_file(timm.create_model("resnet18", num_classes=1000).state_dict(), str(r18))
    with pytest.raises(ParameterError, match="another architecture"):
        torch_zoo.build_model("timm:resnet34", (1, 32, 32), pretrained=r18)
    pickled = tmp_path / "evil.pth"
    torch.save({"weights": object()}, pickled)  # needs full pickle: refused by weights_only
    with pytest.raises(ParameterError, match="cannot read weights"):
        torch_zoo.build_model("timm:resnet18", (1, 32, 32), pretrained=pickled)
