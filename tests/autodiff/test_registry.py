"""The VJP rule registry: registration by domain and op type, duplicates refused."""

import pytest

from blackbox_xai.autodiff import registry


@pytest.fixture
def rules(monkeypatch):
    """A copy of the registry, so rules registered by a test do not outlive it."""
    monkeypatch.setattr(registry, "_RULES", dict(registry._RULES))
    return registry._RULES


def test_rules_are_registered_per_domain(rules):
    @registry.register("Relu", domain="my.domain")
    def my_relu(ctx):
        return [ctx.grad]

    assert registry.rule_for("Relu", "my.domain").rule is my_relu
    assert registry.rule_for("Relu").rule is not my_relu
    assert "my.domain:Relu" in registry.registered_ops()


@pytest.mark.parametrize(
    ("domain", "where"),
    [
        ("", "the default domain \\(ai.onnx\\)"),
        ("ai.onnx", "the default domain"),
        ("ai.onnx.ml", "domain 'ai.onnx.ml'"),
    ],
)
def test_a_second_rule_for_an_op_names_its_domain(rules, domain, where):
    op = "Relu" if domain != "ai.onnx.ml" else "Scaler"
    with pytest.raises(
        ValueError, match=f"a VJP rule for '{op}' of {where}.* is already registered"
    ):
        registry.register(op, domain=domain)(lambda ctx: [ctx.grad])
