"""What CloudFormation would refuse at create time that `sam validate` and cfn-lint on the raw
template do not see (run offline by `make infra-check`).

- A dependency cycle among the resources of the *transformed* template: SAM writes every route's
  function ARN into the HTTP API's body, so a function whose environment names the API closes a
  circle (function -> API -> function) that CloudFormation refuses before creating anything.
- Fixed physical names SAM generates (a second stack in the same account and region fails).
- Settings a fresh AWS account refuses: reserved concurrency (new accounts' quotas keep too little
  unreserved), API access logs outside /aws/vendedlogs/.
- Resources that are kept on delete (Retain) and would be orphaned by a failed first create
  (RetainExceptOnCreate deletes them then).

Exits non-zero naming each problem. `python check_deployable.py --self-test` shows that the cycle
finder finds a planted cycle. `--write-transformed OUT` also writes the transformed template to OUT.
"""

import json
import sys

from sam_expand import expanded, raw

RESOURCE_REF_INTRINSICS = ("Ref", "Fn::GetAtt")


def references(node, names):
    """Resource names `node` refers to through Ref, Fn::GetAtt or ${X}/${X.Attr} in Fn::Sub."""
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str) and value in names:
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                if target in names:
                    found.add(target)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                local = set(value[1]) if isinstance(value, list) and len(value) > 1 else set()
                for part in text.split("${")[1:]:
                    name = part.split("}")[0].split(".")[0]
                    if name in names and name not in local:
                        found.add(name)
                if isinstance(value, list) and len(value) > 1:
                    found |= references(value[1], names)
            else:
                found |= references(value, names)
    elif isinstance(node, list):
        for item in node:
            found |= references(item, names)
    return found


def dependency_graph(template):
    resources = template["Resources"]
    names = set(resources)
    graph = {}
    for name, resource in resources.items():
        edges = references({k: v for k, v in resource.items() if k != "DependsOn"}, names)
        depends = resource.get("DependsOn", [])
        edges |= set([depends] if isinstance(depends, str) else depends) & names
        graph[name] = edges
    return graph


def cycles(graph):
    """Every strongly connected component with more than one resource (or a self-reference):
    exactly what CloudFormation reports as "Circular dependency between resources"."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = [0]

    def visit(node):
        # Iterative Tarjan: templates are small, but recursion limits are not worth a thought.
        work = [(node, iter(sorted(graph[node])))]
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        while work:
            current, edges = work[-1]
            advanced = False
            for target in edges:
                if target not in index:
                    index[target] = low[target] = counter[0]
                    counter[0] += 1
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    advanced = True
                    break
                if target in on_stack:
                    low[current] = min(low[current], index[target])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[current])
            if low[current] == index[current]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == current:
                        break
                if len(component) > 1 or current in graph[current]:
                    found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def problems(path):
    found = []
    template = expanded(path)
    for component in cycles(dependency_graph(template)):
        found.append("circular dependency between resources: " + ", ".join(component))

    resources = template["Resources"]
    for name, resource in sorted(resources.items()):
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::Scheduler::Schedule" and "Name" in props:
            found.append(f"{name}: fixed schedule name {props['Name']!r} (a second stack in the "
                         "account fails; OmitName: true)")
        if kind == "AWS::Lambda::Function" and "ReservedConcurrentExecutions" in props:
            value = props["ReservedConcurrentExecutions"]
            if not (isinstance(value, dict) and "Fn::If" in value):
                found.append(f"{name}: unconditional ReservedConcurrentExecutions (new accounts "
                             "refuse any reservation below their unreserved minimum)")
        if resource.get("DeletionPolicy") == "Retain":
            found.append(f"{name}: DeletionPolicy Retain orphans it after a failed first create "
                         "(use RetainExceptOnCreate)")

    # Log groups API Gateway delivers access logs to live under /aws/vendedlogs/, where the
    # CloudWatch Logs resource policy size limit does not apply.
    raw_resources = raw(path)["Resources"]
    for name, resource in raw_resources.items():
        if resource["Type"] != "AWS::Serverless::HttpApi":
            continue
        target = resource["Properties"].get("AccessLogSettings", {}).get("DestinationArn", {})
        group = references(target, set(raw_resources))
        for log_group in group:
            log_name = raw_resources[log_group].get("Properties", {}).get("LogGroupName", "")
            text = json.dumps(log_name)
            if "/aws/vendedlogs/" not in text:
                found.append(f"{name}: access logs go to {log_group}, not under /aws/vendedlogs/")
    return found


def self_test():
    planted = {
        "Resources": {
            "Api": {"Type": "X", "Properties": {"Body": {"Fn::GetAtt": ["Fn", "Arn"]}}},
            "Fn": {"Type": "X", "Properties": {"Env": {"Fn::Sub": "https://${Api}.example"}}},
            "Table": {"Type": "X"},
            "Other": {"Type": "X", "DependsOn": ["Table"],
                      "Properties": {"A": {"Fn::Sub": ["${Local}", {"Local": {"Ref": "Fn"}}]}}},
        }
    }
    graph = dependency_graph(planted)
    assert graph["Other"] == {"Table", "Fn"}, graph["Other"]
    assert cycles(graph) == [["Api", "Fn"]], cycles(graph)
    del planted["Resources"]["Fn"]["Properties"]
    assert cycles(dependency_graph(planted)) == []
    print("check_deployable self-test: a planted cycle is found, its removal clears it")


def main(argv):
    if "--self-test" in argv:
        self_test()
        return
    args = [a for a in argv[1:] if not a.startswith("--")]
    path = args[0] if args else "infra/template.yaml"
    # --write-transformed FILE: also keep the transformed template for cfn-lint (E3004 and the
    # rest of its rules then see what CloudFormation sees).
    if "--write-transformed" in argv:
        out = args[1]
        with open(out, "w") as f:
            json.dump(expanded(path), f, indent=1)
    found = problems(path)
    if found:
        sys.exit(f"{path} would fail at create time:\n  " + "\n  ".join(found))
    print(f"{path}: no dependency cycle after the SAM transform, nothing a new account refuses")


if __name__ == "__main__":
    main(sys.argv)
