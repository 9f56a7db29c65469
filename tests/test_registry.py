"""The champion rule: a new version takes the alias only with at least the champion's accuracy."""

from __future__ import annotations

from types import SimpleNamespace

from mnist_pipeline.tracking.registry import decide_promotion, promote_if_better


def test_the_first_version_is_always_the_champion():
    decision = decide_promotion("1", 0.5, None)
    assert decision.promote
    assert decision.reason == "promoted: version 1 is the first champion (val_accuracy 0.5000)"


def test_a_better_or_equal_version_takes_the_alias():
    assert decide_promotion("3", 0.99, ("2", 0.98)).promote
    equal = decide_promotion("3", 0.98, ("2", 0.98))
    assert equal.promote
    assert equal.reason == "promoted: val_accuracy 0.9800 >= 0.9800 of champion version 2"


def test_a_worse_version_does_not():
    decision = decide_promotion("4", 0.97, ("2", 0.98))
    assert not decision.promote
    assert decision.reason == "not promoted: val_accuracy 0.9700 < 0.9800 of champion version 2"


class _Registry:
    """An in-memory stand-in for the MLflow registry calls that the promotion makes."""

    def __init__(
        self,
        accuracies: dict[str, float],
        models: dict[str, str] | None = None,
        precisions: dict[str, str] | None = None,
    ) -> None:
        self.accuracies = accuracies  # run id -> val_accuracy; version i has run "run-i"
        self.models = models or {}  # run id -> train.model (absent: a run from before it)
        self.precisions = precisions or {}  # run id -> train.precision (likewise)
        self.tags = {run.removeprefix("run-"): {} for run in accuracies}
        self.alias: str | None = None
        self.stale_alias_reads = 0  # reads that miss an alias set meanwhile by another run

    def _version(self, version: str) -> SimpleNamespace:
        return SimpleNamespace(version=version, run_id=f"run-{version}", tags=self.tags[version])

    def search_model_versions(self, filter_string: str) -> list[SimpleNamespace]:
        return [
            self._version(v)
            for v in self.tags
            if f"run-{v}'" in filter_string or "run_id" not in filter_string
        ]

    def get_run(self, run_id: str) -> SimpleNamespace:
        params = {"train.model": self.models[run_id]} if run_id in self.models else {}
        if run_id in self.precisions:
            params["train.precision"] = self.precisions[run_id]
        return SimpleNamespace(
            data=SimpleNamespace(
                metrics={"val_accuracy": self.accuracies[run_id]}, params=params, tags={}
            )
        )

    def get_model_version_by_alias(self, name: str, alias: str) -> SimpleNamespace:
        from mlflow.exceptions import MlflowException

        if self.alias is None or self.stale_alias_reads:
            self.stale_alias_reads = max(0, self.stale_alias_reads - 1)
            raise MlflowException("no such alias")
        return self._version(self.alias)

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self.tags[version][key] = value

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self.alias = version


def test_runs_finishing_together_leave_the_alias_on_the_best_version():
    registry = _Registry({"run-1": 0.98, "run-2": 0.97})
    first = promote_if_better(registry, "run-1")
    assert first["champion"] and registry.alias == "1"
    # Version 2's run looked for the champion before version 1's run had set the alias:
    # it promotes itself, then sees the better version and moves the alias back.
    registry.stale_alias_reads = 1
    second = promote_if_better(registry, "run-2")
    assert registry.alias == "1"
    assert not second["champion"]
    assert (
        second["promotion"]
        == registry.tags["2"]["promotion"]
        == (
            "promoted: version 2 is the first champion (val_accuracy 0.9700); then version 1 "
            "(val_accuracy 0.9800), registered at the same time, took the alias"
        )
    )


def test_a_better_lenet5_takes_the_alias_from_the_mlp_and_the_tags_say_which_is_which():
    registry = _Registry({"run-1": 0.984, "run-2": 0.992}, models={"run-2": "lenet5"})
    first = promote_if_better(registry, "run-1")
    second = promote_if_better(registry, "run-2")
    assert registry.alias == "2" and second["champion"]
    assert (first["architecture"], second["architecture"]) == ("mlp", "lenet5")
    assert registry.tags["1"]["architecture"] == "mlp"
    assert registry.tags["2"]["architecture"] == "lenet5"


def test_the_version_tags_say_the_precision_it_was_trained_in():
    registry = _Registry({"run-1": 0.98, "run-2": 0.99}, precisions={"run-2": "mixed_bfloat16"})
    promote_if_better(registry, "run-1")
    outcome = promote_if_better(registry, "run-2")
    assert outcome["precision"] == "mixed_bfloat16"
    assert registry.tags["1"]["precision"] == "float32"
    assert registry.tags["2"]["precision"] == "mixed_bfloat16"
