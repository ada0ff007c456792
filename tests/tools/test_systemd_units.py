"""daemon/systemd: the unit and the template unit for several instances, read as data.

No systemd runs on these machines: the files are parsed (systemd's syntax:
sections, `Key=value`, keys that may repeat) and held to what the docs say of
them. The template (`courierd@.service`) must give each instance its own env
file, state directory and worker id, and otherwise stay the single unit: same
hardening, same restart and stop policy.
"""

from __future__ import annotations

import re

from courierd.config import ENV_PREFIX, Settings
from tests.support.processes import ROOT

SYSTEMD = ROOT / "daemon" / "systemd"
COURIER_KEY = re.compile(rf"\b{ENV_PREFIX}([A-Z0-9_]+)=")
# What the template sets per instance; every other line is the single unit's.
PER_INSTANCE = {"Description", "Environment", "EnvironmentFile", "StateDirectory",
                "WorkingDirectory"}  # fmt: skip

Unit = dict[str, list[tuple[str, str]]]


def parse_unit(name: str) -> Unit:
    """{section: [(key, value), ...]} in file order (systemd keys may repeat)."""
    sections: Unit = {}
    current: list[tuple[str, str]] | None = None
    for number, raw in enumerate((SYSTEMD / name).read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, equals, value = line.partition("=")
        assert current is not None and equals, f"{name}:{number}: not Key=value: {raw!r}"
        current.append((key.strip(), value.strip()))
    return sections


def values(unit: Unit, section: str, key: str) -> list[str]:
    return [value for k, value in unit[section] if k == key]


def environment(unit: Unit) -> dict[str, str]:
    pairs = {}
    for value in values(unit, "Service", "Environment"):
        for item in value.split():
            name, _, setting = item.partition("=")
            pairs[name] = setting
    return pairs


def test_each_instance_has_its_own_env_file_state_dir_and_worker_id() -> None:
    unit = parse_unit("courierd@.service")

    assert values(unit, "Service", "EnvironmentFile") == ["/etc/courierd/%i.env"]
    env = environment(unit)
    assert env["COURIER_STATE_DIR"] == "/var/lib/courierd/%i"
    assert env["COURIER_WORKER_ID"] == "%H-%i"
    assert values(unit, "Service", "StateDirectory") == ["courierd/%i"]
    assert values(unit, "Service", "WorkingDirectory") == ["/var/lib/courierd/%i"]
    assert "%i" in values(unit, "Unit", "Description")[0]
    # The env file comes after the defaults: systemd lets it override them.
    keys = [key for key, _ in unit["Service"]]
    assert keys.index("EnvironmentFile") > max(
        i for i, key in enumerate(keys) if key == "Environment"
    )


def test_the_template_keeps_the_single_units_policy_and_hardening() -> None:
    single, template = parse_unit("courierd.service"), parse_unit("courierd@.service")

    assert single.keys() == template.keys()
    for section in single:
        ours = [(k, v) for k, v in template[section] if k not in PER_INSTANCE]
        theirs = [(k, v) for k, v in single[section] if k not in PER_INSTANCE]
        assert ours == theirs, section
    service = dict(template["Service"])
    assert service["Type"] == "notify"
    assert service["RestartPreventExitStatus"] == "2"  # a port taken twice is not retried
    assert service["KillSignal"] == "SIGTERM"


def test_every_setting_the_units_name_is_one_courierd_knows() -> None:
    for name in ("courierd.service", "courierd@.service"):
        text = (SYSTEMD / name).read_text()
        for key in COURIER_KEY.findall(text):
            assert key.lower() in Settings.model_fields, f"{name}: {ENV_PREFIX}{key}"
