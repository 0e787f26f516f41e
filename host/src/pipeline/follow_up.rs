//! Step 8, follow up: leads whose step delay has passed with no reply are
//! due for their next step (the schedule step queues it, inside caps and the
//! send window); leads that got the last step and did not reply within
//! [`LAST_STEP_REPLY_WAIT`](super::send::LAST_STEP_REPLY_WAIT) end the
//! sequence in NURTURE or DEAD, as the campaign says.

use super::context::CycleContext;
use super::report::StepReport;
use crate::domain::lifecycle::LeadState;

/// Leads looked at per cycle.
const MAX_PER_CYCLE: u32 = 100_000;

/// Runs the step.
pub async fn run(ctx: &mut CycleContext<'_>) -> StepReport {
    let mut report = StepReport::new("follow_up");
    if !ctx.running() {
        return report.skipped(ctx.not_running_note());
    }
    let due = match ctx
        .store
        .leads_due(&ctx.tenant, ctx.campaign.id, ctx.now, MAX_PER_CYCLE)
        .await
    {
        Ok(due) => due,
        Err(e) => return report.failed("store", format!("cannot read due leads: {e}")),
    };
    let steps = ctx.steps.len() as u32;
    let ending = ctx.after_last_step;
    for lead in due.into_iter().filter(|l| l.state == LeadState::Contacted) {
        if lead.current_step < steps {
            report.add("due_for_next_step", 1);
            continue;
        }
        let reason = format!(
            "no reply {} days after the last step",
            super::send::LAST_STEP_REPLY_WAIT.num_days()
        );
        match ctx.move_lead(&lead, ending, &reason, None).await {
            Ok(()) => {
                report.add(
                    if ending == LeadState::Nurture {
                        "to_nurture"
                    } else {
                        "to_dead"
                    },
                    1,
                );
                if let Err(e) = ctx
                    .store
                    .set_lead_schedule(&ctx.tenant, lead.id, lead.current_step, None)
                    .await
                {
                    report.fail(&lead.fields.email, format!("cannot clear the schedule: {e}"));
                }
            }
            Err(reason) => report.fail(&lead.fields.email, reason),
        }
    }
    report
}
