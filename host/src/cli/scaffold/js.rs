//! The JavaScript scaffold: an npm project built with componentize-js.
//! `npm install && npm run build` leaves `dist/NAME.wasm` and `dist/NAME.toml`.

use super::{Scaffold, manifest};
use crate::plugins::PluginKind;

/// The componentize-js release the scaffold pins: the one this repository's
/// own JavaScript plugin is built and tested with (`plugins/js/package.json`).
const COMPONENTIZE_JS: &str = "0.21.0";

/// WASI features componentize-js links by default that a cam plugin must not
/// use (it reaches the outside only through cam's imports). stdio stays: the
/// engine prints an uncaught exception there, and the host puts it in the
/// failure's message.
const DISABLED_FEATURES: &str = "random clocks http fetch-event";

/// The files of a JavaScript plugin project.
pub fn scaffold(kind: PluginKind, name: &str) -> Scaffold {
    let stem = name.replace('-', "_");
    let wasm = format!("dist/{stem}.wasm");
    Scaffold {
        files: vec![
            ("package.json".into(), package_json(kind, name, &stem)),
            ("index.js".into(), index_js(kind, name)),
            (
                format!("{stem}.toml"),
                manifest(kind, "`config.get(key)` from 'cam:plugin/config@0.1.0'"),
            ),
            (".gitignore".into(), "/node_modules\n/dist\n".into()),
            ("README.md".into(), readme(kind, name, &wasm)),
        ],
        build: "npm install && npm run build".into(),
        wasm,
    }
}

fn package_json(kind: PluginKind, name: &str, stem: &str) -> String {
    let build = format!(
        "mkdir -p dist && componentize-js index.js --wit wit --world-name {kind} --disable {DISABLED_FEATURES} --out dist/{stem}.wasm && cp {stem}.toml dist/{stem}.toml"
    );
    let value = serde_json::json!({
        "name": name,
        "version": "0.1.0",
        "private": true,
        "description": format!("A cam {kind} plugin"),
        "type": "module",
        "scripts": { "build": build },
        "devDependencies": { "@bytecodealliance/componentize-js": COMPONENTIZE_JS },
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

fn index_js(kind: PluginKind, name: &str) -> String {
    let describe = |description: &str, needs: &str| {
        format!(
            "export function describe() {{\n  return {{ name: '{name}', version: '0.1.0', description: '{description}', needs: [{needs}] }};\n}}\n"
        )
    };
    let body = match kind {
        PluginKind::LeadSource => format!(
            r#"import {{ log }} from 'cam:plugin/log@0.1.0';

// Addresses served one page at a time; replace with a call to your API
// (the `http` import, granted in the manifest).
const EMAILS = ['ada@example.com', 'grace@example.org', 'linus@example.net'];

{}
// `result<lead-page, string>`: return the page; throw a string for the error.
export function nextPage(cursor, limit) {{
  const start = cursor === undefined ? 0 : Number.parseInt(cursor, 10);
  if (Number.isNaN(start)) throw `bad cursor ${{cursor}}`;
  const end = Math.min(start + limit, EMAILS.length);
  const leads = EMAILS.slice(start, end).map((email) => ({{
    email, firstName: '', lastName: '', company: '', domain: '', title: '',
    country: '', timezone: '', employees: undefined, attributes: [],
  }}));
  log('info', `served leads ${{start}}..${{end}}`, []);
  return {{ leads, nextCursor: end < EMAILS.length ? String(end) : undefined }};
}}
"#,
            describe("Serves a fixed list of leads", "'log'")
        ),
        PluginKind::Enricher => format!(
            r#"{}
// One `result<enrichment, string>` per lead: {{ tag: 'ok', val }} or {{ tag: 'err', val: 'why' }}.
export function enrich(leads) {{
  return leads.map((lead) => {{
    const at = lead.email.indexOf('@');
    if (at < 0) return {{ tag: 'err', val: `${{lead.email}} has no @` }};
    return {{
      tag: 'ok',
      val: {{
        email: undefined, deliverable: true, company: undefined,
        domain: lead.email.slice(at + 1).toLowerCase(), title: undefined,
        country: undefined, employees: undefined, attributes: [], notes: [],
      }},
    }};
  }});
}}
"#,
            describe("Derives the company domain from the email", "")
        ),
        PluginKind::Scorer => format!(
            r#"import {{ log }} from 'cam:plugin/log@0.1.0';

const SENIOR = ['ceo', 'cto', 'founder', 'vp', 'head'];

{}
// `result<list<score>, string>`: return the scores (one per lead, in order); throw a string for the error.
export function score(leads) {{
  log('debug', `scoring ${{leads.length}} leads`, []);
  return leads.map((lead) => {{
    const title = lead.title.toLowerCase();
    return SENIOR.some((word) => title.includes(word))
      ? {{ value: 0.9, reasons: [`senior title: ${{lead.title}}`] }}
      : {{ value: 0.3, reasons: ['no senior title'] }};
  }});
}}
"#,
            describe("Prefers leads with a senior title", "'log'")
        ),
        PluginKind::ReplyClassifier => format!(
            r#"{}
// A `reply-label` variant is {{ tag }} (or {{ tag, val }} for cases with a payload).
export function classify(reply) {{
  const body = reply.body.toLowerCase();
  if (body.includes('unsubscribe') || body.includes('remove me')) {{
    return {{ label: {{ tag: 'unsubscribe' }}, confidence: 0.9, reason: 'asks to be removed' }};
  }}
  if (body.includes('not interested') || body.includes('no thanks')) {{
    return {{ label: {{ tag: 'not-interested' }}, confidence: 0.8, reason: 'declines' }};
  }}
  if (body.includes('interested') || body.includes("let's talk") || body.includes('call')) {{
    return {{ label: {{ tag: 'interested' }}, confidence: 0.7, reason: 'positive wording' }};
  }}
  return {{ label: {{ tag: 'unknown' }}, confidence: 0.2, reason: 'no rule matched' }};
}}
"#,
            describe("Keyword reply classifier", "")
        ),
        PluginKind::DecisionRule => format!(
            r#"{}
// An `action` variant is {{ tag }} (or {{ tag, val }} for cases with a payload).
export function decide(snapshot) {{
  const m = snapshot.metrics;
  if (snapshot.status === 'running' && m.sent >= 20 && m.bounced * 20 > m.sent) {{
    const rate = ((100 * m.bounced) / m.sent).toFixed(1);
    return [{{ action: {{ tag: 'pause-campaign' }}, reason: `bounce rate ${{rate}}% > 5%` }}];
  }}
  return [];
}}
"#,
            describe("Pauses a campaign whose bounce rate passes 5%", "")
        ),
    };
    format!(
        "// {name}: a cam {kind} plugin (world `cam:plugin/{kind}@0.1.0`).\n// The world's exports are this module's exports (camelCase); its imports are\n// ES modules named after the WIT interfaces ('cam:plugin/log@0.1.0', ...).\n\n{body}"
    )
}

fn readme(kind: PluginKind, name: &str, wasm: &str) -> String {
    format!(
        r#"# {name}

A cam `{kind}` plugin in JavaScript, built with componentize-js.

    npm install && npm run build
    cam plugins check {wasm}

`wit/` holds the WIT the cam binary speaks (`cam plugins wit --out wit` refreshes
it). The build leaves the component and its manifest side by side in `dist/`:
copy both into the plugins folder, and a running worker picks them up.
"#
    )
}
