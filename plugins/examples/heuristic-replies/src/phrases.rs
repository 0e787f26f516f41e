//! The phrase lists the rules look for, lower case, in English, German,
//! French and Spanish. Phrases match whole words (see `text::has_phrase`).

/// Subjects of delivery failure reports.
pub const BOUNCE_SUBJECTS: &[&str] = &[
    "undelivered mail returned to sender", "delivery status notification", "mail delivery failed",
    "undeliverable", "delivery failure", "returned mail", "failure notice", "unzustellbar",
    "nicht zustellbar", "non remis", "échec de la remise", "no se puede entregar", "no entregado",
];

/// Permanent failure wording: the address does not exist.
pub const HARD_BOUNCE: &[&str] = &[
    "user unknown", "unknown user", "no such user", "does not exist", "doesn't exist",
    "address rejected", "recipient rejected", "mailbox unavailable", "mailbox not found",
    "invalid recipient", "no mailbox", "account has been disabled", "account disabled",
    "5.1.1", "5.1.10", "5.2.1", "550", "551", "553", "unbekannt", "existiert nicht",
    "introuvable", "n'existe pas", "no existe",
];

/// Temporary failure wording: delivery may work later.
pub const SOFT_BOUNCE: &[&str] = &[
    "mailbox full", "mailbox is full", "over quota", "quota exceeded", "exceeded storage",
    "temporarily", "try again later", "4.2.2", "4.4.1", "4.7.1", "452", "451", "postfach voll",
    "boîte pleine", "buzón lleno",
];

/// Out-of-office wording.
pub const OUT_OF_OFFICE: &[&str] = &[
    "out of office", "out of the office", "ooo", "on vacation", "on holiday", "on holidays",
    "on leave", "annual leave", "parental leave", "maternity leave", "paternity leave",
    "away from the office", "away from my desk", "currently away", "i am away", "i'm away",
    "limited access to email", "limited access to my email", "i will be back", "i'll be back",
    "back in the office", "automatic reply", "autoreply",
    "abwesend", "abwesenheit", "abwesenheitsnotiz", "nicht im büro", "außer haus", "ausser haus",
    "im urlaub", "urlaub", "wieder erreichbar", "wieder im büro", "elternzeit",
    "absent", "absente", "en congé", "en congés", "en vacances", "hors du bureau", "de retour le",
    "réponse automatique", "fuera de la oficina", "de vacaciones", "ausente", "de vuelta",
    "estaré fuera", "respuesta automática", "regresaré", "volveré",
];

/// Subjects of machine-written replies.
pub const AUTO_REPLY_SUBJECTS: &[&str] = &[
    "automatic reply", "auto reply", "auto-reply", "autoreply", "auto response", "automated response",
    "out of office", "automatische antwort", "abwesenheitsnotiz", "réponse automatique",
    "respuesta automática", "we received your", "ticket received", "request received",
];

/// Bodies of machine-written replies that are not out-of-office notes.
pub const AUTO_REPLY: &[&str] = &[
    "this is an automated", "this is an automatic", "automated response", "automatic reply",
    "do not reply to this", "please do not reply", "we have received your", "we've received your",
    "thank you for contacting", "thanks for contacting", "your ticket", "ticket number",
    "support request", "will get back to you as soon as possible", "diese nachricht wurde automatisch",
    "automatisch generiert", "ceci est une réponse automatique", "message automatique",
    "este es un mensaje automático", "respuesta automática",
];

/// Unsubscribe requests.
pub const UNSUBSCRIBE: &[&str] = &[
    "unsubscribe", "remove me", "take me off", "opt out", "opt-out", "stop emailing",
    "stop sending", "stop contacting", "do not contact me", "don't contact me", "do not email",
    "don't email", "never contact", "remove my email", "remove my address",
    "abmelden", "austragen", "entfernen sie mich", "keine weiteren e-mails", "keine e-mails mehr",
    "nicht mehr kontaktieren", "désabonner", "désinscrire", "désinscription", "ne plus recevoir",
    "retirez-moi", "ne me contactez plus", "darme de baja", "dar de baja", "dame de baja",
    "no me envíe", "no me envíen", "no me contacten", "elimínenme", "borrar mis datos",
];

/// Rejections.
pub const NOT_INTERESTED: &[&str] = &[
    "not interested", "no interest", "no thanks", "no thank you", "not a fit", "not a good fit",
    "not a priority", "we're all set", "we are all set", "already have a", "already use",
    "already using", "already working with", "no need", "no budget", "not at this time",
    "not right now", "pass on this", "not for us", "not relevant", "we'll pass", "we will pass",
    "not looking", "kein interesse", "nicht interessiert", "kein bedarf", "leider nicht",
    "brauchen wir nicht", "haben bereits", "nutzen bereits", "kein thema", "pas intéressé",
    "pas intéressée", "pas intéressés", "pas d'intérêt", "non merci", "pas besoin",
    "pas pour nous", "pas le moment", "no estoy interesado", "no estoy interesada",
    "no estamos interesados", "no me interesa", "no nos interesa", "no gracias", "no, gracias",
    "no es el momento", "ya tenemos", "ya usamos",
];

/// Interest.
pub const INTERESTED: &[&str] = &[
    "interested", "sounds good", "sounds great", "sounds interesting", "let's talk", "let's chat",
    "let's schedule", "let's set up", "let's do it", "set up a call", "schedule a call",
    "book a call", "book a meeting", "happy to chat", "happy to talk", "happy to connect",
    "love to learn more", "like to learn more", "tell me more", "send me more", "more information",
    "more info", "when are you free", "when are you available", "what times work",
    "what time works", "my calendar", "calendly", "a demo", "the demo", "count me in",
    "interessiert", "gerne", "klingt gut", "klingt interessant", "termin", "lassen sie uns",
    "mehr informationen", "rufen sie mich an", "intéressé", "intéressée", "intéressés",
    "ça m'intéresse", "cela m'intéresse", "avec plaisir", "volontiers", "rendez-vous",
    "prendre rendez-vous", "interesado", "interesada", "interesados", "me interesa",
    "nos interesa", "hablemos", "agendar", "con gusto", "me encantaría",
];

/// Short answers that mean yes on their own ("Yes!", "Sure, go ahead").
pub const SHORT_YES: &[&str] = &["yes", "sure", "ok", "okay", "ja", "oui", "sí", "si", "absolutely", "definitely", "go ahead"];

/// Question openers, for questions written without a question mark.
pub const QUESTION_WORDS: &[&str] = &[
    "how much", "what is the price", "what does it cost", "pricing", "could you explain",
    "can you explain", "wie viel", "was kostet", "combien", "cuánto", "cuanto cuesta",
];
