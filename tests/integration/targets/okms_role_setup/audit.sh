# shellcheck shell=bash
# Sourced by the okms_role_* runme.sh scripts, which set $config (integration_config.yml): what the
# emulator's audit log says about the requests of a step.
#   audit_mark                remember how many requests the emulator has seen so far
#   audit_check no_mutation   fail when a request since the mark changed (or tried to change) state,
#                             or when there was none at all (a run that reads nothing proves nothing)
#   audit_check no_request    fail when there was any request since the mark

okms_audit_log() {
    python -c 'import json, sys; print(json.load(open(sys.argv[1]))["okms_emulator_audit_log"])' "${config:?}"
}

audit_mark() {
    # The emulator creates its audit log on the first request.
    okms_audit_mark=0
    if [ -e "$(okms_audit_log)" ]; then
        okms_audit_mark="$(grep -c . "$(okms_audit_log)" || true)"
    fi
}

audit_check() {
    python - "$(okms_audit_log)" "${okms_audit_mark:?audit_mark first}" "$1" <<'PYTHON'
import json
import os
import sys

path, mark, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
requests = []
if os.path.exists(path):  # created on the emulator's first request
    with open(path, encoding="utf-8") as handle:
        requests = [json.loads(line) for line in handle if line.strip()][mark:]
if kind == "no_request":
    found = requests
elif kind == "no_mutation":
    found = [r for r in requests if r["mutating"]]
    if not requests:
        sys.exit("no request at all since the mark: nothing was checked")
else:
    sys.exit("unknown check %r" % kind)
for request in found:
    print("%s: %s %s -> %s" % (kind, request["method"], request["path"], request["status"]), file=sys.stderr)
if found:
    sys.exit("%s: %d of the %d requests since the mark" % (kind, len(found), len(requests)))
print("%s: none of the %d requests since the mark" % (kind, len(requests)))
PYTHON
}
