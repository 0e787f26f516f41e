"""The rules of the title-enrich enricher: plain functions over plain data.

Nothing here imports the WIT bindings, so `python3 -m unittest` checks it
directly (see test_rules.py); app.py turns the results into WIT records.
"""

import re

# Seniority levels, highest first. A title gets the highest level any of its
# phrases matches ("Senior Director" is a director, "Founder & CEO" c-level).
SENIORITY = [
    (
        "c-level",
        [
            "ceo", "cto", "cfo", "coo", "cmo", "cio", "ciso", "cro", "cpo", "cso", "cdo",
            "chief", "founder", "co-founder", "cofounder", "owner", "president",
            "managing director", "managing partner", "general manager", "geschäftsführer",
            "geschaeftsfuehrer", "directeur général", "directeur general", "pdg",
        ],
    ),
    ("vp", ["vp", "svp", "evp", "vice president", "head of", "head"]),
    ("director", ["director", "directeur", "directora", "leiter", "leiterin"]),
    ("manager", ["manager", "team lead", "tech lead", "teamleiter", "supervisor", "responsable"]),
    ("senior", ["senior", "sr", "principal", "staff", "lead"]),
    ("entry", ["junior", "jr", "associate", "assistant", "trainee", "graduate", "apprentice"]),
    ("intern", ["intern", "internship", "working student", "werkstudent", "praktikant", "stagiaire"]),
]

# Levels that normally sign off on a purchase; config key `decision_makers`
# (a TOML list, which reaches the plugin as JSON text) replaces this.
DEFAULT_DECISION_MAKERS = ("c-level", "vp", "director")

# Departments in the order they are tried; the first with a matching phrase wins.
DEPARTMENTS = [
    ("sales", ["sales", "account executive", "account manager", "business development",
               "bdr", "sdr", "revenue", "cro", "vertrieb", "commercial", "ventas"]),
    ("marketing", ["marketing", "cmo", "growth", "brand", "demand generation", "demand gen",
                   "content", "seo", "communications", "pr"]),
    ("engineering", ["engineer", "engineering", "developer", "software", "cto", "devops",
                     "architect", "it", "cio", "ciso", "security", "data", "technology",
                     "entwickler", "informatique"]),
    ("product", ["product", "cpo", "ux", "design"]),
    ("finance", ["finance", "financial", "cfo", "accounting", "accountant", "controller",
                 "controlling", "treasury", "finanzen"]),
    ("hr", ["hr", "human resources", "people", "talent", "recruiter", "recruiting"]),
    ("operations", ["operations", "coo", "supply chain", "logistics", "procurement",
                    "purchasing", "einkauf"]),
    ("customer-success", ["customer success", "support", "customer service", "customer experience"]),
    ("executive", ["ceo", "chief executive", "founder", "co-founder", "cofounder", "owner", "president",
                   "managing director", "general manager", "geschäftsführer", "pdg"]),
]

# Free-mail domains: an address there says nothing about the lead's company.
FREE_MAIL = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "hotmail.com", "outlook.com",
    "live.com", "msn.com", "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com",
    "gmx.de", "gmx.net", "web.de", "t-online.de", "orange.fr", "free.fr", "laposte.net",
    "mail.ru", "yandex.ru", "qq.com", "163.com",
})

# Titles whose words would mislead the phrase lists, tried first:
# "Assistant to the CEO" is not a CEO, a "Product Owner" owns no company.
FIXED_ROLES = [
    (re.compile(r"\b(assistant|secretary|office manager)\s+(to|of)\b"), "entry"),
    (re.compile(r"\b(executive|personal)\s+assistant\b"), "entry"),
    (re.compile(r"\bproduct\s+owner\b"), "manager"),
]


def normalize_title(title):
    """Lower case, `&`/`/`/`,` as spaces, dots dropped, runs of spaces collapsed.

    Vice-president abbreviations become "vp" so that "Vice President" does
    not also read as "President".
    """
    text = title.lower().replace("\u2019", "'")
    text = re.sub(r"[&/,|()+;:]", " ", text)
    text = text.replace(".", "")
    text = re.sub(r"\bvice[\s-]+president\b", "vp", text)
    return " ".join(text.split())


def _pattern(phrases):
    """One regex matching any of `phrases` as whole words (a hyphen counts as
    part of a word, so "founder" does not match inside "co-founder"),
    longest phrases first."""
    alternatives = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(r"(?<![\w-])(?:" + alternatives + r")(?![\w-])")


# Compiled once, when the component is built (componentize-py snapshots the
# module after import), not on every call.
_SENIORITY = [(level, _pattern(phrases)) for level, phrases in SENIORITY]
_DEPARTMENTS = [(name, _pattern(phrases)) for name, phrases in DEPARTMENTS]


def _first(text, patterns):
    for name, pattern in patterns:
        found = pattern.search(text)
        if found:
            return (name, found.group(0))
    return None


def seniority(title):
    """`(level, matched words)` for a job title, or `None` when nothing matches."""
    text = normalize_title(title)
    if not text:
        return None
    for pattern, level in FIXED_ROLES:
        fixed = pattern.search(text)
        if fixed:
            return (level, fixed.group(0))
    return _first(text, _SENIORITY)


def department(title):
    """`(department, matched words)` for a job title, or `None` when nothing matches."""
    return _first(normalize_title(title), _DEPARTMENTS)


def email_domain(email):
    """The lower-case domain of an email address, or `None` when it has none."""
    local, at, domain = email.strip().rpartition("@")
    domain = domain.strip().lower().rstrip(".")
    if not at or not local or "." not in domain or not re.fullmatch(r"[a-z0-9.-]+", domain):
        return None
    return domain


def enrich_lead(email, title, domain, decision_makers=DEFAULT_DECISION_MAKERS):
    """What the title and the address say about one lead.

    Returns `{"domain": str | None, "attributes": {key: value}, "notes": [str]}`
    (`domain` only when the lead had none and the address gives a company's),
    or raises ValueError with a message for the host when the lead has no
    usable email address.
    """
    found_domain = email_domain(email)
    if found_domain is None:
        raise ValueError(f"{email!r} is not an email address")

    attributes = {}
    notes = []
    new_domain = None
    if not domain.strip():
        if found_domain in FREE_MAIL:
            notes.append(f"free-mail address ({found_domain}): no company domain")
        else:
            new_domain = found_domain.removeprefix("www.")
            notes.append(f"domain {new_domain} from the email address")

    if not title.strip():
        notes.append("no title to read")
        return {"domain": new_domain, "attributes": attributes, "notes": notes}

    level = seniority(title)
    if level:
        attributes["seniority"] = level[0]
        attributes["decision_maker"] = "true" if level[0] in decision_makers else "false"
        notes.append(f"seniority {level[0]} from {level[1]!r}")
    else:
        notes.append(f"no seniority in title {title.strip()!r}")
    dept = department(title)
    if dept:
        attributes["department"] = dept[0]
        notes.append(f"department {dept[0]} from {dept[1]!r}")
    return {"domain": new_domain, "attributes": attributes, "notes": notes}
