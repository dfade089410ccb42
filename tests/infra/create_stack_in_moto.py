"""Creates the transformed template (check_deployable.py --write-transformed) as a stack in moto's
CloudFormation, in process, offline: as close to `sam deploy`'s create-stack as an emulator gets.

What it covers: CloudFormation's parameter handling (defaults, AllowedPattern, conditions), the
order of creation, and the properties of every resource type moto implements: the DynamoDB table
(keys, index, TTL), the KMS key with its policy and alias, every function with its role, inline
policy, environment and permission, the log groups, the dead-letter queue and the alarm topic.
What moto only skips (it warns and marks them created): the secret, the HTTP API and its stage,
the schedule, the EventInvokeConfig and the alarms; nor does it look for dependency cycles
(check_deployable.py does). Printed at the end, so the gap stays visible.

It also creates the stack as the first deploy of an upgrade sees it (DueIndexUpgrade=adding) and
checks that each deploy of docs/deploy.md#upgrading-a-stack adds or deletes one index, the rule
CloudFormation enforces at update time and moto does not.
"""

import contextlib
import io
import json
import sys
import warnings
import zipfile

import boto3
from moto import mock_aws
from moto.cloudformation import parsing

_clean_json = parsing.clean_json


def clean_json_dropping_no_value(resource_json, resources_map):
    """CloudFormation drops a list entry that resolves to AWS::NoValue (the table's conditional
    index); moto leaves None in its place."""
    if isinstance(resource_json, list):
        cleaned = (clean_json_dropping_no_value(v, resources_map) for v in resource_json)
        return [v for v in cleaned if v is not None]
    return _clean_json(resource_json, resources_map)


parsing.clean_json = clean_json_dropping_no_value

# The indexes of a stack created before due-by-shard replaced refresh-due. CloudFormation adds or
# deletes one index per update, so each deploy of docs/deploy.md#upgrading-a-stack may change one.
PREVIOUS_INDEXES = {"refresh-due", "posts-by-user", "waiting-by-account"}

PARAMETERS = {
    "TikTokClientKey": "abc123",
    "AppOrigin": "https://app.example.com",
    "AppReturnUrl": "https://app.example.com/settings",
}


def create(cfn, template, name="tiktok-connect", **parameters):
    cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v}
                    for k, v in {**PARAMETERS, **parameters}.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )


def indexes(name):
    """The stack's table's indexes: name → projection."""
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    table = boto3.client("cloudformation", region_name="us-east-1").describe_stack_resource(
        StackName=name, LogicalResourceId="TokensTable")["StackResourceDetail"]["PhysicalResourceId"]
    described = dynamodb.describe_table(TableName=table)["Table"]
    return {i["IndexName"]: i["Projection"] for i in described.get("GlobalSecondaryIndexes", [])}


def index_failures(template):
    """The default stack's indexes, and the two-deploy upgrade from the previous ones: each step
    adds or deletes one index, as CloudFormation requires."""
    failures = []
    fresh = indexes("tiktok-connect")
    if set(fresh) != {"due-by-shard", "posts-by-user", "waiting-by-account"}:
        failures.append(f"a fresh stack's indexes: {sorted(fresh)}")
    elif fresh["due-by-shard"]["ProjectionType"] != "INCLUDE" or \
            "sealed_tokens" in fresh["due-by-shard"].get("NonKeyAttributes", []):
        failures.append(f"due-by-shard copies more than the job reads: {fresh['due-by-shard']}")
    create(boto3.client("cloudformation", region_name="us-east-1"), template,
           name="upgrading", DueIndexUpgrade="adding")
    adding = set(indexes("upgrading"))
    for step, before, after in [("adding", PREVIOUS_INDEXES, adding),
                                ("done", adding, set(fresh))]:
        if len(before ^ after) != 1:
            failures.append(f"the upgrade's deploy with DueIndexUpgrade={step} changes "
                            f"{sorted(before ^ after)}: CloudFormation refuses more than one index")
    return failures


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
        # The second stack's skipped types were named above.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            failures += index_failures(template)
    if failures:
        sys.exit("create-stack in moto:\n  " + "\n  ".join(failures))
    print(f"create-stack in moto: CREATE_COMPLETE, {len(created)} resources, {len(functions)} functions without "
          f"reserved concurrency; types moto only skips: {', '.join(skipped)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/infra/transformed.json")
