//! Leads, campaigns, sequences, the lead state machine, quotas, send windows
//! and suppression. Pure logic over plain data: no I/O in here.

pub mod campaign_convert;
pub mod campaign_def;
pub mod caps;
pub mod email;
pub mod lifecycle;
pub mod model;
pub mod name;
pub mod plan;
pub mod reply_label;
pub mod suppression;
pub mod template;
pub mod window;
