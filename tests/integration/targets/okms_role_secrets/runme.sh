#!/usr/bin/env bash
# okms_secrets, the role's secrets, with the okms_secrets example of the role README as written: (1) bad
# items refused before any request, naming okms_secrets, the item and the field, never a value of data;
# (2) check mode, run, check mode, run (the generated password is kept, app/old-token is deleted, a
# check-mode run sends no mutating request); (3) a new password in the vault makes one new version;
# (4) a secret that cannot be written stops neither the secrets after it nor the hosts' credentials, and
# fails each host at the end, naming it. Every role run is at -vvvv --diff, and no value of a secret
# appears in that output.
set -eu
export ANSIBLE_ROLES_PATH=..
setup="$(cd ../okms_role_setup && pwd)"
config="$(cd ../.. && pwd)/integration_config.yml"
# shellcheck source=../okms_role_setup/audit.sh
source "${setup}/audit.sh"
work="${OUTPUT_DIR:?}/okms_role_secrets"
rm -rf "${work}"
mkdir -p "${work}"
export OKMS_ROLE_WORK="${work}"
# ansible-test runs a copy of the target; the README is in the collection Ansible uses.
collections="$(ansible-galaxy collection list ovhcloud.kms --format json \
    | python -c 'import json, sys; print(next(iter(json.load(sys.stdin))))')"
readme="${collections}/ovhcloud/kms/roles/okms/README.md"

run() {
    # run LOG PLAYBOOK ARGS...: ansible-playbook with the emulator settings, its whole output in LOG.
    local log="${work}/$1"
    shift
    if ! ansible-playbook -i inventory.yml -e "@${config}" "$@" > "${log}" 2>&1; then
        tail -n 60 "${log}"
        echo "${log##*/}: ansible-playbook failed (whole output: ${log})" >&2
        return 1
    fi
}

role() {
    # role LOG ARGS...: the role with the README's okms_secrets, at -vvvv --diff.
    local log="$1"
    shift
    run "${log}" bootstrap.yml -vvvv --diff -e "@${work}/readme_secrets.yml" "$@"
}

must_fail() {
    # must_fail LOG PLAYBOOK ARGS...: the run ends non-zero.
    if ansible-playbook -i inventory.yml -e "@${config}" "${@:2}" > "${work}/$1" 2>&1; then
        tail -n 60 "${work}/$1"
        echo "$1: the run succeeded, it must fail" >&2
        exit 1
    fi
}

recap() {
    # recap LOG changed|unchanged|failed [HOST...]: what the PLAY RECAP line of each HOST (default: both) says.
    local log="$1" state="$2" host line hosts
    shift 2
    hosts=("$@")
    [ "$#" -gt 0 ] || hosts=(host1 host2)
    for host in "${hosts[@]}"; do
        line="$(grep -E "^${host} +:" "${work}/${log}")"
        case "${state}" in
            changed) ! grep -q ' changed=0 ' <<< "${line}" ;;
            unchanged) grep -q ' changed=0 .* failed=0 ' <<< "${line}" ;;
            failed) grep -q ' failed=1 ' <<< "${line}" ;;
        esac || { echo "${log}: ${host} is not ${state}: ${line}" >&2; exit 1; }
    done
}

fatal() {
    # fatal LOG TEXT: the message of each host's error (fatal: [HOST]: FAILED! => {...}, one line or, at
    # -vvvv, several) says TEXT.
    python - "${work}/$1" "$2" <<'PYTHON'
import json
import re
import sys

path, text = sys.argv[1:]
with open(path, encoding="utf-8") as handle:
    output = handle.read()
decoder = json.JSONDecoder()
for host in ("host1", "host2"):
    messages = [decoder.raw_decode(output, match.end() - 1)[0].get("msg", "")
                for match in re.finditer(r"^fatal: \[%s\]: FAILED! => \{" % host, output, re.MULTILINE)]
    if not any(text in message for message in messages):
        sys.exit("%s: the error of %s does not say: %s" % (path, host, text))
PYTHON
}

cleanup() {
    local status=$?
    run cleanup.log check.yml -e okms_test_step=cleanup || status=1
    exit "${status}"
}
trap cleanup EXIT

# The README's okms_secrets example, exactly as it is written.
awk '/^## Secrets/ {section = 1} section && /^```yaml$/ {copy = 1; next} copy && /^```$/ {exit} copy' \
    "${readme}" > "${work}/readme_secrets.yml"
grep -q '^okms_secrets:$' "${work}/readme_secrets.yml"
grep -q 'overwrite: false' "${work}/readme_secrets.yml"

# 1. Bad items, before any request: every problem of the list at once, each naming the item and the field.
#    Variables are given in files, as users keep them (ansible-playbook -vvvv shows its command line).
cat > "${work}/bad_items.yml" <<'EOF'
okms_secrets:
  - {path: app/ok, data: {k: rs-unused-value-1}}
  - {data: {k: rs-unused-value-2}}
  - {path: app/has space, data: {k: rs-unused-value-3}}
  - {path: app/ok, data: {k: rs-unused-value-4}}
  - {path: app/typo, dta: {k: rs-unused-value-5}}
  - {path: app/string-data, data: rs-bad-item-value-0c4b}
  - {path: app/flags, overwrite: maybe, cas_required: sometimes}
  - {path: app/numbers, max_versions: 24001, deactivate_version_after: ten days}
  - {path: app/state, state: gone}
