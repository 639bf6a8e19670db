"""pyproject.toml and environment.yml name the same dependencies with the same lower bounds."""

import re
import tomllib

import yaml

from kpi import config


def normalise(spec: str) -> tuple[str, str]:
    name, bound = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", spec).groups()
    return name.lower().replace("_", "-"), bound.replace(" ", "")


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((config.PROJ_ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    # "kpi[dask]" in dev stands for the dask extra's own list
    dev = [x for s in extras["dev"] for x in (extras[s[4:-1]] if s.startswith("kpi[") else [s])]
    wanted = {normalise(s) for s in project["dependencies"] + dev}
    env = yaml.safe_load((config.PROJ_ROOT / "environment.yml").read_text())
    specs = [s for s in env["dependencies"] if isinstance(s, str)]
    conda = {normalise(s) for s in specs if normalise(s)[0] not in ("python", "pip")}
    assert conda == wanted
    assert dict(map(normalise, specs))["python"] == project["requires-python"]
