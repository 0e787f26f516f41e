//! Mail benchmark.
//!
//! 1. **Sending**: 10,000 messages through `SmtpSender` (the live send path:
//!    MAIL, RCPT, DATA on one reused connection, no pacing) to a local SMTP
//!    server (aiosmtpd in sink mode, from `tests/servers/smtp_server.py`).
//!    Baseline in the same run: the same sender closing its connection after
//!    every message (1,000 messages), i.e. what sending costs without reuse.
//! 2. **Inbound**: 10,000 messages (the bounce corpus and the example
//!    replies, cycled) parsed with mail-parser, recognised by the host
//!    (bounce, complaint, auto-reply) and, when human, classified by the
//!    `heuristic-replies` component. Baseline: parsing alone.
//!
//! Run: `cargo bench -p cam --bench mail` after `scripts/test.sh` has
//! installed aiosmtpd (or with `CAM_TEST_PYTHON` pointing at a Python that
//! has it). The bounce corpus is read from `CAM_BOUNCE_CORPUS` or the
//! repository's `tests/data/bounces`; without it only the example replies are used.

use std::path::{Path, PathBuf};
use std::time::Instant;

use cam::config::SmtpConfig;
use cam::mail::message::parse;
use cam::mail::recognise::{Recognised, recognise};
use cam::mail::smtp::SmtpSender;
use cam::mail::{OutgoingMessage, Sender};
use cam::plugins::LoadedPlugin;
use cam::runtime::bindings::types::InboundReply;
use cam::runtime::{Limits, Runtime};

#[expect(
    unused_imports,
    dead_code,
    reason = "the bench uses only the SMTP server of the tests' mail servers, not their self-tests or Dovecot"
)]
#[path = "../../tests/mail_servers/mod.rs"]
mod mail_servers;

const SENDS: usize = 10_000;
const SENDS_WITHOUT_REUSE: usize = 1_000;
const INBOUND: usize = 10_000;

fn message(n: usize) -> OutgoingMessage {
    let id = format!("<cam.bench.{n}@outreach.example>");
    let raw = format!(
        "Date: Tue, 3 Mar 2026 10:00:00 +0000\r\nFrom: anna@outreach.example\r\nTo: lead{n}@example.com\r\n\
         Subject: Quick question {n}\r\nMessage-ID: {id}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHi there,\r\n\r\nWould a 15-minute call next week be \
         useful?\r\n\r\nBest,\r\nAnna\r\n"
    );
    OutgoingMessage {
        message_id: id,
        from: "anna@outreach.example".into(),
        to: format!("lead{n}@example.com"),
        raw: raw.into_bytes(),
    }
}

fn sender(port: u16) -> SmtpSender {
    let config: SmtpConfig = toml::from_str(&format!(
        "mailbox = \"*\"\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"plain\"\nmin_gap_ms = 0\njitter_ms = 0\n"
    ))
    .expect("config");
    SmtpSender::new(&[config], Path::new(".")).expect("sender")
}

async fn bench_sending() {
    let server = mail_servers::SmtpServer::start_sink().await;

    let without_reuse = sender(server.port);
    let timer = Instant::now();
    for n in 0..SENDS_WITHOUT_REUSE {
        without_reuse.send(&message(n)).await.expect("accepted");
        without_reuse.close().await;
    }
    let baseline = SENDS_WITHOUT_REUSE as f64 / timer.elapsed().as_secs_f64();

    let reused = sender(server.port);
    let timer = Instant::now();
    for n in 0..SENDS {
        reused.send(&message(n)).await.expect("accepted");
    }
    let elapsed = timer.elapsed().as_secs_f64();
    reused.close().await;
    let total = server.wait_for_count(SENDS_WITHOUT_REUSE + SENDS).await;
    assert_eq!(total, SENDS_WITHOUT_REUSE + SENDS, "the server got every message once");
    let rate = SENDS as f64 / elapsed;
    println!("sending to aiosmtpd on loopback (sink mode)");
    println!("  new connection per message ({SENDS_WITHOUT_REUSE} msgs): {baseline:>8.0} msg/s   (baseline)");
    println!(
        "  one reused connection      ({SENDS} msgs): {rate:>8.0} msg/s   {:.2}× the baseline",
        rate / baseline
    );
}

fn corpus() -> Vec<Vec<u8>> {
    let mut messages: Vec<Vec<u8>> = cam::cli::demo::EXAMPLE_REPLIES
        .iter()
        .map(|(_, raw)| raw.replace('\n', "\r\n").into_bytes())
        .collect();
    let dir = std::env::var("CAM_BOUNCE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/bounces"));
    let mut bounces = 0;
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            if entry.path().extension().is_some_and(|e| e == "eml") {
                messages.push(std::fs::read(entry.path()).expect("read"));
                bounces += 1;
            }
        }
    }
    println!(
        "inbound: {} distinct messages ({bounces} from {}), cycled to {INBOUND}",
        messages.len(),
        dir.display()
    );
    messages
}

async fn bench_inbound() {
    let messages = corpus();
    let runtime = Runtime::new(Limits::default()).expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let wasm = dir.path().join("heuristic_replies.wasm");
    std::fs::copy(
        Path::new(env!("CAM_BUILT_PLUGINS_DIR")).join("heuristic_replies.wasm"),
        &wasm,
    )
    .expect("the heuristic-replies component is built");
    std::fs::copy(
        Path::new(env!("CAM_PLUGINS_SOURCE_DIR")).join("examples/heuristic-replies/heuristic_replies.toml"),
        dir.path().join("heuristic_replies.toml"),
    )
    .expect("its manifest");
    let plugin = LoadedPlugin::load_file(&runtime, &wasm, runtime.scope("bench", None))
        .await
        .expect("classifier");

    let timer = Instant::now();
    let mut parsed = 0;
    for n in 0..INBOUND {
        parsed += usize::from(parse(&messages[n % messages.len()]).is_some());
    }
    let parse_rate = INBOUND as f64 / timer.elapsed().as_secs_f64();
    assert_eq!(parsed, INBOUND);

    let timer = Instant::now();
    let (mut machine, mut human) = (0, 0);
    for n in 0..INBOUND {
        let raw = &messages[n % messages.len()];
        let message = parse(raw).expect("parses");
        match recognise(raw) {
            Some(Recognised::Bounce { .. } | Recognised::Complaint { .. } | Recognised::AutoReply { .. }) => {
                machine += 1
            }
            _ => {
                let reply = InboundReply {
                    from: message.from,
                    subject: message.subject,
                    body: message.body_text,
                    headers: cam::pipeline::classifier_headers(message.headers),
                    lead: None,
                    received_at: 0,
                };
                plugin
                    .classify(runtime.scope("bench", None), &reply)
                    .await
                    .expect("classified");
                human += 1;
            }
        }
    }
    let full_rate = INBOUND as f64 / timer.elapsed().as_secs_f64();
    println!("  parse only (mail-parser)                      : {parse_rate:>8.0} msg/s   (baseline)");
    println!(
        "  parse + recognise + classify ({machine} machine, {human} human): {full_rate:>8.0} msg/s   {:.2}× the baseline's time",
        parse_rate / full_rate
    );
}

#[tokio::main]
async fn main() {
    bench_sending().await;
    bench_inbound().await;
}
