//! The Python scaffold: an `app.py` built with componentize-py. `./build.sh`
//! leaves `dist/NAME.wasm` and `dist/NAME.toml`.

use super::{Scaffold, manifest};
use crate::plugins::PluginKind;

/// The componentize-py release the scaffold pins (the one the repository's
/// own Python plugin is built and tested with).
pub const COMPONENTIZE_PY: &str = "0.25.1";

/// The files of a Python plugin project.
pub fn scaffold(kind: PluginKind, name: &str) -> Scaffold {
    let stem = name.replace('-', "_");
    let wasm = format!("dist/{stem}.wasm");
    Scaffold {
        files: vec![
            ("app.py".into(), app_py(kind, name)),
            ("build.sh".into(), build_sh(kind, &stem)),
            (
                format!("{stem}.toml"),
                manifest(kind, "`config.get(key)` from `wit_world.imports.config`"),
            ),
            (
                ".gitignore".into(),
                "/.venv\n/dist\n/wit_world\n/componentize_py_*\n/poll_loop.py\n__pycache__/\n".into(),
            ),
            ("README.md".into(), readme(kind, name, &wasm)),
        ],
        build: "./build.sh".into(),
        wasm,
    }
}

fn build_sh(kind: PluginKind, stem: &str) -> String {
    format!(
        r#"#!/bin/sh
# Builds dist/{stem}.wasm (world `{kind}` of wit/) and puts the manifest beside it.
# Uses $COMPONENTIZE_PY when set, else componentize-py {COMPONENTIZE_PY} in ./.venv (installed on first run).
set -eu
cd "$(dirname "$0")"
cpy="${{COMPONENTIZE_PY:-}}"
if [ -z "$cpy" ]; then
    if [ ! -x .venv/bin/componentize-py ]; then
        python3 -m venv .venv
        .venv/bin/pip install --quiet --disable-pip-version-check componentize-py=={COMPONENTIZE_PY}
    fi
    cpy=.venv/bin/componentize-py
fi
mkdir -p dist
"$cpy" -d wit -w {kind} componentize app -o dist/{stem}.wasm.partial
mv dist/{stem}.wasm.partial dist/{stem}.wasm
cp {stem}.toml dist/{stem}.toml
echo "built dist/{stem}.wasm and dist/{stem}.toml"
"#
    )
}

