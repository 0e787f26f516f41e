//! The embedded lists: free-mail and disposable domains, role local parts.
//! Each list is sorted so lookups are binary searches (a test checks it).

/// Mailbox providers anyone can sign up to: the domain says nothing about
/// the lead's company.
pub const FREE_MAIL: &[&str] = &[
    "126.com", "163.com", "aim.com", "aol.com", "bigpond.com", "btinternet.com", "comcast.net",
    "cox.net", "fastmail.com", "fastmail.fm", "free.fr", "freenet.de", "gmail.com", "gmx.at",
    "gmx.ch", "gmx.com", "gmx.de", "gmx.net", "googlemail.com", "hey.com", "hotmail.co.uk",
    "hotmail.com", "hotmail.de", "hotmail.es", "hotmail.fr", "hotmail.it", "hushmail.com",
    "icloud.com", "inbox.com", "laposte.net", "libero.it", "live.co.uk", "live.com", "live.de",
    "live.fr", "mac.com", "mail.com", "mail.ru", "me.com", "msn.com", "naver.com", "orange.fr",
    "outlook.com", "outlook.de", "outlook.es", "outlook.fr", "pm.me", "posteo.de", "proton.me",
    "protonmail.ch", "protonmail.com", "qq.com", "rambler.ru", "rediffmail.com", "sbcglobal.net",
    "sfr.fr", "shaw.ca", "t-online.de", "telefonica.net", "terra.com.br", "tutanota.com",
    "tutanota.de", "uol.com.br", "verizon.net", "virgilio.it", "wanadoo.fr", "web.de", "yahoo.co.jp",
    "yahoo.co.uk", "yahoo.com", "yahoo.de", "yahoo.es", "yahoo.fr", "yahoo.it", "yandex.com",
    "yandex.ru", "ymail.com", "zoho.com", "zohomail.com",
];

/// Throw-away mailbox services: mail sent there reaches nobody who buys.
pub const DISPOSABLE: &[&str] = &[
    "10minutemail.com", "20minutemail.com", "33mail.com", "anonbox.net", "burnermail.io",
    "discard.email", "dispostable.com", "dropmail.me", "emailondeck.com", "fakeinbox.com",
    "getairmail.com", "getnada.com", "guerrillamail.biz", "guerrillamail.com", "guerrillamail.de",
    "guerrillamail.net", "guerrillamail.org", "guerrillamailblock.com", "harakirimail.com",
    "inboxkitten.com", "incognitomail.org", "jetable.org", "mail-temp.com", "mailcatch.com",
    "maildrop.cc", "mailinator.com", "mailinator.net", "mailnesia.com", "mailsac.com",
    "mintemail.com", "mohmal.com", "mytemp.email", "sharklasers.com", "spam4.me",
    "spamgourmet.com", "temp-mail.io", "temp-mail.org", "tempail.com", "tempmail.com",
    "tempmail.net", "tempmailo.com", "tempr.email", "throwawaymail.com", "trashmail.com",
    "trashmail.de", "trashmail.net", "yopmail.com", "yopmail.fr", "yopmail.net",
];

/// Local parts that name a function, not a person.
pub const ROLE_LOCAL_PARTS: &[&str] = &[
    "abuse", "accounting", "accounts", "admin", "administrator", "billing", "careers", "contact",
    "customerservice", "dev", "enquiries", "hello", "help", "helpdesk", "hostmaster", "hr",
    "info", "inquiries", "it", "jobs", "legal", "mail", "marketing", "media", "no-reply",
    "noreply", "office", "orders", "postmaster", "press", "privacy", "recruiting", "sales",
    "security", "service", "support", "team", "webmaster",
];

/// Providers that ignore `+tag` in the local part (and Gmail ignores dots).
pub const PLUS_ADDRESSING: &[&str] = &[
    "fastmail.com", "gmail.com", "hotmail.com", "icloud.com", "outlook.com", "pm.me",
    "proton.me", "protonmail.com",
];

/// Whether sorted `list` holds `item`.
pub fn contains(list: &[&str], item: &str) -> bool {
    list.binary_search(&item).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_list_is_sorted_and_lower_case() {
        for list in [FREE_MAIL, DISPOSABLE, ROLE_LOCAL_PARTS, PLUS_ADDRESSING] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
            assert!(list.iter().all(|d| *d == d.to_lowercase()));
        }
    }
}
