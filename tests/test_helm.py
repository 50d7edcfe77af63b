"""The Helm chart of the PostgreSQL and MySQL variants: lint, template, Kubernetes' schemas, promises.

No cluster is reachable here. Every distinct chart the template renders goes through
`helm lint --strict` and `helm template` (the official binary, installed by .ci/prepare.sh)
with several values files; kubernetes-validate checks every object, strictly, against the
schemas of the oldest and the newest Kubernetes the chart supports; plain assertions check
the objects against the rendered project itself (its routes, its settings, its Dockerfile).
"""

from __future__ import annotations

import ast
import hashlib
import itertools
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import kubernetes_validate.utils as kubernetes_schemas
import pytest
import yaml

from rendering import render_variant
from variants import TEMPLATE_ROOT, Variant, defaults, matrix_axes

SERVER_DATABASES = ("postgresql", "mysql")
RELEASE = "r"
CHART_SOURCES = TEMPLATE_ROOT / "template"
# Environment variables that only a Secret may carry: never a literal value, never values.yaml.
SECRET_SETTINGS = frozenset(
    {
        "SECRET_KEY",
        "SECRET_KEY_PREVIOUS",
        "DATABASE_URL",
        "FIRST_SUPERUSER_PASSWORD",
        "JWT_PRIVATE_KEY",
        "SMTP_PASSWORD",
    }
)


# ---------------------------------------------------------------------------
# Which renders to make: one per combination of the questions the chart and the
# files it is checked against are rendered from, deduplicated by the chart's content.
# ---------------------------------------------------------------------------


def chart_source_root() -> Path:
    """The template folder that renders to deploy/ (its name holds the database condition)."""
    [root] = [path for path in CHART_SOURCES.iterdir() if path.is_dir() and "deploy" in path.name]
    return root


def chart_related_sources() -> list[Path]:
    """The chart, and what the assertions compare it with: settings, image, the probes' routes."""
    package = CHART_SOURCES / "src" / "{{package_name}}"
    sources = [path for path in chart_source_root().rglob("*") if path.is_file()]
    sources += [package / "config.py.jinja", CHART_SOURCES / "Dockerfile.jinja", *package.glob("routes/health*")]
    return sources


@cache
def chart_axes() -> tuple[str, ...]:
    """The matrix questions those files use, in their names or their Jinja."""
    environment = jinja2.Environment()
    names: set[str] = set()
    for path in chart_related_sources():
        texts = [str(path.relative_to(CHART_SOURCES))]
        if path.name.endswith(".jinja"):
            texts.append(path.read_text(encoding="utf-8"))
        for text in texts:
            names |= jinja2.meta.find_undeclared_variables(environment.parse(text))
    return tuple(axis for axis in matrix_axes() if axis in names | {"database"})


def chart_answers() -> list[dict[str, Any]]:
    """Every server-database combination of those questions; the others keep their defaults."""
    choices = [SERVER_DATABASES if axis == "database" else matrix_axes()[axis] for axis in chart_axes()]
    return [{**defaults(), **dict(zip(chart_axes(), combo, strict=True))} for combo in itertools.product(*choices)]


def answers_id(answers: dict[str, Any]) -> str:
    """The variant id (as tests/test_variants.py spells it) over the questions the chart uses."""
    return Variant(tuple((axis, answers[axis]) for axis in chart_axes())).id


def render_project(template: Path, destination: Path, answers: dict[str, Any]) -> Path:
    """Render a variant without its tests and without the secret-making task (the chart needs neither)."""
    return render_variant(template, destination, answers, skip_tasks=True, exclude=["tests/"])


def digest(directory: Path) -> str:
    hasher = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            hasher.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes() + b"\0")
    return hasher.hexdigest()


@dataclass
class Chart:
    """One distinct chart, and every rendered project whose chart is exactly this one."""

    path: Path
    projects: list[Path]
    ids: list[str]

    @property
    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = yaml.safe_load((self.path / "values.yaml").read_text(encoding="utf-8"))
        return values

    @property
    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = json.loads((self.path / "values.schema.json").read_text(encoding="utf-8"))
        return schema

    @property
    def signs_with_rsa(self) -> bool:
        return "jwtKeys" in self.values

    def __str__(self) -> str:
        return f"chart of {', '.join(self.ids)}"


@pytest.fixture(scope="session")
def charts(template_path: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Chart]:
    root = tmp_path_factory.mktemp("charts")
    by_digest: dict[str, Chart] = {}
    for answers in chart_answers():
        project = render_project(template_path, root / answers_id(answers), answers)
        [chart_path] = (project / "deploy" / "helm").iterdir()
        chart = by_digest.setdefault(digest(chart_path), Chart(chart_path, [], []))
        chart.projects.append(project)
        chart.ids.append(answers_id(answers))
    return list(by_digest.values())


