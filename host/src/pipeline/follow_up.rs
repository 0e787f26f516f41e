//! Step 8, follow up: leads whose step delay has passed with no reply are
//! due for their next step (the schedule step queues it, inside caps and the
//! send window); leads that got the last step and did not reply within
//! [`LAST_STEP_REPLY_WAIT`](super::send::LAST_STEP_REPLY_WAIT) end the
//! sequence in NURTURE or DEAD, as the campaign says.

use super::env::CycleEnv;
use super::report::StepReport;
use super::step::{Moves, Step, StepOutcome};
use crate::domain::lifecycle::LeadState;

/// Leads looked at per cycle.
const MAX_PER_CYCLE: u32 = 100_000;

/// Runs the step.
pub async fn run(env: &CycleEnv<'_>) -> StepOutcome {
    StepOutcome::moving(async |moves| report(env, moves).await).await
}

async fn report(env: &CycleEnv<'_>, moves: &mut Moves) -> StepReport {
    let mut report = Step::FollowUp.report();
    let due = match env
        .store
        .leads_due(&env.tenant, env.campaign.id, env.now, MAX_PER_CYCLE)
        .await
    {
        Ok(due) => due,
        Err(e) => return report.failed("store", format!("cannot read due leads: {e}")),
    };
    let steps = env.plan.step_count();
    let ending = env.plan.after_last_step;
    for lead in due.into_iter().filter(|l| l.state == LeadState::Contacted) {
        if lead.current_step < steps {
            report.add("due_for_next_step", 1);
            continue;
        }
        let reason = format!(
            "no reply {} days after the last step",
            super::send::LAST_STEP_REPLY_WAIT.num_days()
        );
        match env.move_lead(moves, &lead, ending, &reason, None).await {
            Ok(()) => {
                report.add(
                    if ending == LeadState::Nurture {
                        "to_nurture"
                    } else {
                        "to_dead"
                    },
                    1,
                );
                if let Err(e) = env
                    .store
                    .set_lead_schedule(&env.tenant, lead.id, lead.current_step, None)
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