EOF
audit_mark
must_fail bad.log bootstrap.yml -vvvv -e "@${work}/bad_items.yml"
recap bad.log failed
fatal bad.log 'okms_secrets[1] has no path: path is required'
fatal bad.log 'okms_secrets[2] (app/has space): path must be 1 to 255 characters of [a-zA-Z0-9_.:/=@-]'
fatal bad.log 'okms_secrets[3] (app/ok): the path app/ok is already given to an earlier item; give each secret once'
fatal bad.log 'okms_secrets[4] (app/typo): unknown option dta; allowed: path, data, overwrite, max_versions, cas_required, deactivate_version_after, custom_metadata, state'
fatal bad.log 'okms_secrets[5] (app/string-data): data must be a dict'
fatal bad.log 'okms_secrets[6] (app/flags): overwrite must be true or false'
fatal bad.log 'okms_secrets[6] (app/flags): cas_required must be true or false'
fatal bad.log 'okms_secrets[7] (app/numbers): max_versions must be a whole number from 0 to 24000'
fatal bad.log 'okms_secrets[7] (app/numbers): deactivate_version_after must be a duration'
fatal bad.log 'okms_secrets[8] (app/state): state gone is not allowed; allowed: present, absent'
# Not a list of dicts: the role's argument specification refuses it first.
printf 'okms_secrets:\n  - {path: app/db, data: {k: rs-unused-value-6}}\n  - rs-bad-item-value-7f21\n' > "${work}/not_dicts.yml"
must_fail not_dicts.log bootstrap.yml -vvvv -e "@${work}/not_dicts.yml"
recap not_dicts.log failed
fatal not_dicts.log "Elements value for option 'okms_secrets' is of type str and we were unable to convert to dict"
audit_check no_request
test ! -e "${work}/host1"

# 2. The KMS, holding app/old-token; then check mode, run, check mode, run.
run kms.log check.yml -e okms_test_step=kms
audit_mark
role check1.log --check
recap check1.log changed
audit_check no_mutation
run before.log check.yml -e okms_test_step=before
test ! -e "${work}/host1/okms"

role run1.log
recap run1.log changed
# Once per play, from the controller: one task result, for the first host, and each path on a task line.
test "$(grep -c '^TASK \[ovhcloud.kms.okms : Converge the secrets from the controller\]' "${work}/run1.log")" = 1
grep -qF '(item=app/session-key)' "${work}/run1.log"
# --diff names the keys, never a value.
grep -qF '"password": "(hidden)"' "${work}/run1.log"
run converged1.log check.yml -e okms_test_step=converged -e okms_test_db_version=1

audit_mark
role check2.log --check
recap check2.log unchanged
audit_check no_mutation
role run2.log
recap run2.log unchanged
run converged2.log check.yml -e okms_test_step=converged -e okms_test_db_version=1

# 3. A new password in the vault: app/db gets version 2, nothing else changes.
printf 'vault_app_db_password: rs-db-pass-two-93ac20\n' > "${work}/vault2.yml"
role run3.log -e "@${work}/vault2.yml"
# The secrets' task runs once, for the first host; the other has nothing to change.
recap run3.log changed host1
recap run3.log unchanged host2
grep -qF '"password": "(hidden, changed)"' "${work}/run3.log"
run converged3.log check.yml -e okms_test_step=converged -e okms_test_db_version=2 -e "@${work}/vault2.yml"

# 4. it/not-there has no data and does not exist: it cannot be written. app/late, after it, is written,
#    both hosts keep their credential and files, and each host fails at the end naming it/not-there.
cat > "${work}/failing.yml" <<'EOF'
okms_secrets:
  - {path: it/not-there, max_versions: 3}
  - {path: app/late, data: {token: rs-late-token-2a8c4d}}
EOF
must_fail failed.log bootstrap.yml -vvvv --diff -e "@${work}/failing.yml"
recap failed.log failed
fatal failed.log "This host's credential and files are deployed, but the role could not converge what the whole play shares"
fatal failed.log "could not converge what the whole play shares: secret 'it/not-there' of KMS $(cat "${work}/kms_id") does not exist: give data to create it"
test -s "${work}/host1/okms/client.cert"
test -s "${work}/host2/okms/client.cert"
run late.log check.yml -e okms_test_step=late

# 5. No value of any secret in the output of the role runs, at -vvvv --diff.
printf '%s\n' rs-db-pass-61d0e7 rs-db-pass-two-93ac20 rs-old-token-5e93b1 rs-late-token-2a8c4d \
    rs-bad-item-value-0c4b rs-bad-item-value-7f21 rs-unused-value-{1,2,3,4,5,6} "$(cat "${work}/first-session-key")" \
    > "${work}/values"
test "$(wc -L < "${work}/values")" = 48
logs=("${work}"/bad.log "${work}"/not_dicts.log "${work}"/check*.log "${work}"/run*.log "${work}"/failed.log)
grep -q '"password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' "${work}/run1.log"
cat "${logs[@]}" "${work}/values" > "${work}/control"
test "$(grep -c -F -f "${work}/values" "${work}/control")" -ge 13
if grep -n -F -f "${work}/values" "${logs[@]}"; then
    echo "a value of a secret appears in the role's -vvvv output (lines above)" >&2
    exit 1
fi
echo "$(cat "${logs[@]}" | wc -l) lines of -vvvv --diff output of the role, none holding a secret value"