# ---------------------------------------------------------------------------
# helm and the values files
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def helm_binary() -> str:
    found = shutil.which("helm")
    if found is None:
        raise AssertionError("helm is not on PATH: `.ci/prepare.sh` installs the pinned release")
    return found


def run_helm(helm_binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm_binary, *args], capture_output=True, text=True, timeout=120, check=False)


def values_sets(chart: Chart) -> dict[str, dict[str, Any]]:
    """The values files each chart is templated with, besides its defaults."""
    sets: dict[str, dict[str, Any]] = {
        "defaults": {},
        "ingress": {
            "ingress": {
                "enabled": True,
                "className": "nginx",
                "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "64k"},
                "hosts": ["auth.example.com", "login.example.com"],
                "tlsSecretName": "auth-example-tls",
            },
            "config": {"FORWARDED_ALLOW_IPS": "10.42.0.0/16", "LOG_LEVEL": "WARNING"},
        },
        "autoscaling": {
            "autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 8, "targetCPUUtilizationPercentage": 60},
            "podDisruptionBudget": {"maxUnavailable": 2},
            "config": {"DB_POOL_SIZE": 4, "DB_MAX_OVERFLOW": 2, "PASSWORD_HASH_CONCURRENCY": 2},
        },
        "e-mail": {
            "config": {
                "SMTP_HOST": "smtp.example.com",
                "SMTP_PORT": 587,
                "SMTP_USERNAME": "service@example.com",
                "SMTP_TLS": "starttls",
                "EMAIL_FROM": "Service <no-reply@example.com>",
                "PASSWORD_RESET_TOKEN_EXPIRE_MINUTES": 60,
                "OPEN_REGISTRATION": True,
                "REQUIRE_EMAIL_VERIFICATION": True,
            }
        },
        "one-replica": {
            "replicaCount": 1,
            "image": {"repository": "registry.example.com/team/service", "tag": "1.2.3", "pullPolicy": "Always"},
            "imagePullSecrets": [{"name": "registry-credentials"}],
            "spreadAcrossNodes": False,
            "shutdown": {"preStopSleepSeconds": 0, "gracefulTimeoutSeconds": 45},
            "podAnnotations": {"example.com/team": "identity"},
            "nodeSelector": {"kubernetes.io/arch": "amd64"},
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "auth", "effect": "NoSchedule"}],
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["general"]}]}
                        ]
                    }
                }
            },
        },
    }
    if chart.signs_with_rsa:
        sets["inline-keys"] = {"jwtKeys": {"mountAsFiles": False, "previousPublicKeys": []}}
        sets["key-rotation"] = {
            "jwtKeys": {"mountAsFiles": True, "previousPublicKeys": ["JWT_PUBLIC_KEY_2025", "JWT_PUBLIC_KEY_2024"]}
        }
        sets["inline-keys-rotation"] = {
            "jwtKeys": {"mountAsFiles": False, "previousPublicKeys": ["JWT_PUBLIC_KEY_PREVIOUS"]}
        }
    return sets


# Lint (which renders NOTES.txt too) with the values that take each of its branches.
LINTED_VALUES = ("defaults", "ingress")


@cache
def supported_versions(chart_path: Path) -> tuple[str, str]:
    """The oldest (Chart.yaml's kubeVersion) and the newest Kubernetes the chart supports."""
    constraint = yaml.safe_load((chart_path / "Chart.yaml").read_text(encoding="utf-8"))["kubeVersion"]
    oldest = re.search(r">=\s*v?(\d+)\.(\d+)", constraint)
    assert oldest is not None, f"kubeVersion {constraint!r} names no oldest version"
    below = re.search(r"<\s*v?(\d+)\.(\d+)", constraint)
    # With no upper bound, the newest is the newest whose schemas kubernetes-validate ships.
    newest = f"{below[1]}.{int(below[2]) - 1}.0" if below else kubernetes_schemas.latest_version()
    return f"{oldest[1]}.{oldest[2]}.0", newest


@dataclass
class Rendering:
    chart: Chart
    values_name: str
    kubernetes: str
    objects: list[dict[str, Any]]

    def __str__(self) -> str:
        return f"{self.chart}, values {self.values_name}, Kubernetes {self.kubernetes}"

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [item for item in self.objects if item["kind"] == kind]

    def one(self, kind: str) -> dict[str, Any]:
        [item] = [item for item in self.release_objects if item["kind"] == kind]
        return item

    @property
    def hooks(self) -> list[dict[str, Any]]:
        return [item for item in self.objects if "helm.sh/hook" in annotations_of(item)]

    @property
    def release_objects(self) -> list[dict[str, Any]]:
        """The objects the release creates and keeps (everything but hooks)."""
        return [item for item in self.objects if "helm.sh/hook" not in annotations_of(item)]


