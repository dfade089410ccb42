"""Creates the transformed template (check_deployable.py --write-transformed) as a stack in moto's
CloudFormation, in process, offline: as close to `sam deploy`'s create-stack as an emulator gets.

What it covers: CloudFormation's parameter handling (defaults, AllowedPattern, conditions), the
order of creation, and the properties of every resource type moto implements: the DynamoDB table
(keys, index, TTL), the KMS key with its policy and alias, every function with its role, inline
policy, environment and permission, the log groups, the dead-letter queue and the alarm topic.
What moto only skips (it warns and marks them created): the secret, the HTTP API and its stage,
the schedule, the EventInvokeConfig and the alarms; nor does it look for dependency cycles
(check_deployable.py does). Printed at the end, so the gap stays visible.
"""

import contextlib
import io
import json
import sys
import warnings
import zipfile

import boto3
from moto import mock_aws

PARAMETERS = {
    "TikTokClientKey": "abc123",
    "AppOrigin": "https://app.example.com",
    "AppReturnUrl": "https://app.example.com/settings",
}


def create(cfn, template):
    cfn.create_stack(
        StackName="tiktok-connect",
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in PARAMETERS.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )


def main(path):
    template = json.load(open(path))
    with mock_aws(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # The S3 location the translator was given for every function's code.
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("bootstrap", "#!/bin/sh\n")
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bucket")
        s3.put_object(Bucket="bucket", Key="key", Body=code.getvalue())

        cfn = boto3.client("cloudformation", region_name="us-east-1")
        # moto prints a line for each resource type it skips; the summary below names them.
        with contextlib.redirect_stdout(io.StringIO()):
            create(cfn, template)
        stack = cfn.describe_stacks(StackName="tiktok-connect")["Stacks"][0]
        created = cfn.list_stack_resources(StackName="tiktok-connect")["StackResourceSummaries"]
        failures = []
        if stack["StackStatus"] != "CREATE_COMPLETE":
            failures.append(f"stack {stack['StackStatus']}: {stack.get('StackStatusReason')}")
        skipped = sorted({str(w.message).split("parse ")[1].split(" but")[0]
                          for w in caught if "not supported by moto" in str(w.message)})
        # Off with the default parameters: HasAlarmEmail (no AlarmEmail given).
        wanted = {name for name, r in template["Resources"].items()
                  if r["Type"] not in skipped and r.get("Condition") != "HasAlarmEmail"}
        missing = wanted - {r["LogicalResourceId"] for r in created}
        if missing:
            failures.append(f"not created: {sorted(missing)}")

        lam = boto3.client("lambda", region_name="us-east-1")
        functions = lam.list_functions()["Functions"]
        for function in functions:
            env = function.get("Environment", {}).get("Variables", {})
            # str(): moto hands a Number parameter's Ref back as an int; Lambda keeps strings.
            unresolved = {k: v for k, v in env.items() if "${" in str(v)}
            if unresolved:
                failures.append(f"{function['FunctionName']}: unresolved environment {unresolved}")
            # The token key's policy allows the roles under this path, and only those.
            if ":role/tiktok-connect/tiktok-connect/" not in function["Role"]:
                failures.append(f"{function['FunctionName']}: role {function['Role']} is not "
                                "under the path the key policy allows")
            concurrency = lam.get_function_concurrency(FunctionName=function["FunctionName"])
            if concurrency.get("ReservedConcurrentExecutions") is not None:
                failures.append(f"{function['FunctionName']}: reserves concurrency by default")
        table = boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"]
        declared = sum(r["Type"] == "AWS::Lambda::Function" for r in template["Resources"].values())
        if len(functions) != declared or len(table) != 1:
            failures.append(f"{len(functions)} functions and {len(table)} tables, "
                            f"expected {declared} and 1")
    if failures:
        sys.exit("create-stack in moto:\n  " + "\n  ".join(failures))
    print(f"create-stack in moto: CREATE_COMPLETE, {len(created)} resources, {len(functions)} functions without "
          f"reserved concurrency; types moto only skips: {', '.join(skipped)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/infra/transformed.json")