fn app_py(kind: PluginKind, name: &str) -> String {
    let describe = |description: &str, needs: &str| {
        format!(
            "    def describe(self) -> types.PluginInfo:\n        return types.PluginInfo(name=\"{name}\", version=\"0.1.0\", description=\"{description}\", needs=[{needs}])\n"
        )
    };
    let body = match kind {
        PluginKind::LeadSource => format!(
            r#"from typing import Optional

import wit_world
from componentize_py_types import Err
from wit_world.imports import log, types

# Addresses served one page at a time; replace with a call to your API
# (the `http` import, granted in the manifest).
EMAILS = ["ada@example.com", "grace@example.org", "linus@example.net"]


class WitWorld(wit_world.WitWorld):
{}
    # `result<lead-page, string>`: return the page; raise Err("why") for the error.
    def next_page(self, cursor: Optional[str], limit: int) -> types.LeadPage:
        try:
            start = int(cursor or "0")
        except ValueError:
            raise Err(f"bad cursor {{cursor!r}}")
        end = min(start + limit, len(EMAILS))
        leads = [
            types.Lead(email=e, first_name="", last_name="", company="", domain="", title="",
                       country="", timezone="", employees=None, attributes=[])
            for e in EMAILS[start:end]
        ]
        log.log(log.Level.INFO, f"served leads {{start}}..{{end}}", [])
        return types.LeadPage(leads=leads, next_cursor=str(end) if end < len(EMAILS) else None)
"#,
            describe("Serves a fixed list of leads", "types.Capability.LOG")
        ),
        PluginKind::Enricher => format!(
            r#"from typing import List

import wit_world
from componentize_py_types import Err, Ok, Result
from wit_world.imports import types


class WitWorld(wit_world.WitWorld):
{}
    # One result per lead, in order: Ok(enrichment) or Err("why").
    def enrich(self, leads: List[types.Lead]) -> List[Result[types.Enrichment, str]]:
        out: List[Result[types.Enrichment, str]] = []
        for lead in leads:
            if "@" not in lead.email:
                out.append(Err(f"{{lead.email}} has no @"))
                continue
            domain = lead.email.split("@", 1)[1].lower()
            out.append(Ok(types.Enrichment(email=None, deliverable=True, company=None, domain=domain,
                                           title=None, country=None, employees=None, attributes=[], notes=[])))
        return out
"#,
            describe("Derives the company domain from the email", "")
        ),
        PluginKind::Scorer => format!(
            r#"from typing import List

import wit_world
from wit_world.imports import log, types

SENIOR = ("ceo", "cto", "founder", "vp", "head")


class WitWorld(wit_world.WitWorld):
{}
    # `result<list<score>, string>`: return the scores (one per lead, in order);
    # raise componentize_py_types.Err("why") for the error.
    def score(self, leads: List[types.Lead]) -> List[types.Score]:
        log.log(log.Level.DEBUG, f"scoring {{len(leads)}} leads", [])
        scores = []
        for lead in leads:
            title = lead.title.lower()
            if any(word in title for word in SENIOR):
                scores.append(types.Score(value=0.9, reasons=[f"senior title: {{lead.title}}"]))
            else:
                scores.append(types.Score(value=0.3, reasons=["no senior title"]))
        return scores
"#,
            describe("Prefers leads with a senior title", "types.Capability.LOG")
        ),
        PluginKind::ReplyClassifier => format!(
            r#"import wit_world
from wit_world.imports import types


class WitWorld(wit_world.WitWorld):
{}
    # A `reply-label` case is a class: types.ReplyLabel_Interested(),
    # types.ReplyLabel_OutOfOffice(value=...) for cases with a payload.
    def classify(self, reply: types.InboundReply) -> types.Classification:
        body = reply.body.lower()
        if "unsubscribe" in body or "remove me" in body:
            return types.Classification(label=types.ReplyLabel_Unsubscribe(), confidence=0.9, reason="asks to be removed")
        if "not interested" in body or "no thanks" in body:
            return types.Classification(label=types.ReplyLabel_NotInterested(), confidence=0.8, reason="declines")
        if "interested" in body or "let's talk" in body or "call" in body:
            return types.Classification(label=types.ReplyLabel_Interested(), confidence=0.7, reason="positive wording")
        return types.Classification(label=types.ReplyLabel_Unknown(), confidence=0.2, reason="no rule matched")
"#,
            describe("Keyword reply classifier", "")
        ),
        PluginKind::DecisionRule => format!(
            r#"from typing import List

import wit_world
from wit_world.imports import types


class WitWorld(wit_world.WitWorld):
{}
    # An `action` case is a class: types.Action_PauseCampaign(),
    # types.Action_SetDailyCap(value=20) for cases with a payload.
    def decide(self, snapshot: types.CampaignSnapshot) -> List[types.Decision]:
        m = snapshot.metrics
        if snapshot.status == types.CampaignStatus.RUNNING and m.sent >= 20 and m.bounced * 20 > m.sent:
            rate = 100.0 * m.bounced / m.sent
            return [types.Decision(action=types.Action_PauseCampaign(), reason=f"bounce rate {{rate:.1f}}% > 5%")]
        return []
"#,
            describe("Pauses a campaign whose bounce rate passes 5%", "")
        ),
    };
    format!(
        "\"\"\"{name}: a cam {kind} plugin (world `cam:plugin/{kind}@0.1.0`).\n\nThe world's exports are the methods of `WitWorld`; the types live in\n`wit_world.imports.types` (run `componentize-py -d wit -w {kind} bindings .`\nto have them beside you for an editor).\n\"\"\"\n\n{body}"
    )
}

fn readme(kind: PluginKind, name: &str, wasm: &str) -> String {
    format!(
        r#"# {name}

A cam `{kind}` plugin in Python, built with componentize-py.

    ./build.sh
    cam plugins check {wasm}

`./build.sh` installs componentize-py {COMPONENTIZE_PY} into `.venv/` on its first
run (or uses `$COMPONENTIZE_PY`). `wit/` holds the WIT the cam binary speaks
(`cam plugins wit --out wit` refreshes it). The build leaves the component
(about 18 MB: it carries a Python interpreter) and its manifest side by side
in `dist/`: copy both into the plugins folder. A Python component needs a
memory cap of at least 13 MiB (it starts at 12.4 MiB) (`[limits] memory_mib`).
"#
    )
}
