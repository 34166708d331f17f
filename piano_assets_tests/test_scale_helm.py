"""The Helm values for Kubernetes, linted (no cluster is reachable here to test them on).

The file parses (`yaml.safe_load`), holds the structure Dagster's chart expects for what we use,
and the GPU routing its settings configure is accepted by dagster-k8s's own tag schema.
(yamllint is GPL-3.0, so it is not used.)
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import yaml
from dagster_k8s.job import get_user_defined_k8s_config

from piano_assets.deploy.routing import step_tags
from piano_assets.scale_settings import ExecutorKind
from piano_assets.settings import PianoAssetsSettings

VALUES = Path(__file__).resolve().parents[1] / "deploy" / "helm" / "values.yaml"


def _values() -> dict[str, Any]:
    return yaml.safe_load(VALUES.read_text(encoding="utf-8"))


def _deployment(values: dict[str, Any]) -> dict[str, Any]:
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    return deployment


def _env(deployment: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in deployment["env"]}


def test_values_run_the_code_location_with_the_k8s_launcher_and_executor() -> None:
    values = _values()
    deployment = _deployment(values)
    env = _env(deployment)

    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert "k8sRunLauncher" in values["runLauncher"]["config"]
    assert env["PIANO_ASSETS_EXECUTOR"] == ExecutorKind.K8S.value
    module = deployment["dagsterApiGrpcArgs"][deployment["dagsterApiGrpcArgs"].index("-m") + 1]
    assert importlib.util.find_spec(module) is not None  # piano_assets.definitions
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert values["dagsterDaemon"]["runMonitoring"]["enabled"] is True
    assert values["telemetry"]["enabled"] is False
    assert values["postgresql"]["postgresqlScheme"] == "postgresql+psycopg2"
    assert values["additionalInstanceConfig"]["concurrency"]["pools"]["granularity"] == "op"


def test_every_pod_mounts_the_model_repo_root_where_the_settings_say() -> None:
    deployment = _deployment(_values())
    env = _env(deployment)
    (mount,) = deployment["volumeMounts"]
    volumes = {volume["name"]: volume for volume in deployment["volumes"]}

    assert mount["mountPath"] == env["PIANO_ASSETS_ROOT"]
    assert "persistentVolumeClaim" in volumes[mount["name"]]


def test_muq_steps_go_to_gpu_nodes_as_configured() -> None:
    env = _env(_deployment(_values()))
    settings = PianoAssetsSettings(
        **{
            name.removeprefix("PIANO_ASSETS_").lower(): value
            for name, value in env.items()
            if name.startswith("PIANO_ASSETS_") and name != "PIANO_ASSETS_ROOT"
        }
    )
    assert settings.setting_problems == []

    muq = get_user_defined_k8s_config(step_tags("muq", settings))  # dagster-k8s validates
    audio = get_user_defined_k8s_config(step_tags("audio", settings))

    label, value = env["PIANO_ASSETS_K8S_GPU_NODE_SELECTOR"].split("=")
    assert muq.pod_spec_config["node_selector"] == {label: value}
    assert (
        muq.pod_spec_config["tolerations"][0]["key"] == env["PIANO_ASSETS_K8S_GPU_TOLERATION_KEY"]
    )
    gpus = env["PIANO_ASSETS_K8S_GPUS_PER_MUQ_STEP"]
    assert muq.container_config["resources"]["limits"]["nvidia.com/gpu"] == gpus
    assert audio.pod_spec_config == {}
