"""The package's layers: imports run one way, down (docs/development.md).

    cli > apps > api > training > latent > evaluation > inference > runs > data > model
      > config > config_checks > messages > errors

A module imports only from its own layer or the layers below, with no
cycle; imports of ogan_tf inside functions only where the CLI keeps --help
fast (cli/) and in the package's lazy `api` attribute.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ogan_tf"
LAYERS = ["errors", "messages", "config_checks", "config", "model", "data", "runs", "inference",
          "evaluation", "latent", "training", "api", "apps", "cli"]
LAZY_ALLOWED = ("ogan_tf.cli", "ogan_tf")  # cli/*: --help; ogan_tf/__init__: lazy api


def modules():
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def layer(module):
    """The layer of 'ogan_tf.x.y' (the package and __main__ sit on top)."""
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] != "__main__" else len(LAYERS)


def imports(module, path, known):
    """(imported ogan_tf module, inside a function?) for each import."""
    tree = ast.parse(path.read_text())
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    functions = [n for n in ast.walk(tree)
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    nested = {id(n) for f in functions for n in ast.walk(f) if n is not f}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            names = [f"{target}.{a.name}" for a in node.names]
            targets = [n for n in names if n in known] or [target]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        for target in targets:
            if target in known and target != module:
                found.append((target, id(node) in nested))
    return found


def test_imports_run_down_the_layers_without_cycles():
    known = modules()
    graph = {m: set() for m in known}
    upward, lazy = [], []
    for module, path in known.items():
        for target, in_function in imports(module, path, known):
            if module.startswith(target + ".") and known[target].name == "__init__.py":
                continue  # a subpackage's own __init__ (docstring only)
            graph[module].add(target)
            if layer(target) > layer(module):
                upward.append(f"{module} -> {target}")
            if in_function and not module.startswith(LAZY_ALLOWED[0]) \
                    and module != LAZY_ALLOWED[1]:
                lazy.append(f"{module} -> {target}")
    assert not upward, "imports up the layers: " + ", ".join(upward)
    assert not lazy, "function-level imports of ogan_tf outside cli/: " + ", ".join(lazy)
    unplaced = [m for m in graph if m.count(".") and m.split(".")[1] not in (*LAYERS, "__main__")]
    assert not unplaced, f"modules in no layer (add them to LAYERS): {unplaced}"

    state = {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                pytest.fail("import cycle: " + " -> ".join(stack[stack.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_the_checker_sees_an_upward_import(tmp_path):
    """The rule can fail: an inference module importing training is caught."""
    inference = tmp_path / "ogan_tf" / "inference"
    inference.mkdir(parents=True)
    (tmp_path / "ogan_tf" / "training").mkdir()
    (inference / "bad.py").write_text("from ..training import train\n")
    (tmp_path / "ogan_tf" / "training" / "train.py").write_text("")
    known = {"ogan_tf.inference.bad": inference / "bad.py",
             "ogan_tf.training.train": tmp_path / "ogan_tf" / "training" / "train.py"}
    found = imports("ogan_tf.inference.bad", inference / "bad.py", known)
    assert found == [("ogan_tf.training.train", False)]
    assert layer("ogan_tf.training.train") > layer("ogan_tf.inference.bad")
