"""The imports follow the data flow: a module imports only from its own layer or the layers below it.

    base       joints, geometry, types (config), output-file safety, file names OpenCV cannot take
    runtime    bundles, backends, the cascade, the PoseEstimator
    tracking   capture -> tracker -> smoothing -> sinks
    build      the network definition and torch, export, calibration, training, evaluation
    commands   cli.py, the commands, the benchmarks and the package's public names (nothing imports them but
               themselves)

Every import counts, also the ones inside functions (the lazy imports of optional packages).
"""
import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "pose_track"
LAYERS = ["base", "runtime", "tracking", "build", "commands"]
MODULE_LAYERS = {
    "engines": "base",
    "engines.joints": "base", "engines.geometry": "base", "engines.config": "base", "engines.outputs": "base",
    "engines.opencv_files": "base",
    "engines.timing": "base",
    "engines.bundle": "runtime", "engines.backends": "runtime", "engines.onnxruntime_backend": "runtime",
    "engines.tensorrt_backend": "runtime", "engines.cascade": "runtime", "engines.estimator": "runtime",
    "engines.model": "build", "engines.backbone": "build", "engines.checkpoint": "build", "engines.torch_backend": "build",
    "engines.export": "build",
}
FOLDER_LAYERS = {"tracker": "tracking", "calibration": "build", "training": "build", "commands": "commands",
                 "benchmarks": "commands", "cli": "commands", "__init__": "commands"}


def layer_of(module: str) -> str:
    if module in MODULE_LAYERS:
        return MODULE_LAYERS[module]
    top = module.split(".")[0]
    if top in FOLDER_LAYERS:
        return FOLDER_LAYERS[top]
    raise AssertionError(f"{module} has no layer: add it to tests/test_layers.py")


def package_modules():
    for folder, dirs, files in os.walk(ROOT):
        rel = os.path.relpath(folder, ROOT)
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("tests", "runs", "cache", "models", "docs",
                                                                           "results", "recipes", "build")
                   and not d.endswith(".egg-info") and os.path.isfile(os.path.join(folder, d, "__init__.py"))]
        for name in files:
            if name.endswith(".py"):
                parts = ([] if rel == "." else rel.split(os.sep)) + [name[:-3]]
                if parts[-1] == "__init__" and len(parts) > 1:
                    parts = parts[:-1]
                yield ".".join(parts), os.path.join(folder, name)


def imported_modules(path: str, module: str):
    """The package modules that `module` imports, anywhere in the file."""
    tree = ast.parse(open(path).read())
    is_package = path.endswith("__init__.py")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + "."):
                    yield alias.name[len(PACKAGE) + 1:]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[:len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module == PACKAGE:
                target = "__init__"
            elif node.module and node.module.startswith(PACKAGE + "."):
                target = node.module[len(PACKAGE) + 1:]
            else:
                continue
            for alias in node.names:        # `from pose_track.engines import cascade` names a module
                candidate = f"{target}.{alias.name}"
                yield candidate if candidate in KNOWN else target


KNOWN = {m for m, _ in package_modules()}


def test_every_module_has_a_layer():
    for module, _ in package_modules():
        layer_of(module)


def test_imports_follow_the_layers():
    wrong = []
    for module, path in package_modules():
        mine = LAYERS.index(layer_of(module))
        for target in imported_modules(path, module):
            theirs = LAYERS.index(layer_of(target))
            if theirs > mine:
                wrong.append(f"{module} ({LAYERS[mine]}) imports {target} ({LAYERS[theirs]})")
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(set(wrong)))


def test_the_check_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from pose_track.training.train import Trainer\n")
    assert list(imported_modules(str(source), "engines.cascade")) == ["training.train"]
