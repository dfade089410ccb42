"""infra/template.yaml as CloudFormation receives it: expanded by the SAM translator, offline.

Shared by the offline checks of `make infra-check` (check_sam_roles.py, check_deployable.py).
"""

import sys

from cfnlint.decode import decode
from samtranslator.translator.transform import transform

BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


class BundledPolicies:
    """The one managed policy SAM attaches, without asking IAM (no credentials here)."""

    def load(self):
        return {"AWSLambdaBasicExecutionRole": BASIC}


def raw(path):
    """The template as written (cfn-lint's decoder keeps !Ref/!GetAtt/!Sub as Fn:: objects)."""
    template, problems = decode(path)
    if problems:
        sys.exit(f"{path}: {problems}")
    return template


def expanded(path, parameter_values=None):
    """The template after the SAM transform. CodeUri becomes an S3 location, as `sam deploy`
    makes it (the translator wants one)."""
    template = raw(path)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/key"
    return transform(template, parameter_values or {}, BundledPolicies())
