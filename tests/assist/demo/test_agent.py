"""The demo model as the deep tier: Flint's real agent loop, tools and patches drive it."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from editor.agents.loop import AgentLoop, Hooks, Limits
from editor.agents.workcopy import WorkingCopy
from editor.assist.gateway import tier_get
from editor.assist.simulator.demo import agent, pysource
from tests.support.sandbox import require_sandbox

LIMITS = Limits(max_steps=40, wall_seconds=60, step_max_tokens=4096, step_retries=0,
                compact_at=0.75)  # fmt: skip


def run(prompt: str, files: dict[str, str], *, commands: bool = False, scope=None):
    log: list[tuple[str, str, str]] = []
    copy = WorkingCopy(base=dict(files), scope=scope)
    outcome = AgentLoop(
        tier=tier_get("deep"), prompt=prompt, copy=copy, limits=LIMITS, commands=commands,
        hooks=Hooks(step=lambda kind, tool, text, tokens: log.append((kind, tool, text))),
    ).run()  # fmt: skip
    return outcome, copy, log


def test_docstrings_for_every_function_in_a_multi_file_change(demo_tiers, sample):
    outcome, copy, log = run("Add a docstring to every function", sample)

    assert outcome.status == "succeeded", outcome
    changed = copy.changed()
    assert {"shop/cart.py", "shop/pricing.py", "shop/report.py"} <= set(changed)
    for path, text in changed.items():
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                assert pysource.has_docstring(node), f"{path}: {node.name}"
    # Only docstrings were added: the code is the same once they are taken out.
    for path, text in changed.items():
        assert _without_docstrings(text) == _without_docstrings(sample[path])
    tools = [tool for kind, tool, _ in log if kind == "tool_call"]
    assert tools[0] == "list_files" and "read_file" in tools and tools[-1] == "finish"
    assert tools.count("apply_patch") == 3
    assert any(kind == "model_text" and "Reading shop/cart.py" in text for kind, _, text in log)
    assert "Changed 3 files" in outcome.summary


def _without_docstrings(text: str) -> str:
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Module) and pysource.has_docstring(
            node
        ):
            node.body = node.body[1:] or [ast.Pass()]
    return ast.unparse(tree)


def test_rename_across_files_searches_first_and_keeps_the_program_working(
    demo_tiers, sample, tmp_path
):
    outcome, copy, log = run("Rename apply_discount to discounted", sample)

    assert outcome.status == "succeeded", outcome
    changed = copy.changed()
    assert set(changed) == {"shop/cart.py", "shop/pricing.py"}
    assert all("apply_discount" not in text for text in changed.values())
    assert "def discounted(amount" in changed["shop/pricing.py"]
    assert log[1][1] == "search"
    for path, text in {**sample, **changed}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    report = subprocess.run([sys.executable, "-m", "shop.report"], cwd=tmp_path,
                            capture_output=True, text=True, check=True)  # fmt: skip
    assert "TOTAL         15.72 EUR" in report.stdout


def test_a_rename_onto_a_name_in_use_changes_nothing(demo_tiers, sample):
    outcome, copy, _ = run("rename apply_discount to check_code", sample)

    assert outcome.status == "succeeded"
    assert copy.changed() == {}
    assert "already used in shop/pricing.py" in outcome.summary


def test_a_test_skeleton_for_a_module_compiles_and_runs_skipped(demo_tiers, sample, tmp_path):
    outcome, copy, _ = run("Write tests for shop/pricing.py", sample)

    assert outcome.status == "succeeded", outcome
    ((path, text),) = copy.changed().items()
    assert path == "tests/test_pricing.py"
    assert "from shop.pricing import apply_discount, check_code, price_label" in text
    for path_, body in {**sample, path: text}.items():
        (tmp_path / path_).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path_).write_text(body)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "-c", "/dev/null", "--rootdir", str(tmp_path), "tests"],
                            cwd=tmp_path, capture_output=True, text=True)  # fmt: skip
    assert "3 skipped" in result.stdout, result.stdout + result.stderr


def test_ruff_fixes_and_a_compile_check_in_the_sandbox(demo_tiers, sample, needs_sandbox):
    outcome, copy, log = run("Fix what ruff reports", sample, commands=True)

    assert outcome.status == "succeeded", outcome
    changed = copy.changed()
    assert "import os" not in changed["shop/pricing.py"]  # F401, unused
    assert "import sys" not in changed["shop/pricing.py"]
    assert '"{:.2f} {}".format' not in changed["shop/pricing.py"]  # UP032
    commands = [text for kind, tool, text in log if tool == "run_command" and kind == "tool_call"]
    assert commands and "py_compile" in commands[0]
    assert "they compile" in outcome.summary


def test_type_hints_only_where_the_code_proves_them(demo_tiers, sample):
    outcome, copy, _ = run("Add type hints", {"shop/pricing.py": sample["shop/pricing.py"]})

    assert outcome.status == "succeeded", outcome
    text = copy.changed()["shop/pricing.py"]
    assert 'def apply_discount(amount, code: str = ""):' in text  # amount: no proof
    assert 'def price_label(amount, currency: str = "EUR") -> str:' in text
    assert "def check_code(code) -> bool:" in text


def test_scope_limits_what_changes(demo_tiers, sample):
    files = {**sample, "tools/build.py": "def build(x):\n    return x\n"}
    outcome, copy, _ = run("Add docstrings", files, scope=["tools"])

    assert outcome.status == "succeeded", outcome
    assert set(copy.changed()) == {"tools/build.py"}


def test_an_unknown_task_finishes_saying_what_the_demo_can_do(demo_tiers, sample):
    outcome, copy, _ = run("Port the shop to Rust", sample)

    assert outcome.status == "succeeded"
    assert copy.changed() == {}
    assert "demo model" in outcome.summary and "docstrings" in outcome.summary


def test_plans_from_prompts():
    paths = ["shop/cart.py", "shop/pricing.py", "tests/test_cart.py"]
    assert agent.plan_for("Add type hints and docstrings", paths).steps == ["hints", "docstrings"]
    assert agent.plan_for("write unit tests for pricing", paths).module == "shop/pricing.py"
    assert agent.plan_for("please lint and fix warnings", paths).kind == "ruff"
    rename = agent.plan_for("Rename `Cart` to `Basket` everywhere", paths)
    assert (rename.kind, rename.old, rename.new) == ("rename", "Cart", "Basket")


@pytest.fixture
def needs_sandbox():
    require_sandbox()
