"""title-enrich: an `enricher` plugin (world `cam:plugin/enricher@0.1.0`).

Reads each lead's job title for its seniority (c-level, vp, director,
manager, senior, entry, intern), its department and whether it is a decision
maker, and fills in a missing company domain from a non-free-mail address.
The rules are in rules.py; this module only speaks WIT.

The world's exports are the methods of `WitWorld`; the WIT types are
dataclasses in `wit_world.imports.types` and each host import is a module in
`wit_world.imports` (`componentize-py -d ../../../wit -w enricher bindings
/tmp/cam-bindings` writes them out for an editor to read).
"""

import json
from typing import List

import wit_world
from componentize_py_types import Err, Ok, Result
from wit_world.imports import config, log, types

import rules


def decision_makers() -> tuple:
    """The levels counted as decision makers: config `decision_makers`, a TOML
    list that reaches the plugin as JSON text, else rules' default."""
    raw = config.get("decision_makers")
    if raw is None:
        return rules.DEFAULT_DECISION_MAKERS
    levels = json.loads(raw)
    if not isinstance(levels, list) or not all(isinstance(level, str) for level in levels):
        raise ValueError(f"config decision_makers must be a list of levels, got {raw}")
    return tuple(levels)


def enrichment(lead: types.Lead, makers: tuple) -> Result[types.Enrichment, str]:
    try:
        found = rules.enrich_lead(lead.email, lead.title, lead.domain, makers)
    except ValueError as error:
        # One lead's error is that lead's `err`; the other leads go on.
        return Err(str(error))
    return Ok(
        types.Enrichment(
            email=None,
            deliverable=True,
            company=None,
            domain=found["domain"],
            title=None,
            country=None,
            employees=None,
            attributes=[types.Attribute(key=k, value=v) for k, v in found["attributes"].items()],
            notes=found["notes"],
        )
    )


class WitWorld(wit_world.WitWorld):
    def describe(self) -> types.PluginInfo:
        return types.PluginInfo(
            name="title-enrich",
            version="0.1.0",
            description="Seniority, department and decision-maker flag from the job title; "
            "the company domain from a non-free-mail address.",
            needs=[types.Capability.LOG, types.Capability.CONFIG],
        )

    def enrich(self, leads: List[types.Lead]) -> List[Result[types.Enrichment, str]]:
        makers = decision_makers()
        out = [enrichment(lead, makers) for lead in leads]
        found = sum(1 for r in out if isinstance(r, Ok) and r.value.attributes)
        log.log(
            log.Level.DEBUG,
            "read job titles",
            [
                types.Attribute(key="leads", value=str(len(leads))),
                types.Attribute(key="with_seniority_or_department", value=str(found)),
            ],
        )
        return out
