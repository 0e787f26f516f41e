//! A reply classifier that breaks the output contract on request: the
//! reply's subject picks what it returns. `nan`, `infinity` and `negative`
//! give that confidence; `bad-referral` a referral to an address that is
//! not one; `bad-date` an out-of-office return date of February 30th;
//! `nul` a reason holding a NUL character; anything else a well-formed
//! `unknown` at 0.5. The host must refuse each bad value at the boundary
//! as a `plugin-error` naming the field, and serve the next call.

wit_bindgen::generate!({ world: "reply-classifier", path: "../../../wit" });

use cam::plugin::types::{Date, Referral, ReplyLabel};

struct HostileBadOutput;

impl Guest for HostileBadOutput {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "hostile-bad-output".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "Returns values outside the output contract; the host must refuse them.".to_string(),
            needs: Vec::new(),
        }
    }

    fn classify(reply: InboundReply) -> Classification {
        let fine = Classification {
            label: ReplyLabel::Unknown,
            confidence: 0.5,
            reason: "well-formed".to_string(),
        };
        match reply.subject.as_str() {
            "nan" => Classification {
                confidence: f32::NAN,
                ..fine
            },
            "infinity" => Classification {
                confidence: f32::INFINITY,
                ..fine
            },
            "negative" => Classification {
                confidence: -0.5,
                ..fine
            },
            "bad-referral" => Classification {
                label: ReplyLabel::Referral(Referral {
                    email: "not an address".to_string(),
                    name: None,
                }),
                ..fine
            },
            "bad-date" => Classification {
                label: ReplyLabel::OutOfOffice(Some(Date {
                    year: 2026,
                    month: 2,
                    day: 30,
                })),
                ..fine
            },
            "nul" => Classification {
                reason: "before\0after".to_string(),
                ..fine
            },
            _ => fine,
        }
    }
}

export!(HostileBadOutput);
