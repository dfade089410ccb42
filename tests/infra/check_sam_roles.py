"""Every IAM role the deployed stack will have, as SAM generates them from infra/template.yaml.

least_privilege.rs checks the policies written in the template; this checks what SAM adds when
it expands them (run offline by `make infra-check`, with the SAM translator from the venv): each
function role holds only AWSLambdaBasicExecutionRole and its own inline policy (the console, a
static page, not even that), the job's schedule role may only invoke token-refresh and send to
its dead-letter queue, and the scheduled posts' SchedulerRole may only invoke scheduled-post and
send to theirs. scheduled-post's role also gets the policy SAM writes for its failed-delivery
destination: sending to the schedules' dead-letter queue, nothing more. Any other role, managed
policy or statement fails.
"""

import json
import sys

from sam_expand import BASIC, expanded as expand, raw

# Roles of functions that call no AWS service: AWSLambdaBasicExecutionRole and no inline policy.
NO_POLICY_ROLES = {"ConsoleFunctionRole"}


def invoke_and_dead_letter(function, queue):
    return [
        {"Action": "lambda:InvokeFunction", "Effect": "Allow",
         "Resource": {"Fn::GetAtt": [function, "Arn"]}},
        {"Action": "sqs:SendMessage", "Effect": "Allow",
         "Resource": {"Fn::GetAtt": [queue, "Arn"]}},
    ]


# The inline policy SAM adds for a function's asynchronous OnFailure destination, by role: only
# sending to that queue.
DESTINATION_POLICIES = {
    "ScheduledPostFunctionRole": {
        "PolicyName": "ScheduledPostFunctionEventInvokeConfigOnFailureSQSPolicy",
        "PolicyDocument": {"Statement": [
            {"Action": "sqs:SendMessage", "Effect": "Allow",
             "Resource": {"Fn::GetAtt": ["ScheduleDeadLetters", "Arn"]}},
        ]},
    },
}


# The roles EventBridge Scheduler runs schedules as: SAM's for the job, ours for scheduled posts.
SCHEDULE_ROLES = {
    "TokenRefreshFunctionScheduleRole": invoke_and_dead_letter("TokenRefreshFunction", "RefreshDeadLetters"),
    "SchedulerRole": invoke_and_dead_letter("ScheduledPostFunction", "ScheduleDeadLetters"),
}


def main(path):
    functions = {
        name for name, r in raw(path)["Resources"].items()
        if r["Type"] == "AWS::Serverless::Function"
    }
    expanded = expand(path)

    failures = []
    roles = {n: r["Properties"] for n, r in expanded["Resources"].items()
             if r["Type"] == "AWS::IAM::Role"}
    for extra in sorted(n for n, r in expanded["Resources"].items()
                        if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")):
        failures.append(f"{extra}: a separate IAM policy")
    expected_roles = {f"{f}Role" for f in functions} | set(SCHEDULE_ROLES)
    if set(roles) != expected_roles:
        failures.append(f"roles {sorted(roles)}, expected {sorted(expected_roles)}")
    for name, role in sorted(roles.items()):
        managed = role.get("ManagedPolicyArns") or []
        policies = role.get("Policies") or []
        if name in SCHEDULE_ROLES:
            statements = [s for p in policies for s in p["PolicyDocument"]["Statement"]]
            if managed or statements != SCHEDULE_ROLES[name]:
                failures.append(f"{name}: {json.dumps(managed)} {json.dumps(statements)}")
            continue
        destination = DESTINATION_POLICIES.get(name)
        if destination is not None:
            if destination not in policies:
                failures.append(f"{name}: no {destination['PolicyName']}")
            policies = [p for p in policies if p != destination]
        if managed != [BASIC] or len(policies) != (0 if name in NO_POLICY_ROLES else 1):
            failures.append(f"{name}: managed {managed}, {len(policies)} inline policies")
    if failures:
        sys.exit("IAM roles after the SAM transform:\n  " + "\n  ".join(failures))
    print(f"{path}: {len(roles)} IAM roles, each as least_privilege.rs and this check expect")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "infra/template.yaml")