def annotations_of(item: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = item["metadata"].get("annotations") or {}
    return found


def values_file(directory: Path, name: str, values: dict[str, Any]) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def renderings(charts: list[Chart], helm_binary: str, tmp_path_factory: pytest.TempPathFactory) -> list[Rendering]:
    """`helm lint --strict` of every chart, and its `helm template` with every values set.

    The chart does not vary with the cluster's version (checked on the defaults), so each
    values set is rendered once, for the oldest supported Kubernetes, and its objects are
    validated against the schemas of both ends of the range.
    """
    directory = tmp_path_factory.mktemp("values")
    results = []
    for index, chart in enumerate(charts):
        oldest, newest = supported_versions(chart.path)
        for name, values in values_sets(chart).items():
            path = values_file(directory, f"{index}-{name}", values)
            if name in LINTED_VALUES:
                linted = run_helm(
                    helm_binary, "lint", "--strict", str(chart.path), "-f", str(path), "--kube-version", oldest
                )
                assert linted.returncode == 0, f"helm lint --strict, {chart}, {name}:\n{linted.stdout}{linted.stderr}"
            results.append(Rendering(chart, name, oldest, helm_template(helm_binary, chart, path, oldest)))
        on_newest = helm_template(helm_binary, chart, directory / f"{index}-defaults.yaml", newest)
        on_oldest = next(r.objects for r in results if r.chart is chart and r.values_name == "defaults")
        assert on_newest == on_oldest, f"{chart} renders differently for Kubernetes {newest}: render per version"
    return results


def helm_template(helm_binary: str, chart: Chart, values: Path, version: str) -> list[dict[str, Any]]:
    rendered = run_helm(helm_binary, "template", RELEASE, str(chart.path), "-f", str(values), "--kube-version", version)
    assert rendered.returncode == 0, f"helm template, {chart}, {values.name}, {version}:\n{rendered.stderr}"
    return [item for item in yaml.safe_load_all(rendered.stdout) if item]


# ---------------------------------------------------------------------------
# What the rendered project says: its routes, its settings, its image's user
# ---------------------------------------------------------------------------


def package_dir(project: Path) -> Path:
    [package] = [path for path in (project / "src").iterdir() if path.is_dir()]
    return package


def get_routes(project: Path) -> set[str]:
    """GET paths of the routers that main.py includes (the routes modules, read as source)."""
    package = package_dir(project)
    included = set(re.findall(r"include_router\((\w+)\.router", (package / "main.py").read_text(encoding="utf-8")))
    routes = set()
    for module in (package / "routes").glob("*.py"):
        if module.stem not in included:
            continue
        tree = ast.parse(module.read_text(encoding="utf-8"))
        prefix = ""
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "APIRouter":
                prefix = next((ast.literal_eval(kw.value) for kw in node.keywords if kw.arg == "prefix"), "")
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for decorator in node.decorator_list:
                    if (
                        isinstance(decorator, ast.Call)
                        and isinstance(decorator.func, ast.Attribute)
                        and decorator.func.attr == "get"
                        and decorator.args
                    ):
                        routes.add(prefix + ast.literal_eval(decorator.args[0]))
    return routes


@dataclass(frozen=True)
class Setting:
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] | None = None


def settings_of(project: Path) -> dict[str, Setting]:
    """The fields of the rendered `Settings` class, by environment variable, with their limits."""
    tree = ast.parse((package_dir(project) / "config.py").read_text(encoding="utf-8"))
    [settings] = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Settings"]
    fields = {}
    for statement in settings.body:
        if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
            continue
        if statement.target.id == "model_config":
            continue
        limits: dict[str, Any] = {}
        for node in ast.walk(statement.annotation):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Field":
                keywords = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg in ("ge", "le")}
                limits.update(minimum=keywords.get("ge"), maximum=keywords.get("le"))
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Literal":
                limits["choices"] = tuple(ast.literal_eval(node.slice))
        fields[statement.target.id.upper()] = Setting(**limits)
    return fields


