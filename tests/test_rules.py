"""The rules file: the default loads, and every mistake names its field."""

from __future__ import annotations

import tomllib

import pytest

from config import DEFAULT_RULES_FILE
from engine.rules import RulesError, load_rules, parse_rules


def default_document():
    return tomllib.loads(DEFAULT_RULES_FILE.read_text())


def test_the_shipped_rules_load():
    rules = load_rules(DEFAULT_RULES_FILE)
    assert rules.resources == ("coins", "logs", "steel", "bricks", "cement")
    assert rules.catalog["steel"].price == {"coins": 50}
    assert rules.catalog["steel"].deltas(2) == {"coins": -100, "steel": 2}


def broken(change):
    document = default_document()
    change(document)
    with pytest.raises(RulesError) as caught:
        parse_rules(document)
    return str(caught.value)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("resources"), "resources: is required"),
        (lambda d: d.update(resources=[]), "resources: must be a non-empty list"),
        (lambda d: d.update(resources=["coins", "Coins"]), "resources[1]"),
        (lambda d: d.update(resources=["coins", "coins"]), "resources: lists a resource twice"),
        (lambda d: d["catalog"]["steel"]["price"].update(coins=-5), "catalog.steel.price.coins"),
        (lambda d: d["catalog"]["steel"]["price"].update(gold=5), "catalog.steel.price.gold"),
        (lambda d: d["catalog"]["steel"].update(max_quantity="10"), "catalog.steel.max_quantity"),
        (lambda d: d["catalog"]["steel"].pop("title"), "catalog.steel.title: is required"),
        (lambda d: d["catalog"]["steel"].update(colour="red"), "catalog.steel.colour: unknown"),
        (lambda d: d["catalog"]["steel"].update(gives={"coins": 1}), "catalog.steel.gives"),
        (lambda d: d["catalog"].update(Steel=d["catalog"]["steel"]), "catalog.Steel"),
        (lambda d: d["limits"].update(max_balance=10**15), "limits.max_balance"),
        (lambda d: d["limits"].update(max_grant_amount=True), "limits.max_grant_amount"),
        (lambda d: d.update(extra=1), "extra: unknown field"),
        (lambda d: d.update(catalog={}), "catalog: must list at least one item"),
    ],
)
def test_a_mistake_names_its_field(change, field):
    assert field in broken(change)


def test_a_missing_file_and_bad_toml_are_reported(tmp_path):
    with pytest.raises(RulesError, match="not found"):
        load_rules(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("resources = [")
    with pytest.raises(RulesError, match="not valid TOML"):
        load_rules(bad)


def test_the_file_name_is_in_the_message(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(
        DEFAULT_RULES_FILE.read_text().replace("price = { coins = 50 }", "price = { coins = 0 }")
    )
    with pytest.raises(RulesError, match=r"rules\.toml: catalog\.steel\.price\.coins"):
        load_rules(path)