def image_uid(project: Path) -> int:
    """The Dockerfile's final USER, which must be the numeric id that useradd gave the app user."""
    dockerfile = (project / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)
    created = re.findall(r"useradd\b.*--uid\s+(\d+)", dockerfile)
    assert users, "the Dockerfile sets no USER"
    assert users[-1].isdigit(), f"the Dockerfile's USER must be numeric: {users}"
    assert users[-1] in created, f"USER {users[-1]} is not the uid useradd gives the app user ({created})"
    return int(users[-1])


def containers(pod_owner: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_owner["spec"]["template"]["spec"]
    found: list[dict[str, Any]] = spec["containers"] + spec.get("initContainers", [])
    return found


def env_names(container: dict[str, Any]) -> set[str]:
    return {item["name"] for item in container.get("env", [])}


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair in a nested object."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def references(pod_spec: dict[str, Any]) -> set[tuple[str, str]]:
    """The (kind, name) of every object a pod spec refers to."""
    found = set()
    for key, value in walk(pod_spec):
        if key in ("secretKeyRef", "secretRef") and isinstance(value, dict):
            found.add(("Secret", value["name"]))
        elif key in ("configMapKeyRef", "configMapRef", "configMap") and isinstance(value, dict):
            found.add(("ConfigMap", value["name"]))
        elif key == "secret" and isinstance(value, dict) and "secretName" in value:
            found.add(("Secret", value["secretName"]))
        elif key == "persistentVolumeClaim" and isinstance(value, dict):
            found.add(("PersistentVolumeClaim", value["claimName"]))
        elif key == "serviceAccountName":
            found.add(("ServiceAccount", value))
        elif key == "imagePullSecrets":
            found |= {("Secret", item["name"]) for item in value}
    return found


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


# ---------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------


def test_sqlite_variants_render_no_chart(template_path: Path, tmp_path: Path) -> None:
    for algorithm in matrix_axes()["jwt_algorithm"]:
        answers = {**defaults(), "database": "sqlite", "jwt_algorithm": algorithm}
        project = render_project(template_path, tmp_path / algorithm, answers)
        assert (project / "Dockerfile").is_file()
        assert not (project / "deploy").exists(), f"a SQLite variant got {sorted((project / 'deploy').rglob('*'))}"
        # Its README says why, and how to run SQLite on one node instead.
        assert "There is no Helm chart for SQLite" in (project / "README.md").read_text(encoding="utf-8")


def test_every_server_variant_renders_a_chart_that_lints_and_templates(
    charts: list[Chart], renderings: list[Rendering]
) -> None:
    rendered_ids = sorted(variant for chart in charts for variant in chart.ids)
    assert rendered_ids == sorted(answers_id(answers) for answers in chart_answers())
    assert {"jwt_algorithm", "database"} <= set(chart_axes())
    for chart in charts:
        assert [r.values_name for r in renderings if r.chart is chart] == list(values_sets(chart))


def test_every_object_is_valid_for_the_oldest_and_newest_supported_kubernetes(renderings: list[Rendering]) -> None:
    failures = []
    checked: set[str] = set()
    for rendering in renderings:
        for item, version in itertools.product(rendering.objects, supported_versions(rendering.chart.path)):
            key = version + json.dumps(item, sort_keys=True)
            if key in checked:
                continue
            checked.add(key)
            try:
                kubernetes_schemas.validate(item, version, strict=True)
            except kubernetes_schemas.ValidationError as error:
                path = ".".join(str(part) for part in error.path)
                failures.append(f"{rendering}, for {version}: {item['kind']} {path}: {error.message}")
            except kubernetes_schemas.SchemaNotFoundError as error:
                failures.append(f"{rendering}, for {version}: {error.message}")
    assert not failures, "\n".join(failures)
    assert checked


def test_the_oldest_supported_version_has_schemas_and_older_clusters_are_refused(
    charts: list[Chart], helm_binary: str
) -> None:
    known = {kubernetes_schemas.major_minor(version) for version in kubernetes_schemas.all_versions()}
    for chart in charts:
        oldest, newest = supported_versions(chart.path)
        assert kubernetes_schemas.major_minor(oldest) in known, f"kubernetes-validate has no schemas for {oldest}"
        assert kubernetes_schemas.major_minor(newest) in known
        major, minor, _ = oldest.split(".")
        older = f"{major}.{int(minor) - 1}.0"
        refused = run_helm(helm_binary, "template", RELEASE, str(chart.path), "--kube-version", older)
        assert refused.returncode != 0
        assert "kubeVersion" in refused.stderr, refused.stderr


def test_the_release_is_what_the_values_ask_for(renderings: list[Rendering]) -> None:
    for rendering in renderings:
        kinds = sorted(item["kind"] for item in rendering.release_objects)
        expected = ["ConfigMap", "Deployment", "PodDisruptionBudget", "Service"]
        expected += ["Ingress"] if rendering.values_name == "ingress" else []
        expected += ["HorizontalPodAutoscaler"] if rendering.values_name == "autoscaling" else []
        assert kinds == sorted(expected), rendering
        # Secrets only by reference: the chart never makes one.
        assert not rendering.of_kind("Secret"), rendering
        deployment = rendering.one("Deployment")
        if rendering.values_name == "autoscaling":
            assert "replicas" not in deployment["spec"], "the HPA, not the Deployment, owns the replica count"
            hpa = rendering.one("HorizontalPodAutoscaler")
            assert hpa["apiVersion"] == "autoscaling/v2"
            assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
            [metric] = hpa["spec"]["metrics"]
            assert metric["resource"]["name"] == "cpu"


def test_probes_call_real_routes_of_the_service(renderings: list[Rendering]) -> None:
    for rendering in renderings:
        [app] = containers(rendering.one("Deployment"))
        assert app["startupProbe"]["httpGet"]["path"] == "/health/ready", rendering
        assert app["readinessProbe"]["httpGet"]["path"] == "/health/ready", rendering
        assert app["livenessProbe"]["httpGet"]["path"] == "/health", rendering
        ports = {port["name"]: port["containerPort"] for port in app["ports"]}
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert app[probe]["httpGet"]["port"] in ports
            for project in rendering.chart.projects:
                assert app[probe]["httpGet"]["path"] in get_routes(project), f"{rendering}: {probe} of {project.name}"
        # The port the probes use is the one uvicorn listens on.
        assert f"--port={ports['http']}" in app["command"]


def test_env_names_are_settings_of_the_service(renderings: list[Rendering]) -> None:
    for rendering in renderings:
        config = rendering.one("ConfigMap")
        names = set(config["data"])
        for owner in (rendering.one("Deployment"), *rendering.hooks):
            for container in containers(owner):
                names |= env_names(container)
                for source in container.get("envFrom", []):
                    assert source["configMapRef"]["name"] == config["metadata"]["name"]
        for project in rendering.chart.projects:
            unknown = names - set(settings_of(project))
            assert not unknown, f"{rendering}: {sorted(unknown)} are not settings of {project.name}'s config.py"
        # A secret setting always comes from the Secret, never as a literal or from the ConfigMap.
        for owner in (rendering.one("Deployment"), *rendering.hooks):
            for container in containers(owner):
                for item in container.get("env", []):
                    if item["name"] in SECRET_SETTINGS:
                        assert "secretKeyRef" in item.get("valueFrom", {}), f"{rendering}: {item}"
        assert not set(config["data"]) & SECRET_SETTINGS, rendering


def test_values_schema_matches_the_settings_limits(charts: list[Chart]) -> None:
    for chart in charts:
        config_schema = chart.schema["properties"]["config"]
        assert config_schema["additionalProperties"] is False
        for project in chart.projects:
            settings = settings_of(project)
            for name, rule in config_schema["properties"].items():
                assert name in settings, f"{chart}: values.schema.json allows {name}, not a setting of {project.name}"
                assert name not in SECRET_SETTINGS, f"{chart}: {name} belongs in the Secret"
                setting = settings[name]
                if setting.choices is not None:
                    assert tuple(rule["enum"]) == setting.choices, (chart, name)
                if setting.minimum is not None or setting.maximum is not None:
                    assert (rule.get("minimum"), rule.get("maximum")) == (setting.minimum, setting.maximum), (
                        f"{chart}: {name} limits differ from config.py"
                    )
            assert set(chart.values["config"]) <= set(config_schema["properties"])


def test_nothing_secret_in_values_yaml(charts: list[Chart]) -> None:
    for chart in charts:
        text = (chart.path / "values.yaml").read_text(encoding="utf-8")
        assert "-----BEGIN" not in text
        keys = {key for key, _ in walk(chart.values)}
        assert not keys & SECRET_SETTINGS, f"{chart}: values.yaml holds {sorted(keys & SECRET_SETTINGS)}"
        assert chart.values["existingSecret"], "the chart needs the name of an existing Secret"


def test_pods_run_as_the_images_non_root_user_with_nothing_to_escalate(renderings: list[Rendering]) -> None:
    for rendering in renderings:
        uids = {image_uid(project) for project in rendering.chart.projects}
        for owner in (rendering.one("Deployment"), *rendering.hooks):
            pod = owner["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True
            assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
            assert {pod["securityContext"]["runAsUser"]} == uids, rendering
            assert pod["automountServiceAccountToken"] is False
            for container in containers(owner):
                context = container["securityContext"]
                assert context["runAsUser"] in uids
                assert context["runAsNonRoot"] is True
                assert context["allowPrivilegeEscalation"] is False
                assert context["readOnlyRootFilesystem"] is True
                assert context["capabilities"] == {"drop": ["ALL"]}
                assert context["seccompProfile"] == {"type": "RuntimeDefault"}
                requests = container["resources"]["requests"]
                assert requests["cpu"]
                assert requests["memory"]
                assert container["resources"]["limits"]["memory"]
                # /tmp is the only writable path, a small in-memory emptyDir.
                mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
                assert "/tmp" in mounts
                for path, mount in mounts.items():
                    assert path == "/tmp" or mount.get("readOnly") is True, (rendering, path)


def uvicorn_options(command: list[str]) -> dict[str, str]:
    """`--name value` and `--name=value` options of a command line, by name ("" for flags)."""
    options = {}
    for index, part in enumerate(command):
        if part.startswith("--"):
            name, _, value = part.partition("=")
            following = command[index + 1] if index + 1 < len(command) else "--"
            options[name] = value or ("" if following.startswith("--") else following)
    return options


def image_command(project: Path) -> list[str]:
    dockerfile = (project / "Dockerfile").read_text(encoding="utf-8")
    commands = re.findall(r"^CMD\s+(\[.*\])\s*$", dockerfile, flags=re.MULTILINE)
    assert commands, "the Dockerfile has no CMD in exec form"
    command: list[str] = json.loads(commands[-1])
    return command


def test_one_uvicorn_process_per_pod_with_a_graceful_stop(renderings: list[Rendering]) -> None:
    for rendering in renderings:
        deployment = rendering.one("Deployment")
        [app] = containers(deployment)
        command = app["command"]
        options = uvicorn_options(command)
        for project in rendering.chart.projects:
            # The image's own command, but for the graceful timeout, which the values set.
            image = image_command(project)
            assert command[:2] == image[:2] == ["uvicorn", f"{package_dir(project).name}.main:app"]
            timeout = "--timeout-graceful-shutdown"
            image_options = {name: value for name, value in uvicorn_options(image).items() if name != timeout}
            assert {name: value for name, value in options.items() if name != timeout} == image_options, rendering
        assert "--no-proxy-headers" in options
        assert options.get("--workers", "1") == "1"
        graceful = int(options["--timeout-graceful-shutdown"])
        sleep = app["lifecycle"]["preStop"]["exec"]["command"]
        assert sleep[0] == "sleep"
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace > int(sleep[1]) + graceful, f"{rendering}: SIGKILL would cut the graceful shutdown short"
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        [job] = rendering.hooks
        [migrate] = containers(job)
        assert migrate["command"] == ["python", "-m", package_dir(rendering.chart.projects[0]).name, "migrate"]


def test_changed_config_rolls_the_pods(renderings: list[Rendering]) -> None:
    def pod_annotations(rendering: Rendering) -> dict[str, str]:
        return annotations_of(rendering.one("Deployment")["spec"]["template"])

    for rendering in renderings:
        assert {"checksum/config", "checksum/secret"} <= set(pod_annotations(rendering))
        if rendering.values_name == "ingress":
            [defaults_rendering] = [r for r in renderings if r.chart is rendering.chart and r.values_name == "defaults"]
            assert rendering.one("ConfigMap")["data"] != defaults_rendering.one("ConfigMap")["data"]
            before = pod_annotations(defaults_rendering)["checksum/config"]
            assert pod_annotations(rendering)["checksum/config"] != before


def test_the_migration_hook_refers_only_to_what_exists_before_the_release(renderings: list[Rendering]) -> None:
    for rendering in renderings:
        [job] = rendering.hooks
        assert job["kind"] == "Job"
        assert annotations_of(job)["helm.sh/hook"] == "pre-install,pre-upgrade"
        created = {(item["kind"], item["metadata"]["name"]) for item in rendering.release_objects}
        referred = references(job["spec"]["template"]["spec"])
        assert not referred & created, f"{rendering}: the hook refers to {sorted(referred & created)}"
        existing = {rendering.chart.values["existingSecret"]}
        existing |= {item["name"] for item in job["spec"]["template"]["spec"].get("imagePullSecrets", [])}
        assert referred <= {("Secret", name) for name in existing}, f"{rendering}: {sorted(referred)}"
        # Not even by name, anywhere in the Job.
        created_names = {name for _, name in created}
        mentioned = {value for _, value in walk(job["spec"]) if isinstance(value, str)}
        assert not mentioned & created_names, f"{rendering}: the Job mentions {sorted(mentioned & created_names)}"
        # Its pods are not the Service's nor the disruption budget's.
        job_labels = job["spec"]["template"]["metadata"]["labels"]
        assert not selects(rendering.one("Service")["spec"]["selector"], job_labels)
        assert not selects(rendering.one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"], job_labels)


def test_the_disruption_budget_leaves_room_below_the_replicas(renderings: list[Rendering]) -> None:
    for rendering in renderings:
        deployment = rendering.one("Deployment")
        budget = rendering.one("PodDisruptionBudget")
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selects(budget["spec"]["selector"]["matchLabels"], pod_labels)
        assert selects(rendering.one("Service")["spec"]["selector"], pod_labels)
        autoscalers = rendering.of_kind("HorizontalPodAutoscaler")
        replicas = autoscalers[0]["spec"]["minReplicas"] if autoscalers else deployment["spec"]["replicas"]
        if "minAvailable" in budget["spec"]:
            assert isinstance(budget["spec"]["minAvailable"], int)
            assert budget["spec"]["minAvailable"] < replicas, f"{rendering}: a drain could never evict a pod"
        else:
            assert isinstance(budget["spec"]["maxUnavailable"], int)
            assert budget["spec"]["maxUnavailable"] >= 1, rendering


def test_rsa_keys_come_from_the_existing_secret_as_files_or_inline(renderings: list[Rendering]) -> None:
    rsa = [rendering for rendering in renderings if rendering.chart.signs_with_rsa]
    assert rsa, "no chart of an RS256 variant was rendered"
    for rendering in rsa:
        deployment = rendering.one("Deployment")
        [app] = containers(deployment)
        env = {item["name"]: item for item in app["env"]}
        keys = rendering.chart.values["jwtKeys"] | values_sets(rendering.chart)[rendering.values_name].get(
            "jwtKeys", {}
        )
        volumes = {volume["name"]: volume for volume in deployment["spec"]["template"]["spec"]["volumes"]}
        mounted = {item["key"] for item in volumes["jwt-keys"]["secret"]["items"]} if "jwt-keys" in volumes else set()
        if keys["mountAsFiles"]:
            assert {"JWT_PRIVATE_KEY_FILE", "JWT_PUBLIC_KEY_FILE"} <= set(env)
            assert not {"JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY"} & set(env)
            assert {"JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY"} <= mounted
            assert volumes["jwt-keys"]["secret"]["secretName"] == rendering.chart.values["existingSecret"]
            # Group-readable only (the pod's fsGroup): the modes Kubernetes gives Secret files.
            assert volumes["jwt-keys"]["secret"]["defaultMode"] == 0o440
        else:
            assert env["JWT_PRIVATE_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "JWT_PRIVATE_KEY"
            assert env["JWT_PUBLIC_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "JWT_PUBLIC_KEY"
            assert "JWT_PRIVATE_KEY_FILE" not in env
            assert "JWT_PRIVATE_KEY" not in mounted
        previous = keys["previousPublicKeys"]
        if previous:
            files = env["JWT_PREVIOUS_PUBLIC_KEY_FILES"]["value"].split(",")
            assert [Path(file).name for file in files] == previous
            assert set(previous) <= mounted
        else:
            assert "JWT_PREVIOUS_PUBLIC_KEY_FILES" not in env


def test_the_readme_secret_command_sets_every_key_the_chart_needs(renderings: list[Rendering]) -> None:
    for rendering in renderings:
        if rendering.values_name != "defaults":
            continue
        deployment = rendering.one("Deployment")
        pod = deployment["spec"]["template"]["spec"]
        needed = {
            item["valueFrom"]["secretKeyRef"]["key"]
            for container in pod["containers"]
            for item in container.get("env", [])
            if "secretKeyRef" in item.get("valueFrom", {}) and not item["valueFrom"]["secretKeyRef"].get("optional")
        }
        needed |= {item["key"] for volume in pod["volumes"] if "secret" in volume for item in volume["secret"]["items"]}
        for project in rendering.chart.projects:
            readme = (project / "README.md").read_text(encoding="utf-8")
            # The first such command creates the Secret; later ones change it (key rotation).
            commands = re.findall(r"kubectl create secret generic .+?(?:\n\n|```)", readme, flags=re.DOTALL)
            assert commands, f"{project.name}'s README does not say how to create the Secret"
            command = commands[0]
            named = set(re.findall(r"--from-(?:literal|file)=(\w+)=", command))
            assert needed <= named, f"{project.name}'s README leaves out {sorted(needed - named)}"
            assert f"generic {rendering.chart.values['existingSecret']}" in command


BAD_VALUES: list[tuple[str, dict[str, Any]]] = [
    ("no replicas", {"replicaCount": 0}),
    ("replicas as a word", {"replicaCount": "two"}),
    ("an unknown value", {"replicas": 3}),
    ("a secret in the ConfigMap", {"config": {"SECRET_KEY": "x" * 64}}),
    ("a database URL in the ConfigMap", {"config": {"DATABASE_URL": "postgresql+psycopg://u:p@db/x"}}),
    ("a misspelt setting", {"config": {"ACCESS_TOKEN_EXPIRY_MINUTES": 30}}),
    ("a token lifetime out of range", {"config": {"ACCESS_TOKEN_EXPIRE_MINUTES": 0}}),
    ("an unknown log level", {"config": {"LOG_LEVEL": "LOUD"}}),
    ("an unknown TLS mode for e-mail", {"config": {"SMTP_TLS": "maybe"}}),
    ("registration as a word", {"config": {"OPEN_REGISTRATION": "yes"}}),
    ("an unknown pull policy", {"image": {"repository": "x", "pullPolicy": "Sometimes"}}),
    ("no existing secret", {"existingSecret": ""}),
    ("a budget that blocks drains", {"podDisruptionBudget": {"enabled": True, "maxUnavailable": 0}}),
    ("a negative grace period", {"shutdown": {"preStopSleepSeconds": -1, "gracefulTimeoutSeconds": 20}}),
]
BAD_RSA_VALUES: list[tuple[str, dict[str, Any]]] = [
    (
        "the current key as a previous one",
        {"jwtKeys": {"mountAsFiles": True, "previousPublicKeys": ["JWT_PUBLIC_KEY"]}},
    ),
    ("keys mode as a word", {"jwtKeys": {"mountAsFiles": "yes", "previousPublicKeys": []}}),
]


def test_a_wrong_value_fails_on_the_schema(charts: list[Chart], helm_binary: str, tmp_path: Path) -> None:
    cases = [(charts[0], name, values) for name, values in BAD_VALUES]
    rsa = [chart for chart in charts if chart.signs_with_rsa]
    cases += [(rsa[0], name, values) for name, values in BAD_RSA_VALUES] if rsa else []
    for index, (chart, name, values) in enumerate(cases):
        path = values_file(tmp_path, f"bad-{index}", values)
        result = run_helm(helm_binary, "template", RELEASE, str(chart.path), "-f", str(path))
        assert result.returncode != 0, f"{chart}: {name} was accepted"
        assert "values don't meet the specifications of the schema" in result.stderr, f"{name}: {result.stderr}"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {
                "autoscaling": {
                    "enabled": True,
                    "minReplicas": 5,
                    "maxReplicas": 3,
                    "targetCPUUtilizationPercentage": 70,
                }
            },
            "autoscaling.minReplicas (5) must not exceed autoscaling.maxReplicas (3)",
        ),
        ({"replicaCount": 12}, "above database.maxConnections (100)"),
        ({"config": {"DB_POOL_SIZE": 40, "DB_MAX_OVERFLOW": 10}}, "above database.maxConnections (100)"),
        # Left out of config, the pool is the service's default, 10 + 10: 5 pods x 20 + 1 > 100.
        (
            {"replicaCount": 4, "config": {"DB_POOL_SIZE": None, "DB_MAX_OVERFLOW": None}},
            "(DB_POOL_SIZE + DB_MAX_OVERFLOW = 20) + 1 for the migration = 101 connections",
        ),
        (
            {"config": {"REQUIRE_EMAIL_VERIFICATION": True}},
            "config.REQUIRE_EMAIL_VERIFICATION=true needs config.SMTP_HOST",
        ),
        ({"config": {"SMTP_HOST": "smtp.example.com"}}, "config.EMAIL_FROM is required when config.SMTP_HOST is set"),
        (
            {"autoscaling": {"enabled": True}, "resources": {"requests": {"cpu": None}}},
            "autoscaling on CPU needs resources.requests.cpu",
        ),
    ],
    ids=[
        "autoscaling-bounds",
        "replicas-exhaust-connections",
        "pool-exhausts-connections",
        "default-pool-exhausts-connections",
        "verification-without-e-mail",
        "e-mail-without-sender",
        "hpa-without-cpu",
    ],
)
def test_values_that_contradict_each_other_fail_with_a_message(
    values: dict[str, Any], message: str, charts: list[Chart], helm_binary: str, tmp_path: Path
) -> None:
    path = values_file(tmp_path, "bad", values)
    result = run_helm(helm_binary, "template", RELEASE, str(charts[0].path), "-f", str(path))
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
